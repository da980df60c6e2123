//! Script files rwamr does not support yet, with the reason. They are listed (not run)
//! unless asked for, and their failures never fail the run. Remove an entry as soon as
//! the feature lands. And the expectations of older scripts that later proposals
//! lifted, which are reported as known differences.

/// Exact file names and their reasons.
const KNOWN: &[(&str, &str)] = &[
    ("i16x8_relaxed_q15mulr_s.wast", RELAXED_SIMD),
    ("i32x4_relaxed_trunc.wast", RELAXED_SIMD),
    ("i8x16_relaxed_swizzle.wast", RELAXED_SIMD),
];

const RELAXED_SIMD: &str = "relaxed SIMD proposal not supported yet";

/// Why `file` (a script file name like `simd_lane.wast`) is not supported, if it is not.
pub fn known_unsupported(file: &str) -> Option<&'static str> {
    if file.starts_with("simd_") {
        return Some("SIMD proposal not supported yet");
    }
    if file.starts_with("relaxed_") {
        return Some(RELAXED_SIMD);
    }
    KNOWN
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, why)| *why)
}

/// Why an `assert_invalid` expecting `message` states a rule that a later proposal
/// lifted, if it does. The threads proposal's scripts predate reference types (which
/// allow several tables) and multi-memory (several memories): their modules are valid
/// now, or refused as needing multi-memory, which this build lacks.
pub fn lifted_rule(message: &str) -> Option<&'static str> {
    match message {
        "multiple tables" => Some("several tables are valid since reference types (Wasm 2.0)"),
        "multiple memories" => Some(
            "several memories are valid with multi-memory (Wasm 3.0), which this build does not \
             support yet",
        ),
        _ => None,
    }
}

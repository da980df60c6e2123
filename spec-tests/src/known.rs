//! Script files rwamr does not support yet, with the reason. They are listed (not run)
//! unless asked for, and their failures never fail the run. Remove an entry as soon as
//! the feature lands.

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

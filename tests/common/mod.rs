//! Helpers shared by the end-to-end tests: every scenario runs in every built mode.
#![allow(dead_code)]

use rwamr::{Config, Engine, Mode, Registry};

/// Runs `f` once per execution mode this build has.
pub fn each_mode(mut f: impl FnMut(Mode, Registry)) {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).expect("built mode");
        f(mode, Registry::new(&engine));
    }
}

/// Text format to binary; panics on a typo in the test itself.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test module text")
}

/// A random valid Wasm 2.0 module (wasm-smith) for `seed`: no imports, everything
/// exported, small memories, loops and calls limited by `fuel` (running out traps).
/// `None` when the seed does not make one.
pub fn random_module(seed: &[u8], canonicalize_nans: bool, fuel: u32) -> Option<Vec<u8>> {
    let config = wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        memory64_enabled: false,
        extended_const_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        max_memories: 1,
        // Small memories: tests compare whole memories and make one per case.
        max_memory32_bytes: 4 << 20,
        max_tables: 2,
        max_imports: 0,
        export_everything: true,
        canonicalize_nans,
        max_instructions: 500,
        min_funcs: 1,
        ..wasm_smith::Config::default()
    };
    let mut u = arbitrary::Unstructured::new(seed);
    let mut module = wasm_smith::Module::new(config, &mut u).ok()?;
    module.ensure_termination(fuel).ok()?;
    Some(module.to_bytes())
}

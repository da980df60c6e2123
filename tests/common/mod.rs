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

/// Modes for a mixed-mode scenario: module `A` (the one patched) compiles in `a`,
/// every other module in `others`.
#[derive(Debug, Clone, Copy)]
pub struct ModeMix {
    pub a: Mode,
    pub others: Mode,
}

impl ModeMix {
    /// Loads `bytes` as `name` in the mode this mix gives it.
    pub fn load(
        &self,
        reg: &Registry,
        name: &str,
        bytes: &[u8],
    ) -> rwamr::Result<std::sync::Arc<rwamr::Instance>> {
        let mode = if name == "A" { self.a } else { self.others };
        reg.load_in_mode(name, bytes, mode)
    }
}

impl std::fmt::Display for ModeMix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.a == self.others {
            write!(f, "{}", self.a)
        } else {
            write!(f, "A in {}, others in {}", self.a, self.others)
        }
    }
}

/// Runs `f` for every pair of built modes (A's, the others'), same-mode pairs included;
/// the registry's engine defaults to the others' mode.
pub fn each_mode_mix(mut f: impl FnMut(ModeMix, Registry)) {
    for &a in rwamr::built_modes() {
        for &others in rwamr::built_modes() {
            let engine = Engine::new(Config::default().mode(others)).expect("built mode");
            f(ModeMix { a, others }, Registry::new(&engine));
        }
    }
}

/// How many random cases a property test runs: `default`, or the number in `var` (for
/// longer runs by hand).
pub fn cases(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Arguments for `f`: the zero value of each parameter type.
pub fn default_args(f: &rwamr::Func) -> Vec<rwamr::Val> {
    f.ty()
        .params()
        .iter()
        .map(|t| rwamr::Val::default_for(*t))
        .collect()
}

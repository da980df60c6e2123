//! Helpers shared by the end-to-end tests: every scenario runs in every built mode.
#![allow(dead_code)]

use rwamr::{Config, Engine, Mode, Registry, Val};

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

/// The patching scenarios' module A, version `v`: `f` returns `v * 100 + 1`, `get` reads memory and the global.
pub fn module_a(v: i32) -> Vec<u8> {
    wat(&format!(
        r#"(module
            (memory (export "mem") 1)
            (global $g (export "g") (mut i32) (i32.const 0))
            (table (export "tab") 2 funcref)
            (elem (i32.const 0) $f)
            (func $f (export "f") (result i32) (i32.const {r}))
            (func (export "bump") (param i32)
                (global.set $g (i32.add (global.get $g) (local.get 0)))
                (i32.store (i32.const 8) (global.get $g)))
            (func (export "get") (result i32) (i32.add (global.get $g) (i32.load (i32.const 8))))
            (func (export "via_table") (result i32) (call_indirect (result i32) (i32.const 0)))
            (func (export "ref") (result funcref) (ref.func $f))
        )"#,
        r = v * 100 + 1
    ))
}

/// Module B imports A.f and calls it.
pub fn module_b() -> Vec<u8> {
    wat(r#"(module
        (import "A" "f" (func $f (result i32)))
        (table 1 funcref)
        (elem declare func $f)
        (func (export "g") (result i32) (i32.add (call $f) (i32.const 1000)))
        (func (export "store_ref") (table.set 0 (i32.const 0) (ref.func $f)))
        (func (export "call_ref") (result i32) (call_indirect (result i32) (i32.const 0)))
    )"#)
}

pub fn call_i32(reg: &Registry, m: &str, f: &str) -> i32 {
    match reg.func(m, f).unwrap().call(&[]).unwrap().as_slice() {
        [Val::I32(v)] => *v,
        other => panic!("{m}.{f} returned {other:?}"),
    }
}

/// Four threads call `A.f` (even ones) and `B.g` (odd ones, `A.f` + 1000) of `reg`,
/// checking every result is version 1's or 2's whole, while `patch(n)` runs for each of
/// 10,000 patches (2,000 in debug builds). Returns how many calls they made.
pub fn calls_while_patching(reg: &Registry, mut patch: impl FnMut(usize)) -> u64 {
    use std::sync::atomic::{AtomicBool, Ordering};
    let patches = if cfg!(debug_assertions) {
        2_000
    } else {
        10_000
    };
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let callers: Vec<_> = (0..4)
            .map(|i| {
                let done = &done;
                s.spawn(move || {
                    let (f, g) = (reg.func("A", "f").unwrap(), reg.func("B", "g").unwrap());
                    let mut calls = 0u64;
                    while !done.load(Ordering::Relaxed) || calls == 0 {
                        let (func, base) = if i % 2 == 0 { (&f, 0) } else { (&g, 1000) };
                        match func.call(&[]).unwrap().as_slice() {
                            [Val::I32(v)] if *v == base + 101 || *v == base + 201 => {}
                            other => panic!("torn or wrong result {other:?}"),
                        }
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        for n in 0..patches {
            patch(n);
        }
        done.store(true, Ordering::Relaxed);
        callers.into_iter().map(|t| t.join().unwrap()).sum()
    })
}

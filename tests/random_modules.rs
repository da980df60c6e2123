//! Random valid Wasm 2.0 modules (wasm-smith) through load and every export, in every
//! built mode: a valid module always loads, and running it ends in results or a trap —
//! never a panic, never an internal translation error, never a hang (loops and calls
//! are given fuel).

mod common;
use common::each_mode;
use proptest::prelude::*;
use rwamr::{ErrorKind, Val};

fn wasm2_config() -> wasm_smith::Config {
    wasm_smith::Config {
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
        // Small memories: whole memories are compared, and created per case.
        max_memory32_bytes: 4 << 20,
        max_tables: 2,
        max_imports: 0,
        export_everything: true,
        max_instructions: 500,
        min_funcs: 1,
        ..wasm_smith::Config::default()
    }
}

fn run_module(seed: &[u8]) {
    let mut u = arbitrary::Unstructured::new(seed);
    let Ok(mut module) = wasm_smith::Module::new(wasm2_config(), &mut u) else {
        return;
    };
    // Loops and calls consume fuel; running out traps (`unreachable`).
    if module.ensure_termination(2_000).is_err() {
        return;
    }
    let bytes = module.to_bytes();
    each_mode(|mode, reg| {
        let inst = match reg.load("m", &bytes) {
            Ok(i) => i,
            // The start function may trap; anything else means a valid module was refused.
            Err(e) if e.kind() == ErrorKind::Trap => return,
            Err(e) => panic!("{mode}: valid module refused: {e}"),
        };
        let funcs: Vec<_> = inst
            .exports()
            .filter_map(|(name, _)| inst.get_func(name).map(|f| (name.to_string(), f)))
            .collect();
        for (name, f) in funcs {
            let args: Vec<Val> = f
                .ty()
                .params()
                .iter()
                .map(|t| Val::default_for(*t))
                .collect();
            if let Err(e) = f.call(&args) {
                assert_eq!(e.kind(), ErrorKind::Trap, "{mode}: `{name}` failed: {e}");
            }
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]
    #[test]
    fn random_valid_modules_load_and_run(seed in proptest::collection::vec(any::<u8>(), 64..4096)) {
        run_module(&seed);
    }
}

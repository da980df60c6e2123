//! Random valid Wasm 2.0 modules (wasm-smith) through load and every export, in every
//! built mode: a valid module always loads, and running it ends in results or a trap —
//! never a panic, never an internal translation error, never a hang (loops and calls
//! are given fuel).

mod common;
use common::{each_mode, random_module};
use proptest::prelude::*;
use rwamr::ErrorKind;

fn run_module(seed: &[u8]) {
    let Some(bytes) = random_module(seed, false, 2_000) else {
        return;
    };
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
            let args = common::default_args(&f);
            if let Err(e) = f.call(&args) {
                assert_eq!(e.kind(), ErrorKind::Trap, "{mode}: `{name}` failed: {e}");
            }
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: common::cases("RWAMR_RANDOM_CASES", 1000), ..ProptestConfig::default() })]
    #[test]
    fn random_valid_modules_load_and_run(seed in proptest::collection::vec(any::<u8>(), 64..4096)) {
        run_module(&seed);
    }
}

//! The Tiered mode: functions start in the Baseline tier and move up to the Optimized
//! one; results, traps and fuel do not change on the way, and a tier-up never undoes a
//! patch.

mod common;
use common::wat;
use rwamr::{Config, Engine, Mode, Registry, Val};
use std::time::{Duration, Instant};

fn tiered(config: Config) -> Option<Registry> {
    if !rwamr::built_modes().contains(&Mode::Tiered) {
        println!("skipped: this build has no Tiered mode (no compiler for this host)");
        return None;
    }
    Some(Registry::new(
        &Engine::new(config.mode(Mode::Tiered)).unwrap(),
    ))
}

/// `sum(n)`: a loop adding 0..n, times `v`.
fn summer(v: i32) -> Vec<u8> {
    wat(&format!(
        r#"(module (func (export "sum") (param i32) (result i32) (local i32)
            (block (loop
                (br_if 1 (i32.eqz (local.get 0)))
                (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                (local.set 1 (i32.add (local.get 1) (local.get 0)))
                (br 0)))
            (i32.mul (local.get 1) (i32.const {v}))))"#
    ))
}

fn sum(reg: &Registry, n: i32) -> i32 {
    match reg.func("m", "sum").unwrap().call(&[Val::I32(n)]).unwrap()[..] {
        [Val::I32(v)] => v,
        ref other => panic!("{other:?}"),
    }
}

/// With a forced tier-up every call after the first runs optimized code; each call
/// costs the same fuel as in the interpreter.
#[test]
fn forced_tier_up_keeps_results_and_fuel() {
    let Some(reg) = tiered(Config::default().tier_up_after(0).consume_fuel(true)) else {
        return;
    };
    let interp = Registry::new(
        &Engine::new(Config::default().mode(Mode::Interp).consume_fuel(true)).unwrap(),
    );
    interp.load("m", summer(1)).unwrap();
    reg.load("m", summer(1)).unwrap();
    let cost = |reg: &Registry| {
        reg.engine().set_fuel(1_000_000).unwrap();
        assert_eq!(sum(reg, 100), 4950);
        1_000_000 - reg.engine().get_fuel().unwrap()
    };
    let want = cost(&interp);
    for call in 0..3 {
        assert_eq!(cost(&reg), want, "call {call}");
    }
}

/// A patch made while the function's tier-up compile is queued or running stays: the
/// optimized code of the old version is never installed over it.
#[test]
fn a_patch_during_a_tier_up_compile_stays() {
    let Some(reg) = tiered(Config::default()) else {
        return;
    };
    reg.load("m", summer(1)).unwrap();
    // Enough loop iterations to use up the budget and queue the compile.
    assert_eq!(sum(&reg, 10_000), 49_995_000);
    reg.patch_function("m", "sum", summer(2)).unwrap();
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        assert_eq!(sum(&reg, 1000), 999_000, "the patched version");
    }
}

/// Many functions moving up on the background thread while others call them: every
/// call gives the same answer before, during and after.
#[test]
fn background_tier_up_gives_the_same_results() {
    let Some(reg) = tiered(Config::default()) else {
        return;
    };
    reg.load("m", summer(3)).unwrap();
    let until = Instant::now() + Duration::from_millis(300);
    let mut n = 0;
    while Instant::now() < until {
        n = (n + 1) % 5000;
        assert_eq!(sum(&reg, n), 3 * (n * (n - 1) / 2).max(0));
    }
}

//! Many instances at once, in every mode: with a small memory reservation, no guard and
//! pooled memories, 100,000 instances of a module with a one-page memory live at once.

mod common;
use common::wat;
use rwamr::{Config, Engine, Registry};

const MODULE: &str = r#"(module
    (memory 1 1)
    (global $calls (mut i32) (i32.const 0))
    (func (export "bump") (param $at i32) (result i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (i32.store (local.get $at) (i32.add (i32.load (local.get $at)) (i32.const 1)))
        (i32.load (local.get $at))))"#;

#[test]
fn a_hundred_thousand_small_instances_live_at_once() {
    let n: usize = std::env::var("RWAMR_INSTANCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let bytes = wat(MODULE);
    for &mode in rwamr::built_modes() {
        let config = Config::default()
            .mode(mode)
            .memory_reservation(64 << 10)
            .memory_guard_size(0)
            .memory_pooling(true);
        let engine = Engine::new(config).unwrap();
        let reg = Registry::new(&engine);
        let compiled = reg.compile(&bytes).unwrap();
        let instances: Vec<_> = (0..n)
            .map(|i| {
                reg.instantiate_compiled(&compiled)
                    .unwrap_or_else(|e| panic!("{mode}: instance {i}: {e}"))
            })
            .collect();
        // Each has its own state, and its memory bounds are the page it has.
        for (i, inst) in instances.iter().enumerate().step_by(n / 50) {
            let bump = inst.get_func("bump").unwrap().typed::<i32, i32>().unwrap();
            assert_eq!(bump.call(8).unwrap(), 1, "{mode}: instance {i}");
            assert_eq!(bump.call(8).unwrap(), 2, "{mode}: instance {i}");
            let e = bump.call(65533).unwrap_err();
            assert!(e.to_string().contains("out of bounds"), "{mode}: {e}");
        }
        drop(instances);
        // Slots come back zeroed: a new instance starts from 0.
        let inst = reg.instantiate_compiled(&compiled).unwrap();
        let bump = inst.get_func("bump").unwrap().typed::<i32, i32>().unwrap();
        assert_eq!(bump.call(8).unwrap(), 1, "{mode}");
    }
}

#[test]
fn a_memory_past_the_reservation_is_refused_and_growth_stops_there() {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode).memory_reservation(2 << 16)).unwrap();
        let reg = Registry::new(&engine);
        let e = reg.load("big", wat("(module (memory 3))")).unwrap_err();
        assert!(e.to_string().contains("memory_reservation"), "{mode}: {e}");
        reg.load(
            "m",
            wat(r#"(module (memory 1)
                (func (export "grow") (result i32) (memory.grow (i32.const 1)))
                (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))"#),
        )
        .unwrap();
        let grow = reg.func("m", "grow").unwrap().typed::<(), i32>().unwrap();
        let peek = reg.func("m", "peek").unwrap().typed::<i32, i32>().unwrap();
        assert_eq!(grow.call(()).unwrap(), 1, "{mode}");
        assert_eq!(grow.call(()).unwrap(), -1, "{mode}: past the reservation");
        assert_eq!(peek.call((2 << 16) - 1).unwrap(), 0);
        // Bounds are checked in compiled code too: no fault, a trap.
        let e = peek.call(2 << 16).unwrap_err();
        assert!(e.to_string().contains("out of bounds"), "{mode}: {e}");
    }
}

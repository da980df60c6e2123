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

/// Loops of every shape a frame can move up at (on-stack replacement) and some it
/// cannot: in a forced tier-up each frame moves at its first loop with an empty operand
/// stack, so every function below runs partly in each tier. Results, traps (with their
/// backtraces) and fuel must be the interpreter's.
const OSR_SHAPES: &str = r#"(module
    (type $t (func (param i32) (result i32)))
    (table 2 funcref)
    (memory 1)
    (func $double (type $t) (i32.shl (local.get 0) (i32.const 1)))
    (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
    (elem declare func $double)

    ;; The outer loop takes a parameter (no move there); the inner one moves, and the
    ;; outer iterations after it run in the optimized code too.
    (func (export "nested") (param $n i32) (result i64)
        (local $i i32) (local $j i32) (local $acc i64)
        (local.get $n)
        (loop $outer (param i32)
            (local.set $i)
            (local.set $j (i32.const 0))
            (loop $inner
                (local.set $acc (i64.add (local.get $acc)
                    (i64.extend_i32_u (i32.mul (local.get $i) (local.get $j)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br_if $inner (i32.lt_u (local.get $j) (local.get $i))))
            (local.get $i)
            (i32.sub (i32.const 1))
            (local.tee $i)
            (br_if $outer (i32.gt_s (local.get $i) (i32.const 0)))
            (drop))
        (local.get $acc))

    ;; Loops in both arms of an `if` with a result, and code after them.
    (func (export "in_if") (param $c i32) (param $n i32) (result f64)
        (local $x f64) (local $i i32)
        (if (result f64) (local.get $c)
            (then
                (loop $l
                    (local.set $x (f64.add (local.get $x) (f64.convert_i32_s (local.get $i))))
                    (br_if $l (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                        (local.get $n))))
                (local.get $x))
            (else
                (loop $l
                    (local.set $x (f64.sub (local.get $x) (f64.const 0.5)))
                    (br_if $l (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                        (local.get $n))))
                (f64.mul (local.get $x) (f64.const 3))))
        (f64.add (f64.const 0.25)))

    ;; Every value type in locals and parameters, references included, and several
    ;; results.
    (func (export "all_types") (param $a i32) (param $b i64) (param $c f32)
            (result i32 i64 f32 f64 i32)
        (local $d f64) (local $f funcref) (local $e externref) (local $k i32)
        (local.set $f (ref.func $double))
        (loop $l
            (local.set $a (i32.add (local.get $a) (local.get $k)))
            (local.set $b (i64.mul (local.get $b) (i64.const 3)))
            (local.set $c (f32.add (local.get $c) (f32.const 1.5)))
            (local.set $d (f64.add (local.get $d) (f64.promote_f32 (local.get $c))))
            (br_if $l (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1)))
                                (i32.const 20))))
        (table.set (i32.const 0) (local.get $f))
        (local.get $a) (local.get $b) (local.get $c) (local.get $d)
        (i32.add (call_indirect (type $t) (i32.const 5) (i32.const 0))
                 (ref.is_null (local.get $e))))

    ;; A trap in the moved frame: division by zero when $i reaches $n.
    (func (export "trap_in_loop") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (local.get $acc)
                (i32.div_u (i32.const 1000) (i32.sub (local.get $n) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $l))
        (local.get $acc))

    ;; Memory and calls inside the loop; a `br_table` out of it through blocks.
    (func (export "memory_calls") (param $n i32) (result i32)
        (local $i i32) (local $acc i32)
        (block $done (result i32)
            (block $odd (result i32)
                (loop $l
                    (i32.store (i32.shl (local.get $i) (i32.const 2))
                        (call $inc (local.get $i)))
                    (local.set $acc (i32.add (local.get $acc)
                        (i32.load (i32.shl (local.get $i) (i32.const 2)))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
                (br_table $done $odd (local.get $acc)
                    (i32.and (local.get $acc) (i32.const 1))))
            (i32.add (i32.const 1000000))))

    ;; A value under the loop: no move, the same answer.
    (func (export "stack_below") (param $n i32) (result i32)
        (local $i i32)
        (i32.const 7)
        (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
        (i32.add (local.get $i)))

    ;; Recursion with a loop in every frame: frames at several depths move up.
    (func $rec (export "rec") (param $d i32) (result i32)
        (local $i i32) (local $acc i32)
        (loop $l
            (local.set $acc (i32.add (local.get $acc) (local.get $i)))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                (i32.const 10))))
        (if (result i32) (local.get $d)
            (then (i32.add (local.get $acc)
                           (call $rec (i32.sub (local.get $d) (i32.const 1)))))
            (else (local.get $acc))))
)"#;

#[test]
fn frames_move_up_at_loops_with_the_same_results_traps_and_fuel() {
    let Some(tiered) = tiered(Config::default().tier_up_after(0).consume_fuel(true)) else {
        return;
    };
    let interp = Registry::new(
        &Engine::new(Config::default().mode(Mode::Interp).consume_fuel(true)).unwrap(),
    );
    let calls: &[(&str, Vec<Val>)] = &[
        ("nested", vec![Val::I32(40)]),
        ("in_if", vec![Val::I32(1), Val::I32(50)]),
        ("in_if", vec![Val::I32(0), Val::I32(50)]),
        (
            "all_types",
            vec![Val::I32(3), Val::I64(5), Val::F32(2.5f32.to_bits())],
        ),
        ("trap_in_loop", vec![Val::I32(30)]),
        ("memory_calls", vec![Val::I32(100)]),
        ("memory_calls", vec![Val::I32(101)]),
        ("stack_below", vec![Val::I32(100)]),
        ("rec", vec![Val::I32(20)]),
    ];
    // A fresh instance for each call: each call is a function's first, in Baseline code
    // until its first loop.
    let run = |reg: &Registry, name: &str, args: &[Val]| {
        let _ = reg.unload("m");
        reg.load("m", wat(OSR_SHAPES)).unwrap();
        reg.engine().set_fuel(10_000_000).unwrap();
        let result = reg
            .func("m", name)
            .unwrap()
            .call(args)
            // A trap's code, and its backtrace: a frame that moved up is still one.
            .map_err(|e| {
                e.trap().map(|t| {
                    let frames: Vec<u32> = t.backtrace().iter().map(|f| f.func_index).collect();
                    (t.code(), frames)
                })
            });
        (result, 10_000_000 - reg.engine().get_fuel().unwrap())
    };
    let entered = || tiered.engine().tier_stats().unwrap().osr_entered;
    for (name, args) in calls {
        let want = run(&interp, name, args);
        let before = entered();
        assert_eq!(run(&tiered, name, args), want, "{name}{args:?}");
        let moved = entered() - before;
        if *name == "stack_below" {
            assert_eq!(moved, 0, "{name}: no loop to move at");
        } else {
            assert_eq!(moved, 1, "{name}: the frame moved up at a loop");
        }
    }
}

/// Instances of one compiled module share their functions' counters and compiles: a
/// function made hot in one moves up in the other without a compile of its own, each
/// instance's slot at its own next check.
#[test]
fn instances_of_one_module_share_counters_and_compiles() {
    let Some(reg) = tiered(Config::default().tier_up_after(0)) else {
        return;
    };
    let compiled = reg.compile(summer(1)).unwrap();
    reg.load_compiled("a", &compiled).unwrap();
    reg.load_compiled("b", &compiled).unwrap();
    let call = |name: &str, n: i32| match reg.func(name, "sum").unwrap().call(&[Val::I32(n)]) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let stats = || reg.engine().tier_stats().unwrap();
    assert_eq!(call("a", 10), vec![Val::I32(45)]);
    let after_a = stats();
    assert_eq!(after_a.optimized, 1);
    assert_eq!(call("b", 10), vec![Val::I32(45)]);
    assert_eq!(
        stats().optimized,
        1,
        "the second instance installs the compile the first made"
    );
    // Both run the optimized code from now on: no frame is left in Baseline code to move.
    let entered = stats().osr_entered;
    for name in ["a", "b"] {
        assert_eq!(call(name, 100), vec![Val::I32(4950)]);
    }
    assert_eq!(stats().osr_entered, entered);
}

/// A frame that moved up at its loop still stops at its deadline.
#[test]
fn a_frame_moved_up_stops_at_its_deadline() {
    let Some(reg) = tiered(Config::default().tier_up_after(0).epoch_interruption(true)) else {
        return;
    };
    reg.load(
        "m",
        wat(r#"(module (func (export "spin") (local i32)
            (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1))) (br $l))))"#),
    )
    .unwrap();
    let engine = reg.engine().clone();
    engine.set_epoch_deadline(1).unwrap();
    let ticker = {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            engine.increment_epoch();
        })
    };
    let e = reg.func("m", "spin").unwrap().call(&[]).unwrap_err();
    ticker.join().unwrap();
    assert_eq!(
        e.trap().map(|t| t.code()),
        Some(rwamr::TrapCode::Interrupted),
        "{e}"
    );
    assert_eq!(
        engine.tier_stats().unwrap().osr_entered,
        1,
        "it moved up first"
    );
}

/// A patch while a frame runs a long loop: the frame finishes in the version it started
/// in (moving up to that version's optimized code or not), every later call runs the
/// patch.
#[test]
fn a_frame_in_a_loop_finishes_its_own_version_across_a_patch() {
    let Some(reg) = tiered(Config::default()) else {
        return;
    };
    let reg = std::sync::Arc::new(reg);
    reg.load("m", summer(1)).unwrap();
    let n = 200_000_000;
    let old = (0..n).fold(0i32, |acc, i| acc.wrapping_add(i));
    let running = {
        let reg = reg.clone();
        std::thread::spawn(move || sum(&reg, n))
    };
    std::thread::sleep(Duration::from_millis(20));
    reg.patch_function("m", "sum", summer(2)).unwrap();
    assert_eq!(sum(&reg, 1000), 999_000, "later calls run the patch");
    assert_eq!(
        running.join().unwrap(),
        old,
        "the running frame kept its version"
    );
}

/// Threads running one function's Baseline code share its hotness counter, without
/// atomics: a store of one thread landing after the helper reset the counter must not
/// stop the counting. Every frame moves up at its loop.
#[test]
fn frames_of_many_threads_all_move_up() {
    // Tier-up compiles on the thread whose check finds the budget (of 1,000,000) out,
    // so no frame can miss it for a slow background compile.
    let Some(reg) = tiered(Config::default().tier_up_after(1_000_000)) else {
        return;
    };
    // No state of its own (only a shared memory): threads run it at once.
    let memory = rwamr::Memory::new_in(reg.engine(), rwamr::MemoryType::shared(1, 1)).unwrap();
    reg.define_host(
        "env",
        &rwamr::HostModule::new().export_memory("memory", &memory),
    )
    .unwrap();
    // `spin` waits until both threads are in it (a barrier without a loop, which would
    // count toward moving up) before its loop: both frames start in Baseline code.
    let module = wat(r#"(module
        (import "env" "memory" (memory 1 1 shared))
        (func (export "spin") (param $n i32) (result i32) (local $x i32)
            (if (i32.eq (i32.atomic.rmw.add (i32.const 0) (i32.const 1)) (i32.const 1))
                (then (drop (memory.atomic.notify (i32.const 0) (i32.const -1))))
                (else (drop (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const -1)))))
            (loop $more
                (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 3)) (local.get $n)))
                (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (local.get $x)))"#);
    // Fresh counters each round: the race is likely, not certain, in any one.
    for round in 0..6 {
        let name = format!("m{round}");
        reg.load(&name, &module).unwrap();
        memory
            .with_view(|v| v.atomic_store(0, 4, 0))
            .unwrap()
            .unwrap();
        let before = reg.engine().tier_stats().unwrap().osr_entered;
        std::thread::scope(|s| {
            for _ in 0..2 {
                let spin = reg.func(&name, "spin").unwrap();
                s.spawn(move || spin.call(&[Val::I32(300_000_000)]).unwrap());
            }
        });
        let moved = reg.engine().tier_stats().unwrap().osr_entered - before;
        assert_eq!(moved, 2, "round {round}: every frame moves up");
    }
}

//! Stopping a guest: fuel and epoch deadlines behave the same in every mode (core's
//! `meter.rs` states the rules).

mod common;
use common::wat;
use rwamr::{Config, Engine, Func, HostModule, Mode, Registry, Trap, TrapCode, Val};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const MUCH: u64 = 1 << 40;

/// Runs `f` with an engine and a registry per built mode, the engine with `config`'s
/// metering.
fn each_mode(config: impl Fn(Config) -> Config, mut f: impl FnMut(Mode, Engine, Registry)) {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(config(Config::default().mode(mode))).expect("engine");
        let reg = Registry::new(&engine);
        f(mode, engine, reg);
    }
}

/// A host function's trap for a call of wasm that failed with `e`.
fn as_trap(e: rwamr::Error) -> Trap {
    e.trap()
        .cloned()
        .unwrap_or_else(|| Trap::host(e.to_string()))
}

fn trap_code(e: &rwamr::Error) -> Option<TrapCode> {
    e.trap().map(|t| t.code())
}

/// Fuel a call consumes, in each mode.
fn fuel_of(module: &[u8], export: &str, args: &[Val]) -> Vec<(Mode, u64, Vec<Val>)> {
    let mut out = Vec::new();
    each_mode(
        |c| c.consume_fuel(true),
        |mode, engine, reg| {
            reg.load("m", module).unwrap();
            let f = reg.func("m", export).unwrap();
            engine.set_fuel(MUCH).unwrap();
            let r = f.call(args).unwrap();
            out.push((mode, MUCH - engine.get_fuel().unwrap(), r));
        },
    );
    out
}

/// Counted by hand: every operator costs 1 but `block`, `loop`, `end`, `else`, `nop`,
/// `drop`, `return` and `unreachable`.
#[test]
fn fuel_is_the_cost_of_the_operators_that_ran() {
    let m = wat(r#"(module
        (func (export "straight") (result i32)
          nop i32.const 1 i32.const 2 i32.add drop i32.const 3)       ;; 4
        (func (export "count") (param $n i32) (result i32) (local $i i32)
          (block $done
            (loop $top
              (br_if $done (i32.ge_u (local.get $i) (local.get $n)))  ;; 4
              (local.set $i (i32.add (local.get $i) (i32.const 1)))   ;; 4
              (br $top)))                                             ;; 1
          (local.get $i))                                             ;; 1
        (func $half (param i32) (result i32)
          (if (result i32) (i32.and (local.get 0) (i32.const 1))      ;; 4
            (then (i32.const 1))                                      ;; 1
            (else (i32.div_u (local.get 0) (i32.const 2)))))          ;; 3
        (func (export "calls") (result i32)
          (i32.add (call $half (i32.const 7)) (call $half (i32.const 8))))  ;; 5
    )"#);
    for (export, args, want) in [
        ("straight", vec![], 4),
        // 10 full iterations of 9, the last test (4), the result (1).
        ("count", vec![Val::I32(10)], 10 * 9 + 4 + 1),
        // 5 in the caller, 4 + 1 for 7, 4 + 3 for 8.
        ("calls", vec![], 5 + 5 + 7),
    ] {
        for (mode, used, _) in fuel_of(&m, export, &args) {
            assert_eq!(used, want, "{export} in {mode}");
        }
    }
}

/// The same fuel in every mode, for code with every kind of control flow.
#[test]
fn every_mode_consumes_the_same_fuel() {
    let m = wat(r#"(module
        (type $t (func (param i32) (result i32)))
        (table 2 funcref) (elem (i32.const 0) $fib $collatz)
        (table $u 64 funcref) (elem $e func $fib $collatz $fib)
        (memory 1) (data $d "bytes")
        (func $fib (type $t)
          (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
            (then (local.get 0))
            (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                           (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
        (func $collatz (type $t) (local $steps i32)
          (block $done
            (loop $next
              (br_if $done (i32.le_u (local.get 0) (i32.const 1)))
              (local.set 0
                (if (result i32) (i32.and (local.get 0) (i32.const 1))
                  (then (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 1)))
                  (else (i32.shr_u (local.get 0) (i32.const 1)))))
              (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
              (br $next)))
          (local.get $steps))
        (func $classify (param i32) (result i32)
          (block $c (block $b (block $a
            (br_table $a $b $c (i32.rem_u (local.get 0) (i32.const 4))))
            (return (i32.const 10)))
            (return (i32.const 20)))
          (i32.const 30))
        (func (export "run") (param $n i32) (result i32) (local $acc i32) (local $i i32)
          (loop $l
            (local.set $acc (i32.add (local.get $acc)
              (call_indirect (type $t) (local.get $i)
                (i32.rem_u (local.get $i) (i32.const 2)))))
            (local.set $acc (i32.add (local.get $acc) (call $classify (local.get $i))))
            (i32.store (i32.const 0) (local.get $acc))
            (memory.fill (i32.const 8) (local.get $i) (i32.const 16))
            (memory.copy (i32.const 100) (i32.const 8) (local.get $i))
            (memory.init $d (i32.const 200) (i32.const 0) (i32.rem_u (local.get $i) (i32.const 5)))
            (table.fill $u (i32.const 0) (ref.null func) (local.get $i))
            (table.copy $u $u (i32.const 1) (i32.const 0) (i32.rem_u (local.get $i) (i32.const 7)))
            (table.init $u $e (i32.const 0) (i32.const 0) (i32.rem_u (local.get $i) (i32.const 3)))
            (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                (local.get $n))))
          (local.get $acc))
    )"#);
    let runs = fuel_of(&m, "run", &[Val::I32(25)]);
    let (_, fuel, result) = &runs[0];
    assert!(*fuel > 1000, "{runs:?}");
    for (mode, f, r) in &runs {
        assert_eq!((f, r), (fuel, result), "{mode} against {}", runs[0].0);
    }
}

/// A bulk operation costs its length (bytes or elements) on top of its 1, charged once
/// its bounds are checked: out of bounds, it costs only its 1.
#[test]
fn bulk_operations_cost_their_length() {
    let m = wat(
        r#"(module (memory 1) (data "abcdef") (table 100 funcref) (elem func $f)
        (func $f)
        (func (export "fill") (memory.fill (i32.const 0) (i32.const 1) (i32.const 1000)))
        (func (export "copy") (memory.copy (i32.const 0) (i32.const 500) (i32.const 300)))
        (func (export "init") (memory.init 0 (i32.const 0) (i32.const 1) (i32.const 5)))
        (func (export "table_fill") (table.fill (i32.const 0) (ref.null func) (i32.const 60)))
        (func (export "table_copy") (table.copy (i32.const 0) (i32.const 50) (i32.const 40)))
        (func (export "table_init") (table.init 0 (i32.const 3) (i32.const 0) (i32.const 1)))
        (func (export "out_of_bounds") (result i32)
          (memory.fill (i32.const 65000) (i32.const 1) (i32.const 1000))
          (i32.const 0)))"#,
    );
    // Four operators each (three operands and the operation), plus the length.
    for (export, want) in [
        ("fill", 4 + 1000),
        ("copy", 4 + 300),
        ("init", 4 + 5),
        ("table_fill", 4 + 60),
        ("table_copy", 4 + 40),
        ("table_init", 4 + 1),
    ] {
        for (mode, used, _) in fuel_of(&m, export, &[]) {
            assert_eq!(used, want, "{export} in {mode}");
        }
    }
    each_mode(
        |c| c.consume_fuel(true),
        |mode, engine, reg| {
            reg.load("m", &m).unwrap();
            engine.set_fuel(MUCH).unwrap();
            let e = reg
                .func("m", "out_of_bounds")
                .unwrap()
                .call(&[])
                .unwrap_err();
            assert_eq!(trap_code(&e), Some(TrapCode::MemoryOutOfBounds), "{mode}");
            // The whole stretch (5) was charged at its start; the length was not.
            assert_eq!(MUCH - engine.get_fuel().unwrap(), 5, "{mode}");
        },
    );
}

/// Long bulk operations in a loop run out of fuel as soon as the fuel cannot pay for
/// one: the first 1 GiB `memory.fill` with 100 fuel traps, writing nothing; so does a
/// `table.fill` of a million elements with 1,000.
#[test]
fn long_bulk_operations_run_out_of_fuel_before_they_start() {
    let m = wat(
        r#"(module (memory (export "mem") 16384) (table (export "tab") 1000000 funcref)
        (func $f) (elem declare func $f)
        (func (export "fills")
          (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x40000000)) (br $l)))
        (func (export "table_fills")
          (loop $l (table.fill (i32.const 0) (ref.func $f) (i32.const 1000000)) (br $l))))"#,
    );
    each_mode(
        |c| c.consume_fuel(true),
        |mode, engine, reg| {
            let inst = reg.load("m", &m).unwrap();
            for (export, fuel) in [("fills", 100), ("table_fills", 1000)] {
                engine.set_fuel(fuel).unwrap();
                let e = reg.func("m", export).unwrap().call(&[]).unwrap_err();
                assert_eq!(
                    trap_code(&e),
                    Some(TrapCode::OutOfFuel),
                    "{mode} {export}: {e}"
                );
            }
            let mut first = [9u8; 1];
            inst.exported_memory("mem")
                .unwrap()
                .read(0, &mut first)
                .unwrap();
            assert_eq!(first, [0], "{mode}: the fill did not run");
            let tab = reg.table("m", "tab").unwrap();
            assert_eq!(tab.get(0).unwrap(), 0, "{mode}: the table fill did not run");
        },
    );
}

/// With too little fuel, every mode traps at the same loop iteration, with the same
/// memory written, and the fuel reads 0.
#[test]
fn running_out_of_fuel_traps_at_the_same_point_in_every_mode() {
    let m = wat(r#"(module (memory (export "mem") 1)
        (func (export "spin") (local $i i32)
          (loop $l
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (i32.store (i32.const 0) (local.get $i))
            (br $l))))"#);
    let mut counts = Vec::new();
    each_mode(
        |c| c.consume_fuel(true),
        |mode, engine, reg| {
            let inst = reg.load("m", &m).unwrap();
            engine.set_fuel(10_000).unwrap();
            let e = reg.func("m", "spin").unwrap().call(&[]).unwrap_err();
            assert_eq!(trap_code(&e), Some(TrapCode::OutOfFuel), "{mode}: {e}");
            assert_eq!(engine.get_fuel().unwrap(), 0, "{mode}");
            let mem = inst.exported_memory("mem").unwrap();
            let mut word = [0u8; 4];
            mem.read(0, &mut word).unwrap();
            counts.push((mode, u32::from_le_bytes(word)));
            // More fuel, and it runs on (and out) again.
            engine.add_fuel(100).unwrap();
            let e = reg.func("m", "spin").unwrap().call(&[]).unwrap_err();
            assert_eq!(trap_code(&e), Some(TrapCode::OutOfFuel), "{mode}");
        },
    );
    assert!(
        counts.iter().all(|c| c.1 == counts[0].1 && c.1 > 1000),
        "{counts:?}"
    );
}

/// Start functions and nested calls through the host draw on the same fuel.
#[test]
fn fuel_covers_start_functions_and_calls_through_the_host() {
    let m = wat(r#"(module
        (import "host" "call_back" (func $back))
        (global $g (mut i32) (i32.const 0))
        (func $start (global.set $g (i32.const 1)))
        (start $start)
        (func (export "inner") (global.set $g (i32.add (global.get $g) (i32.const 1))))
        (func (export "outer") (call $back)))"#);
    each_mode(
        |c| c.consume_fuel(true),
        |mode, engine, reg| {
            engine.set_fuel(0).unwrap();
            let inner = Arc::new(OnceLock::<Func>::new());
            let inner2 = inner.clone();
            let host = HostModule::new().func(
                "call_back",
                rwamr::FuncType::new([], []),
                move |_, _, _| {
                    let f = inner2.get().ok_or_else(|| Trap::host("not loaded"))?;
                    f.call(&[]).map_err(as_trap)?;
                    Ok(())
                },
            );
            reg.define_host("host", &host).unwrap();
            let e = reg.load("m", &m).unwrap_err();
            assert_eq!(trap_code(&e), Some(TrapCode::OutOfFuel), "{mode}: {e}");
            engine.set_fuel(MUCH).unwrap();
            reg.load("m", &m).unwrap();
            let after_start = engine.get_fuel().unwrap();
            inner.set(reg.func("m", "inner").unwrap()).unwrap();
            assert_eq!(MUCH - after_start, 2, "{mode}: the start function's fuel");
            reg.func("m", "outer").unwrap().call(&[]).unwrap();
            // outer: call (1); inner: global.get, i32.const, i32.add, global.set (4).
            assert_eq!(after_start - engine.get_fuel().unwrap(), 5, "{mode}");
        },
    );
}

#[test]
fn engines_without_metering_refuse_to_set_it() {
    let engine = Engine::new(Config::default()).unwrap();
    let e = engine.set_fuel(5).unwrap_err();
    assert!(e.to_string().contains("consume_fuel(true)"), "{e}");
    let e = engine.set_epoch_deadline(1).unwrap_err();
    assert!(e.to_string().contains("epoch_interruption(true)"), "{e}");
    // Without fuel on, the thread's fuel does not matter.
    let reg = Registry::new(&engine);
    reg.load(
        "m",
        wat(r#"(module (func (export "f") (result i32) i32.const 1))"#),
    )
    .unwrap();
    assert_eq!(
        reg.func("m", "f").unwrap().call(&[]).unwrap(),
        [Val::I32(1)]
    );
}

/// An endless loop, and endless recursion through a loop-free function, stop soon after
/// another thread advances the epoch past their deadline.
#[test]
fn endless_code_stops_at_its_deadline() {
    let m = wat(r#"(module
        (func (export "spin") (loop $l (br $l)))
        (func $down (export "down") (param i32)
          (if (i32.eqz (local.get 0)) (then (return)))
          (call $down (i32.sub (local.get 0) (i32.const 1)))
          (call $down (i32.sub (local.get 0) (i32.const 1)))))"#);
    each_mode(
        |c| c.epoch_interruption(true),
        |mode, engine, reg| {
            reg.load("m", &m).unwrap();
            for export in ["spin", "down"] {
                // 2^40 calls, 40 deep.
                let args = if export == "down" {
                    vec![Val::I32(40)]
                } else {
                    vec![]
                };
                engine.set_epoch_deadline(1).unwrap();
                let ticker = {
                    let engine = engine.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(50));
                        engine.increment_epoch();
                    })
                };
                let t = Instant::now();
                let e = reg.func("m", export).unwrap().call(&args).unwrap_err();
                ticker.join().unwrap();
                assert_eq!(
                    trap_code(&e),
                    Some(TrapCode::Interrupted),
                    "{mode} {export}: {e}"
                );
                assert!(t.elapsed() < Duration::from_secs(10), "{mode} {export}");
            }
            // A deadline far away lets calls finish.
            engine.set_epoch_deadline(u64::MAX).unwrap();
            reg.load(
                "n",
                wat(r#"(module (func (export "f") (result i32) i32.const 1))"#),
            )
            .unwrap();
            assert_eq!(
                reg.func("n", "f").unwrap().call(&[]).unwrap(),
                [Val::I32(1)]
            );
        },
    );
}

/// Deadlines are per thread: a thread whose deadline passed traps, another runs on.
#[test]
fn deadlines_belong_to_the_thread() {
    let m = wat(r#"(module (func (export "f") (result i32) (loop $l) i32.const 7))"#);
    let config = Config::default().mode(rwamr::built_modes()[0]);
    let engine = Engine::new(config.epoch_interruption(true)).unwrap();
    let reg = Registry::new(&engine);
    reg.load("m", &m).unwrap();
    engine.set_epoch_deadline(0).unwrap();
    let e = reg.func("m", "f").unwrap().call(&[]).unwrap_err();
    assert_eq!(trap_code(&e), Some(TrapCode::Interrupted), "{e}");
    let f = reg.func("m", "f").unwrap();
    let other = std::thread::spawn(move || f.call(&[]).map_err(|e| e.to_string()));
    assert_eq!(other.join().unwrap(), Ok(vec![Val::I32(7)]));
}

/// A `memory.fill` or `memory.copy` of 16 MiB checks the deadline between its 4 MiB
/// chunks: the host advances the epoch just before, and it stops after one chunk (the
/// copy goes forwards: its destination is below its source).
#[test]
fn long_bulk_memory_operations_stop_at_the_deadline() {
    let m = wat(r#"(module
        (import "host" "tick" (func $tick))
        (memory (export "mem") 512)
        (func (export "fill") (call $tick)
          (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x1000000)))
        (func (export "copy")
          (memory.fill (i32.const 0x1000000) (i32.const 2) (i32.const 0x1000000))
          (call $tick)
          (memory.copy (i32.const 0) (i32.const 0x1000000) (i32.const 0x1000000))))"#);
    each_mode(
        |c| c.epoch_interruption(true),
        |mode, engine, reg| {
            let e2 = engine.clone();
            let host =
                HostModule::new().func("tick", rwamr::FuncType::new([], []), move |_, _, _| {
                    e2.increment_epoch();
                    Ok(())
                });
            reg.define_host("host", &host).unwrap();
            let inst = reg.load("m", &m).unwrap();
            let mem = inst.exported_memory("mem").unwrap();
            let count = |value: u8| {
                let mut buf = vec![0u8; 0x1000000];
                mem.read(0, &mut buf).unwrap();
                buf.iter().filter(|b| **b == value).count()
            };
            for (export, value) in [("fill", 1), ("copy", 2)] {
                engine.set_epoch_deadline(1).unwrap();
                let e = reg.func("m", export).unwrap().call(&[]).unwrap_err();
                assert_eq!(
                    trap_code(&e),
                    Some(TrapCode::Interrupted),
                    "{mode} {export}: {e}"
                );
                assert_eq!(count(value), 4 << 20, "{mode} {export}: one chunk ran");
            }
        },
    );
}

/// Two engines on one thread: each engine's code draws on the thread's budget for that
/// engine only, also when one's code calls the other's through the host.
#[test]
fn budgets_belong_to_their_engine() {
    let m = wat(r#"(module
        (import "host" "other" (func $other))
        (func (export "work") (result i32) (i32.add (i32.const 1) (i32.const 2)))
        (func (export "spin") (loop $l (br $l)))
        (func (export "via_host") (call $other)))"#);
    for &mode in rwamr::built_modes() {
        let config = || {
            Config::default()
                .mode(mode)
                .consume_fuel(true)
                .epoch_interruption(true)
        };
        let (a, b) = (
            Engine::new(config()).unwrap(),
            Engine::new(config()).unwrap(),
        );
        let load = |engine: &Engine, other: Option<Func>| {
            let reg = Registry::new(engine);
            let host =
                HostModule::new().func("other", rwamr::FuncType::new([], []), move |_, _, _| {
                    if let Some(f) = &other {
                        f.call(&[]).map_err(as_trap)?;
                    }
                    Ok(())
                });
            reg.define_host("host", &host).unwrap();
            reg.load("m", &m).unwrap();
            reg
        };
        let rb = load(&b, None);
        let ra = load(&a, Some(rb.func("m", "work").unwrap()));
        // Fuel given through A is A's: B's code has none.
        a.set_fuel(1000).unwrap();
        b.set_fuel(0).unwrap();
        let e = rb.func("m", "work").unwrap().call(&[]).unwrap_err();
        assert_eq!(trap_code(&e), Some(TrapCode::OutOfFuel), "{mode}: {e}");
        assert_eq!(a.get_fuel().unwrap(), 1000, "{mode}: A's untouched");
        // A's code calling B's through the host: each draws on its own.
        b.set_fuel(100).unwrap();
        ra.func("m", "via_host").unwrap().call(&[]).unwrap();
        assert_eq!(a.get_fuel().unwrap(), 1000 - 1, "{mode}: the call");
        assert_eq!(b.get_fuel().unwrap(), 100 - 3, "{mode}: work");
        // A deadline far away in A does not hold B's code: B's own has come.
        a.set_epoch_deadline(1000).unwrap();
        b.set_fuel(u64::MAX).unwrap();
        b.set_epoch_deadline(0).unwrap();
        let t = Instant::now();
        let e = rb.func("m", "spin").unwrap().call(&[]).unwrap_err();
        assert_eq!(trap_code(&e), Some(TrapCode::Interrupted), "{mode}: {e}");
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{mode}: {:?}",
            t.elapsed()
        );
    }
}

/// A server: one engine, a pool of threads, each request a call with its own fuel and
/// deadline (`call_with_budget`), set on no thread; another engine's code on the same
/// threads keeps its own budgets.
#[test]
fn a_server_gives_each_call_its_own_budget() {
    use rwamr::Budget;
    let m = wat(r#"(module
        (func (export "count") (param $n i32) (result i32) (local $i i32)
          (block $done
            (loop $top
              (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $top)))
          (local.get $i))
        (func (export "spin") (loop $l (br $l))))"#);
    for &mode in rwamr::built_modes() {
        let metered = Config::default()
            .mode(mode)
            .consume_fuel(true)
            .epoch_interruption(true);
        let server = Engine::new(metered.clone()).unwrap();
        let other = Engine::new(metered).unwrap();
        let (rs, ro) = (Registry::new(&server), Registry::new(&other));
        rs.load("m", &m).unwrap();
        ro.load("m", &m).unwrap();
        let count = rs.func("m", "count").unwrap().typed::<i32, i32>().unwrap();
        let spin = rs.func("m", "spin").unwrap();
        let other_count = ro.func("m", "count").unwrap();
        // A ticker for the server's deadlines.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(2));
                    server.increment_epoch();
                }
            })
        };
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (count, spin, other_count, server, other) =
                    (&count, &spin, &other_count, &server, &other);
                s.spawn(move || {
                    // The other engine's budget on this thread, set once.
                    other.set_fuel(1_000_000).unwrap();
                    for r in 0..20u64 {
                        let n = (t * 20 + r) as i32;
                        // count(n): 9 a round, 4 for the last test, 1 for the result.
                        let mut budget = Budget {
                            fuel: 10_000,
                            deadline: u64::MAX,
                        };
                        assert_eq!(count.call_with_budget(&mut budget, n).unwrap(), n);
                        let used = 10_000 - budget.fuel;
                        assert_eq!(used, 9 * n as u64 + 5, "{mode}: request {n}");
                        // Half the fuel this request needs: it runs out in its loop.
                        if n > 0 {
                            let mut half = Budget {
                                fuel: used / 2,
                                deadline: u64::MAX,
                            };
                            let e = count.call_with_budget(&mut half, n).unwrap_err();
                            assert_eq!(trap_code(&e), Some(TrapCode::OutOfFuel), "{mode}");
                            assert_eq!(half.fuel, 0, "{mode}: an overrun reads as 0");
                        }
                        // An endless request stops at its own deadline.
                        let mut timed = Budget {
                            fuel: u64::MAX,
                            deadline: server.current_epoch() + 2,
                        };
                        let e = spin.call_with_budget(&mut timed, &[]).unwrap_err();
                        assert_eq!(trap_code(&e), Some(TrapCode::Interrupted), "{mode}");
                        // The thread's own budget for the server was never set.
                        assert_eq!(server.get_fuel().unwrap(), 0, "{mode}");
                        // The other engine draws on its own thread budget.
                        let before = other.get_fuel().unwrap();
                        other_count.call(&[Val::I32(3)]).unwrap();
                        assert_eq!(before - other.get_fuel().unwrap(), 9 * 3 + 5, "{mode}");
                    }
                });
            }
        });
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        ticker.join().unwrap();
        // Budgets need the engine to meter them.
        let plain = Engine::new(Config::default().mode(mode)).unwrap();
        let rp = Registry::new(&plain);
        rp.load("m", &m).unwrap();
        let mut b = Budget {
            fuel: 5,
            deadline: u64::MAX,
        };
        let e = rp
            .func("m", "count")
            .unwrap()
            .call_with_budget(&mut b, &[Val::I32(1)])
            .unwrap_err();
        assert!(e.to_string().contains("consume_fuel(true)"), "{e}");
    }
}

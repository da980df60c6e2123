//! Host threads sharing instances, in every mode: an instance with state runs on one
//! thread at a time (a second caller waits, or gets `Busy`), so the usual shadow-stack
//! code gives no wrong results; instances without state run on many threads at once.

mod common;
use common::wat;
use rwamr::{Config, Contention, Engine, FuncType, HostModule, Mode, Registry, TrapCode, Val};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn each_mode(contention: Contention, mut f: impl FnMut(Mode, Registry)) {
    for &mode in rwamr::built_modes() {
        let config = Config::default().mode(mode).contention(contention);
        let engine = Engine::new(config).expect("engine");
        f(mode, Registry::new(&engine));
    }
}

fn trap_code(e: &rwamr::Error) -> Option<TrapCode> {
    e.trap().map(|t| t.code())
}

/// What C compilers make of a function with a local array: its frame on a shadow stack in
/// linear memory, addressed through a mutable global. Two threads running it at once
/// without exclusion move the stack pointer under each other.
const SHADOW_STACK: &str = r#"(module
    (memory 1)
    (global $sp (mut i32) (i32.const 65536))
    (func $work (param $x i32) (result i32)
        (local $frame i32) (local $i i32) (local $sum i32)
        (local.set $frame (i32.sub (global.get $sp) (i32.const 64)))
        (global.set $sp (local.get $frame))
        ;; fill the frame with x, x+1, ..., then sum it back
        (loop $fill
            (i32.store (i32.add (local.get $frame) (i32.shl (local.get $i) (i32.const 2)))
                       (i32.add (local.get $x) (local.get $i)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $fill (i32.lt_u (local.get $i) (i32.const 16))))
        (local.set $i (i32.const 0))
        (loop $sum
            (local.set $sum (i32.add (local.get $sum)
                (i32.load (i32.add (global.get $sp) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $sum (i32.lt_u (local.get $i) (i32.const 16))))
        (global.set $sp (i32.add (local.get $frame) (i32.const 64)))
        (local.get $sum))
    (func (export "f") (param $x i32) (result i32)
        (call $work (local.get $x))))"#;

/// The shadow-stack function's answer: 16x + 120.
fn expected(x: i32) -> i32 {
    x.wrapping_mul(16).wrapping_add(120)
}

#[test]
fn the_shadow_stack_program_gives_no_wrong_results_from_many_host_threads() {
    each_mode(Contention::Wait, |mode, reg| {
        reg.load("m", wat(SHADOW_STACK)).unwrap();
        for threads in [2, 8] {
            let calls = 20_000 / threads;
            let wrong = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for t in 0..threads {
                    let f = reg.func("m", "f").unwrap().typed::<i32, i32>().unwrap();
                    let wrong = &wrong;
                    s.spawn(move || {
                        for i in 0..calls {
                            let x = t * 1_000_000 + i;
                            if f.call(x).ok() != Some(expected(x)) {
                                wrong.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            assert_eq!(
                wrong.load(Ordering::Relaxed),
                0,
                "{mode}, {threads} threads: wrong results"
            );
        }
        // The stack pointer is back where it started.
        let f = reg.func("m", "f").unwrap();
        assert_eq!(f.call(&[Val::I32(1)]).unwrap(), vec![Val::I32(136)]);
    });
}

/// A module with state whose `hold` calls the host's `env.wait`, which blocks until
/// released: the calling thread holds the instance meanwhile.
const HOLDER: &str = r#"(module
    (import "env" "wait" (func $wait))
    (memory (export "memory") 1)
    (global $g (mut i32) (i32.const 0))
    (func (export "hold") (call $wait))
    (func (export "bump") (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (global.get $g)))"#;

/// A host module whose `wait` blocks until `release` is set, after saying it started.
fn blocking_env(started: Arc<Barrier>, release: Arc<Barrier>) -> HostModule {
    HostModule::new().func("wait", FuncType::new([], []), move |_, _, _| {
        started.wait();
        release.wait();
        Ok(())
    })
}

#[test]
fn a_second_caller_gets_busy_or_waits_as_configured() {
    for contention in [Contention::Fail, Contention::Wait] {
        each_mode(contention, |mode, reg| {
            let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
            reg.define_host("env", &blocking_env(started.clone(), release.clone()))
                .unwrap();
            reg.load("m", wat(HOLDER)).unwrap();
            let hold = reg.func("m", "hold").unwrap();
            let bump = reg.func("m", "bump").unwrap();
            let memory = reg.memory("m", "memory").unwrap();
            std::thread::scope(|s| {
                let holder = s.spawn(|| hold.call(&[]));
                started.wait();
                // The holder is inside the instance now.
                let t = Instant::now();
                let other = s.spawn(|| {
                    let mut byte = [0u8];
                    (bump.call(&[]), memory.read(0, &mut byte))
                });
                match contention {
                    Contention::Fail => {
                        let (call, read) = other.join().unwrap();
                        let e = call.unwrap_err();
                        assert_eq!(trap_code(&e), Some(TrapCode::Busy), "{mode}: {e}");
                        assert!(e.to_string().contains("instance busy"), "{mode}: {e}");
                        assert_eq!(read.unwrap_err().code(), TrapCode::Busy, "{mode}");
                        release.wait();
                    }
                    Contention::Wait => {
                        std::thread::sleep(Duration::from_millis(100));
                        assert!(!other.is_finished(), "{mode}: the second caller waits");
                        release.wait();
                        let (call, read) = other.join().unwrap();
                        assert_eq!(call.unwrap(), vec![Val::I32(1)], "{mode}");
                        read.unwrap();
                        assert!(t.elapsed() >= Duration::from_millis(100));
                    }
                }
                holder.join().unwrap().unwrap();
            });
            // Free again: any thread may enter.
            let bump = reg.func("m", "bump").unwrap();
            std::thread::spawn(move || bump.call(&[]).unwrap())
                .join()
                .unwrap();
        });
    }
}

#[test]
fn the_same_thread_reenters_through_the_host() {
    each_mode(Contention::Fail, |mode, reg| {
        // `outer` calls the host, which calls `inner` of the same instance again.
        let slot: Arc<std::sync::OnceLock<rwamr::Func>> = Arc::default();
        let inner = slot.clone();
        let env = HostModule::new().func("back", FuncType::new([], []), move |_, _, _| {
            inner.get().unwrap().call(&[])?;
            Ok(())
        });
        reg.define_host("env", &env).unwrap();
        reg.load(
            "m",
            wat(r#"(module
                (import "env" "back" (func $back))
                (global $g (mut i32) (i32.const 0))
                (func (export "inner") (global.set $g (i32.add (global.get $g) (i32.const 1))))
                (func (export "outer") (result i32) (call $back) (call $back) (global.get $g)))"#),
        )
        .unwrap();
        let _ = slot.set(reg.func("m", "inner").unwrap());
        let outer = reg.func("m", "outer").unwrap();
        assert_eq!(outer.call(&[]).unwrap(), vec![Val::I32(2)], "{mode}");
    });
}

#[test]
fn waiting_that_would_deadlock_is_busy_instead() {
    each_mode(Contention::Wait, |mode, reg| {
        // x.f and y.f each call the host, which (once both are inside) calls the other's
        // `g`: each thread holds one instance and waits for the other.
        let both_in = Arc::new(Barrier::new(2));
        let targets: Arc<std::sync::Mutex<Vec<rwamr::Func>>> = Arc::default();
        let (b, t) = (both_in.clone(), targets.clone());
        let env = HostModule::new().func(
            "cross",
            FuncType::new([rwamr::ValType::I32], []),
            move |_, args, _| {
                b.wait();
                let g = t.lock().unwrap()[args[0].i32().unwrap() as usize].clone();
                g.call(&[])?;
                Ok(())
            },
        );
        reg.define_host("env", &env).unwrap();
        let module = |other: i32| {
            wat(&format!(
                r#"(module
                    (import "env" "cross" (func $cross (param i32)))
                    (global $g (mut i32) (i32.const 0))
                    (func (export "g") (global.set $g (i32.const 1)))
                    (func (export "f") (call $cross (i32.const {other}))))"#
            ))
        };
        reg.load("x", module(1)).unwrap();
        reg.load("y", module(0)).unwrap();
        *targets.lock().unwrap() = vec![reg.func("x", "g").unwrap(), reg.func("y", "g").unwrap()];
        let (fx, fy) = (reg.func("x", "f").unwrap(), reg.func("y", "f").unwrap());
        let (rx, ry) = std::thread::scope(|s| {
            let a = s.spawn(|| fx.call(&[]));
            let b = s.spawn(|| fy.call(&[]));
            (a.join().unwrap(), b.join().unwrap())
        });
        let busy = [&rx, &ry]
            .iter()
            .filter(|r| {
                r.as_ref().err().is_some_and(|e| {
                    e.trap().is_some_and(|t| {
                        t.to_string().contains("instance busy")
                            && t.to_string().contains("deadlock")
                    })
                })
            })
            .count();
        assert!(busy >= 1, "{mode}: {rx:?} {ry:?}");
        assert!(
            rx.is_ok() || ry.is_ok(),
            "{mode}: the other one goes on: {rx:?} {ry:?}"
        );
    });
}

#[test]
fn instances_without_state_run_on_many_threads_at_once() {
    each_mode(Contention::Fail, |mode, reg| {
        // Both threads are inside `f` at the same time: each waits (in the host) until
        // the other has arrived.
        let inside = Arc::new(AtomicUsize::new(0));
        let seen = inside.clone();
        let env = HostModule::new().func(
            "meet",
            FuncType::new([], [rwamr::ValType::I32]),
            move |_, _, results| {
                seen.fetch_add(1, Ordering::SeqCst);
                let t = Instant::now();
                while seen.load(Ordering::SeqCst) < 2 && t.elapsed() < Duration::from_secs(10) {
                    std::thread::yield_now();
                }
                results[0] = Val::I32((seen.load(Ordering::SeqCst) >= 2) as i32);
                Ok(())
            },
        );
        reg.define_host("env", &env).unwrap();
        reg.load(
            "pure",
            wat(r#"(module (import "env" "meet" (func $meet (result i32)))
                    (func (export "f") (result i32) (call $meet)))"#),
        )
        .unwrap();
        let f = reg.func("pure", "f").unwrap();
        let met = std::thread::scope(|s| {
            let a = s.spawn(|| f.call(&[]).unwrap());
            let b = s.spawn(|| f.call(&[]).unwrap());
            [a.join().unwrap(), b.join().unwrap()]
        });
        assert_eq!(met, [vec![Val::I32(1)], vec![Val::I32(1)]], "{mode}");
    });
}

#[test]
fn importers_of_a_memory_share_its_owners_lock() {
    each_mode(Contention::Fail, |mode, reg| {
        let (started, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        reg.define_host("env", &blocking_env(started.clone(), release.clone()))
            .unwrap();
        reg.load("m", wat(HOLDER)).unwrap();
        // `user` has no state of its own, only m's memory.
        reg.load(
            "user",
            wat(r#"(module (import "m" "memory" (memory 1))
                    (func (export "poke") (i32.store8 (i32.const 0) (i32.const 7))))"#),
        )
        .unwrap();
        let hold = reg.func("m", "hold").unwrap();
        let poke = reg.func("user", "poke").unwrap();
        std::thread::scope(|s| {
            let holder = s.spawn(|| hold.call(&[]));
            started.wait();
            let e = s.spawn(|| poke.call(&[])).join().unwrap().unwrap_err();
            assert_eq!(trap_code(&e), Some(TrapCode::Busy), "{mode}: {e}");
            release.wait();
            holder.join().unwrap().unwrap();
        });
        poke.call(&[]).unwrap();
    });
}

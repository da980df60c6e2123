//! Shared memories and the threads proposal through the embedding API, in every mode:
//! a memory the host makes and shares between instances on many host threads, atomic
//! counters under contention, `memory.atomic.wait/notify` with the host notifying and
//! interrupting, and growth seen across threads.

mod common;
use common::wat;
use rwamr::{
    Config, Engine, ErrorKind, HostModule, Memory, MemoryType, Mode, Registry, TrapCode, Val,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A registry per mode whose `env.memory` is one shared memory (1 page, at most 4) the
/// host made.
fn each_mode(epoch: bool, mut f: impl FnMut(Mode, &Registry, &Arc<Memory>)) {
    for &mode in rwamr::built_modes() {
        let config = Config::default().mode(mode).epoch_interruption(epoch);
        let engine = Engine::new(config).expect("engine");
        let memory = Memory::new_in(&engine, MemoryType::shared(1, 4)).unwrap();
        let registry = Registry::new(&engine);
        let env = HostModule::new().export_memory("memory", &memory);
        registry.define_host("env", &env).unwrap();
        f(mode, &registry, &memory);
    }
}

const THREADED: &str = r#"(module
    (memory (import "env" "memory") 1 4 shared)
    ;; Adds 1 to the word at 0, n times.
    (func (export "add") (param $n i32)
        (loop $more
            (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
            (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    ;; Counts itself in at 8, then spins until `n` callers have.
    (func (export "meet") (param $n i32)
        (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
        (loop $spin (br_if $spin (i32.lt_u (i32.atomic.load (i32.const 8)) (local.get $n)))))
    (func (export "wait") (param $addr i32) (param $timeout i64) (result i32)
        (memory.atomic.wait32 (local.get $addr) (i32.const 0) (local.get $timeout)))
    (func (export "wait_forever") (result i32)
        (memory.atomic.wait32 (i32.const 16) (i32.const 0) (i64.const -1)))
    ;; Waits for the flag at 24, then uses the page a grow on another thread added.
    (func (export "after_grow") (result i32)
        (loop $spin (br_if $spin (i32.eqz (i32.atomic.load (i32.const 24)))))
        (i32.store (i32.const 65552) (i32.const 7))
        (i32.load (i32.const 65552)))
    (func (export "grow") (result i32)
        (memory.grow (i32.const 1))
        (i32.atomic.store (i32.const 24) (i32.const 1))))"#;

fn word(memory: &Memory, at: u64) -> u64 {
    memory.with_view(|v| v.atomic_load(at, 4)).unwrap().unwrap()
}

#[test]
fn eight_threads_add_contended_and_the_total_is_exact() {
    each_mode(false, |mode, reg, memory| {
        reg.load("m", wat(THREADED)).unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                // Half the threads share one instance, the others have their own:
                // instances without state of their own run on many threads at once.
                let inst = match t % 2 {
                    0 => reg.find("m").unwrap(),
                    _ => reg.instantiate(wat(THREADED)).unwrap(),
                };
                s.spawn(move || {
                    let add = inst.get_func("add").unwrap();
                    add.call(&[Val::I32(100_000)]).unwrap();
                });
            }
        });
        assert_eq!(word(memory, 0), 800_000, "{mode}");
    });
}

#[test]
fn threads_run_one_instance_at_once() {
    each_mode(false, |mode, reg, _| {
        reg.load("m", wat(THREADED)).unwrap();
        let meet = reg.func("m", "meet").unwrap();
        let t = Instant::now();
        std::thread::scope(|s| {
            let a = s.spawn(|| meet.call(&[Val::I32(2)]));
            let b = s.spawn(|| meet.call(&[Val::I32(2)]));
            // Each returns only once the other has come in: they run at once.
            a.join().unwrap().unwrap();
            b.join().unwrap().unwrap();
        });
        assert!(t.elapsed() < Duration::from_secs(30), "{mode}");
    });
}

#[test]
fn a_waiter_sleeps_until_the_host_notifies_it() {
    each_mode(false, |mode, reg, memory| {
        reg.load("m", wat(THREADED)).unwrap();
        let wait = reg.func("m", "wait").unwrap();
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3)
                .map(|_| s.spawn(|| wait.call(&[Val::I32(32), Val::I64(-1)])))
                .collect();
            // Wake them one at a time: each notify counts the one it woke.
            let mut woken = 0;
            let t = Instant::now();
            while woken < 3 {
                match memory.atomic_notify(32, 1).unwrap() {
                    0 => std::thread::yield_now(),
                    n => {
                        assert_eq!(n, 1, "{mode}");
                        woken += 1;
                    }
                }
                assert!(t.elapsed() < Duration::from_secs(30), "{mode}: stuck");
            }
            for w in waiters {
                assert_eq!(w.join().unwrap().unwrap(), vec![Val::I32(0)], "{mode}");
            }
            assert_eq!(memory.atomic_notify(32, u32::MAX).unwrap(), 0, "{mode}");
        });
    });
}

#[test]
fn spurious_wakeups_are_not_seen_and_timeouts_hold() {
    each_mode(true, |mode, reg, memory| {
        reg.load("m", wat(THREADED)).unwrap();
        let wait = reg.func("m", "wait").unwrap();
        let engine = reg.engine().clone();
        std::thread::scope(|s| {
            let timed = s.spawn(|| {
                engine.set_epoch_deadline(u64::MAX / 2).unwrap();
                let t = Instant::now();
                let r = wait.call(&[Val::I32(40), Val::I64(100_000_000)]);
                (r, t.elapsed())
            });
            let forever = s.spawn(|| {
                engine.set_epoch_deadline(u64::MAX / 2).unwrap();
                wait.call(&[Val::I32(48), Val::I64(-1)])
            });
            // Epoch increments wake every waiter with a deadline to check it: neither
            // may return for them.
            for _ in 0..200 {
                engine.increment_epoch();
                std::thread::sleep(Duration::from_micros(500));
            }
            let (r, took) = timed.join().unwrap();
            assert_eq!(r.unwrap(), vec![Val::I32(2)], "{mode}: timed out");
            assert!(took >= Duration::from_millis(100), "{mode}: {took:?}");
            assert!(!forever.is_finished(), "{mode}");
            while memory.atomic_notify(48, 1).unwrap() == 0 {
                std::thread::yield_now();
            }
            assert_eq!(
                forever.join().unwrap().unwrap(),
                vec![Val::I32(0)],
                "{mode}"
            );
        });
    });
}

#[test]
fn the_host_interrupts_waiters_by_deadline_or_for_shutdown() {
    each_mode(true, |mode, reg, memory| {
        reg.load("m", wat(THREADED)).unwrap();
        let wait_forever = reg.func("m", "wait_forever").unwrap();
        let engine = reg.engine().clone();
        std::thread::scope(|s| {
            let w = s.spawn(|| {
                engine.set_epoch_deadline(1).unwrap();
                wait_forever.call(&[])
            });
            std::thread::sleep(Duration::from_millis(20));
            engine.increment_epoch();
            let e = w.join().unwrap().unwrap_err();
            assert_eq!(
                e.trap().map(|t| t.code()),
                Some(TrapCode::Interrupted),
                "{mode}: {e}"
            );

            let w = s.spawn(|| {
                engine.set_epoch_deadline(u64::MAX / 2).unwrap();
                wait_forever.call(&[])
            });
            std::thread::sleep(Duration::from_millis(20));
            memory.interrupt_waits();
            let e = w.join().unwrap().unwrap_err();
            assert_eq!(
                e.trap().map(|t| t.code()),
                Some(TrapCode::Interrupted),
                "{mode}: {e}"
            );
            // Later waits in the memory trap at once.
            let e = wait_forever.call(&[]).unwrap_err();
            assert_eq!(
                e.trap().map(|t| t.code()),
                Some(TrapCode::Interrupted),
                "{mode}"
            );
        });
    });
}

#[test]
fn a_grow_on_one_thread_is_seen_by_another() {
    each_mode(false, |mode, reg, memory| {
        reg.load("m", wat(THREADED)).unwrap();
        let after_grow = reg.func("m", "after_grow").unwrap();
        let grow = reg.func("m", "grow").unwrap();
        std::thread::scope(|s| {
            // It enters (and reads the length) before the grow.
            let user = s.spawn(|| after_grow.call(&[]));
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!(grow.call(&[]).unwrap(), vec![Val::I32(1)], "{mode}");
            assert_eq!(user.join().unwrap().unwrap(), vec![Val::I32(7)], "{mode}");
        });
        assert_eq!(memory.size_pages(), 2, "{mode}");
        assert_eq!(word(memory, 65552), 7, "{mode}");
    });
}

#[test]
fn shared_and_unshared_memories_do_not_link_to_each_other() {
    let engine = Engine::new(Config::default()).unwrap();
    let reg = Registry::new(&engine);
    let shared = Memory::new_in(&engine, MemoryType::shared(1, 4)).unwrap();
    let unshared = Memory::new_in(&engine, MemoryType::new(1, Some(4))).unwrap();
    reg.define_host("s", &HostModule::new().export_memory("memory", &shared))
        .unwrap();
    reg.define_host(
        "u",
        &HostModule::new().memory("memory", MemoryType::new(1, Some(4))),
    )
    .unwrap();
    let e = reg
        .load("a", wat(r#"(module (memory (import "s" "memory") 1 4))"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Link, "{e}");
    assert!(
        e.to_string()
            .contains("expected an unshared memory, found a shared one"),
        "{e}"
    );
    let e = reg
        .load(
            "b",
            wat(r#"(module (memory (import "u" "memory") 1 4 shared))"#),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("expected a shared memory, found an unshared one"),
        "{e}"
    );
    // Only a shared memory can be exported to many importers.
    let e = reg
        .define_host("x", &HostModule::new().export_memory("memory", &unshared))
        .unwrap_err();
    assert!(e.to_string().contains("not shared"), "{e}");
    // A shared memory needs a maximum.
    let e = reg
        .load("c", wat(r#"(module (memory 1 shared))"#))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Invalid, "{e}");
    assert!(reg.find("a").is_none() && reg.find("b").is_none() && reg.find("x").is_none());
}

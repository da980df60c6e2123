//! Hot patching a program while 8 of its wasm threads (wasi-threads) call the patched
//! function in a loop, in every mode: every thread moves to the new code and never
//! back, every call returns what one version returns, a thread spawned after the patch
//! starts with the new code, and the module cannot be unloaded (or updated fresh) while
//! its threads run.

mod common;
use common::wat;
use rwamr::wasi::WasiConfig;
use rwamr::{Config, Engine, HostModule, Memory, MemoryType, Registry, UpdatePolicy, Val};
use std::time::{Duration, Instant};

/// Each thread (slot `s`) keeps at `64 + 16 s`: calls that returned 1, calls that
/// returned 2, wrong results (anything else, or 1 after 2), and its first result.
/// Word 0 stops the threads; word 4 counts the finished ones, word 8 the started ones.
fn program(version_body: &str) -> String {
    format!(
        r#"(module
    (import "env" "memory" (memory 1 1 shared))
    (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
    (func $version (export "version") (result i32) {version_body})
    (func $bump (param $at i32)
        (i32.atomic.store (local.get $at) (i32.add (i32.atomic.load (local.get $at)) (i32.const 1))))
    (func (export "wasi_thread_start") (param $tid i32) (param $slot i32)
        (local $v i32) (local $base i32) (local $seen2 i32)
        (local.set $base (i32.add (i32.const 64) (i32.shl (local.get $slot) (i32.const 4))))
        (i32.atomic.store offset=12 (local.get $base) (call $version))
        (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
        (loop $more
            (local.set $v (call $version))
            (if (i32.eq (local.get $v) (i32.const 2))
                (then
                    (local.set $seen2 (i32.const 1))
                    (call $bump (i32.add (local.get $base) (i32.const 4))))
                (else
                    (if (i32.and (i32.eq (local.get $v) (i32.const 1)) (i32.eqz (local.get $seen2)))
                        (then (call $bump (local.get $base)))
                        (else (call $bump (i32.add (local.get $base) (i32.const 8)))))))
            (br_if $more (i32.eqz (i32.atomic.load (i32.const 0)))))
        (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
        (drop (memory.atomic.notify (i32.const 4) (i32.const -1))))
    (func (export "start") (param $slot i32) (result i32) (call $spawn (local.get $slot))))"#
    )
}

fn word(m: &Memory, at: u64) -> u64 {
    m.with_view(|v| v.atomic_load(at, 4)).unwrap().unwrap()
}

/// Waits (at most 60 s) until `done` holds.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn eight_threads_move_to_a_patched_function_and_never_back() {
    let v1 = wat(&program("(i32.const 1)"));
    let v2 = wat(&program("(i32.add (i32.const 1) (i32.const 1))"));
    let v2b = wat(&program("(i32.sub (i32.const 3) (i32.const 1))"));
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).unwrap();
        let reg = Registry::new(&engine);
        let memory = Memory::new_in(&engine, MemoryType::shared(1, 1)).unwrap();
        reg.define_host("env", &HostModule::new().export_memory("memory", &memory))
            .unwrap();
        reg.define_host("wasi", &WasiConfig::new().host().threads)
            .unwrap();
        reg.load("prog", &v1).unwrap();
        let start = reg.func("prog", "start").unwrap();
        for slot in 0..8 {
            let tid = start.call(&[Val::I32(slot)]).unwrap();
            assert!(matches!(tid[..], [Val::I32(t)] if t > 0), "{mode}: {tid:?}");
        }
        let slot = |s: u64, field: u64| word(&memory, 64 + 16 * s + field);
        until("8 threads calling", || {
            word(&memory, 8) == 8 && (0..8).all(|s| slot(s, 0) > 100)
        });

        let e = reg.unload("prog").unwrap_err();
        assert!(e.to_string().contains("still running"), "{mode}: {e}");

        reg.patch_function("prog", "version", &v2).unwrap();
        until("every thread on the new code", || {
            (0..8).all(|s| slot(s, 4) > 100)
        });
        // A whole-module update keeping state reaches the threads too; a fresh one
        // could not take over their state, and is refused.
        let e = reg
            .update_module("prog", &v2b, UpdatePolicy::Fresh)
            .unwrap_err();
        assert!(e.to_string().contains("thread(s) of it run"), "{mode}: {e}");
        let report = reg
            .update_module("prog", &v2b, UpdatePolicy::KeepState)
            .unwrap();
        assert_eq!(report.swapped, ["version"], "{mode}");
        // A thread spawned after the patch starts with it.
        start.call(&[Val::I32(8)]).unwrap();
        until("the late thread", || slot(8, 12) != 0);
        assert_eq!(slot(8, 12), 2, "{mode}: the late thread ran the old code");

        memory
            .with_view(|v| v.atomic_store(0, 4, 1))
            .unwrap()
            .unwrap();
        until("9 threads finished", || word(&memory, 4) == 9);
        for s in 0..9 {
            assert_eq!(slot(s, 8), 0, "{mode}: thread {s} got a wrong result");
        }
        // The threads' instances go with their threads; then the module may go.
        until("the unload", || reg.unload("prog").is_ok());
    }
}

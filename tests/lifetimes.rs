//! Lifetimes of unloaded modules, in every mode: an import cycle (made by a `Fresh`
//! update) is freed when its modules are unloaded, and a handle kept past an unload gets
//! `TrapCode::Unloaded` from the function's code while the data stays usable.

mod common;
use common::{each_mode, wat};
use rwamr::{TrapCode, UpdatePolicy, Val};
use std::sync::{Arc, Mutex, Weak};

/// The tests measure the process's address space: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bytes of address space the process has mapped.
fn address_space() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const B1: &str = r#"(module (memory (export "mem") 1)
    (func (export "f") (result i32) (i32.const 1)))"#;
const A: &str = r#"(module (import "b" "f" (func $f (result i32))) (memory 1)
    (func (export "g") (result i32) (call $f)))"#;
/// The new version of `b` imports from `a`, which imports from `b`: a cycle.
const B2: &str = r#"(module (import "a" "g" (func $g (result i32))) (memory (export "mem") 1)
    (func (export "f") (result i32) (i32.const 2))
    (func (export "h") (result i32) (call $g)))"#;

#[test]
fn an_import_cycle_is_freed_when_its_modules_are_unloaded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (b1, a, b2) = (wat(B1), wat(A), wat(B2));
    let start = address_space();
    each_mode(|mode, reg| {
        for round in 0..40 {
            let mut weak: Vec<Weak<rwamr::Instance>> = Vec::new();
            weak.push(Arc::downgrade(&reg.load("b", &b1).unwrap()));
            weak.push(Arc::downgrade(&reg.load("a", &a).unwrap()));
            reg.update_module("b", &b2, UpdatePolicy::Fresh).unwrap();
            weak.push(Arc::downgrade(&reg.find("b").unwrap()));
            // `a` runs the new `b` through the old one's forwarded slot; `b` calls `a`.
            let h = reg.func("b", "h").unwrap().typed::<(), i32>().unwrap();
            assert_eq!(h.call(()).unwrap(), 2, "{mode}");
            drop(h);
            let mut gone = reg.unload_cascade("b").unwrap();
            gone.sort();
            assert_eq!(gone, ["a", "b"]);
            let alive = weak.iter().filter(|w| w.strong_count() > 0).count();
            assert_eq!(
                alive, 0,
                "{mode}, round {round}: instances of the cycle leaked"
            );
        }
    });
    // Each leaked round would keep three memories' reservations (8 GiB each).
    let grown = address_space().saturating_sub(start);
    assert!(grown < 4 << 30, "address space grew by {} MiB", grown >> 20);
}

#[test]
fn a_handle_kept_past_unload_traps_with_unloaded_and_its_data_stays_usable() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    each_mode(|mode, reg| {
        reg.load(
            "m",
            wat(
                r#"(module (memory (export "mem") 1) (data (i32.const 0) "\07")
                (global (export "g") i32 (i32.const 9))
                (func (export "f") (result i32) (i32.load8_u (i32.const 0))))"#,
            ),
        )
        .unwrap();
        reg.load(
            "user",
            wat(r#"(module (import "m" "f" (func $f (result i32)))
                (func (export "call_f") (result i32) (call $f)))"#),
        )
        .unwrap();
        let f = reg.func("m", "f").unwrap();
        let typed = f.typed::<(), i32>().unwrap();
        let call_f = reg.func("user", "call_f").unwrap();
        let memory = reg.memory("m", "mem").unwrap();
        let global = reg.global("m", "g").unwrap();
        assert_eq!(typed.call(()).unwrap(), 7);
        reg.unload_cascade("m").unwrap();
        let code = |r: rwamr::Result<Vec<Val>>| r.unwrap_err().trap().map(|t| t.code());
        assert_eq!(code(f.call(&[])), Some(TrapCode::Unloaded), "{mode}");
        assert_eq!(code(call_f.call(&[])), Some(TrapCode::Unloaded), "{mode}");
        let e = typed.call(()).unwrap_err();
        assert_eq!(
            e.trap().map(|t| t.code()),
            Some(TrapCode::Unloaded),
            "{mode}"
        );
        // Data is not code: it stays usable through its handles.
        let mut byte = [0u8];
        memory.read(0, &mut byte).unwrap();
        assert_eq!(byte, [7]);
        assert_eq!(global.get(), Val::I32(9));
    });
}

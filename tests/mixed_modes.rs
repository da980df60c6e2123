//! Modules of different execution modes in one registry call each other through the
//! same slots: directly, through tables, with host functions between them, and traps
//! come back through every mode with their backtrace.

mod common;
use common::wat;
use rwamr::{Config, Engine, FuncType, HostModule, Mode, Registry, Trap, TrapCode, Val, ValType};
use std::sync::Arc;

/// `base` (mode `a`): `inc`, a trap, and a table holding `inc`.
fn base() -> Vec<u8> {
    wat(r#"(module
        (table (export "tab") 2 funcref)
        (elem (i32.const 0) $inc)
        (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
        (func (export "boom") (param i32) (result i32) unreachable)
        (func (export "pair") (param i64 f64) (result f64 i64 i32)
            (f64.mul (local.get 1) (f64.const 2)) (i64.add (local.get 0) (i64.const 1)) (i32.const 7))
    )"#)
}

/// `lib` (mode `b`): calls `base` directly, through `base`'s table, and through a host
/// function that calls back into `base`.
fn lib() -> Vec<u8> {
    wat(r#"(module
        (import "base" "inc" (func $inc (param i32) (result i32)))
        (import "base" "boom" (func $boom (param i32) (result i32)))
        (import "base" "pair" (func $pair (param i64 f64) (result f64 i64 i32)))
        (import "base" "tab" (table 2 funcref))
        (import "host" "twice" (func $twice (param i32) (result i32)))
        (type $i2i (func (param i32) (result i32)))
        (func (export "direct") (param i32) (result i32) (call $inc (call $inc (local.get 0))))
        (func (export "indirect") (param i32) (result i32)
            (call_indirect (type $i2i) (local.get 0) (i32.const 0)))
        (func (export "via_host") (param i32) (result i32) (call $twice (local.get 0)))
        (func (export "trap") (param i32) (result i32) (i32.add (call $boom (local.get 0)) (i32.const 1)))
        (func (export "multi") (result i32)
            (local $f f64) (local $i i64) (local $n i32)
            (call $pair (i64.const 41) (f64.const 1.5))
            (local.set $n) (local.set $i) (local.set $f)
            (i32.add (local.get $n)
                (i32.add (i32.wrap_i64 (local.get $i)) (i32.trunc_f64_s (local.get $f)))))
    )"#)
}

fn i32_of(reg: &Registry, m: &str, f: &str, arg: i32) -> rwamr::Result<i32> {
    let func = reg.func(m, f)?;
    let args: &[Val] = if func.ty().params().is_empty() {
        &[]
    } else {
        &[Val::I32(arg)]
    };
    match func.call(args)?.as_slice() {
        [Val::I32(v)] => Ok(*v),
        other => panic!("{m}.{f} returned {other:?}"),
    }
}

#[test]
fn calls_and_traps_cross_every_pair_of_modes() {
    for &a in rwamr::built_modes() {
        for &b in rwamr::built_modes() {
            let engine = Engine::new(Config::default().mode(a)).unwrap();
            let reg = Arc::new(Registry::new(&engine));
            let host = {
                let weak = Arc::downgrade(&reg);
                HostModule::new().func(
                    "twice",
                    FuncType::new([ValType::I32], [ValType::I32]),
                    move |_, args, results| {
                        let reg = weak.upgrade().expect("registry alive");
                        let inc = reg.func("base", "inc").expect("base.inc");
                        let err = |e: rwamr::Error| Trap::host(e.to_string());
                        let once = inc.call(args).map_err(err)?;
                        results[0] = inc.call(&once).map_err(err)?[0].clone();
                        Ok(())
                    },
                )
            };
            reg.define_host("host", &host).unwrap();
            reg.load_in_mode("base", base(), a).unwrap();
            let lib_inst = reg.load_in_mode("lib", lib(), b).unwrap();
            assert_eq!(lib_inst.mode(), b);
            let what = format!("base in {a}, lib in {b}");
            assert_eq!(i32_of(&reg, "lib", "direct", 5).unwrap(), 7, "{what}");
            assert_eq!(i32_of(&reg, "lib", "indirect", 5).unwrap(), 6, "{what}");
            assert_eq!(i32_of(&reg, "lib", "via_host", 5).unwrap(), 7, "{what}");
            assert_eq!(
                i32_of(&reg, "lib", "multi", 0).unwrap(),
                7 + 42 + 3,
                "{what}"
            );
            let e = i32_of(&reg, "lib", "trap", 0).unwrap_err();
            let trap = e.trap().expect("a trap");
            assert_eq!(trap.code(), TrapCode::Unreachable, "{what}");
            let names: Vec<_> = trap
                .backtrace()
                .iter()
                .filter_map(|f| f.func_name.clone())
                .collect();
            assert!(names.iter().any(|n| n == "boom"), "{what}: {names:?}");
            // The registry still works after the trap.
            assert_eq!(i32_of(&reg, "lib", "direct", 1).unwrap(), 3, "{what}");

            // Patching base (mode a) reaches lib's calls, compiled by a's tier.
            let new_base = wat(r#"(module
                (table (export "tab") 2 funcref)
                (elem (i32.const 0) $inc)
                (func $inc (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 10)))
                (func (export "boom") (param i32) (result i32) unreachable)
                (func (export "pair") (param i64 f64) (result f64 i64 i32)
                    (f64.mul (local.get 1) (f64.const 2)) (i64.add (local.get 0) (i64.const 1)) (i32.const 7))
            )"#);
            reg.patch_function("base", "inc", &new_base).unwrap();
            assert_eq!(i32_of(&reg, "lib", "direct", 5).unwrap(), 25, "{what}");
            assert_eq!(i32_of(&reg, "lib", "indirect", 5).unwrap(), 15, "{what}");
            assert_eq!(i32_of(&reg, "lib", "via_host", 5).unwrap(), 25, "{what}");
        }
    }
}

#[test]
fn unknown_modes_are_refused_clearly() {
    // An engine kept to one mode has no other.
    let engine = Engine::new(Config::default().mode(Mode::Interp).mixed_modes(false)).unwrap();
    let reg = Registry::new(&engine);
    let e = reg.load_in_mode("m", base(), Mode::Optimized).unwrap_err();
    assert!(e.to_string().contains("not available"), "{e}");
    assert!(reg.find("m").is_none());
}

/// Lazy baseline compilation installs compiled code only over its own placeholder: a
/// patch made before a function's first call stays, and one made after replaces the
/// lazily compiled code.
#[test]
fn lazy_compilation_never_undoes_a_patch() {
    let version = |v: i32| {
        wat(&format!(
            r#"(module (func $f (export "f") (result i32) (i32.const {v}))
                       (func (export "g") (result i32) (call $f)))"#
        ))
    };
    for lazy in [true, false] {
        let engine = Engine::new(Config::default().mode(Mode::Baseline).lazy_baseline(lazy))
            .expect("baseline is built");
        let reg = Registry::new(&engine);
        reg.load("A", version(1)).unwrap();
        // Patched before anything ran: the placeholder is gone, the patch stays.
        reg.patch_function("A", "f", version(2)).unwrap();
        assert_eq!(i32_of(&reg, "A", "g", 0).unwrap(), 2, "lazy={lazy}");
        assert_eq!(i32_of(&reg, "A", "f", 0).unwrap(), 2, "lazy={lazy}");
        // `g` compiled on its first call; a later patch of it still takes.
        reg.patch_function("A", "g", version(3)).unwrap();
        assert_eq!(i32_of(&reg, "A", "g", 0).unwrap(), 2, "lazy={lazy}");
        reg.patch_function("A", "f", version(4)).unwrap();
        assert_eq!(i32_of(&reg, "A", "g", 0).unwrap(), 4, "lazy={lazy}");
    }
}

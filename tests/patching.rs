//! Hot patching: whole modules and single functions, replaced while loaded, while
//! others depend on them, while they run, and while other threads call them.

mod common;
use common::{call_i32, calls_while_patching, each_mode, each_mode_mix, module_a, module_b, wat};
use rwamr::{ErrorKind, FuncType, HostModule, UpdatePolicy, Val};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn whole_module_update_reaches_dependents() {
    for policy in [UpdatePolicy::KeepState, UpdatePolicy::Fresh] {
        each_mode_mix(|mode, reg| {
            mode.load(&reg, "A", &module_a(1)).unwrap();
            mode.load(&reg, "B", &module_b()).unwrap();
            assert_eq!(call_i32(&reg, "A", "f"), 101);
            assert_eq!(call_i32(&reg, "B", "g"), 1101);
            let f_before = reg.func("A", "f").unwrap();
            let report = reg.update_module("A", module_a(2), policy).unwrap();
            assert!(
                report.swapped.iter().any(|n| n == "f"),
                "{mode} {policy:?}: {report:?}"
            );
            assert_eq!(call_i32(&reg, "A", "f"), 201, "{mode} {policy:?}");
            assert_eq!(call_i32(&reg, "B", "g"), 1201, "{mode} {policy:?}");
            // A handle taken before the update calls the new code too.
            assert_eq!(f_before.call(&[]).unwrap(), vec![Val::I32(201)]);
        });
    }
}

#[test]
fn keep_state_keeps_memory_and_globals_fresh_does_not() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        reg.func("A", "bump").unwrap().call(&[Val::I32(5)]).unwrap();
        assert_eq!(call_i32(&reg, "A", "get"), 10);
        reg.update_module("A", module_a(2), UpdatePolicy::KeepState)
            .unwrap();
        assert_eq!(call_i32(&reg, "A", "get"), 10, "{mode}: state kept");
        reg.update_module("A", module_a(3), UpdatePolicy::Fresh)
            .unwrap();
        assert_eq!(call_i32(&reg, "A", "get"), 0, "{mode}: fresh state");
        assert_eq!(call_i32(&reg, "A", "f"), 301);
    });
}

#[test]
fn single_function_patch_keeps_state() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        reg.func("A", "bump").unwrap().call(&[Val::I32(7)]).unwrap();
        let report = reg.patch_function("A", "f", module_a(2)).unwrap();
        assert_eq!(report.function, "f");
        assert_eq!(call_i32(&reg, "A", "f"), 201, "{mode}");
        assert_eq!(call_i32(&reg, "B", "g"), 1201, "{mode}");
        assert_eq!(
            call_i32(&reg, "A", "get"),
            14,
            "{mode}: memory and global untouched"
        );
        assert_eq!(reg.global("A", "g").unwrap().get(), Val::I32(7));
        // The index form patches the same function.
        reg.patch_function("A", 0u32, module_a(3)).unwrap();
        assert_eq!(call_i32(&reg, "B", "g"), 1301, "{mode}");
    });
}

/// A patch whose new version has more memories, globals, types, functions and tables
/// than the running one (so compiled code's view of the instance, the vmctx, is laid
/// out differently) runs with the running instance's layout: the body's calls, global,
/// memory and table accesses reach the running instance's items.
#[test]
fn patch_from_a_version_with_more_items_uses_the_running_layout() {
    let running = wat(r#"(module
        (type $t (func (result i32)))
        (global $g (mut i32) (i32.const 7))
        (table 1 funcref)
        (elem (i32.const 0) $one)
        (func $one (result i32) (i32.const 1))
        (func (export "f") (result i32)
            (i32.add (call $one) (global.get $g))))"#);
    let new_version = wat(r#"(module
        (type $t (func (result i32)))
        (type $u (func (param i64)))
        (memory 1)
        (global $g (mut i32) (i32.const 7))
        (global $h (mut i32) (i32.const 100))
        (global $i (mut i64) (i64.const 100))
        (table 1 funcref)
        (table 3 funcref)
        (elem (i32.const 0) $one)
        (func $one (result i32) (i32.const 1))
        (func (export "f") (result i32)
            (global.set $g (i32.add (global.get $g) (i32.const 1)))
            (i32.add (call $one)
              (i32.add (call_indirect (type $t) (i32.const 0))
                (i32.mul (global.get $g) (i32.const 10)))))
        (func $later (param i64)))"#);
    each_mode_mix(|mix, reg| {
        mix.load(&reg, "A", &running).unwrap();
        let f = reg.func("A", "f").unwrap();
        assert_eq!(f.call(&[]).unwrap(), vec![Val::I32(8)], "{mix}");
        reg.patch_function("A", "f", &new_version).unwrap();
        // $g goes 7 -> 8: 1 + 1 + 80.
        assert_eq!(f.call(&[]).unwrap(), vec![Val::I32(82)], "{mix}");
        assert_eq!(f.call(&[]).unwrap(), vec![Val::I32(92)], "{mix}");
    });
}

#[test]
fn module_loaded_after_a_patch_sees_it() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        reg.patch_function("A", "f", module_a(4)).unwrap();
        mode.load(&reg, "C", &module_b()).unwrap();
        assert_eq!(call_i32(&reg, "C", "g"), 1401, "{mode}");
        reg.update_module("A", module_a(5), UpdatePolicy::Fresh)
            .unwrap();
        mode.load(&reg, "D", &module_b()).unwrap();
        assert_eq!(call_i32(&reg, "C", "g"), 1501, "{mode}");
        assert_eq!(call_i32(&reg, "D", "g"), 1501, "{mode}");
        // A later patch of the fresh version reaches importers of both versions.
        reg.patch_function("A", "f", module_a(6)).unwrap();
        assert_eq!(call_i32(&reg, "C", "g"), 1601, "{mode}");
        assert_eq!(call_i32(&reg, "D", "g"), 1601, "{mode}");
    });
}

#[test]
fn table_entries_and_refs_taken_before_reach_new_code() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        reg.func("B", "store_ref").unwrap().call(&[]).unwrap();
        let r = match reg.func("A", "ref").unwrap().call(&[]).unwrap().pop() {
            Some(Val::FuncRef(Some(f))) => f,
            other => panic!("{other:?}"),
        };
        reg.patch_function("A", "f", module_a(2)).unwrap();
        assert_eq!(
            call_i32(&reg, "A", "via_table"),
            201,
            "{mode}: A's own table"
        );
        assert_eq!(
            call_i32(&reg, "B", "call_ref"),
            1201 - 1000,
            "{mode}: B's table"
        );
        assert_eq!(
            r.call(&[]).unwrap(),
            vec![Val::I32(201)],
            "{mode}: ref.func"
        );
    });
}

#[test]
fn function_patched_while_on_the_stack_finishes_in_old_code() {
    each_mode_mix(|mode, reg| {
        let reg = Arc::new(reg);
        let patched = Arc::new(AtomicBool::new(false));
        let (r2, p2) = (reg.clone(), patched.clone());
        // Patches A.f the first time it is called, from inside A.f.
        let host = HostModule::new().func("hook", FuncType::new([], []), move |_, _, _| {
            if !p2.swap(true, Ordering::SeqCst) {
                r2.patch_function("A", "f", version(2))
                    .map_err(|e| rwamr::Trap::host(e.to_string()))?;
            }
            Ok(())
        });
        reg.define_host("env", &host).unwrap();
        // f(0) = v; f(n) = hook(); f(n - 1) + 10 * v
        fn version(v: i32) -> Vec<u8> {
            wat(&format!(
                r#"(module (import "env" "hook" (func $hook))
                    (func $f (export "f") (param i32) (result i32)
                        (if (result i32) (i32.eqz (local.get 0))
                            (then (i32.const {v}))
                            (else (call $hook)
                                (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
                                         (i32.const {v}0))))))"#
            ))
        }
        mode.load(&reg, "A", &version(1)).unwrap();
        let f = reg.func("A", "f").unwrap();
        // The outermost frame (version 1) patches f through the hook, then recurses: the
        // calls it makes from then on run version 2 (2 + 20 + 20), and it finishes in
        // version 1 code (+ 10).
        assert_eq!(
            f.call(&[Val::I32(3)]).unwrap(),
            vec![Val::I32(52)],
            "{mode}"
        );
        assert!(patched.load(Ordering::SeqCst));
        assert_eq!(
            f.call(&[Val::I32(3)]).unwrap(),
            vec![Val::I32(62)],
            "{mode}"
        );
    });
}

#[test]
fn refused_patches_change_nothing() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        reg.func("A", "bump").unwrap().call(&[Val::I32(3)]).unwrap();
        let check_unchanged = |why: &str| {
            assert_eq!(call_i32(&reg, "A", "f"), 101, "{mode}: {why}");
            assert_eq!(call_i32(&reg, "B", "g"), 1101, "{mode}: {why}");
            assert_eq!(call_i32(&reg, "A", "get"), 6, "{mode}: {why}");
        };
        // A different type.
        let other_type = wat(r#"(module (func (export "f") (result i64) (i64.const 7)))"#);
        let e = reg.patch_function("A", "f", &other_type).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible);
        assert!(e.to_string().contains("type changed"), "{e}");
        check_unchanged("type");
        // No such function in the new version.
        let e = reg.patch_function("A", "f", wat("(module)")).unwrap_err();
        assert!(e.to_string().contains("no such function"), "{e}");
        check_unchanged("missing");
        // A body that uses a global the running instance lacks.
        let extra_global = wat(
            r#"(module (global $a i64 (i64.const 1)) (global $b i32 (i32.const 2))
                (func (export "f") (result i32) (global.get $b)))"#,
        );
        let e = reg.patch_function("A", "f", &extra_global).unwrap_err();
        assert!(e.to_string().contains("global"), "{e}");
        check_unchanged("global");
        // Malformed bytes.
        assert_eq!(
            reg.patch_function("A", "f", b"\0asm junk")
                .unwrap_err()
                .kind(),
            ErrorKind::Malformed
        );
        check_unchanged("malformed");
        // KeepState with another layout.
        let e = reg
            .update_module("A", &other_type, UpdatePolicy::KeepState)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible);
        assert!(e.to_string().contains("use UpdatePolicy::Fresh"), "{e}");
        check_unchanged("keep-state layout");
        // Fresh without the export a dependent imports: names the dependent and import.
        let e = reg
            .update_module(
                "A",
                wat(r#"(module (func (export "h")))"#),
                UpdatePolicy::Fresh,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible);
        assert!(e.to_string().contains("`B` imports `A`.`f`"), "{e}");
        check_unchanged("fresh missing export");
        let e = reg
            .update_module("A", &other_type, UpdatePolicy::Fresh)
            .unwrap_err();
        assert!(e.to_string().contains("`B` imports `A`.`f`"), "{e}");
        check_unchanged("fresh other type");
        // A fresh version whose start function traps.
        let trapping = wat(
            r#"(module (func $s unreachable) (start $s) (func (export "f") (result i32) (i32.const 9)))"#,
        );
        let e = reg
            .update_module("A", &trapping, UpdatePolicy::Fresh)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap, "{e}");
        check_unchanged("fresh trap");
        // Unknown module; host modules.
        assert!(reg.patch_function("Z", "f", module_a(2)).is_err());
        reg.define_host("H", &HostModule::new()).unwrap();
        let e = reg
            .update_module("H", module_a(2), UpdatePolicy::Fresh)
            .unwrap_err();
        assert!(e.to_string().contains("host module"), "{e}");
    });
}

#[test]
fn concurrent_calls_while_patching_back_and_forth() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        let (v1, v2) = (module_a(1), module_a(2));
        let calls = calls_while_patching(&reg, |n| {
            let v = if n % 2 == 0 { &v2 } else { &v1 };
            reg.patch_function("A", "f", v).unwrap();
        });
        assert!(calls > 0, "{mode}");
        // An even number of patches ends on version 1.
        assert_eq!(call_i32(&reg, "A", "f"), 101);
    });
}

#[test]
fn names_and_dependents_after_updates() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        reg.update_module("A", module_a(2), UpdatePolicy::Fresh)
            .unwrap();
        assert_eq!(reg.dependents("A"), vec!["B"]);
        assert!(reg.unload("A").is_err());
        assert_eq!(reg.unload_cascade("A").unwrap(), vec!["B", "A"]);
        mode.load(&reg, "A", &module_a(3)).unwrap();
        assert_eq!(call_i32(&reg, "A", "f"), 301);
    });
}

#[test]
fn fresh_update_moves_every_name_of_the_instance() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        reg.alias("A", "A2").unwrap();
        reg.update_module("A", module_a(2), UpdatePolicy::Fresh)
            .unwrap();
        assert_eq!(call_i32(&reg, "A2", "f"), 201, "{mode}");
        mode.load(&reg, "late", &wat(r#"(module (import "A2" "f" (func $f (result i32))) (func (export "g") (result i32) call $f))"#))
            .unwrap();
        assert_eq!(call_i32(&reg, "late", "g"), 201, "{mode}");
    });
}

#[test]
fn fresh_update_checks_importers_of_every_name() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        reg.alias("A", "A2").unwrap();
        mode.load(
            &reg,
            "B",
            &wat(r#"(module (import "A2" "f" (func (result i32))))"#),
        )
        .unwrap();
        let e = reg
            .update_module(
                "A",
                wat(r#"(module (func (export "h")))"#),
                UpdatePolicy::Fresh,
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("`B` imports `A2`.`f`"),
            "{mode}: {e}"
        );
        assert_eq!(call_i32(&reg, "A2", "f"), 101, "{mode}: unchanged");
    });
}

/// Every operator that reaches linear memory, as a statement of a function body:
/// loads, stores, bulk operations, `memory.size`/`grow`, and every atomic operator.
fn memory_operators() -> Vec<String> {
    let mut ops = Vec::new();
    let at = "(i32.const 8)";
    for (t, names) in [
        (
            "i32",
            &["load", "load8_s", "load8_u", "load16_s", "load16_u"][..],
        ),
        (
            "i64",
            &[
                "load", "load8_s", "load8_u", "load16_s", "load16_u", "load32_s", "load32_u",
            ][..],
        ),
        ("f32", &["load"][..]),
        ("f64", &["load"][..]),
    ] {
        for n in names {
            ops.push(format!("(drop ({t}.{n} {at}))"));
        }
    }
    for (t, names) in [
        ("i32", &["store", "store8", "store16"][..]),
        ("i64", &["store", "store8", "store16", "store32"][..]),
        ("f32", &["store"][..]),
        ("f64", &["store"][..]),
    ] {
        for n in names {
            ops.push(format!("({t}.{n} {at} ({t}.const 1))"));
        }
    }
    let zeros = "(i32.const 0) (i32.const 0) (i32.const 0)";
    ops.push("(drop (memory.size))".into());
    ops.push("(drop (memory.grow (i32.const 0)))".into());
    ops.push(format!("(memory.fill {zeros})"));
    ops.push(format!("(memory.copy {zeros})"));
    ops.push(format!("(memory.init 0 {zeros})"));
    // Atomics: every width of every form.
    let widths = [
        ("i32", ""),
        ("i32", "8"),
        ("i32", "16"),
        ("i64", ""),
        ("i64", "8"),
        ("i64", "16"),
        ("i64", "32"),
    ];
    for (t, w) in widths {
        let u = if w.is_empty() { "" } else { "_u" };
        ops.push(format!("(drop ({t}.atomic.load{w}{u} {at}))"));
        ops.push(format!("({t}.atomic.store{w} {at} ({t}.const 1))"));
        for op in ["add", "sub", "and", "or", "xor", "xchg"] {
            ops.push(format!(
                "(drop ({t}.atomic.rmw{w}.{op}{u} {at} ({t}.const 1)))"
            ));
        }
        ops.push(format!(
            "(drop ({t}.atomic.rmw{w}.cmpxchg{u} {at} ({t}.const 1) ({t}.const 2)))"
        ));
    }
    ops.push(format!("(drop (memory.atomic.notify {at} (i32.const 1)))"));
    ops.push(format!(
        "(drop (memory.atomic.wait32 {at} (i32.const 0) (i64.const 0)))"
    ));
    ops.push(format!(
        "(drop (memory.atomic.wait64 {at} (i64.const 0) (i64.const 0)))"
    ));
    ops
}

/// A patch that brings memory accesses to an instance without memory is refused in
/// every mode, for every memory operator: compiled code would take the context words
/// after the instance's own for a memory and read and write the host's memory there.
#[test]
fn patches_using_memory_are_refused_where_the_instance_has_none() {
    let running = wat(r#"(module (func (export "f") (result i32) (i32.const 1)))"#);
    let ops = memory_operators();
    assert_eq!(
        ops.len(),
        94,
        "every memory operator of Wasm 2.0 and threads"
    );
    // The attack as found: store 1234 at address 8, read it back.
    let attack = wat(r#"(module (memory 1)
        (func (export "f") (result i32)
            (i32.atomic.store (i32.const 8) (i32.const 1234))
            (i32.atomic.load (i32.const 8))))"#);
    each_mode(|mode, reg| {
        reg.load("A", &running).unwrap();
        let e = reg.patch_function("A", "f", &attack).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible, "{mode}: {e}");
        assert!(
            e.to_string()
                .contains("linear memory 0, which the running instance does not have"),
            "{mode}: {e}"
        );
        for op in &ops {
            let new = wat(&format!(
                r#"(module (memory 1) (data "x")
                    (func (export "f") (result i32) {op} (i32.const 2)))"#
            ));
            let e = reg.patch_function("A", "f", &new).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Incompatible, "{mode}: {op}: {e}");
            assert!(
                e.to_string().contains("linear memory 0"),
                "{mode}: {op}: {e}"
            );
            assert_eq!(call_i32(&reg, "A", "f"), 1, "{mode}: {op}: unchanged");
        }
        // An atomic operator that reaches no memory patches as any other.
        let fence = wat(r#"(module (memory 1)
            (func (export "f") (result i32) (atomic.fence) (i32.const 3)))"#);
        reg.patch_function("A", "f", &fence).unwrap();
        assert_eq!(call_i32(&reg, "A", "f"), 3, "{mode}");
    });
}

/// A running unshared memory is not the shared one a new body was validated against
/// (nor the reverse): refused, whatever the operator.
#[test]
fn patches_expecting_another_kind_of_memory_are_refused() {
    let running = wat(r#"(module (memory 1 1) (func (export "f") (result i32) (i32.const 1)))"#);
    let shared = wat(r#"(module (memory 1 1 shared)
        (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))"#);
    each_mode(|mode, reg| {
        reg.load("A", &running).unwrap();
        let e = reg.patch_function("A", "f", &shared).unwrap_err();
        assert!(
            e.to_string()
                .contains("not shared in the running instance but shared in the new version"),
            "{mode}: {e}"
        );
        assert_eq!(call_i32(&reg, "A", "f"), 1, "{mode}");
    });
}

/// Going back to an earlier version is a change like any other: an update or a patch
/// compares with the code that runs now (earlier updates and patches included), and
/// its report says what it changed against that.
#[test]
fn going_back_to_an_earlier_version_takes_effect() {
    each_mode_mix(|mode, reg| {
        mode.load(&reg, "A", &module_a(1)).unwrap();
        mode.load(&reg, "B", &module_b()).unwrap();
        let keep = UpdatePolicy::KeepState;
        let r = reg.update_module("A", module_a(2), keep).unwrap();
        assert_eq!(
            (r.swapped, r.unchanged),
            (vec!["f".to_string()], 4),
            "{mode}"
        );
        assert_eq!(call_i32(&reg, "B", "g"), 1201, "{mode}");
        // Back to version 1 by an update.
        let r = reg.update_module("A", module_a(1), keep).unwrap();
        assert_eq!(
            (r.swapped, r.unchanged),
            (vec!["f".to_string()], 4),
            "{mode}"
        );
        assert_eq!(call_i32(&reg, "A", "f"), 101, "{mode}: rolled back");
        assert_eq!(call_i32(&reg, "B", "g"), 1101, "{mode}: rolled back");
        // The same version again changes nothing.
        let r = reg.update_module("A", module_a(1), keep).unwrap();
        assert_eq!((r.swapped.len(), r.unchanged), (0, 5), "{mode}");
        // A patch, then an update back.
        let p = reg.patch_function("A", "f", module_a(3)).unwrap();
        assert!(p.changed, "{mode}");
        assert_eq!(call_i32(&reg, "B", "g"), 1301, "{mode}");
        let r = reg.update_module("A", module_a(1), keep).unwrap();
        assert_eq!(r.swapped, vec!["f".to_string()], "{mode}");
        assert_eq!(
            call_i32(&reg, "B", "g"),
            1101,
            "{mode}: update after a patch"
        );
        // A patch back by a patch.
        reg.patch_function("A", "f", module_a(3)).unwrap();
        let p = reg.patch_function("A", "f", module_a(1)).unwrap();
        assert!(p.changed, "{mode}");
        assert_eq!(call_i32(&reg, "B", "g"), 1101, "{mode}: patch back");
        let p = reg.patch_function("A", "f", module_a(1)).unwrap();
        assert!(!p.changed, "{mode}: the body it runs already");
        assert_eq!(
            call_i32(&reg, "A", "get"),
            0,
            "{mode}: state kept throughout"
        );
    });
}

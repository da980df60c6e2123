//! Every kind of bad input gets a clear error, and a failed load registers nothing.

mod common;
use common::{each_mode, wat};
use rwamr::{ErrorKind, Registry, TrapCode, Val};

fn assert_nothing_registered(reg: &Registry, name: &str) {
    assert!(
        reg.find(name).is_none(),
        "`{name}` registered after a failed load"
    );
}

#[test]
fn malformed_bytes() {
    each_mode(|mode, reg| {
        for bytes in [
            &b""[..],
            b"\0asm",
            b"\0asm\x02\0\0\0",
            b"not wasm at all",
            b"\0asm\x01\0\0\0\x01\x05",
        ] {
            let e = reg.load("m", bytes).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Malformed, "{mode}: {e}");
            assert!(
                e.to_string().contains("module `m`"),
                "error names the module: {e}"
            );
            assert_nothing_registered(&reg, "m");
        }
    });
}

#[test]
fn invalid_module() {
    each_mode(|mode, reg| {
        // i32.add with one operand: well-formed, but does not type-check.
        let bytes = wat("(module (func (result i32) i32.const 1 i32.add))");
        let e = reg.load("m", &bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Invalid, "{mode}: {e}");
        assert!(e.to_string().contains("type mismatch"), "{e}");
        assert_nothing_registered(&reg, "m");
    });
}

#[test]
fn unsupported_feature_is_named() {
    each_mode(|mode, reg| {
        let bytes = wat("(module (func (result v128) v128.const i64x2 0 0))");
        let e = reg.load("m", &bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode}: {e}");
        assert!(e.to_string().contains("SIMD"), "names the feature: {e}");
        assert_nothing_registered(&reg, "m");
    });
}

#[test]
fn unknown_import() {
    each_mode(|mode, reg| {
        let bytes = wat(r#"(module (import "nowhere" "f" (func)))"#);
        let e = reg.load("m", &bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Link, "{mode}: {e}");
        assert!(e.to_string().contains("`nowhere`.`f`"), "{e}");
        assert_nothing_registered(&reg, "m");

        reg.load("a", wat(r#"(module (func (export "g")))"#))
            .unwrap();
        let e = reg
            .load("m", wat(r#"(module (import "a" "f" (func)))"#))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Link, "{mode}: {e}");
        assert!(e.to_string().contains("no export named `f`"), "{e}");
        assert_nothing_registered(&reg, "m");
        assert!(reg.dependents("a").is_empty());
    });
}

#[test]
fn import_of_wrong_type() {
    each_mode(|mode, reg| {
        reg.load(
            "a",
            wat(r#"(module (func (export "f") (param i32)) (global (export "g") i32 (i32.const 1)) (memory (export "mem") 1))"#),
        )
        .unwrap();
        for m in [
            r#"(module (import "a" "f" (func (param i64))))"#,
            r#"(module (import "a" "f" (global i32)))"#,
            r#"(module (import "a" "g" (global (mut i32))))"#,
            r#"(module (import "a" "mem" (memory 2)))"#,
        ] {
            let e = reg.load("m", wat(m)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Link, "{mode}: {m}: {e}");
            assert!(e.to_string().contains("incompatible import type"), "{e}");
            assert_nothing_registered(&reg, "m");
        }
    });
}

#[test]
fn unknown_export_and_wrong_kind() {
    each_mode(|mode, reg| {
        reg.load("a", wat(r#"(module (memory (export "mem") 1))"#))
            .unwrap();
        let e = reg.func("a", "nope").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry, "{mode}: {e}");
        assert!(e.to_string().contains("no export named `nope`"), "{e}");
        let e = reg.func("a", "mem").unwrap_err();
        assert!(e.to_string().contains("is a memory, not a function"), "{e}");
        let e = reg.func("zz", "f").unwrap_err();
        assert!(e.to_string().contains("no module named `zz`"), "{e}");
    });
}

#[test]
fn wrong_arguments() {
    each_mode(|mode, reg| {
        reg.load(
            "a",
            wat(r#"(module (func (export "f") (param i32 f64) (result i32) local.get 0))"#),
        )
        .unwrap();
        let f = reg.func("a", "f").unwrap();
        let e = f.call(&[Val::I32(1)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Argument, "{mode}: {e}");
        assert!(
            e.to_string().contains("takes 2 argument(s), 1 given"),
            "{e}"
        );
        let e = f.call(&[Val::I32(1), Val::I32(2)]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Argument);
        assert!(e.to_string().contains("argument 1"), "{e}");
        assert!(f.typed::<(i32, i32), i32>().is_err());
        let typed = f.typed::<(i32, f64), i32>().unwrap();
        assert_eq!(typed.call((7, 1.5)).unwrap(), 7);
    });
}

#[test]
fn unload_refused_while_imported() {
    each_mode(|mode, reg| {
        reg.load(
            "a",
            wat(r#"(module (func (export "f") (result i32) i32.const 1))"#),
        )
        .unwrap();
        reg.load(
            "b",
            wat(r#"(module (import "a" "f" (func $f (result i32))) (func (export "g") (result i32) call $f))"#),
        )
        .unwrap();
        assert_eq!(reg.dependents("a"), vec!["b".to_string()]);
        let e = reg.unload("a").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry, "{mode}: {e}");
        assert!(e.to_string().contains("`b`"), "names the dependent: {e}");
        assert!(reg.find("a").is_some(), "refused unload keeps the module");
        assert_eq!(
            reg.func("b", "g").unwrap().call(&[]).unwrap(),
            vec![Val::I32(1)]
        );
        reg.unload("b").unwrap();
        reg.unload("a").unwrap();
        assert!(reg.find("a").is_none());
        // The name can be used again.
        reg.load(
            "a",
            wat(r#"(module (func (export "f") (result i32) i32.const 2))"#),
        )
        .unwrap();
        assert_eq!(
            reg.func("a", "f").unwrap().call(&[]).unwrap(),
            vec![Val::I32(2)]
        );
    });
}

#[test]
fn cascade_unload() {
    each_mode(|_, reg| {
        reg.load("a", wat(r#"(module (func (export "f")))"#))
            .unwrap();
        reg.load(
            "b",
            wat(r#"(module (import "a" "f" (func)) (func (export "g")))"#),
        )
        .unwrap();
        reg.load("c", wat(r#"(module (import "b" "g" (func)))"#))
            .unwrap();
        let gone = reg.unload_cascade("a").unwrap();
        assert_eq!(gone, vec!["c", "b", "a"]);
        assert!(reg.names().is_empty());
    });
}

#[test]
fn duplicate_name_refused() {
    each_mode(|_, reg| {
        reg.load("a", wat("(module)")).unwrap();
        let e = reg.load("a", wat("(module)")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry);
        assert!(e.to_string().contains("already loaded"), "{e}");
    });
}

#[test]
fn start_trap_registers_nothing() {
    each_mode(|mode, reg| {
        let e = reg
            .load("m", wat("(module (func $s unreachable) (start $s))"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Trap, "{mode}: {e}");
        assert_nothing_registered(&reg, "m");
    });
}

#[test]
fn unbuilt_mode_is_an_error() {
    for mode in rwamr::Mode::ALL {
        if !rwamr::built_modes().contains(&mode) {
            let e = rwamr::Engine::new(rwamr::Config::default().mode(mode)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains("not built yet"), "{e}");
        }
    }
}

#[test]
fn registry_and_func_are_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<rwamr::Registry>();
    check::<rwamr::Func>();
    check::<rwamr::Engine>();
}

#[test]
fn unloading_frees_an_importer_and_stops_its_functions_stored_elsewhere() {
    each_mode(|mode, reg| {
        reg.load(
            "A",
            wat(r#"(module (table (export "t") 2 funcref)
                (func (export "call0") (result i32) (call_indirect (result i32) (i32.const 0))))"#),
        )
        .unwrap();
        // B imports the table but stores nothing in it: unloading B frees it.
        let b = reg
            .load("B", wat(r#"(module (import "A" "t" (table 2 funcref)))"#))
            .unwrap();
        let b_weak = std::sync::Arc::downgrade(&b);
        drop(b);
        reg.unload("B").unwrap();
        assert!(
            b_weak.upgrade().is_none(),
            "{mode}: unloaded importer leaked"
        );
        // C stores one of its functions in A's table: the table keeps C alive, so the
        // reference never dangles, but C's code stops: calling it traps.
        let c = reg
            .load(
                "C",
                wat(r#"(module (import "A" "t" (table 2 funcref))
                    (elem (i32.const 0) $f) (func $f (result i32) (i32.const 7)))"#),
            )
            .unwrap();
        let c_weak = std::sync::Arc::downgrade(&c);
        drop(c);
        reg.unload("C").unwrap();
        assert!(
            c_weak.upgrade().is_some(),
            "{mode}: stored function's instance freed"
        );
        let e = reg.func("A", "call0").unwrap().call(&[]).unwrap_err();
        assert_eq!(
            e.trap().map(|t| t.code()),
            Some(TrapCode::Unloaded),
            "{mode}"
        );
    });
}

/// Function references never cross engines (type ids, native entry points and layouts
/// are per engine): passing one of another engine is refused, in every mode pair.
#[test]
fn function_references_of_another_engine_are_refused() {
    let taker = wat(r#"(module
             (type $t (func (result i32)))
             (table 1 funcref)
             (func (export "call_it") (param funcref) (result i32)
               (table.set 0 (i32.const 0) (local.get 0))
               (call_indirect (type $t) (i32.const 0))))"#);
    let giver = wat(r#"(module (func (export "f") (result i32) (i32.const 7)))"#);
    for &a in rwamr::built_modes() {
        for &b in rwamr::built_modes() {
            let config = |m| rwamr::Config::default().mode(m).mixed_modes(false);
            let ea = rwamr::Engine::new(config(a)).unwrap();
            let eb = rwamr::Engine::new(config(b)).unwrap();
            let (ra, rb) = (Registry::new(&ea), Registry::new(&eb));
            ra.load("giver", &giver).unwrap();
            rb.load("taker", &taker).unwrap();
            let f = ra.func("giver", "f").unwrap();
            let call_it = rb.func("taker", "call_it").unwrap();
            let e = call_it.call(&[Val::FuncRef(Some(f.clone()))]).unwrap_err();
            assert!(e.to_string().contains("another engine"), "{a}/{b}: {e}");
            // The same engine's reference works.
            let own = rb.load("giver", &giver).unwrap();
            let g = own.get_func("f").unwrap();
            assert_eq!(
                call_it.call(&[Val::FuncRef(Some(g))]).unwrap(),
                vec![Val::I32(7)],
                "{a}/{b}"
            );
        }
    }
}

#[test]
fn errors_read_well_on_one_line_and_with_their_backtrace_on_several() {
    each_mode(|mode, reg| {
        // The registry gives back the engine it was made with, the facade's.
        let engine: &rwamr::Engine = reg.engine();
        assert_eq!(engine.mode(), mode);
        let e = reg.load("text", b"hello, not a module").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert!(!e.to_string().contains('\n'), "{e}");
        assert!(e.to_string().contains("not a wasm module"), "{e}");
        let e = reg.load("v2", b"\0asm\x02\0\0\0").unwrap_err();
        assert!(!e.to_string().contains("  "), "{e}");
        // A missing import module names the importer, as the other link errors do.
        let e = reg
            .load("importer", wat(r#"(module (import "nowhere" "f" (func)))"#))
            .unwrap_err();
        assert!(e.to_string().contains("module `importer`"), "{e}");
        assert!(e.to_string().contains("`nowhere`"), "{e}");
        // A trap: one line with `{}`, the backtrace with `{:#}` and `{:?}`.
        reg.load(
            "t",
            wat(r#"(module (func $deep unreachable) (func (export "f") (call $deep)))"#),
        )
        .unwrap();
        let e = reg.func("t", "f").unwrap().call(&[]).unwrap_err();
        assert_eq!(e.to_string(), "wasm trap: unreachable");
        let full = format!("{e:#}");
        assert!(
            full.contains("wasm backtrace:\n    0: t!deep\n    1: t!f"),
            "{mode}: {full}"
        );
        let debug = format!("{e:?}");
        assert!(
            debug.starts_with("Trap error: wasm trap: unreachable\n"),
            "{debug}"
        );
        assert!(debug.contains("t!deep"), "{debug}");
    });
}

//! Each trap kind reaches the host as a trap with its code and the spec's wording.

mod common;
use common::{each_mode, wat};
use rwamr::{ErrorKind, TrapCode, Val};

const MODULE: &str = r#"
(module
  (type $v (func))
  (type $i (func (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $ok)
  (func $ok)
  (func (export "unreachable") unreachable)
  (func (export "oob_load") (result i32) (i32.load (i32.const 65534)))
  (func (export "oob_store") (i32.store (i32.const -1) (i32.const 0)))
  (func (export "div0") (result i32) (i32.div_s (i32.const 1) (i32.const 0)))
  (func (export "overflow") (result i32) (i32.div_s (i32.const 0x80000000) (i32.const -1)))
  (func (export "bad_conversion") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "conversion_overflow") (result i32) (i32.trunc_f64_u (f64.const -1)))
  (func (export "null_call") (call_indirect (type $v) (i32.const 1)))
  (func (export "undefined_element") (call_indirect (type $v) (i32.const 5)))
  (func (export "bad_signature") (result i32) (call_indirect (type $i) (i32.const 0)))
  (func $rec (export "recurse") (call $rec))
  (func (export "table_oob") (result funcref) (table.get 0 (i32.const 9)))
  (func (export "memory_fill_oob") (memory.fill (i32.const 65000) (i32.const 0) (i32.const 1000)))
)"#;

#[test]
fn every_trap_kind() {
    let cases = [
        ("unreachable", TrapCode::Unreachable, "unreachable"),
        (
            "oob_load",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
        ),
        (
            "oob_store",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
        ),
        (
            "div0",
            TrapCode::IntegerDivisionByZero,
            "integer divide by zero",
        ),
        ("overflow", TrapCode::IntegerOverflow, "integer overflow"),
        (
            "bad_conversion",
            TrapCode::BadConversionToInteger,
            "invalid conversion to integer",
        ),
        (
            "conversion_overflow",
            TrapCode::IntegerOverflow,
            "integer overflow",
        ),
        (
            "null_call",
            TrapCode::UninitializedElement,
            "uninitialized element",
        ),
        (
            "undefined_element",
            TrapCode::UndefinedElement,
            "undefined element",
        ),
        (
            "bad_signature",
            TrapCode::BadSignature,
            "indirect call type mismatch",
        ),
        ("recurse", TrapCode::StackOverflow, "call stack exhausted"),
        (
            "table_oob",
            TrapCode::TableOutOfBounds,
            "out of bounds table access",
        ),
        (
            "memory_fill_oob",
            TrapCode::MemoryOutOfBounds,
            "out of bounds memory access",
        ),
    ];
    each_mode(|mode, reg| {
        reg.load("t", wat(MODULE)).unwrap();
        for (export, code, text) in cases {
            let e = reg.func("t", export).unwrap().call(&[]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Trap, "{mode} {export}: {e}");
            let trap = e.trap().expect("a trap");
            assert_eq!(trap.code(), code, "{mode} {export}");
            assert!(e.to_string().contains(text), "{mode} {export}: {e}");
        }
        // After traps the instance still works.
        assert!(reg.func("t", "unreachable").is_ok());
    });
}

/// The stack budget gives every mode the same depth: a frame of `depth` costs 112 bytes
/// (a local, 3 operand slots at the deepest, 2 distinct constants: 6 cells of 8 bytes,
/// plus 64), so a budget of 1,000 of them runs `depth(999)` (1,000 frames) and traps on
/// `depth(1000)`, in every mode, again and again (a trap gives the budget back).
#[test]
fn the_stack_budget_gives_every_mode_the_same_depth() {
    let m = wat(
        r#"(module (func $f (export "depth") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    for &mode in rwamr::built_modes() {
        let config = rwamr::Config::default()
            .mode(mode)
            .max_wasm_stack(112 * 1000);
        let engine = rwamr::Engine::new(config).unwrap();
        let reg = rwamr::Registry::new(&engine);
        reg.load("m", &m).unwrap();
        let f = reg.func("m", "depth").unwrap();
        for _ in 0..2 {
            assert_eq!(
                f.call(&[Val::I32(999)]).unwrap(),
                vec![Val::I32(999)],
                "{mode}"
            );
            let e = f.call(&[Val::I32(1000)]).unwrap_err();
            assert_eq!(e.trap().unwrap().code(), TrapCode::StackOverflow, "{mode}");
        }
    }
}

/// With the default budget (1 MiB) the same function reaches 9,362 frames in every
/// mode, on a thread with a 2 MiB stack (std's default for spawned threads): the
/// compiled modes' native frames fit in it.
#[test]
fn the_default_budget_fits_a_spawned_threads_stack() {
    let m = wat(
        r#"(module (func $f (export "depth") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $f (i32.sub (local.get 0) (i32.const 1))))))))"#,
    );
    let frames = (1 << 20) / 112;
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            each_mode(|mode, reg| {
                reg.load("m", &m).unwrap();
                let f = reg.func("m", "depth").unwrap();
                let ok = f.call(&[Val::I32(frames - 1)]);
                assert_eq!(ok.unwrap(), vec![Val::I32(frames - 1)], "{mode}");
                let e = f.call(&[Val::I32(frames)]).unwrap_err();
                assert_eq!(e.trap().unwrap().code(), TrapCode::StackOverflow, "{mode}");
            })
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn host_function_errors_are_traps() {
    each_mode(|mode, reg| {
        let host =
            rwamr::HostModule::new().func("fail", rwamr::FuncType::new([], []), |_, _, _| {
                Err(rwamr::Trap::host("the host said no"))
            });
        reg.define_host("env", &host).unwrap();
        reg.load(
            "m",
            wat(r#"(module (import "env" "fail" (func $f)) (func (export "go") call $f))"#),
        )
        .unwrap();
        let e = reg.func("m", "go").unwrap().call(&[]).unwrap_err();
        assert_eq!(e.trap().unwrap().code(), TrapCode::Host, "{mode}");
        assert!(e.to_string().contains("the host said no"), "{e}");
    });
}

#[test]
fn traps_carry_a_backtrace_with_function_names() {
    each_mode(|mode, reg| {
        reg.load(
            "m",
            wat(r#"(module
                (func $inner (unreachable))
                (func $middle (call $inner))
                (func (export "outer") (call $middle)))"#),
        )
        .unwrap();
        let e = reg.func("m", "outer").unwrap().call(&[]).unwrap_err();
        let frames: Vec<String> = e
            .trap()
            .unwrap()
            .backtrace()
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(frames, vec!["m!inner", "m!middle", "m!outer"], "{mode}");
    });
}

#[test]
fn a_panicking_host_function_is_a_trap_not_a_crash() {
    each_mode(|mode, reg| {
        let host =
            rwamr::HostModule::new().func("boom", rwamr::FuncType::new([], []), |_, _, _| {
                panic!("host bug")
            });
        reg.define_host("env", &host).unwrap();
        reg.load(
            "m",
            wat(r#"(module (import "env" "boom" (func $f)) (func (export "go") call $f))"#),
        )
        .unwrap();
        let go = reg.func("m", "go").unwrap();
        for _ in 0..3 {
            let e = go.call(&[]).unwrap_err();
            assert_eq!(e.trap().unwrap().code(), TrapCode::Host, "{mode}");
            assert!(e.to_string().contains("host bug"), "{e}");
        }
    });
}

#[test]
fn deep_host_reentry_traps_instead_of_overflowing_the_native_stack() {
    // wasm -> host -> wasm -> host ... : each level nests a host call and a new
    // interpreter entry on the native stack; it must end in a trap, not a crash.
    each_mode(|mode, reg| {
        let reg = std::sync::Arc::new(reg);
        let r2 = reg.clone();
        let host = rwamr::HostModule::new().func(
            "again",
            rwamr::FuncType::new([rwamr::ValType::I32], [rwamr::ValType::I32]),
            move |_, args, results| {
                let f = r2
                    .func("m", "down")
                    .map_err(|e| rwamr::Trap::host(e.to_string()))?;
                match f.call(&args[..1]) {
                    Ok(r) => {
                        results[0] = r[0].clone();
                        Ok(())
                    }
                    Err(e) => Err(e
                        .trap()
                        .cloned()
                        .unwrap_or_else(|| rwamr::Trap::host(e.to_string()))),
                }
            },
        );
        reg.define_host("env", &host).unwrap();
        reg.load(
            "m",
            wat(
                r#"(module (import "env" "again" (func $again (param i32) (result i32)))
                (func (export "down") (param i32) (result i32)
                    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                        (else (i32.add (i32.const 1)
                            (call $again (i32.sub (local.get 0) (i32.const 1))))))))"#,
            ),
        )
        .unwrap();
        let down = reg.func("m", "down").unwrap();
        assert_eq!(
            down.call(&[Val::I32(100)]).unwrap(),
            vec![Val::I32(100)],
            "{mode}"
        );
        let e = down.call(&[Val::I32(1_000_000)]).unwrap_err();
        assert_eq!(
            e.trap().map(|t| t.code()),
            Some(TrapCode::StackOverflow),
            "{mode}: {e}"
        );
    });
}

//! Typed host functions, host state and slices of the caller's memory, in every mode.

mod common;
use common::wat;
use rwamr::{Caller, Config, Engine, HostModule, Mode, Registry, Trap, TrapCode, Val};

fn each_mode(mut f: impl FnMut(Mode, Registry)) {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).expect("engine");
        f(mode, Registry::new(&engine));
    }
}

fn trap_code(e: &rwamr::Error) -> Option<TrapCode> {
    e.trap().map(|t| t.code())
}

#[test]
fn closures_with_typed_parameters_and_results_are_host_functions() {
    each_mode(|mode, reg| {
        let env = HostModule::new()
            .func_wrap("add", |a: i32, b: i32| a.wrapping_add(b))
            .func_wrap("mix", |a: u64, b: f32, c: f64| {
                (a as f64 + b as f64 + c, a * 2)
            })
            .func_wrap("nothing", || {})
            .func_wrap("fail", |x: i32| -> Result<i32, Trap> {
                if x < 0 {
                    Err(Trap::host("negative"))
                } else {
                    Ok(x)
                }
            });
        reg.define_host("env", &env).unwrap();
        reg.load(
            "m",
            wat(r#"(module
                (import "env" "add" (func $add (param i32 i32) (result i32)))
                (import "env" "mix" (func $mix (param i64 f32 f64) (result f64 i64)))
                (import "env" "nothing" (func $nothing))
                (import "env" "fail" (func $fail (param i32) (result i32)))
                (func (export "add") (param i32 i32) (result i32)
                    (call $nothing) (call $add (local.get 0) (local.get 1)))
                (func (export "mix") (param i64 f32 f64) (result f64 i64)
                    (call $mix (local.get 0) (local.get 1) (local.get 2)))
                (func (export "fail") (param i32) (result i32) (call $fail (local.get 0))))"#),
        )
        .unwrap();
        let add = reg
            .func("m", "add")
            .unwrap()
            .typed::<(i32, i32), i32>()
            .unwrap();
        assert_eq!(add.call((i32::MAX, 1)).unwrap(), i32::MIN, "{mode}");
        let mix = reg.func("m", "mix").unwrap();
        let r = mix
            .call(&[Val::I64(5), Val::from_f32(0.5), Val::from_f64(0.25)])
            .unwrap();
        assert_eq!(r, vec![Val::from_f64(5.75), Val::I64(10)], "{mode}");
        let fail = reg.func("m", "fail").unwrap().typed::<i32, i32>().unwrap();
        assert_eq!(fail.call(7).unwrap(), 7);
        let e = fail.call(-1).unwrap_err();
        assert_eq!(trap_code(&e), Some(TrapCode::Host), "{mode}: {e}");
        assert!(e.to_string().contains("negative"), "{e}");
        // The host calls a typed host function directly, typed or not.
        let host_add = reg.func("env", "add").unwrap();
        assert_eq!(
            host_add.call(&[Val::I32(2), Val::I32(3)]).unwrap(),
            vec![Val::I32(5)]
        );
        let host_add = host_add.typed::<(i32, i32), i32>().unwrap();
        assert_eq!(host_add.call((4, 5)).unwrap(), 9);
    });
}

/// A logger: wasm passes a string in its memory; the host function reads it through a
/// slice of the caller's memory and keeps it in the module's state.
const LOGGER: &str = r#"(module
    (import "env" "log" (func $log (param i32 i32)))
    (import "env" "fill" (func $fill (param i32 i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "hello")
    (data (i32.const 32) "world")
    (func (export "run")
        (call $log (i32.const 16) (i32.const 5))
        (call $log (i32.const 32) (i32.const 5)))
    (func (export "fill_and_sum") (result i32)
        (call $fill (i32.const 100) (i32.const 4) (i32.const 7))
        (i32.add (i32.load8_u (i32.const 100)) (i32.load8_u (i32.const 103))))
    (func (export "log_bad") (call $log (i32.const 65534) (i32.const 5))))"#;

#[derive(Default)]
struct Log {
    lines: Vec<String>,
}

fn logger() -> HostModule {
    HostModule::with_state(Log::default())
        .func_wrap(
            "log",
            |caller: &mut Caller<'_>, ptr: u32, len: u32| -> Result<(), Trap> {
                let mut log = caller.state::<Log>()?;
                let memory = caller.memory()?;
                log.lines.push(memory.str(ptr, len)?.to_string());
                Ok(())
            },
        )
        .func_wrap(
            "fill",
            |caller: &mut Caller<'_>, ptr: u32, len: u32, byte: i32| -> Result<(), Trap> {
                caller.memory()?.slice_mut(ptr, len)?.fill(byte as u8);
                Ok(())
            },
        )
}

#[test]
fn host_functions_reach_their_state_and_the_callers_memory() {
    each_mode(|mode, reg| {
        let env = logger();
        reg.define_host("env", &env).unwrap();
        reg.load("m", wat(LOGGER)).unwrap();
        reg.func("m", "run").unwrap().call(&[]).unwrap();
        assert_eq!(
            env.state::<Log>().unwrap().lines,
            ["hello", "world"],
            "{mode}"
        );
        let sum = reg
            .func("m", "fill_and_sum")
            .unwrap()
            .typed::<(), i32>()
            .unwrap();
        assert_eq!(sum.call(()).unwrap(), 14, "{mode}");
        // A guest pointer past the end is an out-of-bounds trap, not a host panic.
        let e = reg.func("m", "log_bad").unwrap().call(&[]).unwrap_err();
        assert_eq!(
            trap_code(&e),
            Some(TrapCode::MemoryOutOfBounds),
            "{mode}: {e}"
        );
        // The state is the module's, whatever the registry: no second copy.
        assert!(env.state::<Vec<u8>>().is_err(), "wrong type");
        // Called from the host, there is no caller memory: an error, not a panic.
        let e = reg
            .func("env", "fill")
            .unwrap()
            .call(&[Val::I32(0), Val::I32(1), Val::I32(0)]);
        assert!(e.unwrap_err().to_string().contains("no caller memory"));
    });
}

#[test]
fn while_a_host_function_borrows_it_cannot_enter_wasm() {
    each_mode(|mode, reg| {
        reg.load(
            "inner",
            wat(r#"(module (memory (export "memory") 1)
                (func (export "f") (result i32) (i32.load (i32.const 0))))"#),
        )
        .unwrap();
        let inner = reg.func("inner", "f").unwrap().typed::<(), i32>().unwrap();
        let inner_memory = reg.memory("inner", "memory").unwrap();
        let env = HostModule::with_state(0u32)
            .func_wrap(
                "with_state",
                move |caller: &mut Caller<'_>| -> Result<i32, Trap> {
                    let _state = caller.state::<u32>()?;
                    // Borrowing state: wasm is off limits, the caller's memory is not.
                    let e = inner.call(()).unwrap_err();
                    assert_eq!(trap_code(&e), Some(TrapCode::Busy));
                    // Nor can the state be borrowed twice.
                    assert_eq!(
                        caller.state::<u32>().err().map(|t| t.code()),
                        Some(TrapCode::Busy)
                    );
                    Ok(caller.memory()?.len() as i32)
                },
            )
            .func_wrap(
                "with_slice",
                move |caller: &mut Caller<'_>| -> Result<i32, Trap> {
                    let memory = caller.memory()?;
                    // Holding a slice: the host's other memory accesses fail too.
                    let e = inner_memory.read(0, &mut [0u8; 4]).unwrap_err();
                    assert_eq!(e.code(), TrapCode::Busy);
                    Ok(memory.data()[0] as i32)
                },
            );
        reg.define_host("env", &env).unwrap();
        reg.load(
            "m",
            wat(r#"(module
                (import "env" "with_state" (func $s (result i32)))
                (import "env" "with_slice" (func $m (result i32)))
                (memory (export "memory") 2)
                (data (i32.const 0) "\2a")
                (func (export "s") (result i32) (call $s))
                (func (export "m") (result i32) (call $m)))"#),
        )
        .unwrap();
        let s = reg.func("m", "s").unwrap().typed::<(), i32>().unwrap();
        assert_eq!(s.call(()).unwrap(), 2 * 65536, "{mode}");
        let m = reg.func("m", "m").unwrap().typed::<(), i32>().unwrap();
        assert_eq!(m.call(()).unwrap(), 42, "{mode}");
        // Once the borrows are gone, everything works again.
        assert_eq!(
            reg.func("inner", "f").unwrap().call(&[]).unwrap(),
            vec![Val::I32(0)]
        );
    });
}

#[test]
fn a_host_error_keeps_the_trap_it_carries() {
    each_mode(|mode, reg| {
        reg.load("callee", wat(r#"(module (func (export "f") unreachable))"#))
            .unwrap();
        let callee = reg.func("callee", "f").unwrap();
        // `?` on an rwamr::Error inside a host function: the inner trap comes through.
        let env = HostModule::new().func_wrap("g", move || -> Result<(), Trap> {
            callee.call(&[])?;
            Ok(())
        });
        reg.define_host("env", &env).unwrap();
        reg.load(
            "m",
            wat(r#"(module (import "env" "g" (func $g)) (func (export "f") (call $g)))"#),
        )
        .unwrap();
        let e = reg.func("m", "f").unwrap().call(&[]).unwrap_err();
        assert_eq!(trap_code(&e), Some(TrapCode::Unreachable), "{mode}: {e}");
    });
}

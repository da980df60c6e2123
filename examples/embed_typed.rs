//! Typed calls, and a typed host function (compare wasmtime-equivalents/typed.rs).
use rwamr::{Engine, HostModule, Registry};

fn main() -> rwamr::Result<()> {
    let wasm = r#"(module (import "env" "double" (func $d (param i32) (result i32)))
        (func (export "quadruple") (param i32) (result i32) (call $d (call $d (local.get 0)))))"#;
    let engine = Engine::default();
    let registry = Registry::new(&engine);
    let env = HostModule::new().func_wrap("double", |x: i32| x * 2);
    registry.define_host("env", &env)?;
    registry.load("m", wasm)?;
    let quadruple = registry.func("m", "quadruple")?.typed::<i32, i32>()?;
    println!("{}", quadruple.call(5)?);
    Ok(())
}

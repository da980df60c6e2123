//! Typed calls, and a typed host function (compare wasmtime-equivalents/typed.rs).
use rwamr::{Config, Engine, HostModule, Registry};

fn main() -> rwamr::Result<()> {
    let wasm = wat::parse_str(
        r#"(module (import "env" "double" (func $d (param i32) (result i32)))
        (func (export "quadruple") (param i32) (result i32) (call $d (call $d (local.get 0)))))"#,
    )
    .unwrap();
    let engine = Engine::new(Config::default())?;
    let registry = Registry::new(&engine);
    registry.define_host(
        "env",
        &HostModule::new().func_wrap("double", |x: i32| x * 2),
    )?;
    registry.load("m", &wasm)?;
    let quadruple = registry.func("m", "quadruple")?.typed::<i32, i32>()?;
    println!("{}", quadruple.call(5)?);
    Ok(())
}

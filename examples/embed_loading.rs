//! Loading a module and calling an export (compare wasmtime-equivalents/loading.rs).
use rwamr::{Engine, Registry, Val};

fn main() -> rwamr::Result<()> {
    let wasm = r#"(module (func (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))"#;
    let engine = Engine::default();
    let registry = Registry::new(&engine);
    registry.load("math", wasm)?;
    let add = registry.func("math", "add")?;
    println!("{:?}", add.call(&[Val::I32(2), Val::I32(3)])?);
    Ok(())
}

//! A trap and its wasm backtrace (compare wasmtime-equivalents/traps.rs).
use rwamr::{Engine, Registry};

fn main() -> rwamr::Result<()> {
    let wasm = r#"(module (func $inner unreachable)
        (func (export "run") (call $inner)))"#;
    let engine = Engine::default();
    let registry = Registry::new(&engine);
    registry.load("m", wasm)?;
    let err = registry.func("m", "run")?.call(&[]).unwrap_err();
    println!("{err:#}");
    println!("{:?}", err.trap().map(|t| t.code()));
    Ok(())
}

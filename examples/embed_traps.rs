//! A trap and its wasm backtrace (compare wasmtime-equivalents/traps.rs).
use rwamr::{Config, Engine, Registry};

fn main() -> rwamr::Result<()> {
    let wasm = wat::parse_str(
        r#"(module (func $inner unreachable)
        (func (export "run") (call $inner)))"#,
    )
    .unwrap();
    let engine = Engine::new(Config::default())?;
    let registry = Registry::new(&engine);
    registry.load("m", &wasm)?;
    let err = registry.func("m", "run")?.call(&[]).unwrap_err();
    println!("{err:#}");
    println!("{:?}", err.trap().map(|t| t.code()));
    Ok(())
}

use wasmtime::{Engine, Instance, Module, Store, Trap, WasmBacktrace};

fn main() -> wasmtime::Result<()> {
    let wasm = r#"(module (func $inner unreachable)
        (func (export "run") (call $inner)))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let run = instance.get_typed_func::<(), ()>(&mut store, "run")?;
    let err = run.call(&mut store, ()).unwrap_err();
    println!("{err:?}");
    println!(
        "{:?}",
        err.downcast_ref::<WasmBacktrace>()
            .map(|b| b.frames().len())
    );
    println!("{:?}", err.downcast_ref::<Trap>());
    Ok(())
}

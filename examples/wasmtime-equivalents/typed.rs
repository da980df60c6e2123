use wasmtime::{Engine, Linker, Module, Store};

fn main() -> wasmtime::Result<()> {
    let wasm = r#"(module (import "env" "double" (func $d (param i32) (result i32)))
        (func (export "quadruple") (param i32) (result i32) (call $d (call $d (local.get 0)))))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm)?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "double", |x: i32| x * 2)?;
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module)?;
    let quadruple = instance.get_typed_func::<i32, i32>(&mut store, "quadruple")?;
    println!("{}", quadruple.call(&mut store, 5)?);
    Ok(())
}

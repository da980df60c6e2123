use wasmtime::{Engine, Instance, Module, Store, Val};

fn main() -> wasmtime::Result<()> {
    let wasm = r#"(module (func (export "add") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.add))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let add = instance.get_func(&mut store, "add").expect("export");
    let mut results = [Val::I32(0)];
    add.call(&mut store, &[Val::I32(2), Val::I32(3)], &mut results)?;
    println!("{:?}", results[0].i32());
    Ok(())
}

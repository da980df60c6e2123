use wasmtime::{Engine, Instance, Module, Store, Val};

fn main() -> wasmtime::Result<()> {
    let wasm = r#"(module (memory (export "memory") 1) (data (i32.const 0) "hi")
        (global (export "counter") (mut i32) (i32.const 7)))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    let mut bytes = [0u8; 2];
    memory.read(&store, 0, &mut bytes)?;
    memory.write(&mut store, 2, b"!")?;
    let counter = instance.get_global(&mut store, "counter").expect("global");
    counter.set(&mut store, Val::I32(8))?;
    println!(
        "{} {:?}",
        String::from_utf8_lossy(&bytes),
        counter.get(&mut store).i32()
    );
    Ok(())
}

use wasmtime::{Engine, Linker, Module, Store};

fn main() -> wasmtime::Result<()> {
    let lib = r#"(module (func (export "answer") (result i32) i32.const 41))"#;
    let app = r#"(module (import "lib" "answer" (func $a (result i32)))
        (func (export "main") (result i32) (call $a)))"#;
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    let mut store = Store::new(&engine, ());
    let lib = linker.instantiate(&mut store, &Module::new(&engine, &lib)?)?;
    linker.instance(&mut store, "lib", lib)?;
    let app = linker.instantiate(&mut store, &Module::new(&engine, &app)?)?;
    let main = app.get_typed_func::<(), i32>(&mut store, "main")?;
    println!("{}", main.call(&mut store, ())?);
    Ok(())
}

//! Modules importing from each other by name, then a hot patch of one function
//! (compare wasmtime-equivalents/registry.rs, which has the linking part only: wasmtime
//! cannot replace a function of a live instance).
use rwamr::{Engine, Registry};

fn main() -> rwamr::Result<()> {
    let lib = r#"(module (func (export "answer") (result i32) i32.const 41))"#;
    let app = r#"(module (import "lib" "answer" (func $a (result i32)))
        (func (export "main") (result i32) (call $a)))"#;
    let engine = Engine::default();
    let registry = Registry::new(&engine);
    registry.load("lib", lib)?;
    registry.load("app", app)?;
    let main = registry.func("app", "main")?.typed::<(), i32>()?;
    println!("{}", main.call(())?);
    let fixed = r#"(module (func (export "answer") (result i32) i32.const 42))"#;
    registry.patch_function("lib", "answer", fixed)?;
    println!("{}", main.call(())?);
    Ok(())
}

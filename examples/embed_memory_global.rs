//! Exported memories and globals (compare wasmtime-equivalents/memory_global.rs).
use rwamr::{Engine, Registry, Val};

fn main() -> rwamr::Result<()> {
    let wasm = r#"(module (memory (export "memory") 1) (data (i32.const 0) "hi")
        (global (export "counter") (mut i32) (i32.const 7)))"#;
    let engine = Engine::default();
    let registry = Registry::new(&engine);
    registry.load("m", wasm)?;
    let memory = registry.memory("m", "memory")?;
    let mut bytes = [0u8; 2];
    memory.read(0, &mut bytes)?;
    memory.write(2, b"!")?;
    let counter = registry.global("m", "counter")?;
    counter.set(Val::I32(8))?;
    println!("{} {:?}", String::from_utf8_lossy(&bytes), counter.get());
    Ok(())
}

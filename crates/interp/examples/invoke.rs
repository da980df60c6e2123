//! Runs one exported function of a module without imports, with i32/i64 arguments:
//! `cargo run --release -p rwamr-interp --example invoke -- FILE.wasm NAME [ARGS...]`
//! (a dependency-light driver for measuring the interpreter alone).

use rwamr_core::{CompiledModule, Engine, Instance, Limits, Mode, Val, ValType};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (file, name, rest) = match args.as_slice() {
        [f, n, rest @ ..] => (f, n, rest),
        _ => panic!("usage: invoke FILE.wasm NAME [ARGS...]"),
    };
    let engine = Engine::new(
        Mode::Interp,
        Limits::default(),
        vec![(Mode::Interp, Box::new(rwamr_interp::InterpCompiler) as _)],
        None,
    )
    .expect("interp compiler given");
    let bytes = std::fs::read(file).expect("readable file");
    let compiled = CompiledModule::new(&engine, &bytes).expect("valid module");
    let inst = Instance::instantiate(&engine, "main", &compiled, Vec::new()).expect("instantiates");
    let func = inst.get_func(name).expect("exported function");
    let params: Vec<Val> = func
        .ty()
        .params()
        .iter()
        .zip(rest)
        .map(|(t, a)| match t {
            ValType::I32 => Val::I32(a.parse().expect("i32")),
            ValType::I64 => Val::I64(a.parse().expect("i64")),
            other => panic!("unsupported parameter type {other}"),
        })
        .collect();
    for r in func.call(&params).expect("runs") {
        println!("{r:?}");
    }
}

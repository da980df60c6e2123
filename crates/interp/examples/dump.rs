//! Prints the interpreter bytecode of every function of a module:
//! `cargo run -p rwamr-interp --example dump -- FILE.wasm`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: dump FILE.wasm");
    let bytes = std::fs::read(&path).expect("readable file");
    let module = rwamr_core::Module::new(&bytes).expect("valid module");
    for i in module.num_imported_funcs..module.funcs.len() as u32 {
        let f = rwamr_interp::translate_function(&module, i).expect("translates");
        println!(
            "{} (params {}, locals {}, consts {:?}, frame {})",
            module.func_name(i),
            f.num_params,
            f.num_locals,
            f.consts,
            f.frame_size
        );
        for (pc, ins) in f.code().enumerate() {
            println!("  {pc:4}: {ins:?}");
        }
    }
}

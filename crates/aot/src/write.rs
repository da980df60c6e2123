//! Writing an `.aot` file: decode and validate the wasm, compile every function with
//! the Optimized tier's translator, and lay out the file (`format.rs`).

use crate::format::{self, Build, CodeTables};
use rwamr_core::{Engine, Module, Result};
use rwamr_jit::JitCompiler;
use std::ops::Range;
use std::sync::Arc;

/// Compiles `wasm` (binary or text) into the bytes of an `.aot` file for `engine`'s
/// settings, with `compiler` (an Optimized-tier compiler for the target CPU).
pub fn precompile(engine: &Engine, compiler: &JitCompiler, wasm: &[u8]) -> Result<Vec<u8>> {
    let module = Arc::new(Module::new(wasm)?);
    let (stub_indices, stub_types) = format::stub_types(&module);
    let image = compiler.compile_module_image(engine, &module, &stub_types)?;
    let mut data = Vec::new();
    let data_at: Vec<Range<u32>> = module
        .datas
        .iter()
        .map(|d| {
            let start = data.len() as u32;
            data.extend_from_slice(&module.bytes()[d.range.clone()]);
            start..data.len() as u32
        })
        .collect();
    let tables = CodeTables {
        traps: image.traps.clone(),
        funcs: image.funcs.clone(),
        trampolines: image.trampolines.clone(),
        stubs: stub_indices.into_iter().zip(image.stubs.clone()).collect(),
    };
    let build = Build::current(engine, compiler.cpu_features()?);
    Ok(format::write_file(
        &build,
        &module,
        &data,
        &data_at,
        &image.bytes,
        &tables,
    ))
}

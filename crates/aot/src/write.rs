//! Writing an `.aot` file: decode and validate the wasm, compile every function with
//! the Optimized tier's translator, and lay out the file (`format.rs`).

use crate::codec::SegmentAt;
use crate::format::{self, Build, CodeTables, ImageBytes};
use rwamr_core::module::DataMode;
use rwamr_core::{Engine, Module, Result, PAGE_SIZE};
use rwamr_jit::JitCompiler;
use std::sync::Arc;

/// Below this many bytes of active data, copying them at instantiation costs less than
/// a mapping.
const MIN_IMAGE_DATA: usize = 64 * 1024;

/// Memory 0's initial contents as one image, where instantiation can map it instead of
/// copying the segments: the memory is the module's own, every active segment has a
/// constant offset inside the initial size (so none traps), there is enough data to be
/// worth a mapping, and at least a quarter of the image is data (no huge sparse
/// images). Segments are laid out in order, as instantiation writes them.
fn memory_image(module: &Module) -> Option<ImageBytes> {
    let memory = module.memories.first()?;
    if module.num_imported_memories != 0 {
        return None;
    }
    let initial = memory.min as usize * PAGE_SIZE;
    let mut spans = Vec::new();
    for d in &module.datas {
        if matches!(d.mode, DataMode::Passive) {
            continue;
        }
        let at = format::image_offset(d)?;
        let end = at.checked_add(d.range.len()).filter(|&e| e <= initial)?;
        spans.push((d, at, end));
    }
    let total: usize = spans.iter().map(|(d, ..)| d.range.len()).sum();
    let start = spans.iter().map(|s| s.1).min()? / PAGE_SIZE * PAGE_SIZE;
    let end = spans.iter().map(|s| s.2).max()?.next_multiple_of(PAGE_SIZE);
    if total < MIN_IMAGE_DATA || total < (end - start) / 4 {
        return None;
    }
    let mut bytes = vec![0u8; end - start];
    for (d, at, end) in spans {
        bytes[at - start..end - start].copy_from_slice(&module.bytes()[d.range.clone()]);
    }
    Some(ImageBytes {
        offset: start,
        bytes,
    })
}

/// Compiles `wasm` (binary or text) into the bytes of an `.aot` file for `engine`'s
/// settings, with `compiler` (an Optimized-tier compiler for the target CPU).
pub fn precompile(engine: &Engine, compiler: &JitCompiler, wasm: &[u8]) -> Result<Vec<u8>> {
    let module = Arc::new(Module::new(wasm)?);
    let (stub_indices, stub_types) = format::stub_types(&module);
    let code = compiler.compile_module_image(engine, &module, &stub_types)?;
    let image = memory_image(&module);
    let mut data = Vec::new();
    let data_at: Vec<SegmentAt> = module
        .datas
        .iter()
        .map(|d| {
            let bytes = &module.bytes()[d.range.clone()];
            match (&image, format::image_offset(d)) {
                (Some(image), Some(at)) => {
                    let start = (at - image.offset) as u32;
                    SegmentAt::Image(start..start + bytes.len() as u32)
                }
                _ => {
                    let start = data.len() as u32;
                    data.extend_from_slice(bytes);
                    SegmentAt::Data(start..data.len() as u32)
                }
            }
        })
        .collect();
    let tables = CodeTables {
        traps: code.traps.clone(),
        funcs: code.funcs.clone(),
        trampolines: code.trampolines.clone(),
        stubs: stub_indices.into_iter().zip(code.stubs.clone()).collect(),
    };
    let build = Build::current(engine, compiler.cpu_features()?);
    Ok(format::write_file(
        &build,
        &module,
        &data,
        &data_at,
        &code.bytes,
        &tables,
        image.as_ref(),
    ))
}

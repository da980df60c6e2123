//! Loading an `.aot` file: check it (`format.rs`), map its code executable straight
//! from the file, hand its native stubs to the engine, and assemble the compiled
//! module. No compiler runs and the wasm is not decoded again.

use crate::format::{self, Meta};
use rwamr_core::module::ModuleBytes;
use rwamr_core::{CompiledModule, Engine, Error, FuncType, MemoryImage, Mode, Result};
use rwamr_jit::code::CodeMemory;
use rwamr_jit::{CodeImage, StubLibrary};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// The data region of a mapped file (through the memory image, if any), as a module's
/// bytes.
struct MappedData {
    map: Arc<memmap2::Mmap>,
    range: Range<usize>,
}

impl AsRef<[u8]> for MappedData {
    fn as_ref(&self) -> &[u8] {
        &self.map[self.range.clone()]
    }
}

/// From this file size up, the checksum runs on a thread of its own.
const PARALLEL_CHECKSUM_FROM: usize = 4 << 20;

/// Where a file's metadata, data and code lie, and the decoded metadata.
struct Parsed {
    meta: Meta,
    regions: format::Regions,
}

/// Checks `file` and decodes its metadata; `sum` checks its checksum, `data` makes the
/// module's bytes from a range of the file (the data region, through the image).
fn parse(
    engine: &Engine,
    file: &[u8],
    sum: impl FnOnce() -> Result<()> + Send,
    data: impl FnOnce(Range<usize>) -> ModuleBytes,
) -> Result<Parsed> {
    let meta_at = format::check_header(file)?;
    let decode = || format::read_meta(&file[meta_at.clone()], meta_at.clone(), file.len(), data);
    // A large file's checksum is computed beside the decoding (a damaged file's error
    // is the checksum's); nothing uses the file's code before both are done.
    let (meta, regions) = if file.len() < PARALLEL_CHECKSUM_FROM {
        sum()?;
        decode()?
    } else {
        std::thread::scope(|s| {
            let sum = s.spawn(sum);
            let meta = decode();
            sum.join()
                .unwrap_or_else(|_| Err(Error::resource("the checksum thread failed")))?;
            meta
        })?
    };
    meta.build.check(engine)?;
    Ok(Parsed { meta, regions })
}

/// Loads an `.aot` file's bytes, copying the code into executable memory.
///
/// # Safety
/// The bytes are native code that will run as they are: they must come from a trusted
/// `rwamr compile` (or [`crate::AotCompiler`]'s precompile). The checks catch damaged
/// and mismatched files, not malicious ones.
pub unsafe fn load_bytes(engine: impl AsRef<Engine>, bytes: &[u8]) -> Result<CompiledModule> {
    let engine = engine.as_ref();
    let parsed = parse(
        engine,
        bytes,
        || format::check_sum(bytes),
        |range| ModuleBytes::new(bytes[range].to_vec()),
    )?;
    let code = &bytes[parsed.regions.code.clone()];
    assemble(engine, parsed.meta, code, |info| {
        CodeMemory::new(code, info)
    })
}

/// Loads an `.aot` file, mapping its code executable from the file (not copied).
///
/// # Safety
/// As [`load_bytes`]; and the file must not change while the module lives.
pub unsafe fn load_file(
    engine: impl AsRef<Engine>,
    path: impl AsRef<Path>,
) -> Result<CompiledModule> {
    let (engine, path) = (engine.as_ref(), path.as_ref());
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::argument(format!("cannot open {shown}: {e}")))?;
    // SAFETY: the caller vouches that the file does not change while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| Error::resource(format!("cannot map {shown}: {e}")))?;
    let map = Arc::new(map);
    let parsed = parse(
        engine,
        &map,
        || format::check_sum_of_file(&map, &file),
        |range| {
            ModuleBytes::new(MappedData {
                map: map.clone(),
                range,
            })
        },
    )
    .map_err(|e| e.context(shown.to_string()))?;
    let Parsed { mut meta, regions } = parsed;
    if let Some(offset) = meta.image_offset {
        let file = file
            .try_clone()
            .map_err(|e| Error::resource(format!("cannot open {shown} again: {e}")))?;
        meta.module.memory_image = Some(MemoryImage {
            offset,
            len: regions.image.len(),
            source: Arc::new(crate::image::FileImage::new(
                file,
                regions.image.start as u64,
            )),
        });
    }
    let code_at = regions.code.clone();
    let code = &map[code_at.clone()];
    assemble(engine, meta, code, |info| {
        // SAFETY: the caller vouches for the file: its code region is code made by
        // this build (the checks above passed), laid out as `info` says.
        unsafe { CodeMemory::map_file(&file, code_at.start as u64, code_at.len(), info) }
    })
    .map_err(|e| e.context(shown.to_string()))
}

/// Puts the code in memory with `map`, hands the stubs to the engine and builds the
/// compiled module.
fn assemble(
    engine: &Engine,
    meta: Meta,
    code: &[u8],
    map: impl FnOnce(rwamr_jit::code::CodeInfo) -> Result<CodeMemory>,
) -> Result<CompiledModule> {
    let Meta { module, tables, .. } = meta;
    let module = Arc::new(module);
    let mut image = CodeImage {
        bytes: Vec::new(),
        traps: tables.traps,
        funcs: tables.funcs,
        trampolines: tables.trampolines,
        stubs: tables.stubs.iter().map(|(_, r)| r.clone()).collect(),
    };
    let stub_types: Vec<FuncType> = tables
        .stubs
        .iter()
        .map(|(t, _)| module.types[*t as usize].clone())
        .collect();
    // Its code calls every function through a native entry: the engine makes those
    // of host and interpreted functions from its stub library.
    let library = engine
        .native_stubs()
        .and_then(|s| s.as_any())
        .and_then(|a| a.downcast_ref::<StubLibrary>())
        .ok_or_else(|| {
            Error::unsupported(
                "this engine runs no native code (an interpreter-only engine): create it \
                 with Mode::Aot, or with mixed modes on, to load .aot files",
            )
        })?;
    // SAFETY: the file passed the checks of this build: its stubs are native stubs of
    // their types, made by this build's translator for this host.
    unsafe { library.adopt(code, &image.traps, &image.stubs, &stub_types)? };
    // The trap table moves to the trap handler (millions of sites in a large module).
    let memory = Arc::new(map(rwamr_jit::code::CodeInfo {
        traps: std::mem::take(&mut image.traps),
        funcs: image.funcs.clone(),
        module: module.clone(),
        osr: false,
    })?);
    let functions = image.functions(&memory);
    CompiledModule::from_parts(engine, module, functions, Mode::Aot)
}

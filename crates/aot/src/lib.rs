//! rwamr's AOT mode, the counterpart of WAMR's `wamrc` and AOT loader: a module is
//! compiled once, with the Optimized tier's translator, into an `.aot` file
//! (`write.rs`), and later loaded from it with no compiler and without decoding the
//! wasm again (`load.rs`). The file layout and what must hold for a file to load are in
//! `format.rs`; the metadata encoding in `codec.rs`.
//!
//! Code loaded from a file is called through function slots like every tier's, so AOT
//! modules link by name with modules of any mode and can be hot-patched: with a new
//! `.aot` file of the next version, or with its wasm (compiled at patch time when a
//! compiler is built in).
//!
//! # Trust
//! An `.aot` file is native code. Loading one ([`load_file`], [`load_bytes`]) trusts
//! its author as running any program does, as wasmtime's `Module::deserialize` does:
//! the checks (magic, format version, checksum, build, target CPU, engine settings)
//! catch damaged and mismatched files, not malicious ones. Hence both are `unsafe`.

mod codec;
mod cpu;
pub mod format;
mod image;
mod load;
#[cfg(feature = "compiler")]
mod write;

pub use format::is_aot;
pub use load::{load_bytes, load_file};

use rwamr_core::{CompiledModule, Compiler, Engine, Error, Mode, Module, Result, WasmCode};
use std::sync::Arc;

/// The compiler of the AOT mode: wasm given to it is compiled to `.aot` bytes and
/// loaded from those, so a module loaded in this mode has been through the file
/// format; a patch with wasm is compiled by the Optimized tier's translator. In a build
/// without the `compiler` feature it compiles nothing: it refuses wasm with a clear
/// error, and the mode runs `.aot` files only.
pub struct AotCompiler {
    #[cfg(feature = "compiler")]
    jit: rwamr_jit::JitCompiler,
}

/// What a build without a compiler says to wasm.
#[cfg(not(feature = "compiler"))]
fn no_compiler(what: &str) -> Error {
    Error::unsupported(format!(
        "cannot {what}: this rwamr is built without a compiler (its `compiler` feature); \
         compile the wasm with `rwamr compile` (or Engine::precompile) in a full build and \
         load the .aot file"
    ))
}

impl AotCompiler {
    /// Compiles for the host's CPU.
    pub fn new() -> AotCompiler {
        AotCompiler {
            #[cfg(feature = "compiler")]
            jit: rwamr_jit::JitCompiler::new(rwamr_jit::Tier::Optimized),
        }
    }

    /// Compiles for CPU `cpu` (a Cranelift preset such as `x86-64-v2`; `native`: the
    /// host's).
    pub fn target_cpu(self, cpu: &str) -> Result<AotCompiler> {
        #[cfg(feature = "compiler")]
        return Ok(AotCompiler {
            jit: self.jit.target_cpu(cpu)?,
        });
        #[cfg(not(feature = "compiler"))]
        Err(no_compiler(&format!("compile for CPU `{cpu}`")))
    }

    /// Whether this build can run (and, with the compiler, compile) code for the
    /// machine it runs on.
    pub fn supported() -> bool {
        rwamr_jit::supported()
    }
}

impl Default for AotCompiler {
    fn default() -> Self {
        AotCompiler::new()
    }
}

impl Compiler for AotCompiler {
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        #[cfg(feature = "compiler")]
        {
            let (_, stub_types) = format::stub_types(module);
            let image = self.jit.compile_module_image(engine, module, &stub_types)?;
            image.load(module.clone())
        }
        #[cfg(not(feature = "compiler"))]
        {
            let _ = (engine, module);
            Err(no_compiler("compile wasm"))
        }
    }

    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        running: &Module,
    ) -> Result<Arc<dyn WasmCode>> {
        #[cfg(feature = "compiler")]
        return self.jit.compile_function(engine, module, index, running);
        #[cfg(not(feature = "compiler"))]
        {
            let _ = (engine, module, index, running);
            Err(no_compiler(
                "compile a patch given as wasm (give the new version as an .aot file)",
            ))
        }
    }

    fn emits_native_code(&self) -> bool {
        true
    }

    fn compile_module(&self, engine: &Engine, bytes: &[u8], mode: Mode) -> Result<CompiledModule> {
        if is_aot(bytes) {
            return Err(Error::argument(
                "these bytes are an .aot file: precompiled code is trusted native code, so \
                 it loads only through the unsafe rwamr::aot::load_file or load_bytes",
            ));
        }
        debug_assert_eq!(mode, Mode::Aot);
        let file = self.precompile(engine, bytes)?;
        // SAFETY: the bytes were written just now by this compiler, for this engine.
        unsafe { load_bytes(engine, &file) }
    }

    fn precompile(&self, engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "compiler")]
        return write::precompile(engine, &self.jit, bytes);
        #[cfg(not(feature = "compiler"))]
        {
            let _ = (engine, bytes);
            Err(no_compiler("compile wasm to an .aot file"))
        }
    }
}

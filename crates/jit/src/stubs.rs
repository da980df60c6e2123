//! The native stubs of an engine with compiled code: the native entry points it gives
//! every entry whose code is not compiled (interpreted and host functions), one per
//! function type (see core's `NativeStubs`). The engine owns them: they are freed with
//! the engine, whose instances hold it.
//!
//! A stub comes from an AOT file that has one for its type (the file's copy is taken
//! over when the file loads, so loading one compiles nothing), or else is compiled with
//! Cranelift on first use. A build without Cranelift gives a type that no file has
//! brought yet the resolver (`resolver.rs`), which finds the stub when the entry is
//! called: a host function defined before the file that calls it was loaded still gets
//! the file's stub.

#[cfg(feature = "cranelift")]
use crate::code::CodeInfo;
use crate::code::CodeMemory;
use crate::image::CodeImage;
#[cfg(feature = "cranelift")]
use crate::{trampolines, Tier};
#[cfg(feature = "cranelift")]
use cranelift_codegen::{isa::OwnedTargetIsa, Context};
#[cfg(feature = "cranelift")]
use cranelift_frontend::FunctionBuilderContext;
use hashbrown::HashMap;
use rwamr_core::{Error, FuncType, Module, NativeStubs, Result};
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// One engine's native stubs.
#[derive(Default)]
pub struct StubLibrary {
    inner: Mutex<Stubs>,
    /// The compiler of stubs no file brought, made on first use.
    #[cfg(feature = "cranelift")]
    isa: std::sync::OnceLock<std::result::Result<OwnedTargetIsa, String>>,
}

#[derive(Default)]
struct Stubs {
    by_type: HashMap<FuncType, *const u8>,
    /// Code memories of the stubs, kept for the engine's lifetime.
    memories: Vec<CodeMemory>,
    /// An empty module for the trap tables' function lookup.
    module: Option<Arc<Module>>,
}

// SAFETY: the pointers in `by_type` point into `memories`, immutable executable code
// owned by the same value.
unsafe impl Send for Stubs {}

impl StubLibrary {
    pub fn new() -> StubLibrary {
        StubLibrary::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stubs> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes over the stubs at `stubs` in `code` (whose trap sites are `traps`) for
    /// `types` (parallel to `stubs`) that the library lacks, copying them into code
    /// memory of its own.
    ///
    /// # Safety
    /// Each of those stubs must be the native stub of its type made by this build's
    /// compiled tiers (`trampolines::native_stub`) for the host.
    pub unsafe fn adopt(
        &self,
        code: &[u8],
        traps: &[(u32, u8)],
        stubs: &[Range<u32>],
        types: &[FuncType],
    ) -> Result<()> {
        let mut s = self.lock();
        let mut wanted: Vec<(&FuncType, &Range<u32>)> = types
            .iter()
            .zip(stubs)
            .filter(|(ty, _)| !s.by_type.contains_key(*ty))
            .collect();
        wanted.sort_by_key(|(_, r)| r.start);
        wanted.dedup_by(|a, b| a.0 == b.0);
        if wanted.is_empty() {
            return Ok(());
        }
        let mut copy = CodeImage::default();
        let mut at = Vec::with_capacity(wanted.len());
        for (_, range) in &wanted {
            let bytes = code
                .get(range.start as usize..range.end as usize)
                .ok_or_else(|| Error::invalid("a native stub lies outside its code"))?;
            at.push(
                copy.push(bytes, &crate::image::traps_in(traps, range))
                    .start,
            );
        }
        let module = s.empty_module()?;
        let memory = CodeMemory::new(&copy.bytes, copy.info(module))?;
        for ((ty, _), off) in wanted.iter().zip(at) {
            s.by_type.insert((*ty).clone(), memory.at(off));
        }
        s.memories.push(memory);
        Ok(())
    }

    /// The stub of `ty`, if the library has it.
    pub fn get(&self, ty: &FuncType) -> Option<*const u8> {
        self.lock().by_type.get(ty).copied()
    }

    #[cfg(feature = "cranelift")]
    fn isa(&self) -> Result<&OwnedTargetIsa> {
        self.isa
            .get_or_init(|| {
                if !crate::JitCompiler::supported() {
                    return Err("the compiled tiers run on x86_64 Linux only".into());
                }
                crate::compiler::build_isa(Tier::Optimized, None)
            })
            .as_ref()
            .map_err(|e| Error::unsupported(format!("cannot compile native stubs: {e}")))
    }
}

impl Stubs {
    fn empty_module(&mut self) -> Result<Arc<Module>> {
        if let Some(m) = &self.module {
            return Ok(m.clone());
        }
        let m = Arc::new(Module::new(b"\0asm\x01\0\0\0")?);
        self.module = Some(m.clone());
        Ok(m)
    }
}

// SAFETY: a stub is `trampolines::native_stub` for exactly `ty`, compiled for the host
// (here, or adopted from a file under `adopt`'s contract), in code memory this value
// keeps until it is dropped; or the resolver, which takes the native convention of
// every type and jumps to the stub of the called entry's type (or traps).
unsafe impl NativeStubs for StubLibrary {
    fn native_stub(&self, ty: &FuncType) -> Result<*const u8> {
        if let Some(addr) = self.get(ty) {
            return Ok(addr);
        }
        self.make(ty)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

impl StubLibrary {
    /// Without a compiler: the resolver stands in until a file brings the stub.
    #[cfg(not(feature = "cranelift"))]
    fn make(&self, _ty: &FuncType) -> Result<*const u8> {
        crate::resolver::address()
    }

    /// Compiles the stub of `ty` with Cranelift.
    #[cfg(feature = "cranelift")]
    fn make(&self, ty: &FuncType) -> Result<*const u8> {
        let isa = self.isa()?;
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        trampolines::native_stub(ty, &mut ctx.func, &mut fctx);
        let code = crate::compiler::emit(&**isa, &mut ctx, "a native stub")?;
        let mut s = self.lock();
        // Another thread may have made it meanwhile: one stub per type.
        if let Some(&addr) = s.by_type.get(ty) {
            return Ok(addr);
        }
        let module = s.empty_module()?;
        let memory = CodeMemory::new(
            &code.bytes,
            CodeInfo {
                traps: code.traps,
                funcs: Vec::new(),
                module,
                osr: false,
            },
        )?;
        let addr = memory.at(0);
        s.memories.push(memory);
        s.by_type.insert(ty.clone(), addr);
        Ok(addr)
    }
}

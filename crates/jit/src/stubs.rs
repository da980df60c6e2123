//! Native stubs compiled with Cranelift: the native entry points an engine with a
//! compiled tier gives every entry whose code is not compiled (interpreted and host
//! functions), one per function type (see core's `NativeStubs`). The engine owns them:
//! they are compiled on first use and freed with the engine, whose instances hold it.

use crate::code::{CodeInfo, CodeMemory};
use crate::{trampolines, Tier};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use hashbrown::HashMap;
use rwamr_core::{Error, FuncType, Module, NativeStubs, Result};
use std::sync::{Arc, Mutex};

/// One engine's native stubs.
#[derive(Default)]
pub struct CraneliftStubs {
    inner: Mutex<Option<Stubs>>,
}

struct Stubs {
    isa: OwnedTargetIsa,
    by_type: HashMap<FuncType, *const u8>,
    /// Code memories of the stubs, kept for the engine's lifetime.
    memories: Vec<CodeMemory>,
    /// An empty module for the trap tables' function lookup.
    module: Arc<Module>,
}

// SAFETY: the pointers in `by_type` point into `memories`, immutable executable code
// owned by the same value.
unsafe impl Send for Stubs {}

impl CraneliftStubs {
    pub fn new() -> CraneliftStubs {
        CraneliftStubs::default()
    }
}

impl Stubs {
    fn new() -> Result<Stubs> {
        let unsupported =
            |e: String| Error::unsupported(format!("cannot compile native stubs: {e}"));
        if !crate::JitCompiler::supported() {
            return Err(unsupported(
                "the compiled tiers run on x86_64 Linux only".into(),
            ));
        }
        Ok(Stubs {
            isa: crate::build_isa(Tier::Optimized).map_err(unsupported)?,
            by_type: HashMap::new(),
            memories: Vec::new(),
            module: Arc::new(Module::new(b"\0asm\x01\0\0\0")?),
        })
    }
}

// SAFETY: a stub is `trampolines::native_stub` for exactly `ty`, compiled for the host,
// in code memory this value keeps until it is dropped.
unsafe impl NativeStubs for CraneliftStubs {
    fn native_stub(&self, ty: &FuncType) -> Result<*const u8> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let s = match &mut *guard {
            Some(s) => s,
            None => guard.insert(Stubs::new()?),
        };
        if let Some(&addr) = s.by_type.get(ty) {
            return Ok(addr);
        }
        let mut ctx = Context::new();
        let mut fctx = FunctionBuilderContext::new();
        trampolines::native_stub(ty, &mut ctx.func, &mut fctx);
        let code = crate::emit(&*s.isa, &mut ctx, "a native stub")?;
        let memory = CodeMemory::new(
            &code.bytes,
            CodeInfo {
                traps: code.traps,
                funcs: Vec::new(),
                module: s.module.clone(),
            },
        )?;
        let addr = memory.at(0);
        s.memories.push(memory);
        s.by_type.insert(ty.clone(), addr);
        Ok(addr)
    }
}

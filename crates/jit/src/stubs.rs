//! Native stubs: a native entry point for every slot entry whose code is not compiled
//! (interpreted and host functions), one per function type, shared by the process.
//!
//! Core asks for them when it builds an entry (`rwamr_core::slot::set_native_stub_provider`),
//! so compiled code calls every entry the same way: load its native entry point, call
//! it. The provider is registered when the first compiled tier is created, before any
//! entry of an engine with a compiled tier exists. Stubs are compiled on first use and
//! never freed (there is one per distinct function type).

use crate::code::{CodeInfo, CodeMemory};
use crate::{trampolines, Tier};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use hashbrown::HashMap;
use rwamr_core::{Error, FuncType, Module, Result};
use std::sync::{Arc, Mutex, OnceLock};

struct Stubs {
    isa: OwnedTargetIsa,
    by_type: HashMap<FuncType, usize>,
    /// Code memories of the stubs, kept for the process's lifetime.
    memories: Vec<CodeMemory>,
    /// An empty module for the trap tables' function lookup.
    module: Arc<Module>,
}

static STUBS: OnceLock<std::result::Result<Mutex<Stubs>, String>> = OnceLock::new();

fn stubs() -> Result<&'static Mutex<Stubs>> {
    STUBS
        .get_or_init(|| {
            let module = Module::new(b"\0asm\x01\0\0\0").map_err(|e| e.to_string())?;
            Ok(Mutex::new(Stubs {
                isa: crate::build_isa(Tier::Optimized)?,
                by_type: HashMap::new(),
                memories: Vec::new(),
                module: Arc::new(module),
            }))
        })
        .as_ref()
        .map_err(|e| Error::unsupported(format!("cannot compile native stubs: {e}")))
}

/// The native stub for functions of type `ty`, compiled on first use.
pub fn native_stub(ty: &FuncType) -> Result<*const u8> {
    let mut s = stubs()?.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&addr) = s.by_type.get(ty) {
        return Ok(addr as *const u8);
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
    s.by_type.insert(ty.clone(), addr as usize);
    Ok(addr)
}

/// Makes core give every entry built from now on a native entry point.
pub fn register() {
    rwamr_core::slot::set_native_stub_provider(|ty| native_stub(ty).unwrap_or(std::ptr::null()));
}

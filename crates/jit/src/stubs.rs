//! Native stubs: a native entry point for every slot entry whose code is not compiled
//! (interpreted and host functions), one per function type, shared by the process.
//!
//! Core asks for them when it builds an entry (`rwamr_core::slot::set_native_stub_provider`),
//! so compiled code calls every entry the same way: load its native entry point, call
//! it. The provider is registered when the first compiled tier is created, before any
//! entry of an engine with a compiled tier exists. Stubs are compiled on first use and
//! never freed (there is one per distinct function type).

use crate::code::{CodeInfo, CodeMemory};
use crate::trampolines;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::{settings, settings::Configurable, Context};
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
            let mut flags = settings::builder();
            flags
                .set("opt_level", "speed")
                .and_then(|_| flags.set("preserve_frame_pointers", "true"))
                .and_then(|_| flags.set("enable_multi_ret_implicit_sret", "true"))
                .map_err(|e| e.to_string())?;
            let isa = cranelift_native::builder()
                .map_err(|e| e.to_string())?
                .finish(settings::Flags::new(flags))
                .map_err(|e| e.to_string())?;
            let module = Module::new(b"\0asm\x01\0\0\0").map_err(|e| e.to_string())?;
            Ok(Mutex::new(Stubs {
                isa,
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
    let code = ctx
        .compile(&*s.isa, &mut ControlPlane::default())
        .map_err(|e| Error::unsupported(format!("cannot compile a native stub: {:?}", e.inner)))?;
    if !code.buffer.relocs().is_empty() {
        return Err(Error::unsupported("a native stub needs a relocation"));
    }
    let traps = code
        .buffer
        .traps()
        .iter()
        .map(|t| (t.offset, crate::code::raw_trap(t.code)))
        .collect();
    let memory = CodeMemory::new(
        code.code_buffer(),
        CodeInfo {
            traps,
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

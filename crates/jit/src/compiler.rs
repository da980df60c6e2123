//! The compiled tiers' compiler: Cranelift settings per tier, module and function
//! compilation (eager, parallel, or lazy on first call), and the code images an AOT
//! file stores. Only in builds with the `cranelift` feature.

use crate::code::{self, CodeMemory, FuncRange};
use crate::translate::{self, ModuleEnv};
use crate::{trampolines, CodeImage, Tier};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::{settings, settings::Configurable, Context};
use cranelift_frontend::FunctionBuilderContext;
use hashbrown::HashMap;
use rwamr_core::{
    compile_each, Compiler, Engine, Error, FuncEntry, FuncType, Module, Result, Trap, VmCtxLayout,
    WasmCode,
};
use std::sync::{Arc, Mutex, OnceLock};

/// Below this many functions per thread, compiling in parallel is not worth a thread.
const MIN_FUNCS_PER_THREAD: usize = 16;

/// A compiled tier, as the engine's [`Compiler`].
///
/// Compilation is eager by default: every function when the module loads, on every
/// core. With [`JitCompiler::lazy`], each function compiles on its first call instead:
/// its slot starts with a placeholder whose first call compiles the function and
/// installs the code in the slot (the same swap as a patch). Patches always compile
/// eagerly.
pub struct JitCompiler {
    tier: Arc<TierCompiler>,
    lazy: bool,
}

impl JitCompiler {
    pub fn new(tier: Tier) -> JitCompiler {
        JitCompiler {
            tier: Arc::new(TierCompiler {
                tier,
                cpu: None,
                isa: OnceLock::new(),
            }),
            lazy: false,
        }
    }

    /// Compiles each function on its first call instead of when the module loads.
    pub fn lazy(mut self, lazy: bool) -> JitCompiler {
        self.lazy = lazy;
        self
    }

    /// Whether this build can compile for the machine it runs on.
    pub fn supported() -> bool {
        crate::supported()
    }

    /// Compiles for CPU `cpu` instead of the host's: a Cranelift preset name such as
    /// `x86-64-v2`, `haswell` or `baseline` (`native`: the host's).
    pub fn target_cpu(self, cpu: &str) -> Result<JitCompiler> {
        let cpu = (cpu != "native").then(|| cpu.to_string());
        let tier = TierCompiler {
            tier: self.tier.tier,
            cpu,
            isa: OnceLock::new(),
        };
        tier.isa()?;
        Ok(JitCompiler {
            tier: Arc::new(tier),
            lazy: self.lazy,
        })
    }

    /// The target ISA for the host, with the tier's settings (made on first use).
    pub fn isa(&self) -> Result<&dyn TargetIsa> {
        self.tier.isa()
    }

    /// The CPU features the code may use (Cranelift's enabled `has_*` flags, such as
    /// `has_avx2`).
    pub fn cpu_features(&self) -> Result<Vec<String>> {
        Ok(self
            .isa()?
            .isa_flags()
            .iter()
            .filter(|v| v.name.starts_with("has_") && v.as_bool() == Some(true))
            .map(|v| v.name.to_string())
            .collect())
    }

    /// Compiles every defined function of `module`, and the native stubs of
    /// `stub_types`, into one image (what an AOT file stores).
    pub fn compile_module_image(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        stub_types: &[FuncType],
    ) -> Result<CodeImage> {
        let first = module.num_imported_funcs;
        let indices: Vec<u32> = (first..first + module.num_defined_funcs()).collect();
        self.tier
            .compile_image(engine, module, &indices, module, stub_types)
    }
}

/// What a function's code does beyond its tier's translation (the Tiered mode's),
/// and what the image holds besides.
#[derive(Clone, Copy)]
struct Variant {
    /// Count hotness at this address (see `ModuleEnv::hotness`).
    hotness: Option<usize>,
    /// The function's OSR entry at this loop instead (see `ModuleEnv::osr_loop`).
    osr_loop: Option<u32>,
    /// Array-call trampolines for the functions' types.
    trampolines: bool,
}

/// A module's array-call trampolines by function type, for functions compiled one at a
/// time (a trampoline takes as long to compile as a small function).
#[derive(Default)]
pub(crate) struct Trampolines(Mutex<HashMap<FuncType, Arc<CodeMemory>>>);

impl Trampolines {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FuncType, Arc<CodeMemory>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A function's on-stack-replacement entry at one loop: code with the signature
/// `abi::osr_signature`, never installed in a slot.
pub(crate) struct OsrCode {
    native: *const u8,
    _memory: Arc<CodeMemory>,
}

// SAFETY: `native` points into `_memory`, immutable executable code owned by it.
unsafe impl Send for OsrCode {}
// SAFETY: as above.
unsafe impl Sync for OsrCode {}

impl OsrCode {
    /// The entry's address, valid while this value lives.
    pub(crate) fn native(&self) -> *const u8 {
        self.native
    }
}

/// What compiles: the tier's settings and target.
pub(crate) struct TierCompiler {
    tier: Tier,
    /// A Cranelift CPU preset, or the host's CPU.
    cpu: Option<String>,
    isa: OnceLock<std::result::Result<OwnedTargetIsa, String>>,
}

impl TierCompiler {
    /// A compiler of `tier` for the host.
    pub(crate) fn new(tier: Tier) -> TierCompiler {
        TierCompiler {
            tier,
            cpu: None,
            isa: OnceLock::new(),
        }
    }

    fn isa(&self) -> Result<&dyn TargetIsa> {
        self.isa
            .get_or_init(|| build_isa(self.tier, self.cpu.as_deref()))
            .as_ref()
            .map(|isa| &**isa)
            .map_err(|e| Error::unsupported(e.clone()))
    }

    /// Compiles functions `indices` of `module` to run in instances of `running` (the
    /// module itself, or for a patch the running version: its vmctx layout is the one
    /// the code reads).
    fn compile_functions(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        indices: &[u32],
        running: &Module,
    ) -> Result<Vec<Arc<dyn WasmCode>>> {
        let image = self.compile_image(engine, module, indices, running, &[])?;
        image.load(module.clone())
    }

    /// Compiles function `index` of `module` alone, to read instance contexts laid out
    /// as `layout`, counting hotness at `hotness` if given (lazy compilation, patches,
    /// tier-ups); its array-call trampoline comes from `trampolines`, the module's,
    /// where given.
    pub(crate) fn compile_one(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        hotness: Option<usize>,
        trampolines: Option<&Trampolines>,
    ) -> Result<Arc<dyn WasmCode>> {
        let variant = Variant {
            hotness,
            osr_loop: None,
            trampolines: trampolines.is_none(),
        };
        let Some(trampolines) = trampolines else {
            let image = self.compile_image_for(engine, module, &[index], layout, variant, &[])?;
            return Ok(image.load(module.clone())?.remove(0));
        };
        let (memory, native) = self.compile_alone(engine, module, index, layout, variant)?;
        let trampoline = self.trampoline(trampolines, module, module.func_type(index))?;
        Ok(Arc::new(crate::JitFunc {
            native,
            trampoline: trampoline.at(0),
            _memory: memory,
            _trampoline_memory: Some(trampoline),
        }))
    }

    /// Compiles function `index` of `module` as `variant` (no trampoline) into code
    /// memory of its own; returns the memory and the function's address in it.
    fn compile_alone(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        variant: Variant,
    ) -> Result<(Arc<CodeMemory>, *const u8)> {
        let image = self.compile_image_for(engine, module, &[index], layout, variant, &[])?;
        let info = code::CodeInfo {
            osr: variant.osr_loop.is_some(),
            ..image.info(module.clone())
        };
        let memory = Arc::new(CodeMemory::new(&image.bytes, info)?);
        let native = memory.at(image.funcs[0].start);
        Ok((memory, native))
    }

    /// The array-call trampoline of `ty` for functions of `module`, from `cache` or
    /// compiled into it.
    fn trampoline(
        &self,
        cache: &Trampolines,
        module: &Arc<Module>,
        ty: &FuncType,
    ) -> Result<Arc<CodeMemory>> {
        if let Some(t) = cache.lock().get(ty) {
            return Ok(t.clone());
        }
        let mut scratch = Scratch::take();
        let (ctx, fctx) = scratch.parts();
        ctx.clear();
        trampolines::array_trampoline(ty, &mut ctx.func, fctx);
        let code = emit(self.isa()?, ctx, "an array-call trampoline")?;
        let info = code::CodeInfo {
            traps: code.traps,
            funcs: Vec::new(),
            module: module.clone(),
            osr: false,
        };
        let memory = Arc::new(CodeMemory::new(&code.bytes, info)?);
        // Another thread may have made one meanwhile: either serves.
        Ok(cache.lock().entry(ty.clone()).or_insert(memory).clone())
    }

    /// Compiles the on-stack-replacement entry of function `index` of `module` at its
    /// loop `at_loop` (see `translate/mod.rs`), for instance contexts laid out as
    /// `layout`.
    pub(crate) fn compile_osr(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        at_loop: u32,
    ) -> Result<OsrCode> {
        let variant = Variant {
            hotness: None,
            osr_loop: Some(at_loop),
            trampolines: false,
        };
        let (memory, native) = self.compile_alone(engine, module, index, layout, variant)?;
        Ok(OsrCode {
            native,
            _memory: memory,
        })
    }

    /// Compiles functions `indices` of `module` (as [`TierCompiler::compile_functions`])
    /// and the native stubs of `stub_types` into one image.
    fn compile_image(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        indices: &[u32],
        running: &Module,
        stub_types: &[FuncType],
    ) -> Result<CodeImage> {
        let layout = VmCtxLayout::new(running);
        let variant = Variant {
            hotness: None,
            osr_loop: None,
            trampolines: true,
        };
        self.compile_image_for(engine, module, indices, layout, variant, stub_types)
    }

    /// Compiles functions `indices` of `module` as `variant` to read instance contexts
    /// laid out as `layout`.
    fn compile_image_for(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        indices: &[u32],
        layout: VmCtxLayout,
        variant: Variant,
        stub_types: &[FuncType],
    ) -> Result<CodeImage> {
        if !JitCompiler::supported() {
            return Err(Error::unsupported(
                "the compiled tiers run on x86_64 Linux only; use the interp mode",
            ));
        }
        let isa = self.isa()?;
        let mut metering = engine.metering();
        metering.hotness = variant.hotness.is_some();
        let env = ModuleEnv {
            module,
            layout,
            bounds_checks: !engine.memory_plan().unchecked,
            locals_in_memory: self.tier == Tier::Baseline,
            metering,
            hotness: variant.hotness.unwrap_or(0),
            osr_loop: variant.osr_loop,
        };
        let bodies = compile_each(
            indices,
            MIN_FUNCS_PER_THREAD,
            Scratch::take,
            |scratch, index| {
                let (ctx, fctx) = scratch.parts();
                compile_function(isa, &env, index, ctx, fctx)
            },
        )?;

        // One trampoline per distinct function type, unless they come from elsewhere
        // (an OSR entry has none: only first-tier code calls it).
        let mut tramp_types: Vec<&FuncType> = Vec::new();
        let mut tramp_index: HashMap<&FuncType, usize> = HashMap::new();
        let tramp_of: Vec<usize> = indices
            .iter()
            .filter(|_| variant.trampolines)
            .map(|&i| {
                let ty = module.func_type(i);
                *tramp_index.entry(ty).or_insert_with(|| {
                    tramp_types.push(ty);
                    tramp_types.len() - 1
                })
            })
            .collect();
        let mut scratch = Scratch::take();
        let (ctx, fctx) = scratch.parts();
        let mut image = CodeImage::default();
        for (&index, body) in indices.iter().zip(&bodies) {
            let at = image.push(&body.bytes, &body.traps);
            image.funcs.push(FuncRange {
                start: at.start,
                end: at.end,
                func_index: index,
            });
        }
        let mut tramp_offsets = Vec::with_capacity(tramp_types.len());
        for ty in tramp_types {
            ctx.clear();
            trampolines::array_trampoline(ty, &mut ctx.func, fctx);
            let code = emit(isa, ctx, "an array-call trampoline")?;
            tramp_offsets.push(image.push(&code.bytes, &code.traps).start);
        }
        image.trampolines = tramp_of.iter().map(|&t| tramp_offsets[t]).collect();
        for ty in stub_types {
            ctx.clear();
            trampolines::native_stub(ty, &mut ctx.func, fctx);
            let code = emit(isa, ctx, "a native stub")?;
            let at = image.push(&code.bytes, &code.traps);
            image.stubs.push(at);
        }
        image.align();
        Ok(image)
    }
}

pub(crate) fn build_isa(
    tier: Tier,
    cpu: Option<&str>,
) -> std::result::Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    let (opt, regalloc) = match tier {
        Tier::Baseline => ("none", "single_pass"),
        Tier::Optimized => ("speed", "backtracking"),
    };
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    for (name, value) in [
        ("opt_level", opt),
        ("regalloc_algorithm", regalloc),
        // Backtraces walk the frame-pointer chain.
        ("preserve_frame_pointers", "true"),
        // Multi-value returns beyond the return registers.
        ("enable_multi_ret_implicit_sret", "true"),
        // The prologue's stack-limit check covers large frames; probes would be calls.
        ("enable_probestack", "false"),
        ("unwind_info", "false"),
        ("enable_verifier", verify),
    ] {
        flags
            .set(name, value)
            .map_err(|e| format!("cranelift setting {name}={value}: {e}"))?;
    }
    let builder = match cpu {
        None => {
            cranelift_native::builder().map_err(|e| format!("cannot compile for this host: {e}"))?
        }
        Some(cpu) => {
            let mut b = cranelift_codegen::isa::lookup(target_lexicon::Triple::host())
                .map_err(|e| format!("cannot compile for this host: {e}"))?;
            b.enable(cpu).map_err(|e| {
                format!("unknown target CPU `{cpu}` ({e}); try native, baseline, x86-64-v2, x86-64-v3 or haswell")
            })?;
            b
        }
    };
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("cannot compile for this host: {e}"))
}

/// A thread's Cranelift context, kept between compiles: one that has compiled before
/// has its buffers grown already (lazy compiles come one function at a time). The
/// builder context is new each time: one left by a failed translation is not empty.
struct Scratch(Option<Context>, FunctionBuilderContext);

thread_local! {
    static CONTEXT: std::cell::Cell<Option<Context>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    /// The thread's context (a new one while it is taken).
    fn take() -> Scratch {
        let kept = CONTEXT.with(|c| c.take());
        Scratch(
            Some(kept.unwrap_or_else(Context::new)),
            FunctionBuilderContext::new(),
        )
    }

    fn parts(&mut self) -> (&mut Context, &mut FunctionBuilderContext) {
        (self.0.as_mut().expect("held until dropped"), &mut self.1)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let kept = self.0.take();
        // (During thread exit the slot may be gone: the context just drops.)
        let _ = CONTEXT.try_with(|c| c.set(kept));
    }
}

/// One compiled function: code bytes and trap sites (offset, raw code).
pub(crate) struct Emitted {
    pub(crate) bytes: Vec<u8>,
    pub(crate) traps: Vec<(u32, u8)>,
}

/// Compiles the function in `ctx` to machine code. The translator's code needs no
/// relocations (see `translate/mod.rs`): one would be a bug, reported as an error.
pub(crate) fn emit(isa: &dyn TargetIsa, ctx: &mut Context, what: &str) -> Result<Emitted> {
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| Error::unsupported(format!("cannot compile {what}: {:?}", e.inner)))?;
    if let Some(r) = code.buffer.relocs().first() {
        return Err(Error::unsupported(format!(
            "cannot compile {what}: the code needs a relocation ({:?}), which the compiled \
             tiers do not support on this host",
            r.kind
        )));
    }
    let traps = code
        .buffer
        .traps()
        .iter()
        .map(|t| (t.offset, code::raw_trap(t.code)))
        .collect();
    Ok(Emitted {
        bytes: code.code_buffer().to_vec(),
        traps,
    })
}

fn compile_function(
    isa: &dyn TargetIsa,
    env: &ModuleEnv<'_>,
    index: u32,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
) -> Result<Emitted> {
    let name = || env.module.func_name(index);
    ctx.clear();
    translate::translate_function(env, index, &mut ctx.func, fctx)
        .map_err(|e| e.context(format!("function {}", name())))?;
    emit(isa, ctx, &format!("function {}", name()))
}

impl Compiler for JitCompiler {
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let first = module.num_imported_funcs;
        let indices: Vec<u32> = (first..first + module.num_defined_funcs()).collect();
        if !self.lazy {
            return self
                .tier
                .compile_functions(engine, module, &indices, module);
        }
        let tier = self.tier.clone();
        let make: MakeCode = Arc::new(LazyTier(tier, Trampolines::default()));
        Ok(LazyFunc::for_module(module, &make))
    }

    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        running: &Module,
    ) -> Result<Arc<dyn WasmCode>> {
        self.tier
            .compile_one(engine, module, index, VmCtxLayout::new(running), None, None)
    }

    fn emits_native_code(&self) -> bool {
        true
    }
}

/// A function not compiled yet (lazy compilation): its first call compiles it, and each
/// instance's first call installs the code in that instance's slot (the same swap as a
/// patch) and runs it. Callers reach it through its type's native stub until then.
pub(crate) struct LazyFunc {
    make: MakeCode,
    module: Arc<Module>,
    index: u32,
    code: OnceLock<std::result::Result<Arc<dyn WasmCode>, Error>>,
}

/// How a lazy function's code is made.
pub(crate) trait LazyCode: Send + Sync {
    /// Compiles defined function `index` of `module`.
    fn make(&self, engine: &Engine, module: &Arc<Module>, index: u32) -> Result<Arc<dyn WasmCode>>;
}

pub(crate) type MakeCode = Arc<dyn LazyCode>;

/// A compiled tier's functions made on first call, as they are.
struct LazyTier(Arc<TierCompiler>, Trampolines);

impl LazyCode for LazyTier {
    fn make(&self, engine: &Engine, module: &Arc<Module>, index: u32) -> Result<Arc<dyn WasmCode>> {
        let layout = VmCtxLayout::new(module);
        self.0
            .compile_one(engine, module, index, layout, None, Some(&self.1))
    }
}

impl LazyFunc {
    /// Its code, once made.
    pub(crate) fn compiled(&self) -> Option<&Arc<dyn WasmCode>> {
        self.code.get().and_then(|c| c.as_ref().ok())
    }

    /// Its code, made now unless another thread made it or is making it.
    fn make(&self, engine: &Engine) -> std::result::Result<&Arc<dyn WasmCode>, &Error> {
        self.code
            .get_or_init(|| self.make.make(engine, &self.module, self.index))
            .as_ref()
    }

    /// A placeholder for each defined function of `module`, made by `make`.
    pub(crate) fn for_module(module: &Arc<Module>, make: &MakeCode) -> Vec<Arc<dyn WasmCode>> {
        let first = module.num_imported_funcs;
        (first..first + module.num_defined_funcs())
            .map(|index| {
                Arc::new(LazyFunc {
                    make: make.clone(),
                    module: module.clone(),
                    index,
                    code: OnceLock::new(),
                }) as Arc<dyn WasmCode>
            })
            .collect()
    }
}

// SAFETY: no native entry point: callers reach it through its type's native stub.
unsafe impl WasmCode for LazyFunc {
    unsafe fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> std::result::Result<(), Trap> {
        let inst = entry.instance();
        let engine = inst.engine();
        let code = self
            .make(engine)
            .map_err(|e| Trap::host(format!("compiling {}: {e}", inst.func_name(entry.index))))?;
        // Only over this placeholder: a patch installed meanwhile stays.
        let me = self as *const LazyFunc as *const ();
        // SAFETY: the code is this placeholder's function, compiled from the module the
        // instance was made from.
        unsafe { inst.install_code_replacing(entry.index, code.clone(), me) }
            .map_err(|e| Trap::host(e.to_string()))?;
        // SAFETY: `entry` runs this placeholder, which stands for `code` (`call`'s
        // contract); the caller's contract covers `cells`.
        unsafe { code.call(entry, cells) }
    }
}

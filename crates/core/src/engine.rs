//! The engine: settings shared by everything loaded with it, the canonical type table,
//! and the compiler of the configured execution mode.

use crate::error::{Error, Result};
use crate::module::Module;
use crate::slot::WasmCode;
use crate::types::TypeRegistry;
use std::fmt;
use std::sync::Arc;

/// How wasm code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// The fast interpreter (register bytecode).
    #[default]
    Interp,
    /// Cranelift with minimal optimization (fast compile).
    Baseline,
    /// Cranelift at full optimization.
    Optimized,
    /// Ahead-of-time compiled `.aot` files.
    Aot,
    /// Start interpreted, move hot functions up.
    Tiered,
}

impl Mode {
    pub const ALL: [Mode; 5] = [
        Mode::Interp,
        Mode::Baseline,
        Mode::Optimized,
        Mode::Aot,
        Mode::Tiered,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Interp => "interp",
            Mode::Baseline => "baseline",
            Mode::Optimized => "optimized",
            Mode::Aot => "aot",
            Mode::Tiered => "tiered",
        }
    }

    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The guard compiled code needs to leave 32-bit memory accesses unchecked: any 32-bit
/// address plus any 32-bit offset plus the access size stays inside the reservation.
/// With it every memory reserves 8 GiB + 64 KiB of address space (not of memory).
pub const UNCHECKED_MEMORY_GUARD: usize = (4 << 30) + 64 * 1024;

/// Limits that every tier honours.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of wasm calls before "call stack exhausted", in the interpreter.
    pub max_call_depth: usize,
    /// Value-stack cells (8 bytes each) the interpreter may use per thread.
    pub max_stack_cells: usize,
    /// Native stack bytes compiled code may use per host->wasm call (the compiled
    /// tiers' counterpart of `max_call_depth`; also bounded by the thread's stack).
    pub max_wasm_stack: usize,
    /// Inaccessible address space reserved after each linear memory's maximum size.
    /// Compiled tiers rely on it instead of bounds checks when it is at least
    /// [`UNCHECKED_MEMORY_GUARD`] (the default), and check bounds otherwise; the
    /// interpreter always checks.
    pub memory_guard_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_call_depth: 10_000,
            max_stack_cells: 1 << 20,
            max_wasm_stack: 1 << 20,
            memory_guard_bytes: UNCHECKED_MEMORY_GUARD,
        }
    }
}

/// Turns a module's function bodies into runnable code (one execution tier).
pub trait Compiler: Send + Sync {
    /// Compiles every defined function; the result is indexed by defined-function index.
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>>;

    /// Compiles one function (`index` of the function index space, a defined one), for
    /// hot patching.
    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
    ) -> Result<Arc<dyn WasmCode>>;
}

struct EngineInner {
    mode: Mode,
    limits: Limits,
    types: TypeRegistry,
    /// One compiler per available mode; the engine's own mode's comes first.
    compilers: Vec<(Mode, Box<dyn Compiler>)>,
}

/// Shared engine state; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl Engine {
    /// An engine whose modules compile in `mode` by default; `compilers` gives the
    /// compiler of every mode modules may be compiled in (it must include `mode`).
    pub fn new(
        mode: Mode,
        limits: Limits,
        mut compilers: Vec<(Mode, Box<dyn Compiler>)>,
    ) -> Result<Engine> {
        let Some(at) = compilers.iter().position(|(m, _)| *m == mode) else {
            return Err(Error::unsupported(format!(
                "no compiler for execution mode `{mode}` was given"
            )));
        };
        compilers.swap(0, at);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                mode,
                limits,
                types: TypeRegistry::default(),
                compilers,
            }),
        })
    }
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
    pub fn types(&self) -> &TypeRegistry {
        &self.inner.types
    }
    /// The compiler of the engine's mode.
    pub fn compiler(&self) -> &dyn Compiler {
        &*self.inner.compilers[0].1
    }
    /// The compiler of `mode`, if the engine has one.
    pub fn compiler_for(&self, mode: Mode) -> Result<&dyn Compiler> {
        self.inner
            .compilers
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, c)| &**c)
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "execution mode `{mode}` is not available in this engine; available: {}",
                    self.modes()
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
    /// The modes this engine can compile for.
    pub fn modes(&self) -> Vec<Mode> {
        self.inner.compilers.iter().map(|(m, _)| *m).collect()
    }

    /// Refuses an imported memory that compiled code of this engine could reach past:
    /// one reserved with a smaller guard than the engine's (made by another engine).
    pub fn check_imported_memory(&self, memory: &crate::Memory) -> Result<()> {
        let guard = self.inner.limits.memory_guard_bytes;
        if guard >= UNCHECKED_MEMORY_GUARD
            && memory.reserved() < (crate::memory::MAX_PAGES as usize) * crate::PAGE_SIZE + guard
        {
            return Err(Error::link(format!(
                "an imported memory reserves {} bytes of address space, less than the \
                 {} bytes this engine's compiled code relies on; create it with the \
                 engine's memory guard setting",
                memory.reserved(),
                (4usize << 30) + guard
            )));
        }
        Ok(())
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("mode", &self.mode())
            .finish()
    }
}

/// A module compiled for an engine, ready to instantiate any number of times.
pub struct CompiledModule {
    pub module: Arc<Module>,
    pub code: Vec<Arc<dyn WasmCode>>,
    /// The mode the code was compiled for.
    pub mode: Mode,
}

impl CompiledModule {
    /// Decodes, validates and compiles `bytes` with the engine's tier.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<CompiledModule> {
        Self::new_in(engine, bytes, engine.mode())
    }

    /// Decodes, validates and compiles `bytes` for `mode` (one of the engine's modes).
    pub fn new_in(engine: &Engine, bytes: &[u8], mode: Mode) -> Result<CompiledModule> {
        let compiler = engine.compiler_for(mode)?;
        let module = Arc::new(Module::new(bytes)?);
        let code = compiler.compile(engine, &module)?;
        Ok(CompiledModule { module, code, mode })
    }
}

impl AsRef<Engine> for Engine {
    fn as_ref(&self) -> &Engine {
        self
    }
}

//! The engine: settings shared by everything loaded with it, the canonical type table,
//! and the compiler of the configured execution mode.

use crate::error::Result;
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

/// Limits that every tier honours.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest nesting of wasm calls before "call stack exhausted".
    pub max_call_depth: usize,
    /// Value-stack cells (8 bytes each) the interpreter may use per thread.
    pub max_stack_cells: usize,
    /// Inaccessible address space reserved after each linear memory's maximum size
    /// (compiled tiers use it instead of bounds checks; the interpreter checks bounds).
    pub memory_guard_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_call_depth: 10_000,
            max_stack_cells: 1 << 20,
            memory_guard_bytes: 64 * 1024,
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
    compiler: Box<dyn Compiler>,
}

/// Shared engine state; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl Engine {
    pub fn new(mode: Mode, limits: Limits, compiler: Box<dyn Compiler>) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                mode,
                limits,
                types: TypeRegistry::default(),
                compiler,
            }),
        }
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
    pub fn compiler(&self) -> &dyn Compiler {
        &*self.inner.compiler
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
}

impl CompiledModule {
    /// Decodes, validates and compiles `bytes` with the engine's tier.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<CompiledModule> {
        let module = Arc::new(Module::new(bytes)?);
        let code = engine.compiler().compile(engine, &module)?;
        Ok(CompiledModule { module, code })
    }
}

impl AsRef<Engine> for Engine {
    fn as_ref(&self) -> &Engine {
        self
    }
}

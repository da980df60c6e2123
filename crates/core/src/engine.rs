//! The engine: settings shared by everything loaded with it, the canonical type table,
//! the compiler of each of its execution modes, and the native stubs of its compiled
//! tiers.

use crate::compile::Compiler;
use crate::error::{Error, Result};
use crate::exclusive::Contention;
use crate::limits::{Limiter, ResourceAccount, ResourceLimits};
use crate::memory::MemoryPlan;
use crate::meter::{Epoch, Metering};
use crate::slot::{FuncCode, NativeStubs};
use crate::types::{FuncType, TypeRegistry};
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
    /// The wasm stack budget of a thread, in bytes, in every mode alike: frames cost
    /// what `meter::frame_bytes` says, and a call that does not fit traps with "call
    /// stack exhausted" (see `meter.rs`). 1 MiB by default: about 9,000 frames of a
    /// small recursive function such as fib (112 bytes a frame).
    pub max_wasm_stack: usize,
    /// The most bytes of address space a linear memory reserves for its contents (4
    /// GiB, the default, or less): it cannot grow past them. Below 4 GiB compiled tiers
    /// check bounds (see `memory/reserve.rs`).
    pub memory_reservation: usize,
    /// Inaccessible address space reserved after each linear memory's contents.
    /// Compiled tiers rely on it instead of bounds checks when it is at least
    /// [`UNCHECKED_MEMORY_GUARD`] (the default) and the reservation is 4 GiB, and check
    /// bounds otherwise; the interpreter always checks.
    pub memory_guard_bytes: usize,
    /// Whether memories come from a pool of reused slots (`memory/reserve.rs`).
    pub memory_pooling: bool,
    /// Fuel and epoch deadlines (see `meter.rs`); off by default.
    pub metering: Metering,
    /// What wasm may make the host allocate (see `limits.rs`); unlimited by default.
    pub resources: ResourceLimits,
    /// The host's per-request decisions on growth, after `resources`.
    pub limiter: Option<Limiter>,
    /// What a thread does on entering an instance with state that another thread runs
    /// (see `exclusive.rs`).
    pub contention: Contention,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_wasm_stack: 1 << 20,
            memory_reservation: 1 << 32,
            memory_guard_bytes: UNCHECKED_MEMORY_GUARD,
            memory_pooling: false,
            metering: Metering::default(),
            resources: ResourceLimits::default(),
            limiter: None,
            contention: Contention::default(),
        }
    }
}

struct EngineInner {
    /// Unique in the process, never reused: what a thread's budgets are kept under
    /// (`meter.rs`).
    id: u64,
    mode: Mode,
    limits: Limits,
    types: TypeRegistry,
    /// One compiler per available mode; the engine's own mode's comes first.
    compilers: Vec<(Mode, Box<dyn Compiler>)>,
    /// Native entry points for code without its own, when a compiled tier may call it.
    native_stubs: Option<Arc<dyn NativeStubs>>,
    /// The epoch deadlines are measured in (see `meter.rs`).
    epoch: Epoch,
    /// What the engine's instances hold, against `limits.resources`.
    resources: Arc<ResourceAccount>,
    /// How its linear memories are laid out (from `limits`).
    memory_plan: MemoryPlan,
}

/// Shared engine state; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl Engine {
    /// An engine whose modules compile in `mode` by default; `compilers` gives the
    /// compiler of every mode modules may be compiled in (it must include `mode`).
    /// `native_stubs` is required when a compiler emits native code (compiled code
    /// calls every function through a native entry point), and unused otherwise.
    pub fn new(
        mode: Mode,
        limits: Limits,
        mut compilers: Vec<(Mode, Box<dyn Compiler>)>,
        native_stubs: Option<Arc<dyn NativeStubs>>,
    ) -> Result<Engine> {
        let Some(at) = compilers.iter().position(|(m, _)| *m == mode) else {
            return Err(Error::unsupported(format!(
                "no compiler for execution mode `{mode}` was given"
            )));
        };
        compilers.swap(0, at);
        let native = compilers.iter().find(|(_, c)| c.emits_native_code());
        let native_stubs = match (native, native_stubs) {
            (Some((m, _)), None) => {
                return Err(Error::unsupported(format!(
                    "the compiler of mode `{m}` emits native code, which needs native stubs; \
                     none were given"
                )))
            }
            (Some(_), stubs) => stubs,
            // Nothing compiled can call an entry: no entry needs a native entry point.
            (None, _) => None,
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                id: {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
                mode,
                types: TypeRegistry::default(),
                compilers,
                native_stubs,
                epoch: Epoch::default(),
                memory_plan: MemoryPlan::new(
                    limits.memory_reservation,
                    limits.memory_guard_bytes,
                    limits.memory_pooling,
                ),
                resources: Arc::new(ResourceAccount::new(
                    limits.resources.clone(),
                    limits.limiter.clone().map(|l| l.0),
                )),
                limits,
            }),
        })
    }

    /// The native entry point of an entry running `code` of type `ty`: the code's own,
    /// else its type's native stub; null in an engine without compiled tiers (nothing
    /// there calls native entry points). An error when a stub cannot be made.
    pub fn native_entry(&self, code: &FuncCode, ty: &FuncType) -> Result<*const u8> {
        if let FuncCode::Wasm(c) = code {
            let own = c.native_entry();
            if !own.is_null() {
                return Ok(own);
            }
        }
        self.native_stub(ty)
    }

    /// The native stub of functions of type `ty` (see [`NativeStubs`]); null in an
    /// engine without compiled tiers. An error when it cannot be made.
    pub fn native_stub(&self, ty: &FuncType) -> Result<*const u8> {
        match &self.inner.native_stubs {
            Some(stubs) => {
                let stub = stubs.native_stub(ty)?;
                if stub.is_null() {
                    return Err(Error::unsupported(format!(
                        "no native stub for functions of type {ty}"
                    )));
                }
                Ok(stub)
            }
            None => Ok(std::ptr::null()),
        }
    }
    /// The engine's native stubs, if it has compiled tiers.
    pub fn native_stubs(&self) -> Option<&Arc<dyn NativeStubs>> {
        self.inner.native_stubs.as_ref()
    }
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }
    /// The engine's id: unique in the process, never reused (budgets are kept under it,
    /// see `meter.rs`).
    #[inline]
    pub fn id(&self) -> u64 {
        self.inner.id
    }
    /// Whether `self` and `other` are the same engine (clones of one).
    pub fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
    /// What the engine's code meters (fuel, deadlines).
    pub fn metering(&self) -> Metering {
        self.inner.limits.metering
    }
    /// What the engine's instances hold, and the limits on it.
    pub fn resources(&self) -> &Arc<ResourceAccount> {
        &self.inner.resources
    }
    /// The engine's epoch counter, which deadlines are measured in.
    pub fn epoch(&self) -> &Epoch {
        &self.inner.epoch
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

    /// How the engine lays out linear memories.
    pub fn memory_plan(&self) -> &MemoryPlan {
        &self.inner.memory_plan
    }

    /// Refuses an imported memory that compiled code of this engine could reach past:
    /// one made by another engine without the guard this engine's unchecked code needs.
    pub fn check_imported_memory(&self, memory: &crate::Memory) -> Result<()> {
        let plan = &self.inner.memory_plan;
        if plan.unchecked
            && (!memory.faults_past_len()
                || memory.reserved()
                    < (crate::memory::MAX_PAGES as usize) * crate::PAGE_SIZE + plan.guard)
        {
            return Err(Error::link(format!(
                "an imported memory reserves {} bytes of address space without the guard \
                 of {} bytes past 4 GiB that this engine's compiled code relies on; create \
                 it with the engine's memory settings",
                memory.reserved(),
                plan.guard
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

impl AsRef<Engine> for Engine {
    fn as_ref(&self) -> &Engine {
        self
    }
}

/// An engine for core's unit tests: interpreter mode with a tier that compiles nothing
/// (the tests install code of their own).
#[cfg(test)]
pub(crate) fn test_engine(limits: Limits) -> Engine {
    struct NoTier;
    impl Compiler for NoTier {
        fn compile(
            &self,
            _: &Engine,
            _: &Arc<crate::Module>,
        ) -> Result<Vec<Arc<dyn crate::WasmCode>>> {
            Err(Error::unsupported("a test engine compiles nothing"))
        }
        fn compile_function(
            &self,
            _: &Engine,
            _: &Arc<crate::Module>,
            _: u32,
            _: &crate::Module,
        ) -> Result<Arc<dyn crate::WasmCode>> {
            Err(Error::unsupported("a test engine compiles nothing"))
        }
    }
    Engine::new(
        Mode::Interp,
        limits,
        vec![(Mode::Interp, Box::new(NoTier))],
        None,
    )
    .expect("a test engine")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Compiler;
    use crate::host::HostModule;
    use crate::instance::Instance;
    use crate::module::Module;
    use crate::slot::WasmCode;

    /// A tier that claims to emit native code (it is never asked to compile here).
    struct NativeTier;
    impl Compiler for NativeTier {
        fn compile(&self, _: &Engine, _: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
            Err(Error::unsupported("not in this test"))
        }
        fn compile_function(
            &self,
            _: &Engine,
            _: &Arc<Module>,
            _: u32,
            _: &Module,
        ) -> Result<Arc<dyn WasmCode>> {
            Err(Error::unsupported("not in this test"))
        }
        fn emits_native_code(&self) -> bool {
            true
        }
    }

    struct FailingStubs;
    // SAFETY: returns no stub at all.
    unsafe impl NativeStubs for FailingStubs {
        fn native_stub(&self, ty: &FuncType) -> Result<*const u8> {
            Err(Error::unsupported(format!("no stub for {ty} today")))
        }
    }

    fn host() -> HostModule {
        HostModule::new().func("f", FuncType::new([], []), |_, _, _| Ok(()))
    }

    #[test]
    fn a_tier_with_native_code_needs_stubs() {
        let compilers = || vec![(Mode::Optimized, Box::new(NativeTier) as Box<dyn Compiler>)];
        let e = Engine::new(Mode::Optimized, Limits::default(), compilers(), None).unwrap_err();
        assert!(e.to_string().contains("needs native stubs"), "{e}");
    }

    #[test]
    fn a_failed_stub_is_an_error_not_a_null_entry_point() {
        let compilers = vec![(Mode::Optimized, Box::new(NativeTier) as Box<dyn Compiler>)];
        let stubs: Arc<dyn NativeStubs> = Arc::new(FailingStubs);
        let engine = Engine::new(Mode::Optimized, Limits::default(), compilers, Some(stubs))
            .expect("engine");
        let e = Instance::new_host(&engine, "env", &host()).unwrap_err();
        assert!(e.to_string().contains("no stub for"), "{e}");
    }
}

//! # rwamr
//!
//! A WebAssembly runtime in pure Rust on WAMR's design: one runtime core, several
//! execution modes for the same module, a registry of named modules that import from
//! each other, and hot patching of whole modules or single functions while they run.
//!
//! ```
//! use rwamr::{Config, Engine, Mode, Registry, Val};
//!
//! let wasm = wat::parse_str(r#"
//!     (module (func (export "add") (param i32 i32) (result i32)
//!         local.get 0 local.get 1 i32.add))
//! "#).unwrap();
//! let engine = Engine::new(Config::default().mode(Mode::Interp))?;
//! let registry = Registry::new(&engine);
//! registry.load("math", &wasm)?;
//! let add = registry.func("math", "add")?;
//! assert_eq!(add.call(&[Val::I32(2), Val::I32(3)])?, vec![Val::I32(5)]);
//! let add = add.typed::<(i32, i32), i32>()?;
//! assert_eq!(add.call((40, 2))?, 42);
//! # Ok::<(), rwamr::Error>(())
//! ```
#![forbid(unsafe_code)]

/// The README's embedding example, compiled and run as a doc-test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use rwamr_core::module::{escape_controls, text_to_binary};
pub use rwamr_core::{
    Budget, Caller, CallerMemory, CompiledModule, Contention, Error, ErrorKind, Extern, ExternKind,
    FrameInfo, Func, FuncType, GlobalRef, GlobalType, HostModule, HostReturn, Instance,
    IntoHostFunc, Limits, Memory, MemoryType, Mode, ResourceLimiter, ResourceLimits, Result,
    StateGuard, Table, TableType, Trap, TrapCode, TypedFunc, Val, ValType, WasmParams, WasmResults,
    WasmTy, WithCaller,
};
#[cfg(feature = "compiler")]
pub use rwamr_jit::TierStats;
pub use rwamr_registry::{FuncSelector, PatchReport, UpdatePolicy, UpdateReport};
pub use rwamr_wasi as wasi;

/// `.aot` files: [`Engine::precompile`] writes one; these load one. An `.aot` file is
/// native code, so loading one trusts its author (see [`rwamr_aot`]'s docs): the
/// loaders are `unsafe`. The result loads under a name with
/// [`Registry::load_compiled`](rwamr_registry::Registry::load_compiled).
pub mod aot {
    pub use rwamr_aot::{is_aot, load_bytes, load_file};
}
use std::sync::Arc;

/// Engine settings, builder style: `Config::default().mode(Mode::Interp)`.
#[derive(Debug, Clone)]
pub struct Config {
    mode: Mode,
    limits: Limits,
    lazy_baseline: bool,
    mixed_modes: bool,
    target_cpu: Option<String>,
    /// The Tiered mode's budget, and whether tier-up compiles at once (forced).
    tier_up: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::default(),
            limits: Limits::default(),
            lazy_baseline: true,
            mixed_modes: true,
            target_cpu: None,
            tier_up: None,
        }
    }
}

impl Config {
    /// The execution mode of every module loaded with the engine.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// The wasm stack budget of a thread, in bytes (default 1 MiB): every mode counts
    /// a frame of a function the same (8 bytes per local, operand-stack slot at its
    /// deepest and distinct constant, plus 64), so recursion stops at the same depth in
    /// each, with "call stack exhausted". A small recursive function (fib: 112 bytes a
    /// frame) reaches about 9,000 frames per MiB. Compiled modes run on the thread's own
    /// stack, which must be large enough for the budget (a few times the budget is
    /// plenty); where it is not, they trap early rather than overflow it.
    pub fn max_wasm_stack(mut self, bytes: usize) -> Self {
        self.limits.max_wasm_stack = bytes;
        self
    }
    /// Whether the baseline mode compiles each function on its first call (default) or
    /// every function when the module loads. The optimized mode always compiles when
    /// the module loads, on every core.
    pub fn lazy_baseline(mut self, lazy: bool) -> Self {
        self.lazy_baseline = lazy;
        self
    }
    /// Whether modules may also be loaded in the other built modes, with
    /// [`Registry::load_in_mode`](rwamr_registry::Registry::load_in_mode) (default: yes). Without, the engine has only `mode`'s
    /// tier: an interpreter engine then never starts Cranelift, neither to compile
    /// functions nor the native stubs through which compiled code calls the rest.
    pub fn mixed_modes(mut self, mixed: bool) -> Self {
        self.mixed_modes = mixed;
        self
    }
    /// The CPU that [`Engine::precompile`] compiles `.aot` files for: a Cranelift
    /// preset such as `x86-64-v2`, `x86-64-v3`, `haswell` or `baseline` (default: the
    /// host's, `native`). A file that uses features a CPU lacks is refused there.
    pub fn target_cpu(mut self, cpu: &str) -> Self {
        self.target_cpu = Some(cpu.to_string());
        self
    }
    /// Forces the Tiered mode to move a function up after `n` function entries and loop
    /// iterations, compiling the optimized code at once on the thread that reached
    /// `n` (for tests: with 0 or 1 every function runs in both tiers). Without it,
    /// functions move up after a budget of 2,000, compiled on a background thread.
    pub fn tier_up_after(mut self, n: u32) -> Self {
        self.tier_up = Some(n);
        self
    }
    /// Whether running wasm costs fuel (default: no). Each thread has its own fuel
    /// ([`Engine::set_fuel`], initially 0); code that runs out traps with
    /// [`TrapCode::OutOfFuel`]. Every operator costs 1 except `nop`, `drop`, `block`,
    /// `loop`, `end`, `else`, `unreachable` and `return` (0), charged the same way in
    /// every mode, so a program consumes the same fuel in each. The checks cost time:
    /// see the README's figures.
    pub fn consume_fuel(mut self, on: bool) -> Self {
        self.limits.metering.fuel = on;
        self
    }
    /// Whether wasm can be stopped by a deadline (default: no): the engine's epoch,
    /// which any thread advances with [`Engine::increment_epoch`], against each thread's
    /// deadline ([`Engine::set_epoch_deadline`]). Code whose deadline has come traps
    /// with [`TrapCode::Interrupted`] at its next function entry or loop iteration (or
    /// within a few MiB of a long `memory.copy` or `memory.fill`).
    pub fn epoch_interruption(mut self, on: bool) -> Self {
        self.limits.metering.epoch = on;
        self
    }
    /// Limits on what wasm may make the host allocate: bytes per linear memory and in
    /// all of the engine's memories, elements per table, live instances, tables and
    /// memories a module defines (default: none beyond wasm's own). Exceeding one is an
    /// instantiation error, or a failed `memory.grow`/`table.grow` (-1); never an abort.
    pub fn resource_limits(mut self, limits: ResourceLimits) -> Self {
        self.limits.resources = limits;
        self
    }
    /// A callback asked before each memory or table wasm makes or grows (after
    /// [`Config::resource_limits`]), for hosts that decide per request.
    pub fn resource_limiter(mut self, limiter: impl ResourceLimiter + 'static) -> Self {
        self.limits.limiter = Some(rwamr_core::limits::Limiter(Arc::new(limiter)));
        self
    }
    /// What a thread does when it calls into an instance that another thread is running
    /// (default: it waits). An instance whose memory, tables or mutable globals wasm can
    /// change runs on one thread at a time: a thread holds it from its first entry until
    /// the host call that entered it returns, so two host threads never race on its
    /// state. With [`Contention::Fail`] the second caller gets [`TrapCode::Busy`] at
    /// once; with [`Contention::Wait`] it waits, and gets `Busy` only where waiting would
    /// deadlock. Instances without such state run on any number of threads at once.
    pub fn contention(mut self, contention: Contention) -> Self {
        self.limits.contention = contention;
        self
    }
    /// The most bytes of address space a linear memory reserves for its contents
    /// (default 4 GiB, the most a 32-bit memory can have); a memory cannot grow past it
    /// (`memory.grow` returns -1), and one whose minimum does not fit fails to
    /// instantiate. Below 4 GiB, compiled code checks bounds on every access instead of
    /// relying on guard pages (as the interpreter always does). With a small
    /// reservation, a guard of 0 and [`Config::memory_pooling`], a process holds
    /// hundreds of thousands of small memories (see the README's figures).
    pub fn memory_reservation(mut self, bytes: u64) -> Self {
        self.limits.memory_reservation = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }
    /// Inaccessible address space after each memory's reservation (default 4 GiB +
    /// 64 KiB). With a 4 GiB reservation and at least that guard, compiled code needs no
    /// bounds checks: every 32-bit address plus offset faults past the memory's length.
    pub fn memory_guard_size(mut self, bytes: u64) -> Self {
        self.limits.memory_guard_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        self
    }
    /// Whether memories come from a pool of slots that are reused (default: no). A pool
    /// maps address space a GiB at a time and never gives it back before the engine
    /// goes; in return creating and dropping a memory costs no `mmap`, `mprotect` or
    /// `munmap` (a reused slot is zeroed with one `madvise`), and with a guard of 0 one
    /// mapping holds many memories (Linux limits a process to about 65,000 mappings).
    pub fn memory_pooling(mut self, on: bool) -> Self {
        self.limits.memory_pooling = on;
        self
    }
    pub fn get_mode(&self) -> Mode {
        self.mode
    }
}

/// The modes this build can run: without the `compiler` feature, the interpreter and
/// `.aot` files.
pub fn built_modes() -> &'static [Mode] {
    if !rwamr_jit::supported() {
        &[Mode::Interp]
    } else if cfg!(feature = "compiler") {
        &[
            Mode::Interp,
            Mode::Baseline,
            Mode::Optimized,
            Mode::Aot,
            Mode::Tiered,
        ]
    } else {
        &[Mode::Interp, Mode::Aot]
    }
}

/// Whether this build has a compiler (the `compiler` feature): without one, modules in
/// Aot mode come from `.aot` files only, and patches to them too.
pub fn has_compiler() -> bool {
    cfg!(feature = "compiler")
}

/// An engine: configuration, canonical types and the compilers of its modes.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: rwamr_core::Engine,
    /// The Tiered mode's counters, when the engine has the mode.
    #[cfg(feature = "compiler")]
    tier_stats: Option<Arc<rwamr_jit::TierCounters>>,
}

impl Engine {
    /// Creates an engine whose modules run in `config`'s mode by default; every built
    /// mode is available to [`Registry::load_in_mode`](rwamr_registry::Registry::load_in_mode) unless [`Config::mixed_modes`] is
    /// off. Fails for a mode this build does not have.
    pub fn new(config: Config) -> Result<Engine> {
        if !built_modes().contains(&config.mode) {
            return Err(Error::unsupported(format!(
                "execution mode `{}` is not built yet; available: {}",
                config.mode,
                built_modes()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        #[cfg(feature = "compiler")]
        let mut tier_stats = None;
        let compilers = built_modes()
            .iter()
            .filter(|&&m| config.mixed_modes || m == config.mode)
            .map(|&m| {
                let c: Box<dyn rwamr_core::Compiler> = match m {
                    Mode::Aot => {
                        let aot = rwamr_aot::AotCompiler::new();
                        Box::new(match &config.target_cpu {
                            Some(cpu) => aot.target_cpu(cpu)?,
                            None => aot,
                        })
                    }
                    #[cfg(feature = "compiler")]
                    Mode::Baseline => Box::new(
                        rwamr_jit::JitCompiler::new(rwamr_jit::Tier::Baseline)
                            .lazy(config.lazy_baseline),
                    ),
                    #[cfg(feature = "compiler")]
                    Mode::Optimized => {
                        Box::new(rwamr_jit::JitCompiler::new(rwamr_jit::Tier::Optimized))
                    }
                    #[cfg(feature = "compiler")]
                    Mode::Tiered => {
                        let tiered = rwamr_jit::TieredCompiler::new(match config.tier_up {
                            Some(budget) => rwamr_jit::TierPolicy {
                                budget,
                                synchronous: true,
                                ..Default::default()
                            },
                            None => rwamr_jit::TierPolicy::default(),
                        });
                        tier_stats = Some(tiered.stats());
                        Box::new(tiered)
                    }
                    _ => Box::new(rwamr_interp::InterpCompiler),
                };
                Ok((m, c))
            })
            .collect::<Result<Vec<(Mode, Box<dyn rwamr_core::Compiler>)>>>()?;
        // Compiled tiers call every function through a native entry point: the engine
        // compiles stubs for the functions that have none (interpreted, host).
        let stubs = compilers
            .iter()
            .any(|(_, c)| c.emits_native_code())
            .then(|| Arc::new(rwamr_jit::StubLibrary::new()) as Arc<dyn rwamr_core::NativeStubs>);
        Ok(Engine {
            inner: rwamr_core::Engine::new(config.mode, config.limits, compilers, stubs)?,
            #[cfg(feature = "compiler")]
            tier_stats,
        })
    }

    /// What the Tiered mode has done so far in this engine: functions moved up to the
    /// Optimized tier, on-stack replacement entries compiled and taken, failed
    /// compiles. `None` for an engine without the mode.
    #[cfg(feature = "compiler")]
    pub fn tier_stats(&self) -> Option<TierStats> {
        self.tier_stats.as_ref().map(|s| s.get())
    }

    pub fn mode(&self) -> Mode {
        self.inner.mode()
    }

    /// Compiles `wasm` (binary or text) into the bytes of an `.aot` file, for this
    /// engine's settings and [`Config::target_cpu`]: load it with
    /// [`aot::load_file`] or [`aot::load_bytes`] in an engine with the same settings
    /// (the counterpart of wasmtime's `Engine::precompile_module` and WAMR's `wamrc`).
    /// A build without the `compiler` feature refuses, saying so.
    pub fn precompile(&self, wasm: impl AsRef<[u8]>) -> Result<Vec<u8>> {
        self.inner
            .compiler_for(Mode::Aot)?
            .precompile(&self.inner, wasm.as_ref())
    }
    /// The modes its modules can be loaded in ([`Registry::load_in_mode`](rwamr_registry::Registry::load_in_mode)).
    pub fn modes(&self) -> Vec<Mode> {
        self.inner.modes()
    }

    fn fuel_on(&self) -> Result<()> {
        if self.inner.metering().fuel {
            Ok(())
        } else {
            Err(Error::unsupported(
                "fuel is off in this engine: turn it on with Config::consume_fuel(true)",
            ))
        }
    }

    /// Sets the calling thread's fuel for this engine: what its wasm that the thread
    /// runs from now on may consume (at most `i64::MAX`). Each thread has its own for
    /// each engine: calls the thread makes into this engine's code, nested ones
    /// included, draw on it, and other engines' code never does. For one call with a
    /// budget of its own, see [`Func::call_with_budget`].
    pub fn set_fuel(&self, fuel: u64) -> Result<()> {
        self.fuel_on()?;
        let b = rwamr_core::meter::budget(&self.inner);
        rwamr_core::meter::set_budget(&self.inner, Budget { fuel, ..b });
        Ok(())
    }
    /// The calling thread's fuel left for this engine (0 after running out).
    pub fn get_fuel(&self) -> Result<u64> {
        self.fuel_on()?;
        Ok(rwamr_core::meter::budget(&self.inner).fuel)
    }
    /// Adds to the calling thread's fuel for this engine.
    pub fn add_fuel(&self, fuel: u64) -> Result<()> {
        self.fuel_on()?;
        rwamr_core::meter::add_fuel(&self.inner, fuel);
        Ok(())
    }

    /// Advances the engine's epoch by one; callable from any thread (clone the engine).
    /// Returns the new epoch.
    pub fn increment_epoch(&self) -> u64 {
        self.inner.epoch().increment()
    }
    /// The engine's current epoch.
    pub fn current_epoch(&self) -> u64 {
        self.inner.epoch().current()
    }
    /// Sets the calling thread's deadline for this engine `ticks` epochs from now: its
    /// wasm that the thread runs traps with [`TrapCode::Interrupted`] once the epoch has
    /// advanced that far (`u64::MAX`: never). The deadline stays until set again; set
    /// it before each call to bound each call, or give a call a budget of its own
    /// ([`Func::call_with_budget`]).
    pub fn set_epoch_deadline(&self, ticks: u64) -> Result<()> {
        if !self.inner.metering().epoch {
            return Err(Error::unsupported(
                "epoch deadlines are off in this engine: turn them on with \
                 Config::epoch_interruption(true)",
            ));
        }
        let deadline = self.inner.epoch().current().saturating_add(ticks);
        let b = rwamr_core::meter::budget(&self.inner);
        rwamr_core::meter::set_budget(&self.inner, Budget { deadline, ..b });
        Ok(())
    }
}

/// Named module instances of one engine: load modules under names, resolve their
/// imports by name, find their exports, unload them, patch them. `Send + Sync`. Every
/// operation is [`rwamr_registry::Registry`]'s (this derefs to it); [`Registry::engine`]
/// gives back the engine it was made with.
pub struct Registry {
    inner: rwamr_registry::Registry,
    engine: Engine,
}

impl Registry {
    /// An empty registry of `engine`'s modules.
    pub fn new(engine: &Engine) -> Registry {
        Registry {
            inner: rwamr_registry::Registry::new(engine),
            engine: engine.clone(),
        }
    }
    /// The engine the registry's modules run in.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl std::ops::Deref for Registry {
    type Target = rwamr_registry::Registry;
    fn deref(&self) -> &rwamr_registry::Registry {
        &self.inner
    }
}

impl AsRef<rwamr_registry::Registry> for Registry {
    fn as_ref(&self) -> &rwamr_registry::Registry {
        &self.inner
    }
}

/// An engine of the default [`Config`] (the default mode, every built mode available).
impl Default for Engine {
    fn default() -> Engine {
        // The default mode is built in every build: only a mode this build lacks fails.
        Engine::new(Config::default()).unwrap_or_else(|_| {
            Engine::new(Config::default().mode(Mode::Interp)).expect("the interpreter is built")
        })
    }
}

impl AsRef<rwamr_core::Engine> for Engine {
    fn as_ref(&self) -> &rwamr_core::Engine {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `module`.`name`'s current entry has a native entry point.
    fn has_native_entry(registry: &Registry, module: &str, name: &str) -> bool {
        let f = registry.func(module, name).expect("export");
        let guard = rwamr_core::slot::pin();
        !f.slot().entry(&guard).native().is_null()
    }

    fn registry(config: Config) -> Registry {
        let engine = Engine::new(config).expect("engine");
        let registry = Registry::new(&engine);
        let env = HostModule::new().func("f", FuncType::new([], []), |_, _, _| Ok(()));
        registry.define_host("env", &env).expect("host module");
        registry
    }

    #[test]
    fn an_interpreter_only_engine_makes_no_native_code() {
        let r = registry(Config::default().mode(Mode::Interp).mixed_modes(false));
        assert_eq!(r.engine().modes(), [Mode::Interp]);
        assert!(!has_native_entry(&r, "env", "f"));
        let e = r
            .load_in_mode("m", b"\0asm\x01\0\0\0", Mode::Optimized)
            .unwrap_err();
        assert!(e.to_string().contains("not available"), "{e}");
    }

    #[test]
    fn engines_with_a_compiled_tier_give_every_entry_a_native_entry_point() {
        if !built_modes().contains(&Mode::Baseline) {
            eprintln!("skipped: this build has no compiled tier");
            return;
        }
        for config in [
            Config::default().mode(Mode::Interp),
            Config::default().mode(Mode::Baseline).mixed_modes(false),
        ] {
            let r = registry(config);
            assert!(has_native_entry(&r, "env", "f"));
        }
    }
}

//! The Tiered mode: every function starts in the Baseline tier (compiled lazily, on its
//! first call) with a hotness budget that its code charges at every entry and loop
//! iteration (`Metering::hotness`). When the budget runs out, the code calls the
//! `TierUp` helper: the function is queued for the Optimized tier on a background
//! thread, and a later check (the budget is given back) installs the optimized code in
//! the instance's slot, with the same compare-and-swap as lazy compilation, so it never
//! overwrites a patch or a newer tier. A patch in this mode starts again in the
//! Baseline tier and tiers up in its own right.
//!
//! Frames already running stay in the code they started in: a long loop in a function
//! that is never called again keeps running Baseline code (as in V8 without on-stack
//! replacement); every call after the tier-up runs the optimized code.

use crate::compiler::{LazyFunc, MakeCode, TierCompiler};
use crate::Tier;
use rwamr_core::{Compiler, Engine, FuncEntry, Module, Result, Trap, VmCtxLayout, WasmCode};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// When functions move up a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPolicy {
    /// Function entries plus loop iterations before a function is queued for the
    /// Optimized tier.
    pub budget: u32,
    /// Compile the optimized code at once on the thread that used up the budget,
    /// instead of on the background thread (for tests: with a budget of 0 or 1 every
    /// function runs in both tiers, deterministically).
    pub synchronous: bool,
}

impl Default for TierPolicy {
    fn default() -> Self {
        TierPolicy {
            budget: 2_000,
            synchronous: false,
        }
    }
}

/// The Tiered mode's compiler.
pub struct TieredCompiler {
    tiers: Arc<Tiers>,
}

/// The Baseline tier, and what the functions share.
struct Tiers {
    baseline: TierCompiler,
    shared: Arc<Shared>,
}

/// What the functions of the mode share: the optimizing tier and its queue.
struct Shared {
    optimized: TierCompiler,
    policy: TierPolicy,
    queue: Mutex<Queue>,
    more: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<(Arc<Job>, Engine)>,
    worker_started: bool,
    closed: bool,
}

/// One function's way up: its optimized code, compiled once and installed by every
/// instance at its next check.
struct Job {
    module: Arc<Module>,
    index: u32,
    /// The instance layout the code reads (the running module's, for a patch).
    layout: VmCtxLayout,
    queued: AtomicBool,
    optimized: OnceLock<std::result::Result<Arc<dyn WasmCode>, String>>,
}

impl Job {
    fn compile(&self, engine: &Engine, tier: &TierCompiler) {
        self.optimized.get_or_init(|| {
            tier.compile_one(engine, &self.module, self.index, self.layout, None)
                .map_err(|e| e.to_string())
        });
    }
}

impl TieredCompiler {
    pub fn new(policy: TierPolicy) -> TieredCompiler {
        TieredCompiler {
            tiers: Arc::new(Tiers {
                baseline: TierCompiler::new(Tier::Baseline),
                shared: Arc::new(Shared {
                    optimized: TierCompiler::new(Tier::Optimized),
                    policy,
                    queue: Mutex::new(Queue::default()),
                    more: Condvar::new(),
                }),
            }),
        }
    }
}

impl Tiers {
    /// Baseline code for function `index` of `module`, charging the counter at
    /// `counters[slot]`.
    fn baseline(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        counters: Arc<[AtomicI32]>,
        slot: usize,
    ) -> Result<Arc<dyn WasmCode>> {
        let shared = &self.shared;
        counters[slot].store(budget(shared.policy), Ordering::Relaxed);
        // The translator finds defined function `i`'s counter at `base + 4 * i`.
        let defined = (index - module.num_imported_funcs) as usize;
        let base = (counters.as_ptr() as usize)
            .wrapping_add(4 * slot)
            .wrapping_sub(4 * defined);
        let code = self
            .baseline
            .compile_one(engine, module, index, layout, Some(base))?;
        Ok(Arc::new(TieredFunc {
            baseline: code,
            counters,
            slot,
            job: Arc::new(Job {
                module: module.clone(),
                index,
                layout,
                queued: AtomicBool::new(false),
                optimized: OnceLock::new(),
            }),
            shared: shared.clone(),
        }))
    }
}

impl Drop for TieredCompiler {
    fn drop(&mut self) {
        let shared = &self.tiers.shared;
        shared.lock().closed = true;
        shared.more.notify_all();
    }
}

fn budget(policy: TierPolicy) -> i32 {
    i32::try_from(policy.budget).unwrap_or(i32::MAX)
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `job` for the background thread (started on first use).
    fn push(self: &Arc<Shared>, job: Arc<Job>, engine: Engine) {
        let mut q = self.lock();
        if q.closed {
            return;
        }
        q.jobs.push_back((job, engine));
        if !q.worker_started {
            let shared = self.clone();
            let started = std::thread::Builder::new()
                .name("rwamr-tier-up".into())
                .stack_size(8 << 20)
                .spawn(move || shared.work());
            // Without the thread, functions stay in the Baseline tier.
            q.worker_started = started.is_ok();
        }
        self.more.notify_one();
    }

    /// The background thread: compiles queued functions until the compiler goes.
    fn work(&self) {
        loop {
            let (job, engine) = {
                let mut q = self.lock();
                loop {
                    if let Some(next) = q.jobs.pop_front() {
                        break next;
                    }
                    if q.closed {
                        return;
                    }
                    q = self.more.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            job.compile(&engine, &self.optimized);
        }
    }
}

/// A function's Baseline code in the Tiered mode, and its way up.
struct TieredFunc {
    baseline: Arc<dyn WasmCode>,
    /// The hotness counters the code charges (kept alive with it), and which is its.
    counters: Arc<[AtomicI32]>,
    slot: usize,
    job: Arc<Job>,
    shared: Arc<Shared>,
}

// SAFETY: runs and enters as its Baseline code, the same function's.
unsafe impl WasmCode for TieredFunc {
    unsafe fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> std::result::Result<(), Trap> {
        // SAFETY: `entry` runs this code, which stands for its Baseline code; the
        // caller's contract covers `cells`.
        unsafe { self.baseline.call(entry, cells) }
    }

    fn native_entry(&self) -> *const u8 {
        self.baseline.native_entry()
    }
}

/// The `TierUp` helper: `entry`'s function used up its hotness budget.
pub(crate) fn tier_up(entry: &FuncEntry) {
    // The entry runs the function's Baseline code, or (its first call) the lazy
    // placeholder that compiled it.
    let placeholder = || {
        let code: &dyn std::any::Any = entry.code_as::<LazyFunc>()?.compiled()?.as_ref();
        code.downcast_ref::<TieredFunc>()
    };
    let Some(f) = entry.code_as::<TieredFunc>().or_else(placeholder) else {
        return;
    };
    let inst = entry.instance();
    let shared = &f.shared;
    let me = f as *const TieredFunc as *const ();
    let current = {
        let guard = rwamr_core::slot::pin();
        inst.func_slot(entry.index).entry(&guard).code_ptr()
    };
    if current != me {
        // A frame that started before the function moved on (tiered up or patched):
        // nothing to do for it, and it is not asked again (the code set the budget so).
        return;
    }
    if shared.policy.synchronous {
        f.job.compile(inst.engine(), &shared.optimized);
    }
    match f.job.optimized.get() {
        Some(Ok(code)) => {
            // Only over this function's Baseline code: a patch or another tier-up
            // installed meanwhile stays.
            // SAFETY: the optimized code is this function's, compiled from the same
            // module for the same instance layout as the Baseline code it replaces.
            let _ = unsafe { inst.install_code_replacing(entry.index, code.clone(), Some(me)) };
        }
        // It stays in the Baseline tier.
        Some(Err(_)) => {}
        None => {
            if !f.job.queued.swap(true, Ordering::AcqRel) {
                shared.push(f.job.clone(), inst.engine().clone());
            }
        }
    }
    // Asked again later: for the install once the compile is done, or by other
    // instances of the module, which run this code too.
    f.counters[f.slot].store(budget(shared.policy), Ordering::Relaxed);
}

impl Compiler for TieredCompiler {
    fn compile(&self, _engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let counters: Arc<[AtomicI32]> = (0..module.num_defined_funcs())
            .map(|_| AtomicI32::new(0))
            .collect();
        let tiers = self.tiers.clone();
        let make: MakeCode = Arc::new(move |engine, module, index| {
            let slot = (index - module.num_imported_funcs) as usize;
            tiers.baseline(
                engine,
                module,
                index,
                VmCtxLayout::new(module),
                counters.clone(),
                slot,
            )
        });
        Ok(LazyFunc::for_module(module, &make))
    }

    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        running: &Module,
    ) -> Result<Arc<dyn WasmCode>> {
        // A patch starts again at the bottom, with a budget of its own.
        let counters: Arc<[AtomicI32]> = Arc::new([AtomicI32::new(0)]);
        self.tiers.baseline(
            engine,
            module,
            index,
            VmCtxLayout::new(running),
            counters,
            0,
        )
    }

    fn emits_native_code(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{TierPolicy, TieredCompiler, TieredFunc};
    use crate::compiler::LazyFunc;
    use crate::{JitFunc, StubLibrary};
    use rwamr_core::{CompiledModule, Engine, Extern, Func, Instance, Limits, Mode, Val};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn instance(policy: TierPolicy) -> Arc<Instance> {
        let engine = Engine::new(
            Mode::Tiered,
            Limits::default(),
            vec![(Mode::Tiered, Box::new(TieredCompiler::new(policy)) as _)],
            Some(Arc::new(StubLibrary::new())),
        )
        .unwrap();
        let wasm = wat::parse_str(
            r#"(module
                (func (export "sum") (param i32) (result i32) (local i32)
                    (block (loop
                        (br_if 1 (i32.eqz (local.get 0)))
                        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
                        (local.set 1 (i32.add (local.get 1) (local.get 0)))
                        (br 0)))
                    (local.get 1))
                (func (export "idle")))"#,
        )
        .unwrap();
        let compiled = CompiledModule::new(&engine, &wasm).unwrap();
        Instance::instantiate(&engine, "m", &compiled, Vec::new()).unwrap()
    }

    fn func(inst: &Instance, name: &str) -> Func {
        match inst.export(name) {
            Some(Extern::Func(f)) => f,
            _ => panic!("no function {name}"),
        }
    }

    /// Which tier the slot of `f` runs: 0 lazy placeholder, 1 Baseline, 2 Optimized.
    fn tier(f: &Func) -> u8 {
        let guard = rwamr_core::slot::pin();
        let entry = f.slot().entry(&guard);
        if entry.code_as::<LazyFunc>().is_some() {
            0
        } else if entry.code_as::<TieredFunc>().is_some() {
            1
        } else {
            assert!(entry.code_as::<JitFunc>().is_some(), "unknown code");
            2
        }
    }

    #[test]
    fn forced_tier_up_moves_at_the_first_check() {
        let inst = instance(TierPolicy {
            budget: 0,
            synchronous: true,
        });
        let (sum, idle) = (func(&inst, "sum"), func(&inst, "idle"));
        assert_eq!(tier(&sum), 0);
        assert_eq!(sum.call(&[Val::I32(10)]).unwrap(), vec![Val::I32(45)]);
        assert_eq!(tier(&sum), 2, "moved up during its first call");
        assert_eq!(sum.call(&[Val::I32(10)]).unwrap(), vec![Val::I32(45)]);
        assert_eq!(tier(&idle), 0, "never called, never compiled");
    }

    #[test]
    fn a_hot_function_moves_up_in_the_background() {
        let inst = instance(TierPolicy {
            budget: 100,
            synchronous: false,
        });
        let sum = func(&inst, "sum");
        sum.call(&[Val::I32(1)]).unwrap();
        assert_eq!(tier(&sum), 1, "a few checks stay in Baseline");
        let until = Instant::now() + Duration::from_secs(10);
        while tier(&sum) != 2 && Instant::now() < until {
            assert_eq!(sum.call(&[Val::I32(200)]).unwrap(), vec![Val::I32(19_900)]);
        }
        assert_eq!(tier(&sum), 2, "moved up once its compile was done");
    }
}

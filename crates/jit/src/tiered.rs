//! The Tiered mode: every function starts in the Baseline tier (compiled lazily, on its
//! first call) with a hotness budget that its code charges at every entry and loop
//! iteration (`Metering::hotness`). When the budget runs out, the code calls the
//! `TierUp` helper: the function is queued for the Optimized tier on background threads
//! (the hottest job first), and a later check (the budget is given back) installs the
//! optimized code in the instance's slot, with the same compare-and-swap as lazy
//! compilation, so it never overwrites a patch or a newer tier. A patch in this mode
//! starts again in the Baseline tier and tiers up in its own right.
//!
//! Calls after a tier-up run the optimized code. A frame already running moves up at a
//! loop (on-stack replacement, `translate/mod.rs`): once its function's optimized code
//! is there, checks at a loop whose operand stack is empty queue the function's OSR
//! entry for that loop (after a few, so that frames soon gone cost no compile), and a
//! check after it is compiled returns it to the frame, which calls it with its locals
//! and returns what it returns. So a long loop in a function that is never called
//! again gets its speed too. Frames in loops with values on the operand stack (rare in
//! compiled code) finish in the Baseline tier.

use crate::compiler::{LazyCode, LazyFunc, MakeCode, OsrCode, TierCompiler, Trampolines};
use crate::translate::NO_LOOP;
use crate::Tier;
use rwamr_core::{Compiler, Engine, FuncEntry, Module, Result, Trap, VmCtxLayout, WasmCode};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// When functions move up a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierPolicy {
    /// Function entries plus loop iterations before a function is queued for the
    /// Optimized tier.
    pub budget: u32,
    /// Compile the optimized code at once on the thread that used up the budget,
    /// instead of on the background threads (for tests: with a budget of 0 or 1 every
    /// function runs in both tiers, deterministically).
    pub synchronous: bool,
    /// Background compile threads (started on first use).
    pub compile_threads: usize,
}

impl Default for TierPolicy {
    fn default() -> Self {
        // One core runs the program, the others compile.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        TierPolicy {
            budget: 2_000,
            synchronous: false,
            compile_threads: cores.saturating_sub(1).max(1),
        }
    }
}

/// What the Tiered mode has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierStats {
    /// Functions compiled in the Optimized tier.
    pub optimized: u64,
    /// OSR entries compiled (one per function and loop, `tiered.rs`), and frames that
    /// moved up through one.
    pub osr_compiled: u64,
    pub osr_entered: u64,
    /// Compiles that failed (their functions stay in the Baseline tier).
    pub failed: u64,
}

/// The counters behind [`TierStats`].
#[derive(Debug, Default)]
pub struct TierCounters {
    optimized: AtomicU64,
    osr_compiled: AtomicU64,
    osr_entered: AtomicU64,
    failed: AtomicU64,
}

impl TierCounters {
    /// The counts now.
    pub fn get(&self) -> TierStats {
        TierStats {
            optimized: self.optimized.load(Ordering::Relaxed),
            osr_compiled: self.osr_compiled.load(Ordering::Relaxed),
            osr_entered: self.osr_entered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
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
    stats: Arc<TierCounters>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<(Arc<Job>, Engine)>,
    workers: usize,
    closed: bool,
}

/// One compile on a function's way up: its optimized code, installed by every instance
/// at its next check, or its OSR entry at one loop, which frames take there.
struct Job {
    module: Arc<Module>,
    index: u32,
    /// The instance layout the code reads (the running module's, for a patch).
    layout: VmCtxLayout,
    /// The loop of an OSR entry.
    osr_loop: Option<u32>,
    /// The module's trampolines (none for a patch).
    trampolines: Option<Arc<Trampolines>>,
    /// The Baseline code's counter, run out when the job is done so that the next
    /// check takes its result.
    counter: Counter,
    queued: AtomicBool,
    /// Checks that asked while the job waited: the queue takes the hottest first.
    heat: AtomicU32,
    done: OnceLock<std::result::Result<Compiled, String>>,
}

enum Compiled {
    Function(Arc<dyn WasmCode>),
    Osr(OsrCode),
}

impl Job {
    /// Function `index` of `module`'s way up, compiled for `layout`.
    fn new(
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        trampolines: Option<Arc<Trampolines>>,
        counter: Counter,
        osr_loop: Option<u32>,
    ) -> Job {
        Job {
            module: module.clone(),
            index,
            layout,
            osr_loop,
            trampolines,
            counter,
            queued: AtomicBool::new(false),
            heat: AtomicU32::new(0),
            done: OnceLock::new(),
        }
    }

    /// Compiles the job once (a later call finds it done, or waits for the one making
    /// it).
    fn compile(&self, engine: &Engine, shared: &Shared) {
        let mut made_here = false;
        self.done.get_or_init(|| {
            made_here = true;
            // A compiler panic fails this job alone, not the thread that runs it.
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.make(engine, &shared.optimized)
            }))
            .unwrap_or_else(|_| Err(rwamr_core::Error::unsupported("the compiler panicked")));
            let stats = &shared.stats;
            let counter = match (&made, self.osr_loop) {
                (Err(_), _) => &stats.failed,
                (Ok(_), None) => &stats.optimized,
                (Ok(_), Some(_)) => &stats.osr_compiled,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            made.map_err(|e| e.to_string())
        });
        if made_here {
            self.counter.run_out();
        }
    }

    fn make(&self, engine: &Engine, tier: &TierCompiler) -> Result<Compiled> {
        let (module, index, layout) = (&self.module, self.index, self.layout);
        Ok(match self.osr_loop {
            None => {
                let trampolines = self.trampolines.as_deref();
                let code = tier.compile_one(engine, module, index, layout, None, trampolines)?;
                Compiled::Function(code)
            }
            Some(at) => Compiled::Osr(tier.compile_osr(engine, module, index, layout, at)?),
        })
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
                    stats: Arc::default(),
                }),
            }),
        }
    }

    /// What the mode has done so far, counted from now on.
    pub fn stats(&self) -> Arc<TierCounters> {
        self.tiers.shared.stats.clone()
    }
}

impl Tiers {
    /// Baseline code for function `index` of `module`, charging `counter`, with the
    /// module's `trampolines` (none for a patch).
    fn baseline(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        layout: VmCtxLayout,
        counter: Counter,
        trampolines: Option<Arc<Trampolines>>,
    ) -> Result<Arc<dyn WasmCode>> {
        let shared = &self.shared;
        counter.set(budget(shared.policy));
        // The translator finds defined function `i`'s counter at `base + 4 * i`.
        let defined = (index - module.num_imported_funcs) as usize;
        let base = (counter.counters.as_ptr() as usize)
            .wrapping_add(4 * counter.slot)
            .wrapping_sub(4 * defined);
        let code = self.baseline.compile_one(
            engine,
            module,
            index,
            layout,
            Some(base),
            trampolines.as_deref(),
        )?;
        Ok(Arc::new(TieredFunc {
            baseline: code,
            job: Arc::new(Job::new(
                module,
                index,
                layout,
                trampolines,
                counter.clone(),
                None,
            )),
            counter,
            osr: Mutex::default(),
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

    /// Moves `job` on: compiles it here when the policy says so, queues it the first
    /// time, warms it later; returns its result once there is one.
    fn advance<'j>(
        self: &Arc<Shared>,
        job: &'j Arc<Job>,
        engine: &Engine,
    ) -> Option<&'j std::result::Result<Compiled, String>> {
        if self.policy.synchronous {
            job.compile(engine, self);
        }
        let done = job.done.get();
        if done.is_none() {
            job.heat.fetch_add(1, Ordering::Relaxed);
            if !job.queued.swap(true, Ordering::AcqRel) {
                self.push(job.clone(), engine.clone());
            }
        }
        done
    }

    /// Queues `job` for the background threads.
    fn push(self: &Arc<Shared>, job: Arc<Job>, engine: Engine) {
        let mut q = self.lock();
        if !q.closed {
            q.jobs.push((job, engine));
            self.wake(q);
        }
    }

    /// Wakes a background thread for the queue's new job (starting one if there are
    /// fewer than the policy's and the jobs would keep another busy).
    fn wake(self: &Arc<Shared>, mut q: std::sync::MutexGuard<'_, Queue>) {
        if q.workers < self.policy.compile_threads.min(q.jobs.len()) {
            let shared = self.clone();
            let started = std::thread::Builder::new()
                .name("rwamr-tier-up".into())
                .stack_size(8 << 20)
                .spawn(move || shared.work());
            // Without threads, functions stay in the Baseline tier.
            q.workers += usize::from(started.is_ok());
        }
        self.more.notify_one();
    }

    /// A background thread: compiles the hottest queued job until the compiler goes.
    fn work(&self) {
        loop {
            let (job, engine) = {
                let mut q = self.lock();
                loop {
                    let hottest =
                        (0..q.jobs.len()).max_by_key(|&i| q.jobs[i].0.heat.load(Ordering::Relaxed));
                    if let Some(i) = hottest {
                        break q.jobs.swap_remove(i);
                    }
                    if q.closed {
                        return;
                    }
                    q = self.more.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            job.compile(&engine, self);
        }
    }
}

/// How a module's functions start in the Tiered mode: in the Baseline tier, on their
/// first call.
struct TieredLazy {
    tiers: Arc<Tiers>,
    counters: Arc<[AtomicI32]>,
    trampolines: Arc<Trampolines>,
}

impl LazyCode for TieredLazy {
    fn make(&self, engine: &Engine, module: &Arc<Module>, index: u32) -> Result<Arc<dyn WasmCode>> {
        let slot = (index - module.num_imported_funcs) as usize;
        let layout = VmCtxLayout::new(module);
        let counter = Counter {
            counters: self.counters.clone(),
            slot,
        };
        let trampolines = Some(self.trampolines.clone());
        self.tiers
            .baseline(engine, module, index, layout, counter, trampolines)
    }
}

/// Where a Baseline function's hotness counter is: `counters[slot]`.
#[derive(Clone)]
struct Counter {
    counters: Arc<[AtomicI32]>,
    slot: usize,
}

impl Counter {
    fn set(&self, budget: i32) {
        self.counters[self.slot].store(budget, Ordering::Relaxed);
    }

    /// Makes the code's next check call the helper.
    fn run_out(&self) {
        self.set(0);
    }
}

/// A function's Baseline code in the Tiered mode, and its ways up.
struct TieredFunc {
    baseline: Arc<dyn WasmCode>,
    /// The hotness counter the code charges (kept alive with it).
    counter: Counter,
    /// The function's optimized code.
    job: Arc<Job>,
    /// Its OSR entries, by loop.
    osr: Mutex<hashbrown::HashMap<u32, Arc<Job>>>,
    shared: Arc<Shared>,
}

impl TieredFunc {
    fn osr_job(&self, at_loop: u32) -> Arc<Job> {
        let mut osr = self.osr.lock().unwrap_or_else(|e| e.into_inner());
        let job = &self.job;
        osr.entry(at_loop)
            .or_insert_with(|| {
                Arc::new(Job::new(
                    &job.module,
                    job.index,
                    job.layout,
                    None,
                    self.counter.clone(),
                    Some(at_loop),
                ))
            })
            .clone()
    }
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

/// Checks at a loop of Baseline code whose function has moved up before the loop's OSR
/// entry is compiled: frames that soon leave the loop cost no compile.
const OSR_AFTER_CHECKS: u32 = 4;

/// The `TierUp` helper: `entry`'s function used up its hotness budget, at its entry or
/// at loop `at_loop` (`NO_LOOP` where the frame cannot move). Returns the address of
/// the loop's OSR entry when the frame can move to it, else 0.
pub(crate) fn tier_up(entry: &FuncEntry, at_loop: u32) -> usize {
    // The entry runs the function's Baseline code, or (its first call) the lazy
    // placeholder that compiled it.
    let placeholder = || {
        let code: &dyn std::any::Any = entry.code_as::<LazyFunc>()?.compiled()?.as_ref();
        code.downcast_ref::<TieredFunc>()
    };
    let Some(f) = entry.code_as::<TieredFunc>().or_else(placeholder) else {
        return 0;
    };
    let inst = entry.instance();
    let (shared, engine) = (&f.shared, inst.engine());
    let me = f as *const TieredFunc as *const ();
    let current = {
        let guard = rwamr_core::slot::pin();
        inst.func_slot(entry.index).entry(&guard).code_ptr()
    };
    // A frame that started before the function moved on (tiered up or patched) has
    // nothing to install.
    if current == me {
        if let Some(Ok(Compiled::Function(code))) = shared.advance(&f.job, engine) {
            // Only over this function's Baseline code: a patch or another tier-up
            // installed meanwhile stays.
            // SAFETY: the optimized code is this function's, compiled from the same
            // module for the same instance layout as the Baseline code it replaces.
            let _ = unsafe { inst.install_code_replacing(entry.index, code.clone(), me) };
        }
    }
    let mut osr = 0;
    // A frame moves once its function's optimized code is there (or will not be): a
    // function that soon returns is not compiled twice.
    if at_loop != NO_LOOP && (current != me || f.job.done.get().is_some()) {
        // Any frame of this code may move, even one whose function was patched since:
        // the entry is the same version's, so the frame still finishes in its own code.
        let job = f.osr_job(at_loop);
        let ripe = shared.policy.synchronous
            || job.heat.fetch_add(1, Ordering::Relaxed) + 1 >= OSR_AFTER_CHECKS;
        match ripe.then(|| shared.advance(&job, engine)).flatten() {
            Some(Ok(Compiled::Osr(code))) => {
                shared.stats.osr_entered.fetch_add(1, Ordering::Relaxed);
                // The code lives as long as this function's Baseline code (which keeps
                // its jobs), which the frame that calls it runs.
                osr = code.native() as usize;
            }
            Some(Err(_) | Ok(Compiled::Function(_))) | None => {}
        }
    }
    // Asked again after another budget: for the install once the compile is done
    // (other instances of the module run this code too), and by frames still in this
    // code at their loops, which may move up there.
    f.counter.set(budget(shared.policy));
    osr
}

impl Compiler for TieredCompiler {
    fn compile(&self, _engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let counters: Arc<[AtomicI32]> = (0..module.num_defined_funcs())
            .map(|_| AtomicI32::new(0))
            .collect();
        let make: MakeCode = Arc::new(TieredLazy {
            tiers: self.tiers.clone(),
            counters,
            trampolines: Arc::default(),
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
        let counter = Counter {
            counters: Arc::new([AtomicI32::new(0)]),
            slot: 0,
        };
        let layout = VmCtxLayout::new(running);
        self.tiers
            .baseline(engine, module, index, layout, counter, None)
    }

    fn emits_native_code(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{TierCounters, TierPolicy, TieredCompiler, TieredFunc};
    use crate::compiler::LazyFunc;
    use crate::{JitFunc, StubLibrary};
    use rwamr_core::{CompiledModule, Engine, Extern, Func, Instance, Limits, Mode, Val};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn instance(policy: TierPolicy) -> Arc<Instance> {
        instance_with_stats(policy).0
    }

    fn instance_with_stats(policy: TierPolicy) -> (Arc<Instance>, Arc<TierCounters>) {
        let compiler = TieredCompiler::new(policy);
        let stats = compiler.stats();
        let engine = Engine::new(
            Mode::Tiered,
            Limits::default(),
            vec![(Mode::Tiered, Box::new(compiler) as _)],
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
        let inst = Instance::instantiate(&engine, "m", &compiled, Vec::new()).unwrap();
        (inst, stats)
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
            ..Default::default()
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
            ..Default::default()
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

    #[test]
    fn a_frame_in_a_loop_moves_up_there() {
        let (inst, stats) = instance_with_stats(TierPolicy {
            budget: 0,
            synchronous: true,
            ..Default::default()
        });
        let sum = func(&inst, "sum");
        assert_eq!(sum.call(&[Val::I32(10)]).unwrap(), vec![Val::I32(45)]);
        let s = stats.get();
        assert_eq!((s.optimized, s.osr_compiled, s.osr_entered), (1, 1, 1));
        assert_eq!(sum.call(&[Val::I32(10)]).unwrap(), vec![Val::I32(45)]);
        assert_eq!(
            stats.get().osr_entered,
            1,
            "later calls start in the optimized code"
        );
    }

    #[test]
    fn a_long_loop_in_a_function_called_once_moves_up_in_the_background() {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            // A fresh instance each time: its one call must move up during the loop.
            let (inst, stats) = instance_with_stats(TierPolicy {
                budget: 1000,
                ..Default::default()
            });
            let sum = func(&inst, "sum");
            let n = 20_000_000;
            let want = (0..n).fold(0i32, |acc, i| acc.wrapping_add(i));
            assert_eq!(sum.call(&[Val::I32(n)]).unwrap(), vec![Val::I32(want)]);
            if stats.get().osr_entered == 1 {
                return;
            }
            assert!(Instant::now() < until, "the frame never moved up");
        }
    }
}

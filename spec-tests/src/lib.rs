//! Runs the official WebAssembly spec test scripts (`*.wast`) against rwamr in each
//! execution mode and reports, per file and mode, how many commands passed, failed or
//! were skipped (and why).
//!
//! ```no_run
//! use rwamr_spec_tests::{embedded_set, render, run, Detail, Options};
//! let scripts = embedded_set("wasm-v2").unwrap();
//! let reports = run(&scripts, &Options::default());
//! print!("{}", render(&reports, Detail::Table));
//! ```
#![forbid(unsafe_code)]

mod imports;
mod known;
mod report;
mod script;
mod sources;
mod spectest;
mod values;

pub use known::known_unsupported;
pub use report::{render, totals, Detail, Failure, FileReport, Note, Totals};
pub use script::run_script;
pub use sources::{directory, embedded_set, filter, Script, SET_NAMES};

use rwamr::Mode;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Deep-recursion tests may run on the native stack in some modes: give every worker
/// plenty (it is only reserved, not committed).
const WORKER_STACK: usize = 256 << 20;

/// A file still running after this long gets a warning on stderr.
const SLOW: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub modes: Vec<Mode>,
    /// Also run files on the known-unsupported list (their failures still do not count).
    pub run_known_unsupported: bool,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// The scripts are Wasm 2.0's (the `wasm-v1` / `wasm-v2` sets): see
    /// [`script::run_script`].
    pub wasm2_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            modes: rwamr::built_modes().to_vec(),
            run_known_unsupported: false,
            jobs: 0,
            wasm2_only: false,
        }
    }
}

/// Runs every script in every mode of `opts`, on worker threads; reports come back in
/// script order, then mode order.
pub fn run(scripts: &[Script], opts: &Options) -> Vec<FileReport> {
    let jobs: Vec<(usize, Mode)> = scripts
        .iter()
        .enumerate()
        .flat_map(|(i, _)| opts.modes.iter().map(move |m| (i, *m)))
        .collect();
    let workers = match opts.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<FileReport>>> = Mutex::new(vec![None; jobs.len()]);
    // Per worker: the job it is on and since when (for the slow-file warning).
    let running: Mutex<Vec<Option<(usize, Instant)>>> = Mutex::new(vec![None; workers]);
    let finished = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (next, done, running, finished, jobs) = (&next, &done, &running, &finished, &jobs);
        for w in 0..workers {
            let worker = move || {
                // Counted even if the worker dies, so the watchdog below ends.
                let _finish = OnDrop(|| {
                    finished.fetch_add(1, Ordering::Relaxed);
                });
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(i, mode)) = jobs.get(j) else { break };
                    relock(running)[w] = Some((j, Instant::now()));
                    let report = run_one(&scripts[i], mode, opts);
                    relock(running)[w] = None;
                    relock(done)[j] = Some(report);
                }
            };
            std::thread::Builder::new()
                .name(format!("spec-worker-{w}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, worker)
                .expect("spawn a spec-test worker thread");
        }
        // A runtime bug can make a script loop forever: say which one instead of
        // hanging silently.
        scope.spawn(move || {
            let mut warned = vec![usize::MAX; workers];
            while finished.load(Ordering::Relaxed) < workers {
                std::thread::sleep(Duration::from_millis(200));
                for (w, slot) in relock(running).iter().enumerate() {
                    if let Some((j, since)) = *slot {
                        if since.elapsed() > SLOW && warned[w] != j {
                            warned[w] = j;
                            let (i, mode) = jobs[j];
                            eprintln!(
                                "spec-tests: {} ({mode}) still running after {}s",
                                scripts[i].name,
                                SLOW.as_secs()
                            );
                        }
                    }
                }
            }
        });
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .zip(&jobs)
        .map(|(r, &(i, mode))| {
            r.unwrap_or_else(|| {
                let mut r = FileReport::new(&scripts[i].name, mode);
                r.fail(0, "run", "worker thread died");
                r
            })
        })
        .collect()
}

/// Runs a closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// A poisoned lock only means a worker panicked; the data is still usable.
fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One script in one mode, with the known-unsupported list applied.
fn run_one(script: &Script, mode: Mode, opts: &Options) -> FileReport {
    let known = known_unsupported(&script.name);
    if known.is_some() && !opts.run_known_unsupported {
        let mut r = FileReport::new(&script.name, mode);
        r.known_unsupported = known;
        r.skipped = script::count_commands(&script.text);
        return r;
    }
    // Commands are guarded one by one; this catches a panic outside them (parsing).
    let mut r = catch_unwind(AssertUnwindSafe(|| {
        run_script(&script.name, &script.text, mode, opts.wasm2_only)
    }))
    .unwrap_or_else(|_| {
        let mut r = FileReport::new(&script.name, mode);
        r.fail(0, "run", "panicked outside any command");
        r
    });
    r.known_unsupported = known;
    r
}

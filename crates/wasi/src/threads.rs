//! wasi-threads: the `wasi` module's `thread-spawn`, and how a program of many threads
//! ends.
//!
//! `thread-spawn(arg)` makes a new instance of the calling module for the new thread
//! (core's `Instance::instantiate_thread`: the same imports, so the same shared memory
//! and WASI state, its own globals and tables, the code the caller's functions run now,
//! and every later patch), starts a host thread and calls the instance's
//! `wasi_thread_start(tid, arg)` there. It returns the thread id (1, 2, ...), or a
//! negative errno when no thread could be started.
//!
//! **How the program ends.** The first thread to call `proc_exit`, or to trap, ends the
//! program: the program records how (an exit status or the trap), interrupts every
//! `memory.atomic.wait` in its shared memories, and from then on every WASI call of any
//! of its threads ends that thread too. The main thread's `_start` returning ends it with
//! status 0. A host that must stop at once when another thread ends the program (the
//! CLI exits the process) says so with [`crate::WasiConfig::on_thread_end`].

use crate::errno::Errno;
use rwamr_core::{Caller, Error, FuncType, HostModule, Memory, Trap, TrapCode, Val, ValType};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The import module name of wasi-threads.
pub const MODULE_NAME: &str = "wasi";

/// Thread ids are positive and below this (the wasi-threads ABI's bound).
const MAX_TID: u32 = 0x1FFF_FFFF;

/// How a program ended.
#[derive(Debug, Clone)]
pub enum ProgramEnd {
    /// `proc_exit(status)`, or `_start` returned (0).
    Exit(i32),
    /// A thread trapped.
    Trap(Error),
}

/// Called when a spawned thread ends the program (see the module docs).
pub type OnThreadEnd = Arc<dyn Fn(&ProgramEnd) + Send + Sync>;

/// The threads of one program: shared by its WASI functions and `thread-spawn`.
pub(crate) struct Program {
    ended: AtomicBool,
    end: Mutex<Option<ProgramEnd>>,
    next_tid: AtomicU32,
    /// Threads alive, the first (main) one included: bounded by the engine's
    /// `ResourceLimits::threads`.
    live: Arc<AtomicU32>,
    /// Shared memories its threads wait in, interrupted when it ends.
    memories: Mutex<Vec<Weak<Memory>>>,
    on_thread_end: Option<OnThreadEnd>,
}

impl Program {
    pub(crate) fn new(on_thread_end: Option<OnThreadEnd>) -> Program {
        Program {
            ended: AtomicBool::new(false),
            end: Mutex::new(None),
            next_tid: AtomicU32::new(1),
            live: Arc::new(AtomicU32::new(1)),
            memories: Mutex::new(Vec::new()),
            on_thread_end,
        }
    }

    /// Ends the program as `how`, unless it has ended already; returns how it ended
    /// (the first end recorded).
    pub(crate) fn end(&self, how: ProgramEnd) -> ProgramEnd {
        let mut end = self.end.lock().unwrap_or_else(PoisonError::into_inner);
        let first = end.get_or_insert(how).clone();
        drop(end);
        if !self.ended.swap(true, Ordering::AcqRel) {
            let memories = self.memories.lock().unwrap_or_else(PoisonError::into_inner);
            for m in memories.iter().filter_map(Weak::upgrade) {
                m.interrupt_waits();
            }
        }
        first
    }

    /// The trap a WASI call of a thread gets once the program has ended.
    pub(crate) fn ended(&self) -> Option<Trap> {
        if !self.ended.load(Ordering::Acquire) {
            return None;
        }
        let end = self.end.lock().unwrap_or_else(PoisonError::into_inner);
        Some(match &*end {
            Some(ProgramEnd::Exit(status)) => Trap::exit(*status),
            _ => Trap::host("the program ended: another of its threads trapped"),
        })
    }

    /// `thread-spawn(arg)` from `caller`: the new thread's id, or a negative errno.
    fn spawn(self: &Arc<Self>, caller: &Caller<'_>, arg: i32) -> i32 {
        let Some(instance) = caller.instance() else {
            return -Errno::Inval.code();
        };
        if self.ended.load(Ordering::Acquire) {
            return -Errno::Again.code();
        }
        // A place among the live threads, given back when the thread ends (or does not
        // start).
        let limit = instance.engine().resources().limits().threads();
        if self.live.fetch_add(1, Ordering::AcqRel) >= limit {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return -Errno::Again.code();
        }
        let place = LivePlace(self.live.clone());
        let tid = self.next_tid.fetch_add(1, Ordering::Relaxed);
        if tid > MAX_TID {
            return -Errno::Again.code();
        }
        {
            let mut memories = self.memories.lock().unwrap_or_else(PoisonError::into_inner);
            for m in instance.memories().iter().filter(|m| m.is_shared()) {
                if !memories
                    .iter()
                    .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(m)))
                {
                    memories.push(Arc::downgrade(m));
                }
            }
        }
        let thread = match instance.instantiate_thread() {
            Ok(t) => t,
            Err(_) => return -Errno::Again.code(),
        };
        let Some(start) = thread.get_func("wasi_thread_start") else {
            return -Errno::NoSys.code();
        };
        // The new thread keeps its spawner's deadline and gets the fuel it has left.
        let engine = instance.engine().clone();
        let budget = rwamr_core::meter::budget(&engine);
        // Compiled code runs on the native stack: room for the whole wasm stack budget.
        let stack = instance
            .engine()
            .limits()
            .max_wasm_stack
            .saturating_mul(4)
            .saturating_add(8 << 20);
        let program = self.clone();
        let body = move || {
            let _place = place;
            rwamr_core::meter::set_budget(&engine, budget);
            let r = start.call(&[Val::I32(tid as i32), Val::I32(arg)]);
            // The thread's instance goes with it (threads of it no longer run).
            drop(thread);
            if let Err(e) = r {
                let how = match e.trap().and_then(|t| t.exit_status()) {
                    Some(status) => ProgramEnd::Exit(status),
                    // A thread ended by the program's end is not what ended it.
                    None if program.ended.load(Ordering::Acquire) => return,
                    None => ProgramEnd::Trap(e),
                };
                let first = program.end(how);
                if let Some(f) = &program.on_thread_end {
                    f(&first);
                }
            }
        };
        match std::thread::Builder::new()
            .name(format!("wasi-thread-{tid}"))
            .stack_size(stack)
            .spawn(body)
        {
            Ok(_) => tid as i32,
            Err(_) => -Errno::Again.code(),
        }
    }
}

/// A live thread's place in its program's count; given back when dropped.
struct LivePlace(Arc<AtomicU32>);

impl Drop for LivePlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The `wasi` host module: `thread-spawn`.
pub(crate) fn host_module(program: Arc<Program>) -> HostModule {
    HostModule::new().func(
        "thread-spawn",
        FuncType::new([ValType::I32], [ValType::I32]),
        move |caller, args, results| {
            let arg = match args.first() {
                Some(Val::I32(a)) => *a,
                _ => return Err(Trap::new(TrapCode::Host)),
            };
            if let Some(t) = program.ended() {
                return Err(t);
            }
            results[0] = Val::I32(program.spawn(caller, arg));
            Ok(())
        },
    )
}

/// Host modules that give `module` the memories it imports as shared ones, by import
/// module name: each a new shared memory of the declared type (as wasi-threads programs
/// import theirs from `env`). Unshared memory imports are left to the registry.
pub fn shared_memory_imports<E: AsRef<rwamr_core::Engine>>(
    engine: &E,
    module: &rwamr_core::Module,
) -> rwamr_core::Result<Vec<(String, HostModule)>> {
    let mut out: Vec<(String, HostModule)> = Vec::new();
    for imp in &module.imports {
        let rwamr_core::module::ImportKind::Memory(ty) = imp.kind else {
            continue;
        };
        if !ty.shared {
            continue;
        }
        let memory = Memory::new_in(engine, ty)?;
        let at = match out.iter().position(|(m, _)| *m == imp.module) {
            Some(i) => i,
            None => {
                out.push((imp.module.clone(), HostModule::new()));
                out.len() - 1
            }
        };
        let host = std::mem::take(&mut out[at].1);
        out[at].1 = host.export_memory(&imp.name, &memory);
    }
    Ok(out)
}

//! proc_exit, proc_raise and sched_yield.

use super::Args;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::threads::ProgramEnd;
use crate::WasiCtx;
use rwamr_core::Trap;

/// The program exits: unwinds the wasm stack; the embedder reads the status from the
/// trap. Its other threads end too (`threads.rs`), with the status of the first thread
/// that ended it.
pub fn proc_exit(ctx: &WasiCtx, a: &Args<'_>) -> Trap {
    match ctx.program.end(ProgramEnd::Exit(a.u32(0) as i32)) {
        ProgramEnd::Exit(status) => Trap::exit(status),
        ProgramEnd::Trap(_) => Trap::host("the program ended: another of its threads trapped"),
    }
}

/// Signals are not part of WASI's model of a program (the call is deprecated).
pub fn proc_raise(_ctx: &WasiCtx, _mem: &GuestMemory<'_>, _a: &Args<'_>) -> WasiResult {
    Err(Errno::NoSys)
}

pub fn sched_yield(_ctx: &WasiCtx, _mem: &GuestMemory<'_>, _a: &Args<'_>) -> WasiResult {
    std::thread::yield_now();
    Ok(())
}

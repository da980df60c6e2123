//! proc_exit, proc_raise and sched_yield.

use super::Args;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::WasiCtx;
use rwamr_core::Trap;

/// The program exits: unwinds the wasm stack; the embedder reads the status from the
/// trap.
pub fn proc_exit(a: &Args<'_>) -> Trap {
    Trap::exit(a.u32(0) as i32)
}

/// Signals are not part of WASI's model of a program (the call is deprecated).
pub fn proc_raise(_ctx: &WasiCtx, _mem: &GuestMemory<'_>, _a: &Args<'_>) -> WasiResult {
    Err(Errno::NoSys)
}

pub fn sched_yield(_ctx: &WasiCtx, _mem: &GuestMemory<'_>, _a: &Args<'_>) -> WasiResult {
    std::thread::yield_now();
    Ok(())
}

//! clock_res_get and clock_time_get over the host's POSIX clocks.

use super::Args;
use crate::abi::clockid;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::WasiCtx;
use rustix::time::{ClockId, Timespec};

pub(crate) fn host_clock(id: u32) -> WasiResult<ClockId> {
    Ok(match id {
        clockid::REALTIME => ClockId::Realtime,
        clockid::MONOTONIC => ClockId::Monotonic,
        clockid::PROCESS_CPUTIME => ClockId::ProcessCPUTime,
        clockid::THREAD_CPUTIME => ClockId::ThreadCPUTime,
        _ => return Err(Errno::Inval),
    })
}

fn nanos(t: Timespec) -> u64 {
    (t.tv_sec.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec.max(0) as u64)
}

/// The current time of a WASI clock, in nanoseconds.
pub(crate) fn now(id: u32) -> WasiResult<u64> {
    Ok(nanos(rustix::time::clock_gettime(host_clock(id)?)))
}

pub fn clock_res_get(_ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let res = nanos(rustix::time::clock_getres(host_clock(a.u32(0))?));
    mem.set_u64(a.u32(1), res.max(1))
}

pub fn clock_time_get(_ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    // The precision argument is a hint; the host clock is read at its best precision.
    mem.set_u64(a.u32(2), now(a.u32(0))?)
}

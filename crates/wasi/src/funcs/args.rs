//! args_* and environ_*: the program's arguments and environment as NUL-terminated
//! strings in a buffer, with an array of pointers to them.

use super::Args;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::WasiCtx;

fn sizes(list: &[String], mem: &GuestMemory<'_>, count_ptr: u32, size_ptr: u32) -> WasiResult {
    let count = u32::try_from(list.len())?;
    let size: usize = list.iter().map(|s| s.len() + 1).sum();
    mem.set_u32(count_ptr, count)?;
    mem.set_u32(size_ptr, u32::try_from(size)?)
}

fn strings(list: &[String], mem: &GuestMemory<'_>, ptrs: u32, buf: u32) -> WasiResult {
    let mut at = buf;
    for (i, s) in list.iter().enumerate() {
        let slot = (i as u32)
            .checked_mul(4)
            .and_then(|o| ptrs.checked_add(o))
            .ok_or(Errno::Fault)?;
        mem.set_u32(slot, at)?;
        mem.write(at, s.as_bytes())?;
        let end = at.checked_add(s.len() as u32).ok_or(Errno::Fault)?;
        mem.write(end, &[0])?;
        at = end.checked_add(1).ok_or(Errno::Fault)?;
    }
    Ok(())
}

pub fn args_sizes_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    sizes(&ctx.args, mem, a.u32(0), a.u32(1))
}

pub fn args_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    strings(&ctx.args, mem, a.u32(0), a.u32(1))
}

pub fn environ_sizes_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    sizes(&ctx.env, mem, a.u32(0), a.u32(1))
}

pub fn environ_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    strings(&ctx.env, mem, a.u32(0), a.u32(1))
}

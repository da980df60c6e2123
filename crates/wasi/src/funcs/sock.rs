//! sock_*: preview1 gives a program only the sockets it was handed as preopened fds,
//! and this host hands it none, so every socket call names an fd that is either not
//! open (`badf`) or not a socket (`notsock`).

use super::Args;
use crate::errno::{Errno, WasiResult};
use crate::memory::GuestMemory;
use crate::WasiCtx;

fn not_a_socket(ctx: &WasiCtx, fd: u32) -> WasiResult {
    ctx.fds.get(fd)?;
    Err(Errno::NotSock)
}

pub fn sock_accept(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    not_a_socket(ctx, a.u32(0))
}

pub fn sock_recv(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    not_a_socket(ctx, a.u32(0))
}

pub fn sock_send(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    not_a_socket(ctx, a.u32(0))
}

pub fn sock_shutdown(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    not_a_socket(ctx, a.u32(0))
}

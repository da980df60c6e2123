//! path_*: operations on paths beneath a directory fd. Resolution is the sandbox's
//! (see [`crate::sandbox`]); this file checks fds and rights and moves arguments.

use super::fd::time_specs;
use super::Args;
use crate::abi::{fdflags, oflags, rights, LOOKUP_SYMLINK_FOLLOW};
use crate::errno::{Errno, WasiResult};
use crate::fd::Entry;
use crate::memory::GuestMemory;
use crate::sandbox::{self, OpenMode, Opened};
use crate::WasiCtx;
use std::sync::Arc;

/// The directory entry `fd`, which must hold `right`.
fn dir_fd(ctx: &WasiCtx, fd: u32, right: u64) -> WasiResult<Arc<Entry>> {
    let e = ctx.fds.get(fd)?;
    e.as_dir()?;
    e.require(right)?;
    Ok(e)
}

/// `(entry, path)` for the common `(fd, path_ptr, path_len)` argument triple.
fn dir_and_path(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
    right: u64,
) -> WasiResult<(Arc<Entry>, String)> {
    let e = dir_fd(ctx, fd, right)?;
    Ok((e, mem.string(ptr, len)?))
}

fn follows(lookupflags: u32) -> bool {
    lookupflags & LOOKUP_SYMLINK_FOLLOW != 0
}

pub fn path_open(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let (dirflags, oflags_arg, base, inheriting, fdflags_arg, out) =
        (a.u32(1), a.u32(4), a.u64(5), a.u64(6), a.u32(7), a.u32(8));
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(2), a.u32(3), rights::PATH_OPEN)?;
    if oflags_arg > u32::from(oflags::ALL) || fdflags_arg > u32::from(fdflags::ALL) {
        return Err(Errno::Inval);
    }
    let (o, ff) = (oflags_arg as u16, fdflags_arg as u16);
    if o & oflags::CREAT != 0 {
        e.require(rights::PATH_CREATE_FILE)?;
    }
    if o & oflags::TRUNC != 0 {
        e.require(rights::PATH_FILESTAT_SET_SIZE)?;
    }
    // A new fd gets at most what its directory passes on; asking for more is not an
    // error (wasi-libc asks for everything and expects to get what is allowed).
    let (_, dir_inheriting) = e.rights();
    let (base, inheriting) = (base & dir_inheriting, inheriting & dir_inheriting);
    let mode = OpenMode {
        read: base & (rights::FD_READ | rights::FD_READDIR) != 0,
        write: base
            & (rights::FD_WRITE
                | rights::FD_DATASYNC
                | rights::FD_ALLOCATE
                | rights::FD_FILESTAT_SET_SIZE)
            != 0,
        follow: follows(dirflags),
        oflags: o,
        fdflags: ff,
    };
    let entry = match sandbox::open(&e.as_dir()?.dir, &path, mode)? {
        Opened::File(f) => Entry::file(f, base, inheriting),
        Opened::Dir(d) => Entry::dir(d, None, base, inheriting),
    };
    // Checked before the fd is taken, so a bad pointer leaves no fd behind.
    mem.check(out, 4)?;
    let fd = ctx.fds.insert(entry)?;
    mem.set_u32(out, fd)
}

pub fn path_create_directory(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_CREATE_DIRECTORY;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(1), a.u32(2), right)?;
    sandbox::create_dir(&e.as_dir()?.dir, &path)
}

pub fn path_remove_directory(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_REMOVE_DIRECTORY;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(1), a.u32(2), right)?;
    sandbox::remove_dir(&e.as_dir()?.dir, &path)
}

pub fn path_unlink_file(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_UNLINK_FILE;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(1), a.u32(2), right)?;
    sandbox::unlink_file(&e.as_dir()?.dir, &path)
}

pub fn path_filestat_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_FILESTAT_GET;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(2), a.u32(3), right)?;
    let m = sandbox::metadata(&e.as_dir()?.dir, &path, follows(a.u32(1)))?;
    sandbox::filestat(&m).write(mem, a.u32(4))
}

pub fn path_filestat_set_times(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_FILESTAT_SET_TIMES;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(2), a.u32(3), right)?;
    let (at, mt) = time_specs(a.u64(4), a.u64(5), a.u32(6))?;
    sandbox::set_times(&e.as_dir()?.dir, &path, follows(a.u32(1)), at, mt)
}

pub fn path_link(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_LINK_SOURCE;
    let (from, from_path) = dir_and_path(ctx, mem, a.u32(0), a.u32(2), a.u32(3), right)?;
    let right = rights::PATH_LINK_TARGET;
    let (to, to_path) = dir_and_path(ctx, mem, a.u32(4), a.u32(5), a.u32(6), right)?;
    sandbox::hard_link(
        &from.as_dir()?.dir,
        &from_path,
        follows(a.u32(1)),
        &to.as_dir()?.dir,
        &to_path,
    )
}

pub fn path_rename(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_RENAME_SOURCE;
    let (from, from_path) = dir_and_path(ctx, mem, a.u32(0), a.u32(1), a.u32(2), right)?;
    let right = rights::PATH_RENAME_TARGET;
    let (to, to_path) = dir_and_path(ctx, mem, a.u32(3), a.u32(4), a.u32(5), right)?;
    sandbox::rename(&from.as_dir()?.dir, &from_path, &to.as_dir()?.dir, &to_path)
}

pub fn path_symlink(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let target = mem.string(a.u32(0), a.u32(1))?;
    let right = rights::PATH_SYMLINK;
    let (e, link) = dir_and_path(ctx, mem, a.u32(2), a.u32(3), a.u32(4), right)?;
    sandbox::symlink(&e.as_dir()?.dir, &target, &link)
}

pub fn path_readlink(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let right = rights::PATH_READLINK;
    let (e, path) = dir_and_path(ctx, mem, a.u32(0), a.u32(1), a.u32(2), right)?;
    let (buf, buf_len, used) = (a.u32(3), a.u32(4), a.u32(5));
    mem.check(buf, buf_len)?;
    let target = sandbox::read_link(&e.as_dir()?.dir, &path)?;
    // Like readlink(2): a short buffer gets the start of the contents.
    let n = target.len().min(buf_len as usize);
    mem.write(buf, &target[..n])?;
    mem.set_u32(used, n as u32)
}

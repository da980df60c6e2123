//! fd_*: reading, writing, seeking, syncing, flags, stat and times of open descriptors,
//! directory listings, prestat of preopens, renumber and close.

use super::Args;
use crate::abi::PREOPENTYPE_DIR;
use crate::abi::{dirent_bytes, fdflags, filetype, fstflags, rights, whence, FdStat, FileStat};
use crate::errno::{Errno, WasiResult};
use crate::fd::{lock, DirEntryData, DirHandle, Entry, Kind, Stream};
use crate::memory::{read_len, GuestMemory};
use crate::sandbox::{self, system_time, TimeSpec};
use crate::WasiCtx;
use cap_std::fs::FileExt;
use rustix::fd::AsFd;
use std::io::{Read, Seek, SeekFrom, Write};

/// Retries a host call interrupted by a signal.
fn retry<T>(mut f: impl FnMut() -> std::io::Result<T>) -> WasiResult<T> {
    loop {
        match f() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return Ok(r?),
        }
    }
}

/// Reads into `buf` from a descriptor, as one host read.
fn read_entry(e: &Entry, buf: &mut [u8]) -> WasiResult<usize> {
    match &e.kind {
        Kind::Stream(Stream::HostStdin) => {
            let stdin = std::io::stdin();
            loop {
                match rustix::io::read(stdin.as_fd(), &mut *buf) {
                    Err(rustix::io::Errno::INTR) => continue,
                    r => return Ok(r?),
                }
            }
        }
        Kind::Stream(Stream::Reader(r)) => retry(|| lock(r).read(buf)),
        Kind::Stream(_) => Err(Errno::Badf),
        Kind::File(f) => {
            e.require(rights::FD_READ)?;
            retry(|| (&*f).read(buf))
        }
        Kind::Dir(_) => Err(Errno::IsDir),
    }
}

/// Writes `data` to a descriptor: all of it to a stream, one host write to a file.
fn write_entry(e: &Entry, data: &[u8]) -> WasiResult<usize> {
    fn all(w: &mut dyn Write, data: &[u8]) -> WasiResult<usize> {
        w.write_all(data)?;
        // Flushed every call so that output written before a trap or an exit is seen.
        w.flush()?;
        Ok(data.len())
    }
    match &e.kind {
        Kind::Stream(Stream::HostStdout) => all(&mut std::io::stdout().lock(), data),
        Kind::Stream(Stream::HostStderr) => all(&mut std::io::stderr().lock(), data),
        Kind::Stream(Stream::Writer(w)) => all(&mut **lock(w), data),
        Kind::Stream(_) => Err(Errno::Badf),
        Kind::File(f) => {
            e.require(rights::FD_WRITE)?;
            retry(|| (&*f).write(data))
        }
        Kind::Dir(_) => Err(Errno::IsDir),
    }
}

pub fn fd_read(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut buf = vec![0u8; read_len(&iovs)];
    let n = read_entry(&e, &mut buf)?;
    mem.scatter(&iovs, &buf[..n])?;
    mem.set_u32(a.u32(3), n as u32)
}

pub fn fd_write(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let data = mem.gather(&iovs)?;
    let n = write_entry(&e, &data)?;
    mem.set_u32(a.u32(3), n as u32)
}

pub fn fd_pread(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = e.as_file()?;
    e.require(rights::FD_READ | rights::FD_SEEK)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let mut buf = vec![0u8; read_len(&iovs)];
    let n = retry(|| f.read_at(&mut buf, a.u64(3)))?;
    mem.scatter(&iovs, &buf[..n])?;
    mem.set_u32(a.u32(4), n as u32)
}

pub fn fd_pwrite(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = e.as_file()?;
    e.require(rights::FD_WRITE | rights::FD_SEEK)?;
    let iovs = mem.iovecs(a.u32(1), a.u32(2))?;
    let data = mem.gather(&iovs)?;
    let n = if data.is_empty() {
        0
    } else {
        retry(|| f.write_at(&data, a.u64(3)))?
    };
    mem.set_u32(a.u32(4), n as u32)
}

pub fn fd_seek(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = match &e.kind {
        Kind::Dir(_) => return Err(Errno::Badf),
        _ => e.as_file()?,
    };
    let offset = a.u64(1) as i64;
    let (pos, needed) = match a.u32(2) as u8 {
        whence::SET => (
            SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?),
            rights::FD_SEEK,
        ),
        // `lseek(fd, 0, SEEK_CUR)` is how C asks for the position: tell suffices for it.
        whence::CUR if offset == 0 => (SeekFrom::Current(0), rights::FD_TELL),
        whence::CUR => (SeekFrom::Current(offset), rights::FD_SEEK),
        whence::END => (SeekFrom::End(offset), rights::FD_SEEK),
        _ => return Err(Errno::Inval),
    };
    e.require(needed)?;
    let new = retry(|| (&*f).seek(pos))?;
    mem.set_u64(a.u32(3), new)
}

pub fn fd_tell(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = match &e.kind {
        Kind::Dir(_) => return Err(Errno::Badf),
        _ => e.as_file()?,
    };
    e.require(rights::FD_TELL)?;
    let pos = retry(|| (&*f).stream_position())?;
    mem.set_u64(a.u32(1), pos)
}

fn sync(ctx: &WasiCtx, fd: u32, right: u64, data_only: bool) -> WasiResult {
    let e = ctx.fds.get(fd)?;
    e.require(right)?;
    let r = match &e.kind {
        Kind::File(f) if data_only => rustix::fs::fdatasync(f),
        Kind::File(f) => rustix::fs::fsync(f),
        Kind::Dir(d) => rustix::fs::fsync(&d.dir),
        Kind::Stream(Stream::Writer(w)) => return Ok(lock(w).flush()?),
        Kind::Stream(Stream::HostStdout) => return Ok(std::io::stdout().flush()?),
        Kind::Stream(_) => Ok(()),
    };
    Ok(r?)
}

pub fn fd_sync(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    sync(ctx, a.u32(0), rights::FD_SYNC, false)
}

pub fn fd_datasync(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    sync(ctx, a.u32(0), rights::FD_DATASYNC, true)
}

pub fn fd_advise(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    e.as_file()?;
    e.require(rights::FD_ADVISE)?;
    if a.u32(3) > 5 {
        return Err(Errno::Inval);
    }
    a.u64(1).checked_add(a.u64(2)).ok_or(Errno::Inval)?;
    // Advice is a hint the spec lets a host ignore; the page cache does well without.
    Ok(())
}

pub fn fd_allocate(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = e.as_file()?;
    e.require(rights::FD_ALLOCATE)?;
    let end = a.u64(1).checked_add(a.u64(2)).ok_or(Errno::Fbig)?;
    if end > i64::MAX as u64 {
        return Err(Errno::Fbig);
    }
    // Grows the file to cover the range (what posix_fallocate guarantees the program:
    // the bytes exist and read as zeros); a range inside the file changes nothing.
    if end > f.metadata()?.len() {
        f.set_len(end)?;
    }
    Ok(())
}

pub fn fd_close(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    ctx.fds.remove(a.u32(0)).map(drop)
}

pub fn fd_renumber(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    ctx.fds.renumber(a.u32(0), a.u32(1))
}

pub fn fd_fdstat_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let (base, inheriting) = e.rights();
    let (ft, flags) = match &e.kind {
        Kind::File(f) => (
            sandbox::filetype_of(f.metadata()?.file_type()),
            sandbox::host_fdflags(f)?,
        ),
        Kind::Dir(_) => (filetype::DIRECTORY, 0),
        Kind::Stream(s) => (Entry::stream_filetype(s), e.stream_flags()),
    };
    FdStat {
        filetype: ft,
        flags,
        rights_base: base,
        rights_inheriting: inheriting,
    }
    .write(mem, a.u32(1))
}

pub fn fd_fdstat_set_flags(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    e.require(rights::FD_FDSTAT_SET_FLAGS)?;
    let flags = a.u32(1);
    if flags > u32::from(fdflags::ALL) {
        return Err(Errno::Inval);
    }
    let flags = flags as u16;
    match &e.kind {
        Kind::File(f) => sandbox::set_host_fdflags(f, flags),
        Kind::Dir(_) if flags & fdflags::APPEND != 0 => Err(Errno::Inval),
        Kind::Dir(_) => Ok(()),
        // The host's own stdio is shared with the host: its flags are kept per fd here
        // rather than changed for the whole process.
        Kind::Stream(_) => {
            e.set_stream_flags(flags);
            Ok(())
        }
    }
}

pub fn fd_fdstat_set_rights(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    ctx.fds.get(a.u32(0))?.set_rights(a.u64(1), a.u64(2))
}

pub fn fd_filestat_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    e.require(rights::FD_FILESTAT_GET)?;
    let st = match &e.kind {
        Kind::File(f) => sandbox::filestat(&f.metadata()?),
        Kind::Dir(d) => sandbox::filestat(&d.dir.dir_metadata()?),
        Kind::Stream(s) => FileStat {
            filetype: Entry::stream_filetype(s),
            ..FileStat::default()
        },
    };
    st.write(mem, a.u32(1))
}

pub fn fd_filestat_set_size(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let f = e.as_file()?;
    e.require(rights::FD_FILESTAT_SET_SIZE)?;
    if a.u64(1) > i64::MAX as u64 {
        return Err(Errno::Fbig);
    }
    Ok(f.set_len(a.u64(1))?)
}

/// The (atime, mtime) to set for a `fstflags` and its two timestamps.
pub(crate) fn time_specs(atim: u64, mtim: u64, flags: u32) -> WasiResult<(TimeSpec, TimeSpec)> {
    use fs_set_times::SystemTimeSpec as S;
    if flags > u32::from(fstflags::ALL) {
        return Err(Errno::Inval);
    }
    let f = flags as u16;
    let one = |set: u16, now: u16, t: u64| -> WasiResult<TimeSpec> {
        match (f & set != 0, f & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Some(S::Absolute(system_time(t)))),
            (false, true) => Ok(Some(S::SymbolicNow)),
            (false, false) => Ok(None),
        }
    };
    Ok((
        one(fstflags::ATIM, fstflags::ATIM_NOW, atim)?,
        one(fstflags::MTIM, fstflags::MTIM_NOW, mtim)?,
    ))
}

pub fn fd_filestat_set_times(ctx: &WasiCtx, _mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    use fs_set_times::SetTimes;
    let e = ctx.fds.get(a.u32(0))?;
    e.require(rights::FD_FILESTAT_SET_TIMES)?;
    let (at, mt) = time_specs(a.u64(1), a.u64(2), a.u32(3))?;
    match &e.kind {
        Kind::File(f) => Ok(f.set_times(at, mt)?),
        Kind::Dir(d) => Ok(d.dir.set_times(at, mt)?),
        Kind::Stream(_) => Err(Errno::Badf),
    }
}

pub fn fd_prestat_get(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let name = preopen_name(&e)?;
    let p = a.u32(1);
    mem.check(p, 8)?;
    mem.store::<u32>(u64::from(p), u32::from(PREOPENTYPE_DIR))?;
    mem.set_u32(p + 4, u32::try_from(name.len())?)
}

pub fn fd_prestat_dir_name(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let name = preopen_name(&e)?;
    if (a.u32(2) as usize) < name.len() {
        return Err(Errno::NameTooLong);
    }
    mem.write(a.u32(1), name.as_bytes())
}

/// The guest name of a preopened directory; other fds have no prestat (`badf` is what
/// wasi-libc's scan of the preopens stops at).
fn preopen_name(e: &Entry) -> WasiResult<&str> {
    match &e.kind {
        Kind::Dir(DirHandle {
            preopen: Some(name),
            ..
        }) => Ok(name),
        _ => Err(Errno::Badf),
    }
}

/// A directory's entries, `.` and `..` first. Names that are not UTF-8 cannot be
/// named in any WASI call, so they are left out.
fn listing(d: &DirHandle) -> WasiResult<Vec<DirEntryData>> {
    use cap_std::fs::MetadataExt;
    use rustix::fs::DirEntryExt;
    let own = d.dir.dir_metadata()?.ino();
    let mut out = vec![
        DirEntryData {
            name: ".".into(),
            ino: own,
            filetype: filetype::DIRECTORY,
        },
        // The parent may lie outside the sandbox; its inode is not the guest's business.
        DirEntryData {
            name: "..".into(),
            ino: own,
            filetype: filetype::DIRECTORY,
        },
    ];
    for entry in d.dir.entries()? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let ft = match entry.file_type() {
            Ok(t) => sandbox::filetype_of(t),
            // Removed since the listing began.
            Err(_) => continue,
        };
        out.push(DirEntryData {
            name,
            ino: entry.ino(),
            filetype: ft,
        });
    }
    Ok(out)
}

pub fn fd_readdir(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let e = ctx.fds.get(a.u32(0))?;
    let d = e.as_dir()?;
    e.require(rights::FD_READDIR)?;
    let (buf, buf_len, cookie, used_ptr) = (a.u32(1), a.u32(2), a.u64(3), a.u32(4));
    mem.check(buf, buf_len)?;
    let mut cached = lock(&d.listing);
    if cookie == 0 || cached.is_empty() {
        *cached = listing(d)?;
    }
    let mut out = Vec::with_capacity(buf_len as usize);
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, ent) in cached.iter().enumerate().skip(start) {
        if out.len() >= buf_len as usize {
            break;
        }
        let header = dirent_bytes(i as u64 + 1, ent.ino, ent.name.len() as u32, ent.filetype);
        out.extend_from_slice(&header);
        out.extend_from_slice(ent.name.as_bytes());
    }
    // A full buffer ends with a cut entry: that is how the guest learns to ask again.
    out.truncate(buf_len as usize);
    mem.write(buf, &out)?;
    mem.set_u32(used_ptr, out.len() as u32)
}

//! Raw `wasi_snapshot_preview1` calls for what std does not reach, and small helpers
//! the programs share. Every function returns the errno (0 = success).
#![allow(clippy::missing_safety_doc)]

pub mod raw {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        pub fn args_get(argv: i32, buf: i32) -> i32;
        pub fn clock_res_get(id: i32, out: i32) -> i32;
        pub fn clock_time_get(id: i32, precision: i64, out: i32) -> i32;
        pub fn fd_advise(fd: i32, offset: i64, len: i64, advice: i32) -> i32;
        pub fn fd_allocate(fd: i32, offset: i64, len: i64) -> i32;
        pub fn fd_close(fd: i32) -> i32;
        pub fn fd_fdstat_get(fd: i32, out: i32) -> i32;
        pub fn fd_fdstat_set_flags(fd: i32, flags: i32) -> i32;
        pub fn fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64) -> i32;
        pub fn fd_filestat_get(fd: i32, out: i32) -> i32;
        pub fn fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32) -> i32;
        pub fn fd_pread(fd: i32, iovs: i32, n: i32, offset: i64, out: i32) -> i32;
        pub fn fd_prestat_get(fd: i32, out: i32) -> i32;
        pub fn fd_prestat_dir_name(fd: i32, buf: i32, len: i32) -> i32;
        pub fn fd_pwrite(fd: i32, iovs: i32, n: i32, offset: i64, out: i32) -> i32;
        pub fn fd_read(fd: i32, iovs: i32, n: i32, out: i32) -> i32;
        pub fn fd_readdir(fd: i32, buf: i32, len: i32, cookie: i64, out: i32) -> i32;
        pub fn fd_renumber(fd: i32, to: i32) -> i32;
        pub fn fd_seek(fd: i32, offset: i64, whence: i32, out: i32) -> i32;
        pub fn fd_tell(fd: i32, out: i32) -> i32;
        pub fn fd_write(fd: i32, iovs: i32, n: i32, out: i32) -> i32;
        pub fn path_create_directory(fd: i32, path: i32, len: i32) -> i32;
        pub fn path_filestat_get(fd: i32, flags: i32, path: i32, len: i32, out: i32) -> i32;
        pub fn path_filestat_set_times(
            fd: i32,
            flags: i32,
            path: i32,
            len: i32,
            atim: i64,
            mtim: i64,
            fst: i32,
        ) -> i32;
        pub fn path_link(
            old_fd: i32,
            old_flags: i32,
            old: i32,
            old_len: i32,
            new_fd: i32,
            new: i32,
            new_len: i32,
        ) -> i32;
        pub fn path_open(
            fd: i32,
            dirflags: i32,
            path: i32,
            len: i32,
            oflags: i32,
            base: i64,
            inheriting: i64,
            fdflags: i32,
            out: i32,
        ) -> i32;
        pub fn path_readlink(fd: i32, path: i32, len: i32, buf: i32, buf_len: i32, out: i32)
            -> i32;
        pub fn path_remove_directory(fd: i32, path: i32, len: i32) -> i32;
        pub fn path_rename(
            fd: i32,
            old: i32,
            old_len: i32,
            new_fd: i32,
            new: i32,
            new_len: i32,
        ) -> i32;
        pub fn path_symlink(old: i32, old_len: i32, fd: i32, new: i32, new_len: i32) -> i32;
        pub fn path_unlink_file(fd: i32, path: i32, len: i32) -> i32;
        pub fn poll_oneoff(subs: i32, events: i32, n: i32, out: i32) -> i32;
        pub fn proc_raise(sig: i32) -> i32;
        pub fn random_get(buf: i32, len: i32) -> i32;
        pub fn sched_yield() -> i32;
        pub fn sock_accept(fd: i32, flags: i32, out: i32) -> i32;
        pub fn sock_recv(
            fd: i32,
            ri: i32,
            ri_len: i32,
            flags: i32,
            out_len: i32,
            out_flags: i32,
        ) -> i32;
        pub fn sock_send(fd: i32, si: i32, si_len: i32, flags: i32, out_len: i32) -> i32;
        pub fn sock_shutdown(fd: i32, how: i32) -> i32;
    }
}

/// A pointer as the i32 WASI takes.
pub fn p<T: ?Sized>(x: *const T) -> i32 {
    x as *const u8 as usize as i32
}

/// All rights.
pub const ALL_RIGHTS: i64 = (1 << 30) - 1;
pub const RIGHT_FD_READ: i64 = 1 << 1;
pub const O_CREAT: i32 = 1;
pub const O_DIRECTORY: i32 = 2;
pub const O_EXCL: i32 = 4;
pub const O_TRUNC: i32 = 8;
pub const LOOKUP_FOLLOW: i32 = 1;
pub const FDFLAG_APPEND: i32 = 1;

/// The first preopened directory (the test gives each program exactly one).
pub const PREOPEN: i32 = 3;

/// `path_open` beneath `dir`; the new fd or the errno.
pub fn open(
    dir: i32,
    path: &str,
    follow: bool,
    oflags: i32,
    base: i64,
    fdflags: i32,
) -> Result<i32, i32> {
    let mut fd = 0i32;
    let e = unsafe {
        raw::path_open(
            dir,
            if follow { LOOKUP_FOLLOW } else { 0 },
            p(path.as_ptr()),
            path.len() as i32,
            oflags,
            base,
            base,
            fdflags,
            p(&mut fd),
        )
    };
    if e == 0 {
        Ok(fd)
    } else {
        Err(e)
    }
}

/// Reads up to `n` bytes from `fd` (one `fd_read`).
pub fn read(fd: i32, n: usize) -> Result<Vec<u8>, i32> {
    let mut buf = vec![0u8; n];
    let iov = [p(buf.as_mut_ptr()), n as i32];
    let mut got = 0i32;
    let e = unsafe { raw::fd_read(fd, p(iov.as_ptr()), 1, p(&mut got)) };
    if e != 0 {
        return Err(e);
    }
    buf.truncate(got as usize);
    Ok(buf)
}

/// `fdstat` of an fd: (filetype, flags, rights base, rights inheriting).
pub fn fdstat(fd: i32) -> Result<(u8, u16, u64, u64), i32> {
    let mut b = [0u8; 24];
    let e = unsafe { raw::fd_fdstat_get(fd, p(b.as_mut_ptr())) };
    if e != 0 {
        return Err(e);
    }
    Ok((
        b[0],
        u16::from_le_bytes([b[2], b[3]]),
        u64::from_le_bytes(b[8..16].try_into().unwrap()),
        u64::from_le_bytes(b[16..24].try_into().unwrap()),
    ))
}

/// `filestat` as (dev, ino, filetype, nlink, size, atim, mtim, ctim).
pub fn decode_filestat(b: &[u8; 64]) -> [u64; 8] {
    let mut out = [0u64; 8];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
    }
    out
}

/// The raw errno of an std I/O error (-1 when it has none).
pub fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

/// Prints `name ok` when `cond` holds, else `name FAILED: detail` (tests check the
/// lines, so a failure names itself).
pub fn check(name: &str, cond: bool, detail: impl std::fmt::Debug) {
    if cond {
        println!("{name} ok");
    } else {
        println!("{name} FAILED: {detail:?}");
    }
}

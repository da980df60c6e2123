//! The `wasi_snapshot_preview1` ABI: enum and flag values and the layouts of the
//! structs WASI calls write into guest memory (all little endian, offsets from the
//! spec's witx).

use crate::errno::WasiResult;
use crate::memory::GuestMemory;

/// `filetype`
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_DGRAM: u8 = 5;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `rights` bits.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_SYNC: u64 = 1 << 4;
    pub const FD_TELL: u64 = 1 << 5;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const PATH_CREATE_DIRECTORY: u64 = 1 << 9;
    pub const PATH_CREATE_FILE: u64 = 1 << 10;
    pub const PATH_LINK_SOURCE: u64 = 1 << 11;
    pub const PATH_LINK_TARGET: u64 = 1 << 12;
    pub const PATH_OPEN: u64 = 1 << 13;
    pub const FD_READDIR: u64 = 1 << 14;
    pub const PATH_READLINK: u64 = 1 << 15;
    pub const PATH_RENAME_SOURCE: u64 = 1 << 16;
    pub const PATH_RENAME_TARGET: u64 = 1 << 17;
    pub const PATH_FILESTAT_GET: u64 = 1 << 18;
    pub const PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
    pub const PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
    pub const PATH_SYMLINK: u64 = 1 << 24;
    pub const PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
    pub const PATH_UNLINK_FILE: u64 = 1 << 26;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    pub const SOCK_SHUTDOWN: u64 = 1 << 28;
    pub const SOCK_ACCEPT: u64 = 1 << 29;

    /// What a regular file can be asked to do.
    pub const FILE: u64 = FD_DATASYNC
        | FD_READ
        | FD_SEEK
        | FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_TELL
        | FD_WRITE
        | FD_ADVISE
        | FD_ALLOCATE
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_SIZE
        | FD_FILESTAT_SET_TIMES
        | POLL_FD_READWRITE;
    /// What a directory can be asked to do.
    pub const DIR: u64 = FD_FDSTAT_SET_FLAGS
        | FD_SYNC
        | FD_DATASYNC
        | PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_OPEN
        | FD_READDIR
        | PATH_READLINK
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_GET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_GET
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// What files opened beneath a directory may be given.
    pub const DIR_INHERITING: u64 = DIR | FILE;
    /// What changes a file's contents, size or times.
    pub const FILE_WRITES: u64 =
        FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE | FD_FILESTAT_SET_TIMES;
    /// What changes a directory's entries, or files beneath it, by path.
    pub const DIR_WRITES: u64 = PATH_CREATE_DIRECTORY
        | PATH_CREATE_FILE
        | PATH_LINK_SOURCE
        | PATH_LINK_TARGET
        | PATH_RENAME_SOURCE
        | PATH_RENAME_TARGET
        | PATH_FILESTAT_SET_SIZE
        | PATH_FILESTAT_SET_TIMES
        | FD_FILESTAT_SET_TIMES
        | PATH_SYMLINK
        | PATH_REMOVE_DIRECTORY
        | PATH_UNLINK_FILE;
    /// A read-only preopened directory, and what it passes on.
    pub const DIR_READ_ONLY: u64 = DIR & !DIR_WRITES;
    pub const DIR_READ_ONLY_INHERITING: u64 = DIR_INHERITING & !DIR_WRITES & !FILE_WRITES;
    /// stdin: a readable stream.
    pub const STDIN: u64 = FD_READ | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
    /// stdout and stderr: writable streams.
    pub const STDOUT: u64 = FD_WRITE
        | FD_FDSTAT_SET_FLAGS
        | FD_FILESTAT_GET
        | FD_DATASYNC
        | FD_SYNC
        | POLL_FD_READWRITE;
}

/// `fdflags`
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags`
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
    pub const ALL: u16 = CREAT | DIRECTORY | EXCL | TRUNC;
}

/// `lookupflags`
pub const LOOKUP_SYMLINK_FOLLOW: u32 = 1;

/// `fstflags`
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
    pub const ALL: u16 = ATIM | ATIM_NOW | MTIM | MTIM_NOW;
}

/// `whence`
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `clockid`
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME: u32 = 2;
    pub const THREAD_CPUTIME: u32 = 3;
}

/// `eventtype`
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`
pub const SUBSCRIPTION_CLOCK_ABSTIME: u16 = 1;

/// `preopentype`
pub const PREOPENTYPE_DIR: u8 = 0;

/// `fdstat` (24 bytes).
pub struct FdStat {
    pub filetype: u8,
    pub flags: u16,
    pub rights_base: u64,
    pub rights_inheriting: u64,
}

impl FdStat {
    pub fn write(&self, mem: &GuestMemory<'_>, ptr: u32) -> WasiResult {
        mem.check(ptr, 24)?;
        let p = u64::from(ptr);
        mem.store::<u8>(p, self.filetype)?;
        mem.store::<u8>(p + 1, 0)?;
        mem.store::<u16>(p + 2, self.flags)?;
        mem.store::<u32>(p + 4, 0)?;
        mem.store::<u64>(p + 8, self.rights_base)?;
        mem.store::<u64>(p + 16, self.rights_inheriting)
    }
}

/// `filestat` (64 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl FileStat {
    pub fn write(&self, mem: &GuestMemory<'_>, ptr: u32) -> WasiResult {
        mem.check(ptr, 64)?;
        let p = u64::from(ptr);
        mem.store::<u64>(p, self.dev)?;
        mem.store::<u64>(p + 8, self.ino)?;
        mem.store::<u64>(p + 16, u64::from(self.filetype))?;
        mem.store::<u64>(p + 24, self.nlink)?;
        mem.store::<u64>(p + 32, self.size)?;
        mem.store::<u64>(p + 40, self.atim)?;
        mem.store::<u64>(p + 48, self.mtim)?;
        mem.store::<u64>(p + 56, self.ctim)
    }
}

/// Size of a `dirent` header; the name follows it, not NUL-terminated.
pub const DIRENT_SIZE: usize = 24;

/// A `dirent` header: `d_next`, `d_ino`, `d_namlen`, `d_type`.
pub fn dirent_bytes(next: u64, ino: u64, namlen: u32, filetype: u8) -> [u8; DIRENT_SIZE] {
    let mut b = [0u8; DIRENT_SIZE];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = filetype;
    b
}

/// Size of a `subscription`.
pub const SUBSCRIPTION_SIZE: u32 = 48;
/// Size of an `event`.
pub const EVENT_SIZE: u32 = 32;

/// One `event` written by `poll_oneoff`.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub userdata: u64,
    pub error: u16,
    pub kind: u8,
    pub nbytes: u64,
    pub flags: u16,
}

impl Event {
    pub fn write(&self, mem: &GuestMemory<'_>, ptr: u32) -> WasiResult {
        mem.check(ptr, EVENT_SIZE)?;
        let p = u64::from(ptr);
        mem.store::<u64>(p, self.userdata)?;
        mem.store::<u16>(p + 8, self.error)?;
        mem.store::<u8>(p + 10, self.kind)?;
        mem.store::<u8>(p + 11, 0)?;
        mem.store::<u32>(p + 12, 0)?;
        mem.store::<u64>(p + 16, self.nbytes)?;
        mem.store::<u16>(p + 24, self.flags)?;
        mem.store::<u16>(p + 26, 0)?;
        mem.store::<u32>(p + 28, 0)
    }
}

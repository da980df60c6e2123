//! The descriptor table: what each WASI fd number stands for (a stdio stream, an open
//! file, an open directory), with its rights. Calls look an entry up under a short lock
//! and then work on the `Arc` they got, so a blocking read on one fd holds up nobody.

use crate::abi::{fdflags, filetype, rights};
use crate::errno::{Errno, WasiResult};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Locks a mutex; a poisoned one (a panic elsewhere) still holds consistent data for
/// our purposes, so it is used rather than turned into another panic.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A stdio stream: the host process's own, or one the embedder supplied.
pub enum Stream {
    /// The host's stdin, read straight from its fd (no host-side buffering, so that
    /// `poll_oneoff` and `fd_read` agree about what is available).
    HostStdin,
    HostStdout,
    HostStderr,
    Reader(Mutex<Box<dyn Read + Send>>),
    Writer(Mutex<Box<dyn Write + Send>>),
}

impl Stream {
    pub fn is_reader(&self) -> bool {
        matches!(self, Stream::HostStdin | Stream::Reader(_))
    }
}

/// A directory entry as `fd_readdir` reports it.
#[derive(Debug, Clone)]
pub struct DirEntryData {
    pub name: String,
    pub ino: u64,
    pub filetype: u8,
}

/// An open directory.
pub struct DirHandle {
    pub dir: cap_std::fs::Dir,
    /// The guest name of a preopened directory (`fd_prestat_*`).
    pub preopen: Option<String>,
    /// The listing `fd_readdir` serves cookies from, taken when cookie 0 is asked for,
    /// so that a listing read in several calls is consistent.
    pub listing: Mutex<Vec<DirEntryData>>,
}

pub enum Kind {
    Stream(Stream),
    File(cap_std::fs::File),
    Dir(DirHandle),
}

/// One open descriptor.
pub struct Entry {
    pub kind: Kind,
    /// (base, inheriting) rights; they can only shrink.
    rights: Mutex<(u64, u64)>,
    /// fdflags of streams (files keep theirs in the host fd).
    stream_flags: AtomicU16,
}

impl Entry {
    pub fn new(kind: Kind, base: u64, inheriting: u64) -> Entry {
        Entry {
            kind,
            rights: Mutex::new((base, inheriting)),
            stream_flags: AtomicU16::new(0),
        }
    }

    pub fn stdin(s: Stream) -> Entry {
        Entry::new(Kind::Stream(s), rights::STDIN, 0)
    }

    pub fn stdout(s: Stream) -> Entry {
        Entry::new(Kind::Stream(s), rights::STDOUT, 0)
    }

    pub fn file(f: cap_std::fs::File, base: u64, inheriting: u64) -> Entry {
        Entry::new(
            Kind::File(f),
            base & rights::FILE,
            inheriting & rights::FILE,
        )
    }

    pub fn dir(d: cap_std::fs::Dir, preopen: Option<String>, base: u64, inheriting: u64) -> Entry {
        let handle = DirHandle {
            dir: d,
            preopen,
            listing: Mutex::new(Vec::new()),
        };
        Entry::new(
            Kind::Dir(handle),
            base & rights::DIR,
            inheriting & rights::DIR_INHERITING,
        )
    }

    pub fn rights(&self) -> (u64, u64) {
        *lock(&self.rights)
    }

    /// Narrows the rights; asking for a right the fd does not have is `notcapable`.
    pub fn set_rights(&self, base: u64, inheriting: u64) -> WasiResult {
        let mut r = lock(&self.rights);
        if base & !r.0 != 0 || inheriting & !r.1 != 0 {
            return Err(Errno::NotCapable);
        }
        *r = (base, inheriting);
        Ok(())
    }

    /// Checks that the fd has all of `needed`. Reading or writing an fd not open for it
    /// is `badf` as in POSIX; any other missing right is `notcapable`.
    pub fn require(&self, needed: u64) -> WasiResult {
        let (base, _) = self.rights();
        let missing = needed & !base;
        if missing == 0 {
            Ok(())
        } else if missing & (rights::FD_READ | rights::FD_WRITE) != 0 {
            Err(Errno::Badf)
        } else {
            Err(Errno::NotCapable)
        }
    }

    pub fn stream_flags(&self) -> u16 {
        self.stream_flags.load(Ordering::Relaxed)
    }

    pub fn set_stream_flags(&self, flags: u16) {
        self.stream_flags
            .store(flags & fdflags::ALL, Ordering::Relaxed)
    }

    pub fn as_file(&self) -> WasiResult<&cap_std::fs::File> {
        match &self.kind {
            Kind::File(f) => Ok(f),
            Kind::Dir(_) => Err(Errno::IsDir),
            Kind::Stream(_) => Err(Errno::Spipe),
        }
    }

    pub fn as_dir(&self) -> WasiResult<&DirHandle> {
        match &self.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::NotDir),
        }
    }

    /// The WASI filetype of a stream (a terminal or pipe of the host shows as what it is
    /// for inherited ones; supplied readers and writers are character devices).
    pub fn stream_filetype(s: &Stream) -> u8 {
        use std::io::IsTerminal;
        let host = match s {
            Stream::HostStdin => std::io::stdin().is_terminal(),
            Stream::HostStdout => std::io::stdout().is_terminal(),
            Stream::HostStderr => std::io::stderr().is_terminal(),
            _ => true,
        };
        if host {
            filetype::CHARACTER_DEVICE
        } else {
            // A pipe or redirected file of the host: WASI has no pipe type; unknown is
            // what other runtimes report.
            filetype::UNKNOWN
        }
    }
}

/// Fd number -> entry.
#[derive(Default)]
pub struct FdTable {
    map: Mutex<BTreeMap<u32, Arc<Entry>>>,
}

impl FdTable {
    pub fn get(&self, fd: u32) -> WasiResult<Arc<Entry>> {
        lock(&self.map).get(&fd).cloned().ok_or(Errno::Badf)
    }

    /// Puts `entry` at the lowest free number.
    pub fn insert(&self, entry: Entry) -> WasiResult<u32> {
        let mut map = lock(&self.map);
        let mut fd = 0u32;
        for &k in map.keys() {
            if k != fd {
                break;
            }
            fd = fd.checked_add(1).ok_or(Errno::Mfile)?;
        }
        map.insert(fd, Arc::new(entry));
        Ok(fd)
    }

    pub fn insert_at(&self, fd: u32, entry: Entry) {
        lock(&self.map).insert(fd, Arc::new(entry));
    }

    pub fn remove(&self, fd: u32) -> WasiResult<Arc<Entry>> {
        lock(&self.map).remove(&fd).ok_or(Errno::Badf)
    }

    /// Moves `from` to `to`, closing what `to` was; both must be open.
    pub fn renumber(&self, from: u32, to: u32) -> WasiResult {
        let mut map = lock(&self.map);
        if !map.contains_key(&from) || !map.contains_key(&to) {
            return Err(Errno::Badf);
        }
        if from != to {
            let e = map.remove(&from).ok_or(Errno::Badf)?;
            map.insert(to, e);
        }
        Ok(())
    }
}

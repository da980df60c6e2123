//! Path resolution beneath a directory fd. Every path a guest names is resolved by
//! cap-std relative to an open directory: on Linux with `openat2(RESOLVE_BENEATH)`,
//! which the kernel enforces atomically (so a symlink swapped mid-call cannot lead out),
//! elsewhere component by component with `O_NOFOLLOW`. `..` above the directory,
//! absolute paths and symlinks whose target leaves it all fail; cap-std reports those
//! as escape attempts, which [`crate::errno`] turns into `notcapable`.
//!
//! Nothing here inspects path strings to decide what is allowed: the only checks are
//! for strings no host call can take (empty, interior NUL).

use crate::abi::{fdflags, filetype, oflags, FileStat};
use crate::errno::{Errno, WasiResult};
use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt};
use cap_std::fs::{Dir, File, Metadata, OpenOptions};
use std::path::Path;
use std::time::SystemTime;

/// A guest path as a host path, refusing what no host call could take.
pub fn guest_path(path: &str) -> WasiResult<&Path> {
    if path.is_empty() {
        return Err(Errno::NoEnt);
    }
    if path.contains('\0') {
        return Err(Errno::Inval);
    }
    Ok(Path::new(path))
}

/// What `open` opened.
pub enum Opened {
    File(File),
    Dir(Dir),
}

/// How to open: the host access mode and the WASI flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenMode {
    pub read: bool,
    pub write: bool,
    pub follow: bool,
    pub oflags: u16,
    pub fdflags: u16,
}

/// Opens `path` beneath `dir`.
pub fn open(dir: &Dir, path: &str, mode: OpenMode) -> WasiResult<Opened> {
    let p = guest_path(path)?;
    let o = mode.oflags;
    if o & !oflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    if o & oflags::DIRECTORY != 0 {
        if o & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0 {
            return Err(Errno::Inval);
        }
        let d = if mode.follow {
            dir.open_dir(p)
        } else {
            dir.open_dir_nofollow(p)
        }?;
        return Ok(Opened::Dir(d));
    }
    let mut opts = OpenOptions::new();
    opts.maybe_dir(true);
    opts.follow(if mode.follow {
        FollowSymlinks::Yes
    } else {
        FollowSymlinks::No
    });
    let mut write = mode.write;
    if o & oflags::CREAT != 0 {
        // The host refuses to create a file opened read-only.
        write = true;
        if o & oflags::EXCL != 0 {
            opts.create_new(true);
        } else {
            opts.create(true);
        }
    }
    if o & oflags::TRUNC != 0 {
        write = true;
        opts.truncate(true);
    }
    if mode.fdflags & fdflags::APPEND != 0 {
        opts.append(true);
    } else if write {
        opts.write(true);
    }
    // A file opened for neither is opened for reading: the host needs some mode, and
    // the fd's rights still forbid reads the guest did not ask for.
    opts.read(mode.read || !write);
    let file = dir.open_with(p, &opts)?;
    if file.metadata()?.is_dir() {
        return Ok(Opened::Dir(Dir::from_std_file(file.into_std())));
    }
    let extra =
        mode.fdflags & (fdflags::NONBLOCK | fdflags::DSYNC | fdflags::SYNC | fdflags::RSYNC);
    if extra != 0 {
        set_host_fdflags(&file, extra | (mode.fdflags & fdflags::APPEND))?;
    }
    Ok(Opened::File(file))
}

/// Sets the WASI fdflags on a host fd (`fcntl(F_SETFL)`; the sync flags can only be
/// given at open time on Linux and are refused here).
pub fn set_host_fdflags(fd: impl rustix::fd::AsFd, flags: u16) -> WasiResult {
    use rustix::fs::OFlags;
    if flags & !fdflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    let mut host = rustix::fs::fcntl_getfl(&fd)?;
    host.set(OFlags::APPEND, flags & fdflags::APPEND != 0);
    host.set(OFlags::NONBLOCK, flags & fdflags::NONBLOCK != 0);
    let current = host_fdflags(&fd)?;
    let sync = fdflags::DSYNC | fdflags::SYNC | fdflags::RSYNC;
    if flags & sync != current & sync {
        return Err(Errno::NotSup);
    }
    rustix::fs::fcntl_setfl(&fd, host)?;
    Ok(())
}

/// The WASI fdflags of a host fd.
pub fn host_fdflags(fd: impl rustix::fd::AsFd) -> WasiResult<u16> {
    use rustix::fs::OFlags;
    let host = rustix::fs::fcntl_getfl(&fd)?;
    let mut f = 0;
    if host.contains(OFlags::APPEND) {
        f |= fdflags::APPEND;
    }
    if host.contains(OFlags::NONBLOCK) {
        f |= fdflags::NONBLOCK;
    }
    if host.contains(OFlags::SYNC) {
        // O_SYNC includes the O_DSYNC bit on Linux.
        f |= fdflags::SYNC;
    } else if host.contains(OFlags::DSYNC) {
        f |= fdflags::DSYNC;
    }
    Ok(f)
}

pub fn create_dir(dir: &Dir, path: &str) -> WasiResult {
    Ok(dir.create_dir(guest_path(path)?)?)
}

pub fn remove_dir(dir: &Dir, path: &str) -> WasiResult {
    Ok(dir.remove_dir(guest_path(path)?)?)
}

pub fn unlink_file(dir: &Dir, path: &str) -> WasiResult {
    let p = guest_path(path)?;
    // A trailing slash names a directory, which unlink never removes.
    if path.ends_with('/') {
        return match dir.symlink_metadata(p) {
            Ok(m) if m.is_dir() => Err(Errno::IsDir),
            Ok(_) => Err(Errno::NotDir),
            Err(e) => Err(e.into()),
        };
    }
    Ok(dir.remove_file(p)?)
}

pub fn rename(from_dir: &Dir, from: &str, to_dir: &Dir, to: &str) -> WasiResult {
    Ok(from_dir.rename(guest_path(from)?, to_dir, guest_path(to)?)?)
}

/// A hard link `to` naming what `from` names. Links are never made to the target of a
/// symlink (`linkat` without `AT_SYMLINK_FOLLOW`), so `follow` is resolved first,
/// beneath the sandbox, and refused when it would need following.
pub fn hard_link(from_dir: &Dir, from: &str, follow: bool, to_dir: &Dir, to: &str) -> WasiResult {
    let p = guest_path(from)?;
    if follow && from_dir.symlink_metadata(p)?.is_symlink() {
        // Following would need the link's resolved location as a path beneath
        // `from_dir`; cap-std offers no such operation, so refuse rather than guess.
        return Err(Errno::NotSup);
    }
    Ok(from_dir.hard_link(p, to_dir, guest_path(to)?)?)
}

/// A symlink at `link` whose contents are `target`. Absolute targets are refused
/// (they could only ever point outside the sandbox).
pub fn symlink(dir: &Dir, target: &str, link: &str) -> WasiResult {
    let t = guest_path(target)?;
    Ok(dir.symlink(t, guest_path(link)?)?)
}

/// The contents of the symlink at `path`.
pub fn read_link(dir: &Dir, path: &str) -> WasiResult<Vec<u8>> {
    let target = dir.read_link(guest_path(path)?)?;
    target
        .into_os_string()
        .into_string()
        .map(String::into_bytes)
        .map_err(|_| Errno::Ilseq)
}

pub fn metadata(dir: &Dir, path: &str, follow: bool) -> WasiResult<Metadata> {
    let p = guest_path(path)?;
    Ok(if follow {
        dir.metadata(p)?
    } else {
        dir.symlink_metadata(p)?
    })
}

/// A time to set: now or a given instant; `None` leaves it unchanged.
pub type TimeSpec = Option<fs_set_times::SystemTimeSpec>;

fn cap_spec(t: TimeSpec) -> Option<cap_fs_ext::SystemTimeSpec> {
    t.map(|t| match t {
        fs_set_times::SystemTimeSpec::SymbolicNow => cap_fs_ext::SystemTimeSpec::SymbolicNow,
        fs_set_times::SystemTimeSpec::Absolute(t) => {
            cap_fs_ext::SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t))
        }
    })
}

pub fn set_times(
    dir: &Dir,
    path: &str,
    follow: bool,
    atime: TimeSpec,
    mtime: TimeSpec,
) -> WasiResult {
    let p = guest_path(path)?;
    if follow {
        dir.set_times(p, cap_spec(atime), cap_spec(mtime))?;
    } else {
        dir.set_symlink_times(p, cap_spec(atime), cap_spec(mtime))?;
    }
    Ok(())
}

/// The WASI filetype of a host file type.
pub fn filetype_of(ft: cap_std::fs::FileType) -> u8 {
    use cap_std::fs::FileTypeExt;
    if ft.is_dir() {
        filetype::DIRECTORY
    } else if ft.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if ft.is_file() {
        filetype::REGULAR_FILE
    } else if ft.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if ft.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if ft.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

fn nanos(secs: i64, nsec: i64) -> u64 {
    (secs.max(0) as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(nsec.max(0) as u64)
}

/// A `filestat` from host metadata.
pub fn filestat(m: &Metadata) -> FileStat {
    use cap_std::fs::MetadataExt;
    FileStat {
        dev: m.dev(),
        ino: m.ino(),
        filetype: filetype_of(m.file_type()),
        nlink: m.nlink(),
        size: m.len(),
        atim: nanos(m.atime(), m.atime_nsec()),
        mtim: nanos(m.mtime(), m.mtime_nsec()),
        ctim: nanos(m.ctime(), m.ctime_nsec()),
    }
}

/// A WASI timestamp (ns since the epoch) as a host time.
pub fn system_time(ns: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;

    fn setup() -> (tempfile::TempDir, Dir) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("inside")).unwrap();
        std::fs::write(t.path().join("inside/file"), b"in").unwrap();
        std::fs::write(t.path().join("secret"), b"SECRET").unwrap();
        std::os::unix::fs::symlink("../secret", t.path().join("inside/up")).unwrap();
        std::os::unix::fs::symlink(t.path().join("secret"), t.path().join("inside/abs")).unwrap();
        std::os::unix::fs::symlink("file", t.path().join("inside/in")).unwrap();
        let d = Dir::open_ambient_dir(t.path().join("inside"), ambient_authority()).unwrap();
        (t, d)
    }

    fn ro() -> OpenMode {
        OpenMode {
            read: true,
            follow: true,
            ..OpenMode::default()
        }
    }

    #[test]
    fn escapes_are_notcapable() {
        let (_t, d) = setup();
        for p in [
            "../secret",
            "/etc/passwd",
            "up",
            "abs",
            "./../inside/../../secret",
        ] {
            assert_eq!(open(&d, p, ro()).err(), Some(Errno::NotCapable), "{p}");
        }
        assert!(matches!(open(&d, "file", ro()), Ok(Opened::File(_))));
        assert!(matches!(open(&d, "in", ro()), Ok(Opened::File(_))));
        assert!(matches!(open(&d, ".", ro()), Ok(Opened::Dir(_))));
        assert_eq!(open(&d, "", ro()).err(), Some(Errno::NoEnt));
        assert_eq!(open(&d, "a\0b", ro()).err(), Some(Errno::Inval));
    }

    #[test]
    fn nofollow_refuses_a_final_symlink() {
        let (_t, d) = setup();
        let m = OpenMode {
            follow: false,
            ..ro()
        };
        assert_eq!(open(&d, "up", m).err(), Some(Errno::Loop));
    }
}

//! WASI errno values and the mapping from host errors to them. Every host failure a
//! WASI call can meet ends here as an errno; none becomes a panic or a trap.

use std::io;

/// A `wasi_snapshot_preview1` errno (the numbering of the spec's `errno` enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum Errno {
    TooBig = 1,
    Acces = 2,
    AddrInUse = 3,
    AddrNotAvail = 4,
    AfNoSupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    BadMsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    ConnAborted = 13,
    ConnRefused = 14,
    ConnReset = 15,
    Deadlk = 16,
    DestAddrReq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    HostUnreach = 23,
    Idrm = 24,
    Ilseq = 25,
    InProgress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    IsConn = 30,
    IsDir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    MsgSize = 35,
    Multihop = 36,
    NameTooLong = 37,
    NetDown = 38,
    NetReset = 39,
    NetUnreach = 40,
    Nfile = 41,
    NoBufs = 42,
    NoDev = 43,
    NoEnt = 44,
    NoExec = 45,
    NoLck = 46,
    NoLink = 47,
    NoMem = 48,
    NoMsg = 49,
    NoProtoOpt = 50,
    NoSpc = 51,
    NoSys = 52,
    NotConn = 53,
    NotDir = 54,
    NotEmpty = 55,
    NotRecoverable = 56,
    NotSock = 57,
    NotSup = 58,
    NoTty = 59,
    Nxio = 60,
    Overflow = 61,
    OwnerDead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    ProtoNoSupport = 66,
    ProtoType = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    TimedOut = 73,
    TxtBsy = 74,
    Xdev = 75,
    NotCapable = 76,
}

/// The result of a WASI call's body; `Ok` becomes errno 0 (`success`).
pub type WasiResult<T = ()> = Result<T, Errno>;

impl Errno {
    /// The errno as the i32 a WASI function returns.
    pub fn code(self) -> i32 {
        self as u16 as i32
    }

    /// The WASI errno for a host (Linux/POSIX) errno.
    pub fn from_host(e: rustix::io::Errno) -> Errno {
        use rustix::io::Errno as H;
        match e {
            H::TOOBIG => Errno::TooBig,
            H::ACCESS => Errno::Acces,
            H::ADDRINUSE => Errno::AddrInUse,
            H::ADDRNOTAVAIL => Errno::AddrNotAvail,
            H::AFNOSUPPORT => Errno::AfNoSupport,
            // EWOULDBLOCK is the same number on Linux.
            H::AGAIN => Errno::Again,
            H::ALREADY => Errno::Already,
            H::BADF => Errno::Badf,
            H::BADMSG => Errno::BadMsg,
            H::BUSY => Errno::Busy,
            H::CANCELED => Errno::Canceled,
            H::CHILD => Errno::Child,
            H::CONNABORTED => Errno::ConnAborted,
            H::CONNREFUSED => Errno::ConnRefused,
            H::CONNRESET => Errno::ConnReset,
            H::DEADLK => Errno::Deadlk,
            H::DESTADDRREQ => Errno::DestAddrReq,
            H::DOM => Errno::Dom,
            H::DQUOT => Errno::Dquot,
            H::EXIST => Errno::Exist,
            H::FAULT => Errno::Fault,
            H::FBIG => Errno::Fbig,
            H::HOSTUNREACH => Errno::HostUnreach,
            H::IDRM => Errno::Idrm,
            H::ILSEQ => Errno::Ilseq,
            H::INPROGRESS => Errno::InProgress,
            H::INTR => Errno::Intr,
            H::INVAL => Errno::Inval,
            H::IO => Errno::Io,
            H::ISCONN => Errno::IsConn,
            H::ISDIR => Errno::IsDir,
            H::LOOP => Errno::Loop,
            H::MFILE => Errno::Mfile,
            H::MLINK => Errno::Mlink,
            H::MSGSIZE => Errno::MsgSize,
            H::MULTIHOP => Errno::Multihop,
            H::NAMETOOLONG => Errno::NameTooLong,
            H::NETDOWN => Errno::NetDown,
            H::NETRESET => Errno::NetReset,
            H::NETUNREACH => Errno::NetUnreach,
            H::NFILE => Errno::Nfile,
            H::NOBUFS => Errno::NoBufs,
            H::NODEV => Errno::NoDev,
            H::NOENT => Errno::NoEnt,
            H::NOEXEC => Errno::NoExec,
            H::NOLCK => Errno::NoLck,
            H::NOLINK => Errno::NoLink,
            H::NOMEM => Errno::NoMem,
            H::NOMSG => Errno::NoMsg,
            H::NOPROTOOPT => Errno::NoProtoOpt,
            H::NOSPC => Errno::NoSpc,
            H::NOSYS => Errno::NoSys,
            H::NOTCONN => Errno::NotConn,
            H::NOTDIR => Errno::NotDir,
            H::NOTEMPTY => Errno::NotEmpty,
            H::NOTRECOVERABLE => Errno::NotRecoverable,
            H::NOTSOCK => Errno::NotSock,
            // ENOTSUP and EOPNOTSUPP are one number on Linux.
            H::NOTSUP => Errno::NotSup,
            H::NOTTY => Errno::NoTty,
            H::NXIO => Errno::Nxio,
            H::OVERFLOW => Errno::Overflow,
            H::OWNERDEAD => Errno::OwnerDead,
            H::PERM => Errno::Perm,
            H::PIPE => Errno::Pipe,
            H::PROTO => Errno::Proto,
            H::PROTONOSUPPORT => Errno::ProtoNoSupport,
            H::PROTOTYPE => Errno::ProtoType,
            H::RANGE => Errno::Range,
            H::ROFS => Errno::Rofs,
            H::SPIPE => Errno::Spipe,
            H::SRCH => Errno::Srch,
            H::STALE => Errno::Stale,
            H::TIMEDOUT => Errno::TimedOut,
            H::TXTBSY => Errno::TxtBsy,
            H::XDEV => Errno::Xdev,
            // An errno WASI has no name for: the closest generic one.
            _ => Errno::Io,
        }
    }

    /// The WASI errno for an I/O error. cap-std reports a path that would leave the
    /// sandbox as `PermissionDenied` without an OS errno; that is the one case WASI
    /// calls `notcapable`.
    pub fn from_io(e: &io::Error) -> Errno {
        if let Some(raw) = e.raw_os_error() {
            return Errno::from_host(rustix::io::Errno::from_raw_os_error(raw));
        }
        match e.kind() {
            io::ErrorKind::PermissionDenied => Errno::NotCapable,
            io::ErrorKind::NotFound => Errno::NoEnt,
            io::ErrorKind::AlreadyExists => Errno::Exist,
            // Includes paths with an interior NUL, which no host call accepts.
            io::ErrorKind::InvalidInput => Errno::Inval,
            io::ErrorKind::InvalidData => Errno::Ilseq,
            io::ErrorKind::WouldBlock => Errno::Again,
            io::ErrorKind::Interrupted => Errno::Intr,
            io::ErrorKind::BrokenPipe => Errno::Pipe,
            io::ErrorKind::UnexpectedEof => Errno::Io,
            io::ErrorKind::OutOfMemory => Errno::NoMem,
            io::ErrorKind::Unsupported => Errno::NotSup,
            io::ErrorKind::WriteZero => Errno::NoSpc,
            io::ErrorKind::TimedOut => Errno::TimedOut,
            io::ErrorKind::IsADirectory => Errno::IsDir,
            io::ErrorKind::NotADirectory => Errno::NotDir,
            io::ErrorKind::DirectoryNotEmpty => Errno::NotEmpty,
            io::ErrorKind::ReadOnlyFilesystem => Errno::Rofs,
            io::ErrorKind::StorageFull => Errno::NoSpc,
            io::ErrorKind::FileTooLarge => Errno::Fbig,
            io::ErrorKind::CrossesDevices => Errno::Xdev,
            io::ErrorKind::TooManyLinks => Errno::Mlink,
            io::ErrorKind::InvalidFilename => Errno::NameTooLong,
            io::ErrorKind::ArgumentListTooLong => Errno::TooBig,
            io::ErrorKind::Deadlock => Errno::Deadlk,
            io::ErrorKind::ResourceBusy => Errno::Busy,
            io::ErrorKind::ExecutableFileBusy => Errno::TxtBsy,
            io::ErrorKind::NotSeekable => Errno::Spipe,
            io::ErrorKind::StaleNetworkFileHandle => Errno::Stale,
            _ => Errno::Io,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        Errno::from_io(&e)
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Errno {
        Errno::from_host(e)
    }
}

impl From<std::num::TryFromIntError> for Errno {
    fn from(_: std::num::TryFromIntError) -> Errno {
        Errno::Overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_errnos_map_by_meaning() {
        let e = io::Error::from_raw_os_error(rustix::io::Errno::NOENT.raw_os_error());
        assert_eq!(Errno::from(e), Errno::NoEnt);
        let e = io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error());
        assert_eq!(Errno::from(e), Errno::Acces);
        assert_eq!(Errno::from(rustix::io::Errno::LOOP), Errno::Loop);
        assert_eq!(Errno::from(rustix::io::Errno::XDEV), Errno::Xdev);
    }

    #[test]
    fn sandbox_escape_is_notcapable() {
        let e = io::Error::new(io::ErrorKind::PermissionDenied, "a path led outside");
        assert_eq!(Errno::from(e).code(), 76);
    }
}

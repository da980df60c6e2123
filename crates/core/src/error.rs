//! The one error type of the runtime. Every failure that reaches the public API is an
//! [`Error`]: its [`ErrorKind`] says what class of failure it is (so tests and embedders
//! can branch on it) and its message says what and where.

use crate::trap::Trap;
use std::fmt;

/// What class of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The bytes are not a well-formed wasm binary.
    Malformed,
    /// The module is well formed but does not validate.
    Invalid,
    /// The module uses a feature that no mode of this build supports (SIMD, threads, ...),
    /// or the requested mode is not built yet.
    Unsupported,
    /// An import could not be resolved, or resolved to something of the wrong kind or type.
    Link,
    /// Executing wasm code trapped; [`Error::trap`] gives the trap.
    Trap,
    /// A registry operation was refused (unknown module or export, name in use,
    /// module still imported by others, ...).
    Registry,
    /// A patch or module update was refused: the new version does not fit what is
    /// running (another type, a layout the body depends on, an import a dependent needs).
    Incompatible,
    /// A host call passed wrong arguments (count or types) to a wasm function.
    Argument,
    /// A resource limit of the host was hit (address space, file, ...).
    Resource,
}

/// The error type of rwamr. `{}` gives the message on one line; `{:#}` and `{:?}` (what
/// `unwrap` prints) add a trap's wasm backtrace, a frame a line.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    trap: Option<Box<Trap>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            trap: None,
        }
    }
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Malformed, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    pub fn link(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Link, message)
    }
    pub fn registry(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Registry, message)
    }
    pub fn incompatible(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Incompatible, message)
    }
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Argument, message)
    }
    pub fn resource(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Resource, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The trap, when this error is one.
    pub fn trap(&self) -> Option<&Trap> {
        self.trap.as_deref()
    }
    /// Prefixes the message with where the error happened (`"module `a`: "`).
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Self {
        Error {
            kind: ErrorKind::Trap,
            message: format!("wasm trap: {trap}"),
            trap: Some(Box::new(trap)),
        }
    }
}

/// An error inside a host function becomes its trap: the inner trap itself when the
/// error is one (a nested call trapped), otherwise a host trap with the error's message.
impl From<Error> for Trap {
    fn from(e: Error) -> Self {
        match e.trap {
            Some(trap) => *trap,
            None => Trap::host(e.message),
        }
    }
}

impl From<crate::trap::TrapCode> for Error {
    fn from(code: crate::trap::TrapCode) -> Self {
        Trap::new(code).into()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match &self.trap {
            Some(trap) if f.alternate() => trap.write_backtrace(f),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} error: {self:#}", self.kind)
    }
}

impl std::error::Error for Error {}

//! Traps: the ways wasm execution can stop abnormally, with the spec's reasons.

use std::fmt;

/// Why execution trapped. `Display` gives the spec's wording (the text the spec test
/// scripts expect), so `trap.to_string()` can be compared with `assert_trap` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapCode {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    UninitializedElement,
    /// `call_indirect` with an index outside its table.
    UndefinedElement,
    BadSignature,
    IntegerOverflow,
    IntegerDivisionByZero,
    BadConversionToInteger,
    /// The configured call-depth limit or the interpreter's value stack was exhausted.
    StackOverflow,
    /// A host function returned an error.
    Host,
    /// The function's module was unloaded while a handle to it was still held.
    Unloaded,
    /// The thread's fuel ran out (see `meter.rs`).
    OutOfFuel,
    /// The thread's epoch deadline came (see `meter.rs`).
    Interrupted,
    /// Another thread runs the instance (with `Contention::Fail`), or waiting for it
    /// would deadlock (see `exclusive.rs`).
    Busy,
    /// An atomic access at an address that is not a multiple of its size.
    UnalignedAtomic,
    /// `memory.atomic.wait32/64` on a memory that is not shared.
    ExpectedSharedMemory,
    /// Not an error: the program asked to exit (WASI `proc_exit`); see
    /// [`Trap::exit_status`]. It unwinds wasm like a trap.
    Exit,
}

impl TrapCode {
    /// The spec's wording for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::Host => "host function error",
            TrapCode::Unloaded => "function's module was unloaded",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::Interrupted => "interrupted: the epoch deadline was reached",
            TrapCode::Busy => "instance busy",
            TrapCode::UnalignedAtomic => "unaligned atomic",
            TrapCode::ExpectedSharedMemory => "expected shared memory",
            TrapCode::Exit => "program exited",
        }
    }
}

impl fmt::Display for TrapCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// A trap: its code, and for host traps the host's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    code: TrapCode,
    detail: Option<String>,
    exit_status: Option<i32>,
    backtrace: Vec<FrameInfo>,
    /// Frames active at the trap that the backtrace leaves out (deep recursion).
    omitted_frames: usize,
}

/// One wasm frame of a trap's backtrace, innermost first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    /// The name the module was instantiated under.
    pub module: String,
    /// Function index in the module's function index space.
    pub func_index: u32,
    /// From the name section (or an export), when the module has one.
    pub func_name: Option<String>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.func_name {
            Some(n) => write!(f, "{}!{n}", self.module),
            None => write!(f, "{}!func[{}]", self.module, self.func_index),
        }
    }
}

impl Trap {
    /// The most frames a tier records in a backtrace: the innermost ones tell most, and
    /// deep recursion would make huge ones.
    pub const MAX_FRAMES: usize = 64;

    pub fn new(code: TrapCode) -> Self {
        Trap {
            code,
            detail: None,
            exit_status: None,
            backtrace: Vec::new(),
            omitted_frames: 0,
        }
    }
    /// A trap raised by a host function, with its message.
    pub fn host(message: impl Into<String>) -> Self {
        Trap {
            detail: Some(message.into()),
            ..Trap::new(TrapCode::Host)
        }
    }
    /// A trap of `code` with more said about it.
    pub fn with_detail(code: TrapCode, detail: impl Into<String>) -> Self {
        Trap {
            detail: Some(detail.into()),
            ..Trap::new(code)
        }
    }
    /// The program exits with `status` (WASI `proc_exit`): unwinds like a trap.
    pub fn exit(status: i32) -> Self {
        Trap {
            exit_status: Some(status),
            ..Trap::new(TrapCode::Exit)
        }
    }
    /// The exit status, when this "trap" is a program exit.
    pub fn exit_status(&self) -> Option<i32> {
        self.exit_status
    }
    /// The wasm frames active when the trap happened, innermost first (empty when the
    /// tier does not record them).
    pub fn backtrace(&self) -> &[FrameInfo] {
        &self.backtrace
    }
    /// Appends the frame of `func_index` in `module` (tiers call this while unwinding,
    /// innermost frame first, for at most [`Trap::MAX_FRAMES`] frames). The name is kept
    /// as messages show it (`module::shown_name`).
    pub fn push_frame(&mut self, module: &str, func_index: u32, func_name: Option<&str>) {
        self.backtrace.push(FrameInfo {
            module: crate::module::shown_name(module),
            func_index,
            func_name: func_name.map(crate::module::shown_name),
        });
    }
    /// Records that `n` more frames were active than the backtrace holds.
    pub fn note_omitted_frames(&mut self, n: usize) {
        self.omitted_frames += n;
    }
    /// How many active frames the backtrace leaves out (beyond [`Trap::MAX_FRAMES`]).
    pub fn omitted_frames(&self) -> usize {
        self.omitted_frames
    }
    pub fn code(&self) -> TrapCode {
        self.code
    }
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Self {
        Trap::new(code)
    }
}

/// `{}`: what happened, on one line. `{:#}`: then the wasm backtrace, a frame a line.
impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.detail, self.exit_status) {
            (_, Some(s)) => write!(f, "program exited with status {s}")?,
            (Some(d), None) => write!(f, "{}: {d}", self.code)?,
            (None, None) => write!(f, "{}", self.code)?,
        }
        if f.alternate() {
            self.write_backtrace(f)?;
        }
        Ok(())
    }
}

impl Trap {
    /// The backtrace as `{:#}` shows it: after a newline, `wasm backtrace:` and a
    /// numbered line per frame (nothing when there are no frames).
    pub(crate) fn write_backtrace(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.backtrace.is_empty() {
            return Ok(());
        }
        write!(f, "\nwasm backtrace:")?;
        for (i, frame) in self.backtrace.iter().enumerate() {
            write!(f, "\n  {i:>3}: {frame}")?;
        }
        if self.omitted_frames > 0 {
            write!(f, "\n  ... {} more frames", self.omitted_frames)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}

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
}

impl Trap {
    pub fn new(code: TrapCode) -> Self {
        Trap { code, detail: None }
    }
    /// A trap raised by a host function, with its message.
    pub fn host(message: impl Into<String>) -> Self {
        Trap {
            code: TrapCode::Host,
            detail: Some(message.into()),
        }
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

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for Trap {}

//! rwamr's runtime core: decoding and validation ([`module`]), types and canonical
//! signature ids ([`types`]), values ([`val`]), traps ([`trap`]), linear memory
//! ([`memory`]), tables, globals, instances, host functions, and the function-slot
//! table ([`slot`]) through which every call goes.
//!
//! Execution tiers (the interpreter, the Cranelift tiers) plug in through
//! [`compile::Compiler`], [`slot::WasmCode`] and [`slot::NativeStubs`], which the engine
//! is given; this crate depends on none of them.

pub mod compile;
pub mod engine;
pub mod error;
pub mod exclusive;
mod forward;
pub mod func;
pub mod global;
mod holders;
pub mod host;
pub mod instance;
pub mod limits;
pub mod memory;
pub mod meter;
pub mod module;
pub mod slot;
pub mod table;
pub mod translate;
pub mod trap;
pub mod types;
pub mod val;
pub mod vmctx;

pub use compile::{compile_each, CompiledModule, Compiler};
pub use engine::{Engine, Limits, Mode, UNCHECKED_MEMORY_GUARD};
pub use error::{Error, ErrorKind, Result};
pub use exclusive::Contention;
pub use func::{Func, TypedFunc, WasmParams, WasmResults, WasmTy};
pub use global::{Global, GlobalRef};
pub use host::{
    Caller, CallerMemory, HostFunc, HostModule, HostReturn, IntoHostFunc, StateGuard, WithCaller,
};
pub use instance::{Extern, Instance, NewCode, ResolvedImport};
pub use limits::{ResourceLimiter, ResourceLimits};
pub use memory::{
    ImageSource, Memory, MemoryImage, MemoryPlan, MemoryView, RmwOp, WaitResult, PAGE_SIZE,
};
pub use meter::{Budget, Meter, Metering};
pub use module::{ExternKind, Module};
pub use slot::{FuncCode, FuncEntry, FuncSlot, NativeStubs, WasmCode};
pub use table::Table;
pub use trap::{FrameInfo, Trap, TrapCode};
pub use types::{FuncType, GlobalType, MemoryType, SigId, TableType, ValType};
pub use val::Val;
pub use vmctx::VmCtxLayout;
/// The decoder the tiers' translators visit (for `visit_operators!`).
#[doc(hidden)]
pub use wasmparser;

//! The calling convention of compiled code, in one place.
//!
//! Every compiled wasm function has the native signature
//! `(entry: *const FuncEntry, tctx: *const ThreadCtx, stack_left: i64, params...) ->
//! results`:
//! - `entry` is the slot entry the caller loaded; the callee reads its instance context
//!   (`FuncEntry::vmctx`) from it, so a patched entry carries its own context.
//! - `tctx` is the calling thread's [`ThreadCtx`]: the stack limit every prologue checks
//!   and the table of runtime helpers. Passing it keeps the code free of relocations
//!   (a loader of stored code would only map it) and of thread-local access.
//! - `stack_left` is what the caller leaves of the thread's stack budget (core's
//!   `meter.rs`): the callee traps when its frame does not fit and passes on what is left
//!   after it. Passed in a register, the budget costs a subtraction and a compare per
//!   call; kept in memory it cost a store-to-load round trip at every entry and return.
//!   Code that leaves compiled code (native stubs) writes it to the thread's meter, and
//!   the entry from the host reads it from there.
//!
//! Before every call, compiled code also writes its instance context to
//! [`ThreadCtx::caller_vmctx`]: native stubs pass it to host functions, whose `Caller` is
//! the calling instance (WASI reads its memory). A store off the critical path, where a
//! parameter would take one of the six argument registers from every call.
//!
//! In an engine with a compiled tier every slot entry has a native entry point: compiled
//! code's own, or its type's stub from the engine (`stubs.rs`). So a call is: load the
//! slot's entry, load its native entry point, call it. No branch, no relocation.
//!
//! Values: i32/i64/f32/f64 as themselves, references as i64 cells (see core's `val.rs`).

#[cfg(feature = "cranelift")]
use cranelift_codegen::ir::{types, AbiParam, ArgumentPurpose, Signature, Type};
#[cfg(feature = "cranelift")]
use cranelift_codegen::isa::CallConv;
#[cfg(feature = "cranelift")]
use rwamr_core::{FuncType, ValType};
use std::cell::Cell;

/// Where the wasm parameters start among a compiled function's native parameters.
pub const FIRST_PARAM: usize = 3;

#[cfg(feature = "cranelift")]
/// Pointer-sized integer type (x86_64 and aarch64 only).
pub const PTR: Type = types::I64;

/// The Cranelift type of a wasm value.
#[cfg(feature = "cranelift")]
pub fn clif_type(t: ValType) -> Type {
    match t {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::FuncRef | ValType::ExternRef => types::I64,
    }
}

/// The calling convention of compiled wasm functions.
#[cfg(feature = "cranelift")]
pub const CALL_CONV: CallConv = CallConv::SystemV;

/// The native signature of a wasm function of type `ty`.
#[cfg(feature = "cranelift")]
pub fn native_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CALL_CONV);
    sig.params.push(AbiParam::new(PTR));
    // The thread context is Cranelift's "vmctx": the stack limit is read through it.
    sig.params
        .push(AbiParam::special(PTR, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .extend(ty.params().iter().map(|t| AbiParam::new(clif_type(*t))));
    sig.returns
        .extend(ty.results().iter().map(|t| AbiParam::new(clif_type(*t))));
    sig
}

/// The signature of a function's on-stack-replacement entry (see `translate/mod.rs`):
/// `(entry, tctx, stack_left, locals: *const u64, at_loop: i32) -> results`, the locals
/// in 8-byte cells as the first tier's frame keeps them, `at_loop` the loop to enter.
#[cfg(feature = "cranelift")]
pub fn osr_signature(ty: &FuncType) -> Signature {
    let mut sig = native_signature(&FuncType::new(Vec::new(), ty.results().to_vec()));
    sig.params.push(AbiParam::new(PTR));
    sig.params.push(AbiParam::new(types::I32));
    sig
}

/// The signature of the array-call trampolines (`trampolines.rs`):
/// `(native, entry, tctx, cells)`, arguments in `cells` on entry, results there on return.
#[cfg(feature = "cranelift")]
pub fn array_signature() -> Signature {
    let mut sig = Signature::new(CALL_CONV);
    sig.params.push(AbiParam::new(PTR));
    sig.params.push(AbiParam::new(PTR));
    sig.params.push(AbiParam::new(PTR));
    sig.params.push(AbiParam::new(PTR));
    sig
}

/// Per-thread state compiled code reads. `repr(C)`: code reads the fields at the offsets
/// below.
#[repr(C)]
pub struct ThreadCtx {
    /// Lowest stack address a function may grow to (checked in every prologue).
    pub stack_limit: Cell<usize>,
    /// The runtime helpers (`helpers.rs`).
    pub helpers: *const u8,
    /// The thread's fuel and deadline (core's `meter.rs`), set by every entry: metered
    /// code charges fuel and reads the deadline there.
    pub meter: Cell<*const rwamr_core::Meter>,
    /// The context of the instance whose compiled code made the latest call (0 from the
    /// host): written before every call, read by native stubs.
    pub caller_vmctx: Cell<usize>,
}

impl ThreadCtx {
    pub const STACK_LIMIT_OFFSET: i32 = std::mem::offset_of!(ThreadCtx, stack_limit) as i32;
    pub const HELPERS_OFFSET: i32 = std::mem::offset_of!(ThreadCtx, helpers) as i32;
    pub const METER_OFFSET: i32 = std::mem::offset_of!(ThreadCtx, meter) as i32;
    pub const CALLER_VMCTX_OFFSET: i32 = std::mem::offset_of!(ThreadCtx, caller_vmctx) as i32;
}

/// Trap codes of compiled code beyond Cranelift's own (`TrapCode::user`).
pub mod user_trap {
    pub const UNREACHABLE: u8 = 1;
    pub const TABLE_OUT_OF_BOUNDS: u8 = 2;
    pub const UNDEFINED_ELEMENT: u8 = 3;
    pub const UNINITIALIZED_ELEMENT: u8 = 4;
    pub const BAD_SIGNATURE: u8 = 5;
    /// A helper or a callee outside compiled code returned a trap; it waits in the
    /// thread's pending-trap cell (`traps.rs`).
    pub const PENDING: u8 = 6;
    pub const OUT_OF_FUEL: u8 = 7;
    pub const INTERRUPTED: u8 = 8;
    pub const UNALIGNED_ATOMIC: u8 = 9;
}

/// The raw bytes of Cranelift's own trap codes, as its trap tables record them (it
/// counts them down from 255): what the trap handler reads, with or without Cranelift
/// in the build.
pub mod clif_trap {
    pub const STACK_OVERFLOW: u8 = 251;
    pub const INTEGER_OVERFLOW: u8 = 252;
    pub const HEAP_OUT_OF_BOUNDS: u8 = 253;
    pub const INTEGER_DIVISION_BY_ZERO: u8 = 254;
    pub const BAD_CONVERSION_TO_INTEGER: u8 = 255;
}

/// What the IR builder needs to know of the target.
#[cfg(feature = "cranelift")]
pub fn frontend_config() -> cranelift_codegen::isa::TargetFrontendConfig {
    cranelift_codegen::isa::TargetFrontendConfig {
        default_call_conv: CALL_CONV,
        pointer_width: target_lexicon::PointerWidth::U64,
        page_size_align_log2: 12,
    }
}

/// The revision of the code conventions the translator follows beyond the offsets
/// [`runtime_fingerprint`] covers: bump it when code compiled before would misbehave
/// with this runtime (AOT files record it).
pub const CODE_REVISION: u32 = 1;

/// Everything compiled code takes for granted about the runtime it runs in, as one
/// number: the offsets it reads, the helper table, the trap codes. An AOT file records
/// it and loads only where it is the same.
pub fn runtime_fingerprint() -> u64 {
    use rwamr_core::{FuncEntry, Meter, Table};
    let facts: [u64; 21] = [
        CODE_REVISION.into(),
        FIRST_PARAM as u64,
        FuncEntry::NATIVE_OFFSET as u64,
        FuncEntry::VMCTX_OFFSET as u64,
        FuncEntry::SIG_OFFSET as u64,
        ThreadCtx::STACK_LIMIT_OFFSET as u64,
        ThreadCtx::HELPERS_OFFSET as u64,
        ThreadCtx::METER_OFFSET as u64,
        ThreadCtx::CALLER_VMCTX_OFFSET as u64,
        Meter::FUEL_OFFSET as u64,
        Meter::DEADLINE_OFFSET as u64,
        Meter::STACK_LEFT_OFFSET as u64,
        Table::BASE_OFFSET as u64,
        Table::LEN_OFFSET as u64,
        std::mem::size_of::<crate::helpers::Helpers>() as u64,
        user_trap::INTERRUPTED.into(),
        user_trap::UNALIGNED_ATOMIC.into(),
        rwamr_core::meter::FRAME_OVERHEAD.into(),
        rwamr_core::VmCtxLayout::OWNER_OFFSET as u64,
        std::mem::size_of::<rwamr_core::SigId>() as u64,
        rwamr_core::PAGE_SIZE as u64,
    ];
    let bytes: Vec<u8> = facts.iter().flat_map(|f| f.to_le_bytes()).collect();
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

#[cfg(all(test, feature = "cranelift"))]
mod tests {
    use cranelift_codegen::ir::TrapCode;

    #[test]
    fn clif_trap_bytes_are_cranelifts() {
        for (ours, theirs) in [
            (super::clif_trap::STACK_OVERFLOW, TrapCode::STACK_OVERFLOW),
            (
                super::clif_trap::INTEGER_OVERFLOW,
                TrapCode::INTEGER_OVERFLOW,
            ),
            (
                super::clif_trap::HEAP_OUT_OF_BOUNDS,
                TrapCode::HEAP_OUT_OF_BOUNDS,
            ),
            (
                super::clif_trap::INTEGER_DIVISION_BY_ZERO,
                TrapCode::INTEGER_DIVISION_BY_ZERO,
            ),
            (
                super::clif_trap::BAD_CONVERSION_TO_INTEGER,
                TrapCode::BAD_CONVERSION_TO_INTEGER,
            ),
        ] {
            assert_eq!(ours, theirs.as_raw().get());
        }
    }
}

//! Runtime helpers: the operations compiled code leaves to Rust (growing memories and
//! tables, bulk operations, writes that must keep holders, calls into code that is not
//! compiled). Code reaches them through the table in the thread context, never through
//! relocations, so the code needs none.
//!
//! Every helper takes the caller's vmctx first and returns an `i32`: a result, or for
//! fallible ones a status (0 ok, 1 trapped, the trap waiting in `traps::set_pending`),
//! or for the fallible ones with a result ([`Helper::fails_with_all_ones`]) the result,
//! all ones when it trapped.

use crate::traps;
#[cfg(feature = "cranelift")]
use cranelift_codegen::ir::{types, AbiParam, Signature, Type};
use rwamr_core::meter::Bulk;
use rwamr_core::{FuncCode, FuncEntry, Instance, Trap, TrapCode};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The helpers, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    MemoryGrow,
    MemoryInit,
    DataDrop,
    TableSet,
    TableGrow,
    TableFill,
    TableCopy,
    TableInit,
    ElemDrop,
    GlobalSetRef,
    CallCells,
    CopyBytes,
    FillBytes,
    EnterInstance,
    TierUp,
    AtomicWait,
    AtomicNotify,
}

impl Helper {
    /// Offset of the helper's address in [`Helpers`].
    pub fn offset(self) -> i32 {
        8 * self as i32
    }

    /// Parameter types after the vmctx.
    #[cfg(feature = "cranelift")]
    pub fn params(self) -> &'static [Type] {
        use types::{I32, I64};
        match self {
            Helper::MemoryGrow => &[I32, I32],
            Helper::MemoryInit => &[I32, I32, I32, I32, I32],
            Helper::DataDrop | Helper::ElemDrop => &[I32],
            Helper::TableSet => &[I32, I32, I64],
            Helper::TableGrow => &[I32, I64, I32],
            Helper::TableFill => &[I32, I32, I64, I32],
            Helper::TableCopy => &[I32, I32, I32, I32, I32],
            Helper::TableInit => &[I32, I32, I32, I32, I32],
            Helper::GlobalSetRef => &[I32, I64],
            Helper::CallCells => &[I64, I64],
            Helper::CopyBytes => &[I64, I64, I64],
            Helper::FillBytes => &[I64, I32, I64],
            Helper::EnterInstance => &[],
            Helper::TierUp => &[I64, I32],
            // Memory, effective address, expected value (zero-extended), timeout, size.
            Helper::AtomicWait => &[I32, I64, I64, I64, I32],
            // Memory, effective address, count.
            Helper::AtomicNotify => &[I32, I64, I32],
        }
    }

    #[cfg(feature = "cranelift")]
    /// The helper's native signature: the vmctx, [`Helper::params`], an `i32` result
    /// (`TierUp`'s is a code address).
    pub fn signature(self) -> Signature {
        let mut sig = Signature::new(crate::abi::CALL_CONV);
        sig.params.push(AbiParam::new(crate::abi::PTR));
        sig.params
            .extend(self.params().iter().map(|t| AbiParam::new(*t)));
        let result = match self {
            Helper::TierUp => crate::abi::PTR,
            _ => types::I32,
        };
        sig.returns.push(AbiParam::new(result));
        sig
    }

    /// Whether the result is a status that the caller must turn into a trap.
    pub fn can_trap(self) -> bool {
        !matches!(
            self,
            Helper::MemoryGrow
                | Helper::TableGrow
                | Helper::DataDrop
                | Helper::ElemDrop
                | Helper::GlobalSetRef
                | Helper::TierUp
                | Helper::AtomicWait
                | Helper::AtomicNotify
        )
    }

    /// Whether the result is a value, all ones when the helper trapped (the results
    /// of waits and notifies never are).
    pub fn fails_with_all_ones(self) -> bool {
        matches!(self, Helper::AtomicWait | Helper::AtomicNotify)
    }
}

type Vm = *const u64;

/// The helper table compiled code calls through. `repr(C)`, in [`Helper`] order.
#[repr(C)]
pub struct Helpers {
    memory_grow: extern "C" fn(Vm, u32, u32) -> u32,
    memory_init: extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    data_drop: extern "C" fn(Vm, u32) -> u32,
    table_set: extern "C" fn(Vm, u32, u32, u64) -> u32,
    table_grow: extern "C" fn(Vm, u32, u64, u32) -> u32,
    table_fill: extern "C" fn(Vm, u32, u32, u64, u32) -> u32,
    table_copy: extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    table_init: extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    elem_drop: extern "C" fn(Vm, u32) -> u32,
    global_set_ref: extern "C" fn(Vm, u32, u64) -> u32,
    call_cells: extern "C" fn(Vm, *const FuncEntry, *mut u64) -> u32,
    copy_bytes: unsafe extern "C" fn(Vm, *mut u8, *const u8, usize) -> u32,
    fill_bytes: unsafe extern "C" fn(Vm, *mut u8, u32, usize) -> u32,
    enter_instance: extern "C" fn(Vm) -> u32,
    tier_up: extern "C" fn(Vm, *const FuncEntry, u32) -> usize,
    atomic_wait: extern "C" fn(Vm, u32, u64, u64, i64, u32) -> u32,
    atomic_notify: extern "C" fn(Vm, u32, u64, u32) -> u32,
}

pub static HELPERS: Helpers = Helpers {
    memory_grow,
    memory_init,
    data_drop,
    table_set,
    table_grow,
    table_fill,
    table_copy,
    table_init,
    elem_drop,
    global_set_ref,
    call_cells,
    copy_bytes,
    fill_bytes,
    enter_instance,
    tier_up,
    atomic_wait,
    atomic_notify,
};

/// The instance of a vmctx compiled code passed.
fn instance<'a>(vmctx: Vm) -> &'a Instance {
    // SAFETY: compiled code passes the vmctx of the instance it runs in, which is alive
    // while its code runs (the entry that called it keeps it).
    unsafe { Instance::from_vmctx(vmctx) }
}

/// Runs a fallible helper body: a trap (or a panic, which must not unwind into
/// compiled code) becomes the pending trap and status 1.
fn status(f: impl FnOnce() -> Result<(), Trap>) -> u32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(trap)) => {
            traps::set_pending(trap);
            1
        }
        Err(_) => {
            traps::set_pending(Trap::host("a runtime helper panicked"));
            1
        }
    }
}

/// Runs a fallible helper body with a result: a trap (or a panic) becomes the pending
/// trap and the result all ones.
fn value_or_trap(f: impl FnOnce() -> Result<u32, Trap>) -> u32 {
    let mut out = 0;
    match status(|| f().map(|v| out = v)) {
        0 => out,
        _ => u32::MAX,
    }
}

/// Runs an infallible helper body; a panic aborts nothing: it answers `fallback`.
fn value(fallback: u32, f: impl FnOnce() -> u32) -> u32 {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

extern "C" fn memory_grow(vmctx: Vm, mem: u32, delta: u32) -> u32 {
    value(u32::MAX, || {
        instance(vmctx).memory(mem).grow(delta).unwrap_or(u32::MAX)
    })
}

extern "C" fn memory_init(vmctx: Vm, mem: u32, seg: u32, dst: u32, src: u32, len: u32) -> u32 {
    status(|| {
        let inst = instance(vmctx);
        let data = inst.data(seg);
        let end = src as u64 + len as u64;
        if end > data.len() as u64 {
            return Err(Trap::new(TrapCode::MemoryOutOfBounds));
        }
        let bytes = &data[src as usize..end as usize];
        let bulk = Bulk::of(inst.engine());
        // SAFETY: the thread runs the instance's code, so it holds the instance.
        Ok(unsafe { inst.memory(mem).view() }.init(dst as u64, bytes, bulk)?)
    })
}

/// The prologue's slow path: the thread enters an instance with state it does not hold
/// (core's `exclusive.rs`).
/// A function of the Tiered mode's first tier ran out of its hotness budget at its entry
/// or at loop `at_loop` (`translate::NO_LOOP` where the frame cannot move): see
/// `tiered.rs`. Returns the address of the loop's OSR entry for the frame to move to, or
/// 0. Never traps (a failed tier-up leaves the function where it is).
extern "C" fn tier_up(_vmctx: Vm, entry: *const FuncEntry, at_loop: u32) -> usize {
    catch_unwind(AssertUnwindSafe(|| {
        #[cfg(feature = "cranelift")]
        {
            // SAFETY: compiled code passes the entry it runs in, which its caller's epoch
            // guard keeps alive.
            crate::tiered::tier_up(unsafe { &*entry }, at_loop)
        }
        #[cfg(not(feature = "cranelift"))]
        {
            let _ = (entry, at_loop);
            0
        }
    }))
    .unwrap_or(0)
}

extern "C" fn enter_instance(vmctx: Vm) -> u32 {
    status(|| rwamr_core::exclusive::enter_slow(instance(vmctx)))
}

extern "C" fn data_drop(vmctx: Vm, seg: u32) -> u32 {
    value(0, || {
        instance(vmctx).drop_data(seg);
        0
    })
}

extern "C" fn table_set(vmctx: Vm, table: u32, index: u32, val: u64) -> u32 {
    // SAFETY: compiled wasm code passes a value it computed, which validation typed as
    // the element's type: a funcref is 0 or a slot of the instance's engine.
    status(|| Ok(unsafe { instance(vmctx).table(table).set(index, val) }?))
}

extern "C" fn table_grow(vmctx: Vm, table: u32, init: u64, delta: u32) -> u32 {
    value(u32::MAX, || {
        // SAFETY: compiled wasm code passes a value it computed, which validation typed
        // as the element's type: a funcref is 0 or a slot of the instance's engine.
        let old = unsafe { instance(vmctx).table(table).grow(delta, init) };
        old.unwrap_or(u32::MAX)
    })
}

extern "C" fn table_fill(vmctx: Vm, table: u32, dst: u32, val: u64, len: u32) -> u32 {
    status(|| {
        let inst = instance(vmctx);
        let bulk = Bulk::of(inst.engine());
        // SAFETY: compiled wasm code passes a value it computed, which validation typed
        // as the element's type: a funcref is 0 or a slot of the instance's engine.
        Ok(unsafe { inst.table(table).fill(dst, val, len, bulk) }?)
    })
}

extern "C" fn table_copy(vmctx: Vm, dst_t: u32, src_t: u32, dst: u32, src: u32, len: u32) -> u32 {
    status(|| {
        let inst = instance(vmctx);
        // SAFETY: both tables are the instance's, of its engine.
        Ok(unsafe {
            inst.table(dst_t)
                .copy_from(dst, inst.table(src_t), src, len, Bulk::of(inst.engine()))
        }?)
    })
}

extern "C" fn table_init(vmctx: Vm, table: u32, seg: u32, dst: u32, src: u32, len: u32) -> u32 {
    status(|| {
        let inst = instance(vmctx);
        let items = inst.elem_items(seg);
        let bulk = Bulk::of(inst.engine());
        // SAFETY: the segment's cells were evaluated in this instance (see `Instance`).
        Ok(unsafe { inst.table(table).init(dst, &items, src, len, bulk) }?)
    })
}

extern "C" fn elem_drop(vmctx: Vm, seg: u32) -> u32 {
    value(0, || {
        instance(vmctx).drop_elem(seg);
        0
    })
}

extern "C" fn global_set_ref(vmctx: Vm, global: u32, val: u64) -> u32 {
    value(0, || {
        // SAFETY: as for `table_set`.
        unsafe { instance(vmctx).global(global).set(val) };
        0
    })
}

/// Calls `entry`, whose code is not compiled (interpreted or host), with the arguments
/// in `cells`; the results replace them.
extern "C" fn call_cells(vmctx: Vm, entry: *const FuncEntry, cells: *mut u64) -> u32 {
    status(|| {
        // SAFETY: compiled code passes the entry it loaded from a slot, under the epoch
        // guard of the host->wasm call it runs in, so the entry is alive.
        let entry = unsafe { &*entry };
        let n = entry.ty.params().len().max(entry.ty.results().len());
        // SAFETY: the caller passes a stack area of at least `n` cells (the call site
        // sizes it for this type).
        let cells = unsafe { std::slice::from_raw_parts_mut(cells, n) };
        match &entry.code {
            // SAFETY: the entry's own code; `cells` are sized for its type and hold the
            // arguments compiled code passed with the type's native signature.
            FuncCode::Wasm(code) => unsafe { code.call(entry, cells) },
            FuncCode::Host(h) => h.call_cells(instance(vmctx), cells),
        }
    })
}

/// The epoch long bulk operations check, when the engine of `vmctx`'s instance has
/// deadlines.
fn interrupt<'a>(vmctx: Vm) -> Option<&'a rwamr_core::meter::Epoch> {
    Bulk::of(instance(vmctx).engine()).interrupt
}

/// `memory.atomic.wait32/64` (`size` 4 or 8) in memory `mem` at effective address `ea`
/// (unchecked: the memory checks sharing, alignment and bounds).
extern "C" fn atomic_wait(
    vmctx: Vm,
    mem: u32,
    ea: u64,
    expected: u64,
    timeout: i64,
    size: u32,
) -> u32 {
    value_or_trap(|| {
        let memory = instance(vmctx).memory(mem);
        let r = memory.atomic_wait(ea, size as u8, expected, timeout, interrupt(vmctx))?;
        Ok(r as u32)
    })
}

/// `memory.atomic.notify` in memory `mem` at effective address `ea` (unchecked).
extern "C" fn atomic_notify(vmctx: Vm, mem: u32, ea: u64, count: u32) -> u32 {
    value_or_trap(|| Ok(instance(vmctx).memory(mem).atomic_notify(ea, count)?))
}

/// `memory.copy` within or between memories whose bounds compiled code has checked: a
/// `memmove`, in chunks that check the deadline when it is long (core's `copy_bytes`).
///
/// # Safety
/// `src..src+len` and `dst..dst+len` lie inside accessible linear memory.
unsafe extern "C" fn copy_bytes(vmctx: Vm, dst: *mut u8, src: *const u8, len: usize) -> u32 {
    if len <= rwamr_core::memory::BULK_CHUNK {
        // Most copies are short (a program's memcpy): no chunks, no deadline to check.
        // SAFETY: as below.
        unsafe { std::ptr::copy(src, dst, len) };
        return 0;
    }
    status(|| {
        // SAFETY: the caller checked both ranges against the memories' lengths, which
        // never shrink. Other threads may race on the bytes, as wasm's memory model allows.
        Ok(unsafe { rwamr_core::memory::copy_bytes(dst, src, len, interrupt(vmctx)) }?)
    })
}

/// `memory.fill` of a range compiled code has checked: a `memset`, in chunks as
/// [`copy_bytes`].
///
/// # Safety
/// `dst..dst+len` lies inside accessible linear memory.
unsafe extern "C" fn fill_bytes(vmctx: Vm, dst: *mut u8, value: u32, len: usize) -> u32 {
    if len <= rwamr_core::memory::BULK_CHUNK {
        // SAFETY: as below.
        unsafe { std::ptr::write_bytes(dst, value as u8, len) };
        return 0;
    }
    status(|| {
        // SAFETY: the caller checked the range against the memory's length.
        Ok(unsafe { rwamr_core::memory::fill_bytes(dst, value as u8, len, interrupt(vmctx)) }?)
    })
}

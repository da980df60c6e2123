//! The interpreter's value stack and frame access: the only `unsafe` of the interpreter.
//!
//! A thread keeps its value stacks in a pool, so a call from the host does not allocate.
//! Frames are windows of a stack addressed through [`Regs`]; the translator's verifier
//! (`verify.rs`) proves every slot an instruction names is below the function's
//! `frame_size`, and the executor checks `fp + frame_size <= stack length` before it
//! enters a frame. Together these make the unchecked accesses in `Regs` in bounds.

use crate::bytecode::Slot;
use std::cell::{Cell, RefCell};

thread_local! {
    static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
    /// Wasm call depth of this thread across nested host -> wasm entries.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with a value stack of `cells` cells taken from this thread's pool.
pub fn with_stack<R>(cells: usize, f: impl FnOnce(&mut [u64]) -> R) -> R {
    let mut stack = POOL
        .with(|p| p.borrow_mut().pop())
        .filter(|s| s.len() == cells)
        .unwrap_or_else(|| vec![0u64; cells]);
    let r = f(&mut stack);
    POOL.with(|p| p.borrow_mut().push(stack));
    r
}

/// The wasm call depth of this thread before the current execution started.
pub fn depth() -> usize {
    DEPTH.with(|d| d.get())
}

/// Sets the thread's call depth for the duration of `f` (for calls that leave the
/// interpreter: host functions and other tiers, which may re-enter it).
pub fn with_depth<R>(depth: usize, f: impl FnOnce() -> R) -> R {
    let old = DEPTH.with(|d| d.replace(depth));
    let r = f();
    DEPTH.with(|d| d.set(old));
    r
}

/// Access to the cells of one frame.
#[derive(Clone, Copy)]
pub struct Regs {
    fp: *mut u64,
}

impl Regs {
    /// The frame starting at cell `fp` of `stack`.
    ///
    /// # Safety
    /// `fp + frame_size <= stack.len()` for the frame size of the function that will use
    /// these registers, whose slots are all verified to be below that size; and `stack`
    /// must not be accessed except through `Regs` while they are in use.
    #[inline(always)]
    pub unsafe fn new(stack: &mut [u64], fp: usize) -> Regs {
        debug_assert!(fp <= stack.len());
        // SAFETY: `fp <= len` (caller's contract), so the pointer stays in the allocation.
        let fp = unsafe { stack.as_mut_ptr().add(fp) };
        Regs { fp }
    }

    #[inline(always)]
    pub fn get(self, s: Slot) -> u64 {
        // SAFETY: `s < frame_size` (verified at translation) and the frame fits in the
        // stack (checked when the frame was entered); see `Regs::new`.
        unsafe { *self.fp.add(s as usize) }
    }

    #[inline(always)]
    pub fn set(self, s: Slot, v: u64) {
        // SAFETY: as for `get`.
        unsafe { *self.fp.add(s as usize) = v }
    }

    /// Cells `from..from + len` of the frame, for calls that leave the interpreter and for
    /// frame setup.
    #[inline(always)]
    pub fn cells(&mut self, from: usize, len: usize) -> &mut [u64] {
        // SAFETY: callers pass ranges inside the frame (arguments and results of a call
        // lie below `frame_size` by construction; setup ranges are the callee's own frame,
        // checked against the stack length before entry). No other reference to these
        // cells exists while the slice is alive.
        unsafe { std::slice::from_raw_parts_mut(self.fp.add(from), len) }
    }
}

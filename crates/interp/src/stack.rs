//! The interpreter's value stack, frame access and instruction pointer: the only
//! `unsafe` of the interpreter.
//!
//! A thread keeps its value stacks in a pool, so a call from the host does not allocate.
//! Frames are windows of a stack addressed through [`Regs`]; the translator's verifier
//! (`verify.rs`) proves every slot an instruction names is below the function's
//! `frame_size`, and the executor checks that a frame fits in the stack before it enters
//! it ([`Stack::frame`]). Together these make the unchecked accesses in `Regs` in bounds.
//! [`Ip`] walks verified code, whose branches all land inside it and which ends in a
//! jump or return.

use crate::bytecode::Slot;
use crate::dispatch::Op;
use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<Vec<u64>>> = const { RefCell::new(Vec::new()) };
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

/// The bounds of the value stack an execution runs on.
pub struct Stack {
    base: *mut u64,
    end: usize,
}

impl Stack {
    /// The stack of `cells`, borrowed for the whole execution (the caller keeps the
    /// slice borrowed while any `Regs` from it is in use).
    pub fn new(cells: &mut [u64]) -> Stack {
        let base = cells.as_mut_ptr();
        Stack {
            base,
            end: base as usize + cells.len() * 8,
        }
    }

    /// The frame at the bottom of the stack, if `frame_size` cells fit.
    pub fn root(&self, frame_size: u32) -> Option<Regs> {
        self.fits(self.base, frame_size)
            .then_some(Regs { fp: self.base })
    }

    /// The callee frame starting at slot `base` of `caller`, if `frame_size` cells fit.
    #[inline(always)]
    pub fn frame(&self, caller: Regs, base: Slot, frame_size: u32) -> Option<Regs> {
        // `base` is below the caller's frame size (verified), so this stays in the stack.
        let fp = caller.fp.wrapping_add(base as usize);
        self.fits(fp, frame_size).then_some(Regs { fp })
    }

    #[inline(always)]
    fn fits(&self, fp: *mut u64, frame_size: u32) -> bool {
        let start = fp as usize;
        start >= self.base as usize && start + frame_size as usize * 8 <= self.end
    }
}

/// Access to the cells of one frame (only made by [`Stack`], for frames that fit).
#[derive(Clone, Copy)]
pub struct Regs {
    fp: *mut u64,
}

impl Regs {
    #[inline(always)]
    pub fn get(self, s: Slot) -> u64 {
        // SAFETY: `s < frame_size` (verified at translation) and the frame fits in the
        // stack (checked by `Stack` when the frame was made).
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
    pub fn cells<'a>(self, from: usize, len: usize) -> &'a mut [u64] {
        // SAFETY: callers pass ranges inside the frame (arguments and results of a call
        // lie below `frame_size` by construction; setup ranges are the frame's own locals
        // and constants). The slice is used and dropped before any other access to these
        // cells.
        unsafe { std::slice::from_raw_parts_mut(self.fp.add(from), len) }
    }
}

/// The instruction pointer: a position in a verified function's ops. (Non-null, so an
/// `Option<(Ip, Regs)>` fits in two registers.)
#[derive(Clone, Copy)]
pub struct Ip {
    at: std::ptr::NonNull<Op>,
}

impl Ip {
    /// The first op of `ops`, which must come from verified code (see the module docs)
    /// and outlive the use of the pointer (the executor borrows it for the whole run).
    #[inline(always)]
    pub fn start(ops: &[Op]) -> Ip {
        Ip {
            at: std::ptr::NonNull::from(ops).cast(),
        }
    }

    /// The op at the pointer.
    #[inline(always)]
    pub fn op<'a>(self) -> &'a Op {
        // SAFETY: verified code ends in an unconditional jump or return and every branch
        // lands inside it, so the pointer is always on an op of the live code.
        unsafe { self.at.as_ref() }
    }

    /// The next op (there is one: only a jump or return can be last).
    #[inline(always)]
    pub fn next(self) -> Ip {
        self.offset(1)
    }

    /// The op `offset` away from this one (a verified branch target).
    #[inline(always)]
    pub fn offset(self, offset: i32) -> Ip {
        // SAFETY: the target is an op of the same verified code (see `op`), so the
        // pointer stays inside the allocation and is not null.
        let at = unsafe { self.at.offset(offset as isize) };
        Ip { at }
    }
}

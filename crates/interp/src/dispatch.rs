//! How the executor moves from one instruction to the next.
//!
//! Each instruction is an [`Op`]: its [`Instr`] and a pointer to the handler function
//! that executes it (`handlers/`, one per instruction). With optimization on
//! (`cfg(rwamr_tail_calls)`, set by build.rs), a handler ends by calling the next op's
//! handler in tail position, which the compiler turns into a jump: dispatch is threaded,
//! every handler has its own indirect jump (which the branch predictor learns per site),
//! and the interpreter state stays in registers. Without optimization a tail call would
//! grow the native stack, so handlers instead return to a loop that dispatches.

use crate::bytecode::{Instr, InterpFunc};
use crate::stack::{Ip, Regs, Stack};
use rwamr_core::meter::{Epoch, Meter};
use rwamr_core::slot::Guard;
use rwamr_core::{Instance, MemoryView, Trap};

/// Executes the op at `ip` in the frame `fp`, then dispatches onwards.
pub type Handler = for<'a, 'x> fn(Ip, Regs, &'a mut Cx<'x>, Acc) -> Done;

/// The last value a handler wrote to a slot, passed in registers to the next handler:
/// reading it from here instead of from the frame saves the store-to-load round trip
/// through memory on dependency chains (`a = b * c; d = a + e`). Frames are written
/// through, so memory always holds the same value; `Acc::NONE` matches no slot.
#[derive(Clone, Copy)]
pub struct Acc {
    val: u64,
    slot: u32,
}

impl Acc {
    pub const NONE: Acc = Acc {
        val: 0,
        slot: u32::MAX,
    };

    /// The value of slot `s`.
    #[inline(always)]
    pub fn get(self, fp: Regs, s: crate::bytecode::Slot) -> u64 {
        if self.slot == s {
            self.val
        } else {
            fp.get(s)
        }
    }

    /// Writes `v` to slot `s`; the returned `Acc` holds it for the next handler.
    #[inline(always)]
    pub fn set(fp: Regs, s: crate::bytecode::Slot, v: u64) -> Acc {
        fp.set(s, v);
        Acc { val: v, slot: s }
    }
}

/// Where a handler's work leads: the next op, frame and accumulator, or (`None`) the
/// end of the run, with the reason in `Cx::done`.
pub type Step = Option<(Ip, Regs, Acc)>;

/// The same for work done out of line (which leaves no accumulator: two words, so it is
/// returned in registers and the handler keeps no temporary for it).
pub type SlowStep = Option<(Ip, Regs)>;

/// Either kind of step as a full step (out-of-line work leaves no accumulator).
pub trait IntoStep {
    fn into_step(self) -> Step;
}
impl IntoStep for Step {
    #[inline(always)]
    fn into_step(self) -> Step {
        self
    }
}
impl IntoStep for SlowStep {
    #[inline(always)]
    fn into_step(self) -> Step {
        self.map(|(ip, fp)| (ip, fp, Acc::NONE))
    }
}

/// Builds a step for either kind of work.
pub trait Next {
    fn next(ip: Ip, fp: Regs, acc: Acc) -> Self;
}
impl Next for Step {
    #[inline(always)]
    fn next(ip: Ip, fp: Regs, acc: Acc) -> Self {
        Some((ip, fp, acc))
    }
}
impl Next for SlowStep {
    #[inline(always)]
    fn next(ip: Ip, fp: Regs, _acc: Acc) -> Self {
        Some((ip, fp))
    }
}

/// An instruction with its handler. The handler always is the instruction's own
/// (`Op::new` is the only constructor and the fields are private).
pub struct Op {
    handler: Handler,
    instr: Instr,
}

impl Op {
    pub fn new(instr: Instr) -> Op {
        Op {
            handler: instr.handler(),
            instr,
        }
    }
    #[inline(always)]
    pub fn instr(&self) -> Instr {
        self.instr
    }
    pub fn instr_ref(&self) -> &Instr {
        &self.instr
    }
}

/// What a handler does if its op holds another instruction: impossible, see [`Op`].
#[inline(always)]
pub fn foreign_op() -> ! {
    // SAFETY: ops are built only by `Op::new`, which pairs each instruction with its own
    // handler; the fields are private and never modified afterwards, and each handler
    // matches exactly the variant it was generated for.
    unsafe { std::hint::unreachable_unchecked() }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.instr.fmt(f)
    }
}

/// How a run of handlers ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The outermost function returned.
    Return,
    /// A trap; it is in `Cx::trap`.
    Trap,
    /// (Loop backend only) dispatch `Cx::resume` next.
    #[cfg_attr(rwamr_tail_calls, allow(dead_code))]
    Continue,
}

/// A caller suspended by a call.
pub struct Activation<'x> {
    pub func: &'x InterpFunc,
    pub inst: &'x Instance,
    pub fp: Regs,
    /// Where the caller continues.
    pub ret: Ip,
}

/// The executor's state besides the instruction and frame pointers.
pub struct Cx<'x> {
    pub inst: &'x Instance,
    pub func: &'x InterpFunc,
    /// Memory 0 of `inst` (refreshed after anything that may grow it).
    pub mem: MemoryView<'x>,
    pub frames: Vec<Activation<'x>>,
    pub stack: Stack,
    pub guard: &'x Guard,
    /// The thread's fuel and deadline, and the engine's epoch (core's `meter.rs`).
    pub meter: &'x Meter,
    pub epoch: &'x Epoch,
    pub trap: Option<Trap>,
    /// Why the run stopped, when a handler's work returns no next op.
    pub done: Done,
    /// Loop backend: where to continue.
    pub resume: Option<(Ip, Regs)>,
}

impl Cx<'_> {
    /// Records `trap` and stops the run. Out of line, so a handler's fast path only
    /// passes the (small) error along and needs no registers saved for it.
    #[cold]
    #[inline(never)]
    pub fn fail<T>(&mut self, trap: impl Into<Trap>) -> Option<T> {
        self.trap = Some(trap.into());
        self.done = Done::Trap;
        None
    }

    /// Stops the run: the outermost function returned.
    pub fn finish<T>(&mut self) -> Option<T> {
        self.done = Done::Return;
        None
    }
}

/// Continues at `ip`: a tail call of its handler, or a return to the loop.
#[inline(always)]
pub fn dispatch(ip: Ip, fp: Regs, cx: &mut Cx<'_>, acc: Acc) -> Done {
    #[cfg(rwamr_tail_calls)]
    {
        (ip.op().handler)(ip, fp, cx, acc)
    }
    #[cfg(not(rwamr_tail_calls))]
    {
        let _ = acc;
        cx.resume = Some((ip, fp));
        Done::Continue
    }
}

/// Runs from `ip` until the outermost function returns or a trap.
pub fn run(ip: Ip, fp: Regs, cx: &mut Cx<'_>) -> Done {
    let mut done = (ip.op().handler)(ip, fp, cx, Acc::NONE);
    while done == Done::Continue {
        let (ip, fp) = cx.resume.take().expect("a continuing handler sets resume");
        done = (ip.op().handler)(ip, fp, cx, Acc::NONE);
    }
    done
}

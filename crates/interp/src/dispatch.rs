//! How the executor moves from one instruction to the next.
//!
//! Each instruction is an [`Op`]: its [`Instr`] and a pointer to the handler function
//! that executes it (`handlers.rs`, one per instruction). With optimization on
//! (`cfg(rwamr_tail_calls)`, set by build.rs), a handler ends by calling the next op's
//! handler in tail position, which the compiler turns into a jump: dispatch is threaded,
//! every handler has its own indirect jump (which the branch predictor learns per site),
//! and the interpreter state stays in registers. Without optimization a tail call would
//! grow the native stack, so handlers instead return to a loop that dispatches.

use crate::bytecode::{Instr, InterpFunc};
use crate::stack::{Ip, Regs, Stack};
use rwamr_core::slot::Guard;
use rwamr_core::{Instance, MemoryView, Trap};

/// Executes the op at `ip` in the frame `fp`, then dispatches onwards.
pub type Handler = for<'a, 'x> fn(Ip, Regs, &'a mut Cx<'x>) -> Done;

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
    /// Call depth of the thread when this run started, and the limit.
    pub depth_base: usize,
    pub max_depth: usize,
    pub trap: Option<Trap>,
    /// Why the run stopped, when a handler's work returns no next op.
    pub done: Done,
    /// Loop backend: where to continue.
    pub resume: Option<(Ip, Regs)>,
}

/// Where a handler's work leads: the next op and frame, or (`None`) the end of the run,
/// with the reason in `Cx::done`. Two words, returned in registers.
pub type Step = Option<(Ip, Regs)>;

impl Cx<'_> {
    /// Records `trap` and stops the run. Out of line, so a handler's fast path only
    /// passes the (small) error along and needs no registers saved for it.
    #[cold]
    #[inline(never)]
    pub fn fail(&mut self, trap: impl Into<Trap>) -> Step {
        self.trap = Some(trap.into());
        self.done = Done::Trap;
        None
    }

    /// Stops the run: the outermost function returned.
    pub fn finish(&mut self) -> Step {
        self.done = Done::Return;
        None
    }
}

/// Continues at `ip`: a tail call of its handler, or a return to the loop.
#[inline(always)]
pub fn dispatch(ip: Ip, fp: Regs, cx: &mut Cx<'_>) -> Done {
    #[cfg(rwamr_tail_calls)]
    {
        (ip.op().handler)(ip, fp, cx)
    }
    #[cfg(not(rwamr_tail_calls))]
    {
        cx.resume = Some((ip, fp));
        Done::Continue
    }
}

/// Runs from `ip` until the outermost function returns or a trap.
pub fn run(ip: Ip, fp: Regs, cx: &mut Cx<'_>) -> Done {
    let mut done = (ip.op().handler)(ip, fp, cx);
    while done == Done::Continue {
        let (ip, fp) = cx.resume.take().expect("a continuing handler sets resume");
        done = (ip.op().handler)(ip, fp, cx);
    }
    done
}

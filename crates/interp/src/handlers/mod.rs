//! One handler per instruction (see `bytecode.rs` for what each does, `dispatch.rs` for
//! how they chain). A handler reads its operands from its op, does its work on the frame
//! (`fp`), and dispatches to the next op, a branch target, a callee or a caller.
//!
//! Handlers live in files by instruction family, as the translator's do: `control.rs`
//! (branches, `select`), `calls.rs` (calls, returns, frames), `variables.rs` (copies,
//! globals), `memory.rs`, `table.rs` (tables, function references), `numeric.rs`. This
//! file holds what they share: the handler-defining macros and cell conversions.
#![allow(non_snake_case)]

use crate::bytecode::{Instr, InterpFunc, Slot};
use crate::dispatch::{
    dispatch, foreign_op, Acc, Activation, Cx, Done, IntoStep, Next, SlowStep, Step,
};
use crate::stack::{Ip, Regs};
use rwamr_core::{FuncCode, FuncEntry, Instance, MemoryView, TrapCode};

/// Continues at `$ip` with frame `$fp` and accumulator `$acc`.
macro_rules! next {
    ($ip:expr, $fp:expr, $acc:expr) => {
        return Next::next($ip, $fp, $acc)
    };
}

/// The value of a fallible expression, or the end of the run with its trap.
macro_rules! tr {
    ($cx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(t) => return $cx.fail(t),
        }
    };
}

/// The value of a memory access, or the end of the run with its trap, unless the trap
/// is "out of bounds" and memory 0 grew since the view was taken (another thread grew a
/// shared memory): then the instruction runs again with a new view.
macro_rules! tr_mem {
    ($cx:expr, $ip:expr, $fp:expr, $acc:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            // Out of line and two words back (a `SlowStep`), so the handler keeps no
            // temporary for it; frames are written through, so no accumulator is lost.
            Err(t) => {
                let _ = $acc;
                return $cx
                    .fail_or_retry(t, $ip, $fp)
                    .map(|(ip, fp)| (ip, fp, Acc::NONE));
            }
        }
    };
}

/// Defines the handler of `$name`: its work, in a function of its own that binds the
/// operand fields and returns where to go next, then the dispatch. Nothing is left to
/// drop and no temporary is on the handler's stack at the dispatch, so it compiles to a
/// tail jump and the native stack stays flat (`tail_calls_are_jumps` checks every
/// handler). The work is inlined (`handler!`) unless it calls out of line with results
/// on the stack (host calls, table and bulk operations: `slow_handler!`), where its
/// temporaries must stay in its own frame.
macro_rules! define_handler {
    (#[$inline:meta] $step:ty, $name:ident $({ $($f:ident),* })? ($ip:ident, $fp:ident, $cx:ident, $acc:ident) $body:block) => {
        pub fn $name($ip: Ip, $fp: Regs, $cx: &mut Cx<'_>, $acc: Acc) -> Done {
            #[$inline]
            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn work($ip: Ip, $fp: Regs, $cx: &mut Cx<'_>, mut $acc: Acc) -> $step {
                // `Op::new` pairs every instruction with its own handler.
                let Instr::$name $({ $($f),* })? = $ip.op().instr() else {
                    foreign_op()
                };
                $body
            }
            match IntoStep::into_step(work($ip, $fp, $cx, $acc)) {
                Some((ip, fp, acc)) => dispatch(ip, fp, $cx, acc),
                None => $cx.done,
            }
        }
    };
}

macro_rules! handler {
    ($($t:tt)*) => { define_handler!(#[inline(always)] Step, $($t)*); };
}

macro_rules! slow_handler {
    ($($t:tt)*) => { define_handler!(#[inline(never)] SlowStep, $($t)*); };
}

// ---- cell conversions (see `rwamr_core::val`) ----
#[inline(always)]
fn i32_of(c: u64) -> i32 {
    c as u32 as i32
}
#[inline(always)]
fn u32_of(c: u64) -> u32 {
    c as u32
}
#[inline(always)]
fn i64_of(c: u64) -> i64 {
    c as i64
}
#[inline(always)]
fn u64_of(c: u64) -> u64 {
    c
}
#[inline(always)]
fn f32_of(c: u64) -> f32 {
    f32::from_bits(c as u32)
}
#[inline(always)]
fn f64_of(c: u64) -> f64 {
    f64::from_bits(c)
}
#[inline(always)]
fn of_i32(v: i32) -> u64 {
    v as u32 as u64
}
#[inline(always)]
fn of_u32(v: u32) -> u64 {
    v as u64
}
#[inline(always)]
fn of_i64(v: i64) -> u64 {
    v as u64
}
#[inline(always)]
fn of_u64(v: u64) -> u64 {
    v
}
#[inline(always)]
fn of_f32(v: f32) -> u64 {
    v.to_bits() as u64
}
#[inline(always)]
fn of_f64(v: f64) -> u64 {
    v.to_bits()
}
#[inline(always)]
fn of_bool(v: bool) -> u64 {
    v as u64
}

/// The three i32 operands an instruction names by the first (`args`, `args + 1`,
/// `args + 2`: the verifier checks the last is in the frame).
#[inline(always)]
fn args3(fp: Regs, acc: Acc, args: Slot) -> (u32, u32, u32) {
    (
        u32_of(acc.get(fp, args)),
        u32_of(acc.get(fp, args + 1)),
        u32_of(acc.get(fp, args + 2)),
    )
}

/// Memory 0 of `inst`, or nothing; `inst` is the instance the thread runs.
#[inline(always)]
pub fn memory_of(inst: &Instance) -> MemoryView<'_> {
    match inst.memories().first() {
        // SAFETY: the interpreter runs `inst`'s code, so this thread holds it (core's
        // `exclusive.rs`: entries and calls into another instance take it first), and
        // the view is refreshed from here after anything that may run other code.
        Some(m) => unsafe { m.view() },
        None => MemoryView::empty(),
    }
}

/// What bulk operations meter: fuel by their length, the deadline between chunks
/// (core's `meter.rs`).
pub(super) fn bulk<'x>(cx: &Cx<'x>) -> rwamr_core::meter::Bulk<'x> {
    rwamr_core::meter::Bulk::of(cx.inst.engine())
}

mod calls;
mod control;
mod memory;
mod numeric;
mod table;
mod variables;

pub use calls::*;
pub use control::*;
pub use memory::*;
pub use numeric::*;
pub use table::*;
pub use variables::*;

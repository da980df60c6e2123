//! What every tier's translator shares: the visitor that hands each wasm operator to
//! the tier (or refuses it), the loop that skips unreachable code, the control frames,
//! block signatures, and the table of memory accesses.
//!
//! A tier implements one inherent method per operator it supports, named as
//! wasmparser's `VisitOperator` names it (`visit_i32_add`, ...), in files by instruction
//! family, and declares its visitor with [`visit_operators!`](crate::visit_operators): the visitor forwards every
//! operator of a supported proposal (see `if_proposal_supported!` in `module.rs`) to the
//! method of that name, so an operator a tier lacks is a compile error, and refuses the
//! operators of the other proposals with an error naming them.

use crate::error::{Error, Result};
use crate::meter::{ends_stretch, fuel_cost, Metering};
use crate::module::Module;
use crate::types::{FuncType, ValType};
use wasmparser::{BlockType, Operator, OperatorsReader, VisitOperator};

/// Implements wasmparser's `VisitOperator` for `&mut $translator`, forwarding every
/// operator of a supported proposal to `$translator`'s inherent method of the same name
/// (the visitor is the `&mut`, so the forward finds only inherent methods: a missing one
/// does not compile) and refusing the others.
#[macro_export]
macro_rules! visit_operators {
    ($translator:ty) => {
        const _: () = {
            // wasmparser's list takes the callback by a plain name.
            use $crate::visit_operator_methods as methods;
            impl<'a> $crate::wasmparser::VisitOperator<'a> for &mut $translator {
                type Output = $crate::Result<()>;
                $crate::wasmparser::for_each_visit_operator!(methods);
            }
        };
    };
}

/// The methods of [`visit_operators!`](crate::visit_operators)'s visitor (one per operator of wasmparser's list).
#[doc(hidden)]
#[macro_export]
macro_rules! visit_operator_methods {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            $crate::if_proposal_supported!($proposal {
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                    // A path on the translator type itself: only its inherent methods
                    // match (the visitor is implemented for `&mut` of it).
                    <<Self as ::std::ops::Deref>::Target>::$visit(&mut **self $($(, $arg)*)?)
                }
            } {
                fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                    $($( let _ = $arg; )*)?
                    Err($crate::translate::unsupported_operator(
                        stringify!($proposal),
                        stringify!($op),
                    ))
                }
            });
        )*
    };
}

/// The error for an operator of a proposal no tier runs (validation refuses such
/// modules first, naming the proposal; this is the translator's own guard).
pub fn unsupported_operator(proposal: &str, op: &str) -> Error {
    Error::unsupported(format!(
        "instruction `{op}` of the {proposal} proposal is not supported yet"
    ))
}

/// A decoding error inside a function body.
pub fn read_err(e: wasmparser::BinaryReaderError) -> Error {
    Error::malformed(format!(
        "{} (at byte offset {:#x})",
        e.message(),
        e.offset()
    ))
}

/// A tier's function translator: a visitor (see [`visit_operators!`](crate::visit_operators)) that knows
/// whether the code at its position can run, and meters it when asked.
pub trait FuncTranslator {
    /// Whether the next operator can be reached. After `br`, `return`, `unreachable` and
    /// the like, nothing can until the `else` or `end` of the innermost frame.
    fn reachable(&self) -> bool;
    /// Charges `fuel` for the stretch of code that starts here (see `meter.rs`); with
    /// `check` (function entry, loop iterations), then traps when the fuel is negative.
    fn consume_fuel(&mut self, fuel: u64, check: bool) -> Result<()>;
    /// Traps when the thread's epoch deadline has come (see `meter.rs`).
    fn check_deadline(&mut self) -> Result<()>;
    /// Counts a function entry or (`at_loop`) an iteration of the loop whose `loop`
    /// operator was the last visited toward tier-up (`Metering::hotness`).
    fn count_hotness(&mut self, _at_loop: bool) -> Result<()> {
        Ok(())
    }
}

/// Feeds the operators of a function body to `t`. In unreachable code only the frame
/// structure matters: blocks opened there are counted and skipped here, and `t` sees
/// only the `else` or `end` of its innermost open frame, which may make code reachable
/// again. Tiers therefore never translate unreachable code.
///
/// With `metering`, this is also where metering is decided for every tier: at the start
/// of each reachable stretch (`meter.rs`) `t` is asked to check the deadline (function
/// entry and loop iterations) and to charge the stretch's fuel.
pub fn translate_operators<'a, T>(
    mut ops: OperatorsReader<'a>,
    t: &mut T,
    metering: Metering,
) -> Result<()>
where
    T: FuncTranslator,
    for<'t> &'t mut T: VisitOperator<'a, Output = Result<()>>,
{
    // Blocks opened in unreachable code, not yet ended.
    let mut dead = 0u32;
    // A stretch starts at the next reachable operator: `Some(check)`, where `check` says
    // it is the function's entry or a loop's iteration.
    let mut stretch_starts = Some(true);
    let mut at_entry = true;
    // Operators left in the current stretch, and whether its last is `loop`.
    let mut left = 0usize;
    let mut ends_in_loop = false;
    while !ops.eof() {
        if t.reachable() {
            if let Some(check) = stretch_starts.take().filter(|_| metering.any()) {
                // Without fuel only the checks matter: no need to measure the stretch.
                let (fuel, len, last_is_loop) = match metering.fuel {
                    true => measure_stretch(ops.clone())?,
                    false => (0, usize::MAX, false),
                };
                (left, ends_in_loop) = (len, last_is_loop);
                if metering.epoch && check {
                    t.check_deadline()?;
                }
                if metering.hotness && check {
                    t.count_hotness(!at_entry)?;
                }
                at_entry = false;
                if metering.fuel && (check || fuel > 0) {
                    t.consume_fuel(fuel, check)?;
                }
            }
            // (`loop` is the one-byte opcode 0x03.)
            let is_loop = metering.any()
                && !metering.fuel
                && matches!(ops.get_binary_reader().read_u8(), Ok(0x03));
            ops.visit_operator(&mut &mut *t).map_err(read_err)??;
            if metering.fuel {
                left -= 1;
                if left == 0 || !t.reachable() {
                    stretch_starts = Some(left == 0 && ends_in_loop);
                    left = 0;
                }
            } else if is_loop {
                // A loop's iteration starts at the next operator.
                stretch_starts = Some(true);
            }
            continue;
        }
        match ops.read().map_err(read_err)? {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => dead += 1,
            Operator::Else if dead == 0 => {
                VisitOperator::visit_else(&mut &mut *t)?;
                stretch_starts = Some(false);
            }
            Operator::End if dead == 0 => {
                VisitOperator::visit_end(&mut &mut *t)?;
                stretch_starts = Some(false);
            }
            Operator::End => dead -= 1,
            _ => {}
        }
    }
    Ok(())
}

/// The fuel, length in operators, and whether the last is `loop`, of the stretch that
/// starts at `ops` (see `meter.rs`).
fn measure_stretch(mut ops: OperatorsReader<'_>) -> Result<(u64, usize, bool)> {
    let (mut fuel, mut len) = (0, 0);
    while !ops.eof() {
        let op = ops.read().map_err(read_err)?;
        fuel += fuel_cost(&op);
        len += 1;
        if ends_stretch(&op) {
            return Ok((fuel, len, matches!(op, Operator::Loop { .. })));
        }
    }
    // Validated bodies end with `end`, which ends a stretch.
    Ok((fuel, len, false))
}

/// The kind of a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A `block`, or the function body (frame 0).
    Block,
    Loop,
    /// An `if` whose `else` has not come (yet).
    If,
    /// The `else` branch of an `if`.
    Else,
}

/// A wasm control frame as both translators keep it; `L` is the tier's own label data
/// (where branches go). The labels differ for a reason: the interpreter emits branches
/// before their targets exist and patches relative offsets once a target is placed (a
/// list of fixups), while the JIT names Cranelift blocks made when the frame opens (the
/// continuation, with the results as parameters; a loop's header; an `if`'s else).
pub struct Frame<L> {
    pub kind: FrameKind,
    /// Operand stack height below the frame's parameters.
    pub height: usize,
    pub params: usize,
    pub results: usize,
    pub label: L,
}

impl<L> Frame<L> {
    /// How many values a branch to this frame carries: a loop's parameters (it branches
    /// to its start), else its results.
    pub fn branch_arity(&self) -> usize {
        match self.kind {
            FrameKind::Loop => self.params,
            _ => self.results,
        }
    }
}

/// The open control frames, the function body's first.
pub struct ControlStack<L> {
    frames: Vec<Frame<L>>,
}

impl<L> ControlStack<L> {
    /// The stack with the function body's frame, of `results` results.
    pub fn new(results: usize, label: L) -> ControlStack<L> {
        ControlStack {
            frames: vec![Frame {
                kind: FrameKind::Block,
                height: 0,
                params: 0,
                results,
                label,
            }],
        }
    }
    pub fn push(&mut self, frame: Frame<L>) {
        self.frames.push(frame);
    }
    pub fn pop(&mut self) -> Frame<L> {
        self.frames
            .pop()
            .expect("validated: `end` of an open frame")
    }
    /// The innermost frame.
    pub fn top(&self) -> &Frame<L> {
        self.frames.last().expect("validated: inside a frame")
    }
    pub fn top_mut(&mut self) -> &mut Frame<L> {
        self.frames.last_mut().expect("validated: inside a frame")
    }
    /// The index of the frame a branch of `depth` targets (0: the function body).
    pub fn index(&self, depth: u32) -> usize {
        self.frames.len() - 1 - depth as usize
    }
    pub fn len(&self) -> usize {
        self.frames.len()
    }
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl<L> std::ops::Index<usize> for ControlStack<L> {
    type Output = Frame<L>;
    fn index(&self, i: usize) -> &Frame<L> {
        &self.frames[i]
    }
}

impl<L> std::ops::IndexMut<usize> for ControlStack<L> {
    fn index_mut(&mut self, i: usize) -> &mut Frame<L> {
        &mut self.frames[i]
    }
}

/// A block's type: its parameters and results.
pub enum BlockSig<'m> {
    Empty,
    Result([ValType; 1]),
    Func(&'m FuncType),
}

impl<'m> BlockSig<'m> {
    pub fn new(module: &'m Module, ty: BlockType) -> Result<BlockSig<'m>> {
        Ok(match ty {
            BlockType::Empty => BlockSig::Empty,
            BlockType::Type(t) => BlockSig::Result([ValType::from_wasmparser(t)?]),
            BlockType::FuncType(i) => BlockSig::Func(&module.types[i as usize]),
        })
    }
    pub fn params(&self) -> &[ValType] {
        match self {
            BlockSig::Func(f) => f.params(),
            _ => &[],
        }
    }
    pub fn results(&self) -> &[ValType] {
        match self {
            BlockSig::Empty => &[],
            BlockSig::Result(r) => r,
            BlockSig::Func(f) => f.results(),
        }
    }
}

/// How a load reads memory: `bytes` bytes, sign- or zero-extended to `ty` when fewer
/// than `ty` has (full-width loads are neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadKind {
    pub ty: ValType,
    pub bytes: u8,
    pub signed: bool,
}

/// Calls `$m!` with the table of wasm's loads and stores, one line per operator:
/// `loads: visit_i32_load8_s => (I32, 1, true), ...; stores: visit_i32_store8 => 1, ...`
/// (value type, access bytes, sign extension; a store writes the low bytes of its value).
/// Both tiers generate their load and store methods from it.
#[macro_export]
macro_rules! for_each_memory_access {
    ($m:ident) => {
        $m! {
            loads:
            visit_i32_load => (I32, 4, false),
            visit_i64_load => (I64, 8, false),
            visit_f32_load => (F32, 4, false),
            visit_f64_load => (F64, 8, false),
            visit_i32_load8_s => (I32, 1, true),
            visit_i32_load8_u => (I32, 1, false),
            visit_i32_load16_s => (I32, 2, true),
            visit_i32_load16_u => (I32, 2, false),
            visit_i64_load8_s => (I64, 1, true),
            visit_i64_load8_u => (I64, 1, false),
            visit_i64_load16_s => (I64, 2, true),
            visit_i64_load16_u => (I64, 2, false),
            visit_i64_load32_s => (I64, 4, true),
            visit_i64_load32_u => (I64, 4, false);
            stores:
            visit_i32_store => 4,
            visit_i64_store => 8,
            visit_f32_store => 4,
            visit_f64_store => 8,
            visit_i32_store8 => 1,
            visit_i32_store16 => 2,
            visit_i64_store8 => 1,
            visit_i64_store16 => 2,
            visit_i64_store32 => 4;
        }
    };
}

/// The atomic accesses of the threads proposal, by visitor method: loads and stores
/// `(type, bytes)`, read-modify-writes `(op, type, bytes)` with `op` a
/// [`crate::memory::RmwOp`], and compare-exchanges `(type, bytes)`. Narrow accesses are
/// the `_u` forms: zero-extended (core's `memory/atomic.rs` states their rule).
#[macro_export]
macro_rules! for_each_atomic_access {
    ($m:ident) => {
        $m! {
            loads:
            visit_i32_atomic_load => (I32, 4),
            visit_i64_atomic_load => (I64, 8),
            visit_i32_atomic_load8_u => (I32, 1),
            visit_i32_atomic_load16_u => (I32, 2),
            visit_i64_atomic_load8_u => (I64, 1),
            visit_i64_atomic_load16_u => (I64, 2),
            visit_i64_atomic_load32_u => (I64, 4);
            stores:
            visit_i32_atomic_store => (I32, 4),
            visit_i64_atomic_store => (I64, 8),
            visit_i32_atomic_store8 => (I32, 1),
            visit_i32_atomic_store16 => (I32, 2),
            visit_i64_atomic_store8 => (I64, 1),
            visit_i64_atomic_store16 => (I64, 2),
            visit_i64_atomic_store32 => (I64, 4);
            rmw:
            visit_i32_atomic_rmw_add => (Add, I32, 4),
            visit_i64_atomic_rmw_add => (Add, I64, 8),
            visit_i32_atomic_rmw8_add_u => (Add, I32, 1),
            visit_i32_atomic_rmw16_add_u => (Add, I32, 2),
            visit_i64_atomic_rmw8_add_u => (Add, I64, 1),
            visit_i64_atomic_rmw16_add_u => (Add, I64, 2),
            visit_i64_atomic_rmw32_add_u => (Add, I64, 4),
            visit_i32_atomic_rmw_sub => (Sub, I32, 4),
            visit_i64_atomic_rmw_sub => (Sub, I64, 8),
            visit_i32_atomic_rmw8_sub_u => (Sub, I32, 1),
            visit_i32_atomic_rmw16_sub_u => (Sub, I32, 2),
            visit_i64_atomic_rmw8_sub_u => (Sub, I64, 1),
            visit_i64_atomic_rmw16_sub_u => (Sub, I64, 2),
            visit_i64_atomic_rmw32_sub_u => (Sub, I64, 4),
            visit_i32_atomic_rmw_and => (And, I32, 4),
            visit_i64_atomic_rmw_and => (And, I64, 8),
            visit_i32_atomic_rmw8_and_u => (And, I32, 1),
            visit_i32_atomic_rmw16_and_u => (And, I32, 2),
            visit_i64_atomic_rmw8_and_u => (And, I64, 1),
            visit_i64_atomic_rmw16_and_u => (And, I64, 2),
            visit_i64_atomic_rmw32_and_u => (And, I64, 4),
            visit_i32_atomic_rmw_or => (Or, I32, 4),
            visit_i64_atomic_rmw_or => (Or, I64, 8),
            visit_i32_atomic_rmw8_or_u => (Or, I32, 1),
            visit_i32_atomic_rmw16_or_u => (Or, I32, 2),
            visit_i64_atomic_rmw8_or_u => (Or, I64, 1),
            visit_i64_atomic_rmw16_or_u => (Or, I64, 2),
            visit_i64_atomic_rmw32_or_u => (Or, I64, 4),
            visit_i32_atomic_rmw_xor => (Xor, I32, 4),
            visit_i64_atomic_rmw_xor => (Xor, I64, 8),
            visit_i32_atomic_rmw8_xor_u => (Xor, I32, 1),
            visit_i32_atomic_rmw16_xor_u => (Xor, I32, 2),
            visit_i64_atomic_rmw8_xor_u => (Xor, I64, 1),
            visit_i64_atomic_rmw16_xor_u => (Xor, I64, 2),
            visit_i64_atomic_rmw32_xor_u => (Xor, I64, 4),
            visit_i32_atomic_rmw_xchg => (Xchg, I32, 4),
            visit_i64_atomic_rmw_xchg => (Xchg, I64, 8),
            visit_i32_atomic_rmw8_xchg_u => (Xchg, I32, 1),
            visit_i32_atomic_rmw16_xchg_u => (Xchg, I32, 2),
            visit_i64_atomic_rmw8_xchg_u => (Xchg, I64, 1),
            visit_i64_atomic_rmw16_xchg_u => (Xchg, I64, 2),
            visit_i64_atomic_rmw32_xchg_u => (Xchg, I64, 4);
            cmpxchg:
            visit_i32_atomic_rmw_cmpxchg => (I32, 4),
            visit_i64_atomic_rmw_cmpxchg => (I64, 8),
            visit_i32_atomic_rmw8_cmpxchg_u => (I32, 1),
            visit_i32_atomic_rmw16_cmpxchg_u => (I32, 2),
            visit_i64_atomic_rmw8_cmpxchg_u => (I64, 1),
            visit_i64_atomic_rmw16_cmpxchg_u => (I64, 2),
            visit_i64_atomic_rmw32_cmpxchg_u => (I64, 4);
        }
    };
}

//! The interpreter's bytecode, documented in one place.
//!
//! Each wasm function is translated into a flat array of [`Instr`]s that operate on the
//! cells of a *frame*, addressed by [`Slot`] (a cell index from the frame pointer):
//!
//! ```text
//!   fp + 0 ..                 parameters, then the other locals (zeroed at entry)
//!   fp + num_locals ..        the function's constants (copied in at entry)
//!   fp + temp_base ..         one cell per operand-stack height (temporaries)
//! ```
//!
//! The translator resolves the wasm operand stack at translation time: `local.get` and
//! constants become operands that name the local's or constant's slot directly, results go
//! to the temporary of their stack height (or straight into a local, when the next wasm
//! instruction is `local.set`), and branches copy their values to the label's slots and
//! jump by a relative offset computed at translation time. Nothing is decoded, searched
//! or pushed at run time.
//!
//! Calls: the arguments sit in consecutive temporaries starting at `base`; the callee's
//! frame starts there (`callee fp = fp + base`), so arguments become its first locals
//! without copying, and its results are left in its first cells, i.e. at `base` in the
//! caller's frame, where the caller's stack expects them.
//!
//! Cells are untyped 64-bit values (see `rwamr_core::val`). An i32 (and f32) cell's upper
//! 32 bits are unspecified: every consumer of an i32 truncates. This lets `i32.wrap_i64`
//! and the reinterpretations be plain copies and lets i32 and i64 loads share
//! instructions.

/// A frame slot: cell index relative to the frame pointer. 32 bits: a frame can have as
/// many cells as the validator allows a function (locals, constants, operand stack).
pub type Slot = u32;

/// Defines [`Instr`] and the per-field helpers the translator's checks use. Field types
/// are identifiers so a field can be recognised as a [`Slot`].
macro_rules! define_instrs {
    ($( $(#[$doc:meta])* $name:ident $({ $($field:ident : $fty:ident),* })? ),* $(,)?) => {
        /// One interpreter instruction. Operand fields are slots; see the module docs.
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub enum Instr {
            $( $(#[$doc])* $name $({ $($field: $fty),* })? ),*
        }

        impl Instr {
            /// Calls `f` on every slot operand (inputs and outputs).
            pub fn for_each_slot(&mut self, mut f: impl FnMut(&mut Slot)) {
                match self {
                    $( Instr::$name $({ $($field),* })? => {
                        $($( define_instrs!(@slot f, $field, $fty); )*)?
                    } )*
                }
            }

            /// The relative branch offset of a branch instruction.
            pub fn offset_mut(&mut self) -> Option<&mut i32> {
                match self {
                    $( Instr::$name $({ $($field),* })? => {
                        #[allow(unused_mut, unused_assignments)]
                        let mut out = None;
                        $($( define_instrs!(@offset out $field $field, $fty); )*)?
                        out
                    } )*
                }
            }

            /// The function that executes this instruction (`handlers/`).
            pub fn handler(&self) -> crate::dispatch::Handler {
                match self {
                    $( Instr::$name { .. } => crate::handlers::$name, )*
                }
            }

            /// The slot this instruction writes its single result to, if it has one.
            pub fn dst_mut(&mut self) -> Option<&mut Slot> {
                match self {
                    $( Instr::$name $({ $($field),* })? => {
                        #[allow(unused_mut, unused_assignments)]
                        let mut out = None;
                        $($( define_instrs!(@dst out $field $field, $fty); )*)?
                        out
                    } )*
                }
            }
        }
    };
    (@slot $f:ident, $field:ident, Slot) => { $f($field) };
    (@slot $f:ident, $field:ident, $other:ident) => { let _ = $field; };
    (@dst $out:ident dst $f:ident, Slot) => { $out = Some($f) };
    (@offset $out:ident offset $f:ident, i32) => { $out = Some($f) };
    (@offset $out:ident $name:ident $f:ident, $other:ident) => { let _ = $f; };
    (@dst $out:ident $name:ident $f:ident, $other:ident) => { let _ = $f; };
}

define_instrs! {
    // ---- control ----
    /// Trap: unreachable.
    Unreachable,
    /// Charges `fuel` to the thread's meter (the start of a stretch, see core's
    /// `meter.rs`).
    ConsumeFuel { fuel: u32 },
    /// The same, then traps when the fuel is negative (function entry, loop iteration).
    ConsumeFuelCheck { fuel: u32 },
    /// Traps when the thread's epoch deadline has come.
    CheckDeadline,
    /// `pc += offset` (relative to this instruction).
    Br { offset: i32 },
    /// Branch if the i32 in `cond` is non-zero.
    BrIfNez { cond: Slot, offset: i32 },
    /// Branch if the i32 in `cond` is zero.
    BrIfEqz { cond: Slot, offset: i32 },
    /// Branch if the i64 in `cond` is zero / non-zero.
    BrI64Eqz { cond: Slot, offset: i32 },
    BrI64Nez { cond: Slot, offset: i32 },
    /// Compare-and-branch: `if lhs OP rhs { pc += offset }`, a compare fused with the
    /// `br_if` or `if` that consumes it.
    BrI32Eq { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32Ne { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32LtS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32LtU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32GtS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32GtU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32LeS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32LeU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32GeS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI32GeU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64Eq { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64Ne { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64LtS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64LtU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64GtS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64GtU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64LeS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64LeU { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64GeS { lhs: Slot, rhs: Slot, offset: i32 },
    BrI64GeU { lhs: Slot, rhs: Slot, offset: i32 },
    /// Jump to the `Br` at `pc + 1 + min(index, len)`: followed by `len + 1` `Br`s, the
    /// last one the default.
    BrTable { index: Slot, len: u32 },
    /// Return; the results are already in slots `0..n`.
    Return,
    /// Copy `src` to slot 0 and return (the one-result case).
    ReturnSlot { src: Slot },
    /// Copy `len` cells from `src..` to `0..` and return (`src` is above every local).
    ReturnMany { src: Slot, len: u16 },
    /// Call function `func` of the index space through its slot; arguments at `base..`.
    Call { func: u32, base: Slot },
    /// Call through table `table` at the index in `index`; `sig` is the module type index.
    CallIndirect { sig: u32, table: u16, index: Slot, base: Slot },

    // ---- data movement ----
    Copy { dst: Slot, src: Slot },
    /// `to = a; to + 1 = b` (in that order): two copies merged.
    Copy2 { to: Slot, a: Slot, b: Slot },
    /// `out = cond != 0 ? out : other` (`out` holds the first operand already: the
    /// translator copies it there when it is elsewhere).
    Select { out: Slot, cond: Slot, other: Slot },
    GlobalGet { dst: Slot, global: u32 },
    GlobalSet { src: Slot, global: u32 },
    /// `dst` = reference to function `func` (its slot address).
    RefFunc { dst: Slot, func: u32 },

    // ---- memory 0: loads `dst = mem[addr + offset]`, stores `mem[addr + offset] = src` ----
    Load8S { dst: Slot, addr: Slot, offset: u32 },
    Load8U { dst: Slot, addr: Slot, offset: u32 },
    Load16S { dst: Slot, addr: Slot, offset: u32 },
    Load16U { dst: Slot, addr: Slot, offset: u32 },
    Load32S { dst: Slot, addr: Slot, offset: u32 },
    /// i32.load, f32.load, i64.load32_u
    Load32U { dst: Slot, addr: Slot, offset: u32 },
    /// i64.load, f64.load
    Load64 { dst: Slot, addr: Slot, offset: u32 },
    Store8 { addr: Slot, src: Slot, offset: u32 },
    Store16 { addr: Slot, src: Slot, offset: u32 },
    Store32 { addr: Slot, src: Slot, offset: u32 },
    Store64 { addr: Slot, src: Slot, offset: u32 },
    /// Indexed forms: the address is `base + index` (an `i32.add` fused into the access).
    Load8SIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load8UIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load16SIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load16UIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load32SIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load32UIdx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Load64Idx { dst: Slot, base: Slot, index: Slot, offset: u16 },
    Store8Idx { base: Slot, index: Slot, src: Slot, offset: u16 },
    Store16Idx { base: Slot, index: Slot, src: Slot, offset: u16 },
    Store32Idx { base: Slot, index: Slot, src: Slot, offset: u16 },
    Store64Idx { base: Slot, index: Slot, src: Slot, offset: u16 },
    MemorySize { dst: Slot },
    MemoryGrow { dst: Slot, delta: Slot },
    MemoryFill { at: Slot, val: Slot, len: Slot },
    MemoryCopy { to: Slot, from: Slot, len: Slot },
    /// `memory.init` with its operands (to, from, len) in `args`, `args + 1`, `args + 2`.
    MemoryInit { data: u32, args: Slot },
    DataDrop { data: u32 },

    // ---- atomics of memory 0 (threads proposal; core's `memory/atomic.rs` has the rule) ----
    /// `dst = mem[addr + offset]`, `width` bytes, zero-extended.
    AtomicLoad { dst: Slot, addr: Slot, offset: u32, width: u8 },
    /// `mem[addr + offset] = src`, its low `width` bytes.
    AtomicStore { addr: Slot, src: Slot, offset: u32, width: u8 },
    /// Read-modify-write with operands (address, value) in `args`, `args + 1`; `dst`
    /// gets the old value. `op` is a core `RmwOp` (`op as u8`).
    AtomicRmw { dst: Slot, args: Slot, offset: u32, op: u8, width: u8 },
    /// Compare-exchange with operands (address, expected, replacement) in
    /// `args..args + 3`; `dst` gets the old value.
    AtomicCmpxchg { dst: Slot, args: Slot, offset: u32, width: u8 },
    /// `memory.atomic.wait32` (`width` 4) or `wait64` (8) with operands (address,
    /// expected, timeout) in `args..args + 3`.
    AtomicWait { dst: Slot, args: Slot, offset: u32, width: u8 },
    /// `memory.atomic.notify` with operands (address, count) in `args`, `args + 1`.
    AtomicNotify { dst: Slot, args: Slot, offset: u32 },
    AtomicFence,

    // ---- tables ----
    TableGet { dst: Slot, index: Slot, table: u32 },
    TableSet { index: Slot, value: Slot, table: u32 },
    TableSize { dst: Slot, table: u32 },
    TableGrow { dst: Slot, init: Slot, delta: Slot, table: u16 },
    TableFill { at: Slot, value: Slot, len: Slot, table: u16 },
    /// Operands (to, from, len) in `args`, `args + 1`, `args + 2`, as `MemoryInit`'s.
    TableCopy { args: Slot, dst_table: u16, src_table: u16 },
    TableInit { args: Slot, elem: u32, table: u16 },
    ElemDrop { elem: u32 },

    // ---- numeric, unary: `dst = op(src)` ----
    I32Eqz { dst: Slot, src: Slot },
    /// i64.eqz, ref.is_null
    I64Eqz { dst: Slot, src: Slot },
    I32Clz { dst: Slot, src: Slot },
    I32Ctz { dst: Slot, src: Slot },
    I32Popcnt { dst: Slot, src: Slot },
    I64Clz { dst: Slot, src: Slot },
    I64Ctz { dst: Slot, src: Slot },
    I64Popcnt { dst: Slot, src: Slot },
    F32Abs { dst: Slot, src: Slot },
    F32Neg { dst: Slot, src: Slot },
    F32Ceil { dst: Slot, src: Slot },
    F32Floor { dst: Slot, src: Slot },
    F32Trunc { dst: Slot, src: Slot },
    F32Nearest { dst: Slot, src: Slot },
    F32Sqrt { dst: Slot, src: Slot },
    F64Abs { dst: Slot, src: Slot },
    F64Neg { dst: Slot, src: Slot },
    F64Ceil { dst: Slot, src: Slot },
    F64Floor { dst: Slot, src: Slot },
    F64Trunc { dst: Slot, src: Slot },
    F64Nearest { dst: Slot, src: Slot },
    F64Sqrt { dst: Slot, src: Slot },
    I64ExtendI32S { dst: Slot, src: Slot },
    I64ExtendI32U { dst: Slot, src: Slot },
    I32TruncF32S { dst: Slot, src: Slot },
    I32TruncF32U { dst: Slot, src: Slot },
    I32TruncF64S { dst: Slot, src: Slot },
    I32TruncF64U { dst: Slot, src: Slot },
    I64TruncF32S { dst: Slot, src: Slot },
    I64TruncF32U { dst: Slot, src: Slot },
    I64TruncF64S { dst: Slot, src: Slot },
    I64TruncF64U { dst: Slot, src: Slot },
    I32TruncSatF32S { dst: Slot, src: Slot },
    I32TruncSatF32U { dst: Slot, src: Slot },
    I32TruncSatF64S { dst: Slot, src: Slot },
    I32TruncSatF64U { dst: Slot, src: Slot },
    I64TruncSatF32S { dst: Slot, src: Slot },
    I64TruncSatF32U { dst: Slot, src: Slot },
    I64TruncSatF64S { dst: Slot, src: Slot },
    I64TruncSatF64U { dst: Slot, src: Slot },
    F32ConvertI32S { dst: Slot, src: Slot },
    F32ConvertI32U { dst: Slot, src: Slot },
    F32ConvertI64S { dst: Slot, src: Slot },
    F32ConvertI64U { dst: Slot, src: Slot },
    F32DemoteF64 { dst: Slot, src: Slot },
    F64ConvertI32S { dst: Slot, src: Slot },
    F64ConvertI32U { dst: Slot, src: Slot },
    F64ConvertI64S { dst: Slot, src: Slot },
    F64ConvertI64U { dst: Slot, src: Slot },
    F64PromoteF32 { dst: Slot, src: Slot },
    I32Extend8S { dst: Slot, src: Slot },
    I32Extend16S { dst: Slot, src: Slot },
    I64Extend8S { dst: Slot, src: Slot },
    I64Extend16S { dst: Slot, src: Slot },
    I64Extend32S { dst: Slot, src: Slot },

    // ---- numeric, binary: `dst = lhs op rhs` ----
    I32Eq { dst: Slot, lhs: Slot, rhs: Slot },
    I32Ne { dst: Slot, lhs: Slot, rhs: Slot },
    I32LtS { dst: Slot, lhs: Slot, rhs: Slot },
    I32LtU { dst: Slot, lhs: Slot, rhs: Slot },
    I32GtS { dst: Slot, lhs: Slot, rhs: Slot },
    I32GtU { dst: Slot, lhs: Slot, rhs: Slot },
    I32LeS { dst: Slot, lhs: Slot, rhs: Slot },
    I32LeU { dst: Slot, lhs: Slot, rhs: Slot },
    I32GeS { dst: Slot, lhs: Slot, rhs: Slot },
    I32GeU { dst: Slot, lhs: Slot, rhs: Slot },
    I32Add { dst: Slot, lhs: Slot, rhs: Slot },
    I32Sub { dst: Slot, lhs: Slot, rhs: Slot },
    I32Mul { dst: Slot, lhs: Slot, rhs: Slot },
    I32DivS { dst: Slot, lhs: Slot, rhs: Slot },
    I32DivU { dst: Slot, lhs: Slot, rhs: Slot },
    I32RemS { dst: Slot, lhs: Slot, rhs: Slot },
    I32RemU { dst: Slot, lhs: Slot, rhs: Slot },
    I32And { dst: Slot, lhs: Slot, rhs: Slot },
    I32Or { dst: Slot, lhs: Slot, rhs: Slot },
    I32Xor { dst: Slot, lhs: Slot, rhs: Slot },
    I32Shl { dst: Slot, lhs: Slot, rhs: Slot },
    I32ShrS { dst: Slot, lhs: Slot, rhs: Slot },
    I32ShrU { dst: Slot, lhs: Slot, rhs: Slot },
    I32Rotl { dst: Slot, lhs: Slot, rhs: Slot },
    I32Rotr { dst: Slot, lhs: Slot, rhs: Slot },
    I64Eq { dst: Slot, lhs: Slot, rhs: Slot },
    I64Ne { dst: Slot, lhs: Slot, rhs: Slot },
    I64LtS { dst: Slot, lhs: Slot, rhs: Slot },
    I64LtU { dst: Slot, lhs: Slot, rhs: Slot },
    I64GtS { dst: Slot, lhs: Slot, rhs: Slot },
    I64GtU { dst: Slot, lhs: Slot, rhs: Slot },
    I64LeS { dst: Slot, lhs: Slot, rhs: Slot },
    I64LeU { dst: Slot, lhs: Slot, rhs: Slot },
    I64GeS { dst: Slot, lhs: Slot, rhs: Slot },
    I64GeU { dst: Slot, lhs: Slot, rhs: Slot },
    I64Add { dst: Slot, lhs: Slot, rhs: Slot },
    I64Sub { dst: Slot, lhs: Slot, rhs: Slot },
    I64Mul { dst: Slot, lhs: Slot, rhs: Slot },
    I64DivS { dst: Slot, lhs: Slot, rhs: Slot },
    I64DivU { dst: Slot, lhs: Slot, rhs: Slot },
    I64RemS { dst: Slot, lhs: Slot, rhs: Slot },
    I64RemU { dst: Slot, lhs: Slot, rhs: Slot },
    I64And { dst: Slot, lhs: Slot, rhs: Slot },
    I64Or { dst: Slot, lhs: Slot, rhs: Slot },
    I64Xor { dst: Slot, lhs: Slot, rhs: Slot },
    I64Shl { dst: Slot, lhs: Slot, rhs: Slot },
    I64ShrS { dst: Slot, lhs: Slot, rhs: Slot },
    I64ShrU { dst: Slot, lhs: Slot, rhs: Slot },
    I64Rotl { dst: Slot, lhs: Slot, rhs: Slot },
    I64Rotr { dst: Slot, lhs: Slot, rhs: Slot },
    F32Eq { dst: Slot, lhs: Slot, rhs: Slot },
    F32Ne { dst: Slot, lhs: Slot, rhs: Slot },
    F32Lt { dst: Slot, lhs: Slot, rhs: Slot },
    F32Gt { dst: Slot, lhs: Slot, rhs: Slot },
    F32Le { dst: Slot, lhs: Slot, rhs: Slot },
    F32Ge { dst: Slot, lhs: Slot, rhs: Slot },
    F32Add { dst: Slot, lhs: Slot, rhs: Slot },
    F32Sub { dst: Slot, lhs: Slot, rhs: Slot },
    F32Mul { dst: Slot, lhs: Slot, rhs: Slot },
    F32Div { dst: Slot, lhs: Slot, rhs: Slot },
    F32Min { dst: Slot, lhs: Slot, rhs: Slot },
    F32Max { dst: Slot, lhs: Slot, rhs: Slot },
    F32Copysign { dst: Slot, lhs: Slot, rhs: Slot },
    F64Eq { dst: Slot, lhs: Slot, rhs: Slot },
    F64Ne { dst: Slot, lhs: Slot, rhs: Slot },
    F64Lt { dst: Slot, lhs: Slot, rhs: Slot },
    F64Gt { dst: Slot, lhs: Slot, rhs: Slot },
    F64Le { dst: Slot, lhs: Slot, rhs: Slot },
    F64Ge { dst: Slot, lhs: Slot, rhs: Slot },
    F64Add { dst: Slot, lhs: Slot, rhs: Slot },
    F64Sub { dst: Slot, lhs: Slot, rhs: Slot },
    F64Mul { dst: Slot, lhs: Slot, rhs: Slot },
    F64Div { dst: Slot, lhs: Slot, rhs: Slot },
    F64Min { dst: Slot, lhs: Slot, rhs: Slot },
    F64Max { dst: Slot, lhs: Slot, rhs: Slot },
    F64Copysign { dst: Slot, lhs: Slot, rhs: Slot },
}

impl Instr {
    /// The branch that jumps when this compare is true (or false, with `negate`), for a
    /// compare whose result only feeds a branch. Float compares are not fused: their
    /// negation is not another compare (NaN).
    pub fn compare_branch(self, negate: bool) -> Option<Instr> {
        macro_rules! pairs {
            ($($cmp:ident / $neg:ident => $br:ident / $nbr:ident),* $(,)?) => {
                match self {
                    $(
                        Instr::$cmp { lhs, rhs, .. } => Some(if negate {
                            Instr::$nbr { lhs, rhs, offset: 0 }
                        } else {
                            Instr::$br { lhs, rhs, offset: 0 }
                        }),
                    )*
                    Instr::I32Eqz { src, .. } => Some(if negate {
                        Instr::BrIfNez { cond: src, offset: 0 }
                    } else {
                        Instr::BrIfEqz { cond: src, offset: 0 }
                    }),
                    Instr::I64Eqz { src, .. } => Some(if negate {
                        Instr::BrI64Nez { cond: src, offset: 0 }
                    } else {
                        Instr::BrI64Eqz { cond: src, offset: 0 }
                    }),
                    _ => None,
                }
            };
        }
        pairs! {
            I32Eq / I32Ne => BrI32Eq / BrI32Ne, I32Ne / I32Eq => BrI32Ne / BrI32Eq,
            I32LtS / I32GeS => BrI32LtS / BrI32GeS, I32LtU / I32GeU => BrI32LtU / BrI32GeU,
            I32GtS / I32LeS => BrI32GtS / BrI32LeS, I32GtU / I32LeU => BrI32GtU / BrI32LeU,
            I32LeS / I32GtS => BrI32LeS / BrI32GtS, I32LeU / I32GtU => BrI32LeU / BrI32GtU,
            I32GeS / I32LtS => BrI32GeS / BrI32LtS, I32GeU / I32LtU => BrI32GeU / BrI32LtU,
            I64Eq / I64Ne => BrI64Eq / BrI64Ne, I64Ne / I64Eq => BrI64Ne / BrI64Eq,
            I64LtS / I64GeS => BrI64LtS / BrI64GeS, I64LtU / I64GeU => BrI64LtU / BrI64GeU,
            I64GtS / I64LeS => BrI64GtS / BrI64LeS, I64GtU / I64LeU => BrI64GtU / BrI64LeU,
            I64LeS / I64GtS => BrI64LeS / BrI64GtS, I64LeU / I64GtU => BrI64LeU / BrI64GtU,
            I64GeS / I64LtS => BrI64GeS / BrI64LtS, I64GeU / I64LtU => BrI64GeU / BrI64LtU,
        }
    }
}

impl Instr {
    /// The indexed form of a load or store whose address is `base + index`, when its
    /// offset fits the form's 16 bits (so the instruction stays 16 bytes).
    pub fn indexed(self, base: Slot, index: Slot) -> Option<Instr> {
        let short = |offset: u32| u16::try_from(offset).ok();
        Some(match self {
            Instr::Load8S { dst, offset, .. } => Instr::Load8SIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load8U { dst, offset, .. } => Instr::Load8UIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load16S { dst, offset, .. } => Instr::Load16SIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load16U { dst, offset, .. } => Instr::Load16UIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load32S { dst, offset, .. } => Instr::Load32SIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load32U { dst, offset, .. } => Instr::Load32UIdx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Load64 { dst, offset, .. } => Instr::Load64Idx {
                dst,
                base,
                index,
                offset: short(offset)?,
            },
            Instr::Store8 { src, offset, .. } => Instr::Store8Idx {
                base,
                index,
                src,
                offset: short(offset)?,
            },
            Instr::Store16 { src, offset, .. } => Instr::Store16Idx {
                base,
                index,
                src,
                offset: short(offset)?,
            },
            Instr::Store32 { src, offset, .. } => Instr::Store32Idx {
                base,
                index,
                src,
                offset: short(offset)?,
            },
            Instr::Store64 { src, offset, .. } => Instr::Store64Idx {
                base,
                index,
                src,
                offset: short(offset)?,
            },
            _ => return None,
        })
    }
}

const _: () = assert!(std::mem::size_of::<Instr>() <= 16);

/// A translated function: its code and frame layout.
#[derive(Debug)]
pub struct InterpFunc {
    /// Index in its module's function index space (for backtraces).
    pub func_index: u32,
    /// The code: each instruction with its handler.
    pub ops: Box<[crate::dispatch::Op]>,
    pub num_params: u32,
    /// Parameters plus declared locals.
    pub num_locals: u32,
    /// Constants, copied to `num_locals..` at entry; padded with zeros to a multiple of
    /// four (the frame has room for the padding).
    pub consts: Box<[u64]>,
    /// Cells the frame needs (locals, constants, temporaries).
    pub frame_size: u32,
    /// What a frame costs of the thread's stack budget (core's `meter.rs`): the same in
    /// every mode.
    pub frame_bytes: u32,
}

impl InterpFunc {
    /// The instructions, in order.
    pub fn code(&self) -> impl Iterator<Item = &Instr> {
        self.ops.iter().map(|op| op.instr_ref())
    }
}

//! wasm -> interpreter bytecode. See `bytecode.rs` for the frame layout and the meaning
//! of every instruction.
//!
//! The translator is a visitor (core's `visit_operators!`): one method per operator,
//! `visit_*` as wasmparser names it, in files by instruction family: `control.rs`
//! (blocks, branches, `drop`, `select`), `calls.rs`, `variables.rs` (locals, globals),
//! `memory.rs` (loads, stores, memory instructions), `table.rs` (table instructions,
//! function references), `numeric.rs` (constants, arithmetic, comparisons,
//! conversions). This file holds the operand stack and the emitting machinery they share.
//! Core's `translate_operators` skips unreachable code, so no method sees any.

mod calls;
mod control;
mod memory;
mod numeric;
mod table;
mod variables;

use crate::bytecode::{Instr, InterpFunc, Slot};
use hashbrown::HashMap;
use rwamr_core::translate::{read_err, translate_operators, ControlStack, FuncTranslator};
use rwamr_core::{Error, Metering, Module, Result};

/// Where an operand of the wasm stack lives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Operand {
    /// In the temporary of its own stack height.
    Temp,
    /// Still in a local (from `local.get`), not yet copied.
    Local(Slot),
    /// A constant's slot.
    Const(Slot),
}

/// Where branches to a control frame go.
#[derive(Default)]
struct Label {
    /// First instruction of a loop (its branch target).
    loop_start: usize,
    /// Branches to the end of this block, to patch when the end is placed.
    fixups: Vec<usize>,
    /// The `BrIfEqz` of an `if` that jumps to the `else` (or the end).
    else_fixup: Option<usize>,
}

pub struct Translator<'m> {
    module: &'m Module,
    func_index: u32,
    code: Vec<Instr>,
    stack: Vec<Operand>,
    num_params: u32,
    num_locals: u32,
    consts: Vec<u64>,
    const_slots: HashMap<u64, Slot>,
    temp_base: u32,
    max_height: u32,
    control: ControlStack<Label>,
    reachable: bool,
    /// `(pc, height)` of the last instruction if it wrote the temporary of `height` and
    /// nothing has been emitted or labelled since: `local.set` may retarget it.
    fuse: Option<(usize, usize)>,
    /// Code index of the last branch target placed (no instruction may be merged into
    /// the one before it across a branch target).
    label_at: usize,
}

rwamr_core::visit_operators!(Translator<'_>);

impl FuncTranslator for Translator<'_> {
    fn reachable(&self) -> bool {
        self.reachable
    }
    fn consume_fuel(&mut self, fuel: u64, check: bool) -> Result<()> {
        // A stretch costs at most one unit per operator: far below 2^32 in a body the
        // validator accepts.
        let fuel = u32::try_from(fuel).map_err(|_| too_large("units of fuel in a stretch"))?;
        self.emit(if check {
            Instr::ConsumeFuelCheck { fuel }
        } else {
            Instr::ConsumeFuel { fuel }
        });
        Ok(())
    }
    fn check_deadline(&mut self) -> Result<()> {
        self.emit(Instr::CheckDeadline);
        Ok(())
    }
}

/// A function beyond what a frame can address (2^32 cells: far beyond what the validator
/// accepts, so never in practice).
fn too_large(what: &str) -> Error {
    Error::unsupported(format!(
        "function too large for the interpreter: too many {what}"
    ))
}

/// Translates defined function `index` of `module`.
pub fn translate(module: &Module, index: u32, metering: Metering) -> Result<InterpFunc> {
    let body = module.func_body(index);
    let ty = module.func_type(index);
    let num_params = ty.params().len() as u32;
    let mut num_locals = num_params as u64;
    for l in body.get_locals_reader().map_err(read_err)? {
        let (n, _) = l.map_err(read_err)?;
        num_locals += n as u64;
    }
    // The validator allows 50,000 declared locals and 1,000 parameters.
    let num_locals = u32::try_from(num_locals).map_err(|_| too_large("locals"))?;

    // Constants are slots right after the locals; collect them first so temporaries
    // can start after them.
    let mut consts = Vec::new();
    let mut const_slots = HashMap::new();
    let mut ops = body.get_operators_reader().map_err(read_err)?;
    while !ops.eof() {
        use wasmparser::Operator as O;
        let v = match ops.read().map_err(read_err)? {
            O::I32Const { value } => value as u32 as u64,
            O::I64Const { value } => value as u64,
            O::F32Const { value } => value.bits() as u64,
            O::F64Const { value } => value.bits(),
            O::RefNull { .. } => 0,
            _ => continue,
        };
        if let hashbrown::hash_map::Entry::Vacant(e) = const_slots.entry(v) {
            let slot = num_locals as u64 + consts.len() as u64;
            let slot = Slot::try_from(slot).map_err(|_| too_large("locals and constants"))?;
            e.insert(slot);
            consts.push(v);
        }
    }
    let temp_base = num_locals + consts.len() as u32;

    let mut t = Translator {
        module,
        func_index: index,
        code: Vec::new(),
        stack: Vec::new(),
        num_params,
        num_locals,
        consts,
        const_slots,
        temp_base,
        max_height: 0,
        control: ControlStack::new(ty.results().len(), Label::default()),
        reachable: true,
        fuse: None,
        label_at: 0,
    };
    translate_operators(
        body.get_operators_reader().map_err(read_err)?,
        &mut t,
        metering,
    )?;
    t.finish()
}

impl Translator<'_> {
    fn finish(self) -> Result<InterpFunc> {
        // Three spare cells: frame setup writes locals and constants in blocks of four.
        let frame_size = (self.temp_base as u64 + self.max_height as u64 + 1 + 3)
            .try_into()
            .map_err(|_| too_large("stack slots"))?;
        crate::verify::verify(&self.code, frame_size, self.module)?;
        let ops = self
            .code
            .iter()
            .map(|i| crate::dispatch::Op::new(*i))
            .collect();
        Ok(InterpFunc {
            func_index: self.func_index,
            ops,
            num_params: self.num_params,
            num_locals: self.num_locals,
            consts: {
                // Padded to whole blocks of four (see `enter_frame`).
                let mut c = self.consts;
                c.resize(c.len().div_ceil(4) * 4, 0);
                c.into_boxed_slice()
            },
            frame_size,
            frame_bytes: self.module.frame_bytes(self.func_index),
        })
    }

    // ---- operand stack ----

    fn temp(&self, height: usize) -> Result<Slot> {
        let s = self.temp_base as usize + height;
        Slot::try_from(s)
            .ok()
            .filter(|s| *s < Slot::MAX - 8)
            .ok_or_else(|| too_large("stack slots"))
    }

    fn slot_at(&self, i: usize) -> Result<Slot> {
        match self.stack[i] {
            Operand::Temp => self.temp(i),
            Operand::Local(s) | Operand::Const(s) => Ok(s),
        }
    }

    fn note_height(&mut self, h: usize) {
        self.max_height = self.max_height.max(h as u32);
    }

    fn push(&mut self, op: Operand) {
        self.stack.push(op);
        let h = self.stack.len();
        self.note_height(h);
    }

    /// Pops an operand, returning its slot.
    fn pop(&mut self) -> Result<Slot> {
        let s = self.slot_at(self.stack.len() - 1)?;
        self.stack.pop();
        Ok(s)
    }

    /// Copies operand `i` into its temporary if it is not there yet.
    fn materialize(&mut self, i: usize) -> Result<()> {
        if self.stack[i] != Operand::Temp {
            let (dst, src) = (self.temp(i)?, self.slot_at(i)?);
            self.emit(Instr::Copy { dst, src });
            self.stack[i] = Operand::Temp;
        }
        Ok(())
    }

    fn emit(&mut self, i: Instr) -> usize {
        self.fuse = None;
        // Two copies to consecutive slots (call arguments, mostly) become one op.
        if let (Instr::Copy { dst: d2, src: b }, Some(Instr::Copy { dst: d1, src: a })) =
            (i, self.code.last().copied())
        {
            if d1 < Slot::MAX && d2 == d1 + 1 && self.label_at != self.code.len() {
                *self.code.last_mut().expect("a previous copy") = Instr::Copy2 { to: d1, a, b };
                return self.code.len() - 1;
            }
        }
        self.code.push(i);
        self.code.len() - 1
    }

    /// Marks the current position as a branch target.
    fn mark_label(&mut self) {
        self.label_at = self.code.len();
    }

    /// Emits `make(dst)` where `dst` is the temporary of the next stack height, and
    /// pushes that temporary.
    fn emit_result(&mut self, make: impl FnOnce(Slot) -> Instr) -> Result<()> {
        let h = self.stack.len();
        let dst = self.temp(h)?;
        let pc = self.emit(make(dst));
        self.push(Operand::Temp);
        self.fuse = Some((pc, h));
        Ok(())
    }

    /// Pops the top three operands after moving them into their temporaries, which are
    /// consecutive: returns the first one's slot (for instructions that name the three
    /// by the first).
    fn pop_args3(&mut self) -> Result<Slot> {
        self.pop_args(3)
    }

    /// Pops the top `n` operands as [`Translator::pop_args3`] pops three.
    fn pop_args(&mut self, n: usize) -> Result<Slot> {
        let first = self.stack.len() - n;
        for i in first..self.stack.len() {
            self.materialize(i)?;
        }
        let args = self.temp(first)?;
        self.stack.truncate(first);
        Ok(args)
    }

    /// Pops three operands (a, b, c in push order).
    fn pop3(&mut self) -> Result<(Slot, Slot, Slot)> {
        let c = self.pop()?;
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b, c))
    }
}

//! Blocks, branches, `return`, `unreachable`, and the parametric `drop` and `select`.
//!
//! A label's values live in the temporaries of the heights its frame gives them; a
//! branch copies its operands there (when they are elsewhere) and jumps by an offset
//! patched once the target is placed.

use super::{Label, Operand, Translator};
use crate::bytecode::{Instr, Slot};
use rwamr_core::translate::{BlockSig, Frame, FrameKind};
use rwamr_core::{Error, Result};
use wasmparser::{BlockType, BrTable};

impl Translator<'_> {
    fn enter(&mut self, kind: FrameKind, ty: BlockType) -> Result<()> {
        let sig = BlockSig::new(self.module, ty)?;
        let (params, results) = (sig.params().len(), sig.results().len());
        // A local.set inside the block must not have to preserve values from outside it
        // (the copy might not run on every path), so stacked locals are copied now; the
        // parameters must sit in their temporaries for the branches that target them.
        for i in 0..self.stack.len() {
            let is_param = i + params >= self.stack.len();
            if matches!(self.stack[i], Operand::Local(_)) || is_param {
                self.materialize(i)?;
            }
        }
        let height = self.stack.len() - params;
        self.note_height(height + results.max(params));
        self.fuse = None;
        self.mark_label();
        self.control.push(Frame {
            kind,
            height,
            params,
            results,
            label: Label {
                loop_start: self.code.len(),
                ..Label::default()
            },
        });
        Ok(())
    }

    /// Copies the top `arity` operands into the temporaries of heights `height..`.
    fn copy_to_label(&mut self, height: usize, arity: usize) -> Result<()> {
        let first = self.stack.len() - arity;
        for i in 0..arity {
            let src = self.slot_at(first + i)?;
            let dst = self.temp(height + i)?;
            if src != dst {
                self.emit(Instr::Copy { dst, src });
            }
        }
        Ok(())
    }

    fn label_needs_copies(&self, height: usize, arity: usize) -> Result<bool> {
        let first = self.stack.len() - arity;
        for i in 0..arity {
            if self.slot_at(first + i)? != self.temp(height + i)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn patch(&mut self, at: usize, target: usize) {
        let off = target as i32 - at as i32;
        let offset = self.code[at].offset_mut().expect("patching a branch");
        *offset = off;
    }

    /// The conditional branch on `cond` (just popped): taken when it is non-zero, or
    /// zero with `negate`. Fuses with the compare that computed `cond`, when that was
    /// the last instruction.
    fn cond_branch(&mut self, cond: Slot, negate: bool) -> Instr {
        if let Some((pc, h)) = self.fuse {
            if pc + 1 == self.code.len() && h == self.stack.len() {
                if let Some(br) = self.code[pc].compare_branch(negate) {
                    self.code.pop();
                    self.fuse = None;
                    return br;
                }
            }
        }
        if negate {
            Instr::BrIfEqz { cond, offset: 0 }
        } else {
            Instr::BrIfNez { cond, offset: 0 }
        }
    }

    /// Emits `Br` to the label of control frame `idx` (values already copied).
    fn jump_to(&mut self, idx: usize, br: Instr) {
        let at = self.emit(br);
        self.link(idx, at);
    }

    fn link(&mut self, idx: usize, at: usize) {
        if self.control[idx].kind == FrameKind::Loop {
            let start = self.control[idx].label.loop_start;
            self.patch(at, start);
        } else {
            self.control[idx].label.fixups.push(at);
        }
    }

    /// The height and arity of the label of frame `idx`.
    fn label_arity(&self, idx: usize) -> (usize, usize) {
        let f = &self.control[idx];
        (f.height, f.branch_arity())
    }

    fn emit_return(&mut self) -> Result<()> {
        let n = self.control[0].results;
        match n {
            0 => {
                self.emit(Instr::Return);
            }
            1 => {
                let src = self.slot_at(self.stack.len() - 1)?;
                self.emit(Instr::ReturnSlot { src });
            }
            _ => {
                // Gather the results in their temporaries (above every local, so the copy
                // down to slots 0.. cannot clobber a source). The operand stack is left as
                // it is: this may be one path of a `br_if` or `br_table`, and other paths
                // must not assume the copies ran.
                let first = self.stack.len() - n;
                for i in first..self.stack.len() {
                    let (dst, src) = (self.temp(i)?, self.slot_at(i)?);
                    if dst != src {
                        self.emit(Instr::Copy { dst, src });
                    }
                }
                let src = self.temp(first)?;
                self.emit(Instr::ReturnMany { src, len: n as u16 });
            }
        }
        Ok(())
    }

    /// The code for an unconditional branch to depth `depth` (values on the stack top).
    /// A branch to the function body's frame (index 0) returns.
    fn branch(&mut self, depth: u32) -> Result<()> {
        let idx = self.control.index(depth);
        if idx == 0 {
            return self.emit_return();
        }
        let (height, arity) = self.label_arity(idx);
        self.copy_to_label(height, arity)?;
        self.jump_to(idx, Instr::Br { offset: 0 });
        Ok(())
    }

    /// Whether a branch to frame `idx` is a plain jump (no copies, not a return).
    fn is_plain_jump(&self, idx: usize) -> Result<bool> {
        let (height, arity) = self.label_arity(idx);
        Ok(idx != 0 && !self.label_needs_copies(height, arity)?)
    }

    fn set_unreachable(&mut self) {
        self.reachable = false;
        let h = self.control.top().height;
        self.stack.truncate(h);
        self.fuse = None;
    }

    pub(super) fn visit_nop(&mut self) -> Result<()> {
        Ok(())
    }
    pub(super) fn visit_unreachable(&mut self) -> Result<()> {
        self.emit(Instr::Unreachable);
        self.set_unreachable();
        Ok(())
    }
    pub(super) fn visit_block(&mut self, blockty: BlockType) -> Result<()> {
        self.enter(FrameKind::Block, blockty)
    }
    pub(super) fn visit_loop(&mut self, blockty: BlockType) -> Result<()> {
        self.enter(FrameKind::Loop, blockty)
    }
    pub(super) fn visit_if(&mut self, blockty: BlockType) -> Result<()> {
        let cond = self.pop()?;
        // Parameters are materialized by `enter`, which may emit copies: they must run
        // on both paths, so the conditional branch comes after them (and fuses with the
        // compare only when `enter` emitted nothing).
        let (fuse, len) = (self.fuse, self.code.len());
        self.enter(FrameKind::If, blockty)?;
        if self.code.len() == len {
            self.fuse = fuse;
        }
        let br = self.cond_branch(cond, true);
        let at = self.emit(br);
        self.control.top_mut().label.else_fixup = Some(at);
        Ok(())
    }
    /// Also called in unreachable code, for the innermost frame's `else`.
    pub(super) fn visit_else(&mut self) -> Result<()> {
        let idx = self.control.len() - 1;
        if self.reachable {
            let (height, arity) = (self.control[idx].height, self.control[idx].results);
            self.copy_to_label(height, arity)?;
            self.jump_to(idx, Instr::Br { offset: 0 });
        }
        self.mark_label();
        let here = self.code.len();
        if let Some(at) = self.control[idx].label.else_fixup.take() {
            self.patch(at, here);
        }
        let f = self.control.top_mut();
        f.kind = FrameKind::Else;
        let (height, params) = (f.height, f.params);
        self.stack.truncate(height);
        for _ in 0..params {
            self.push(Operand::Temp);
        }
        self.reachable = true;
        self.fuse = None;
        Ok(())
    }
    /// Also called in unreachable code, for the innermost frame's `end`.
    pub(super) fn visit_end(&mut self) -> Result<()> {
        let idx = self.control.len() - 1;
        if idx == 0 {
            if self.reachable {
                self.emit_return()?;
            }
            self.control.pop();
            self.reachable = false;
            return Ok(());
        }
        if self.reachable {
            let (height, arity) = (self.control[idx].height, self.control[idx].results);
            self.copy_to_label(height, arity)?;
        }
        let f = self.control.pop();
        self.mark_label();
        let here = self.code.len();
        let falls_through_else = f.label.else_fixup.is_some();
        if let Some(at) = f.label.else_fixup {
            self.patch(at, here);
        }
        for at in &f.label.fixups {
            self.patch(*at, here);
        }
        self.reachable = self.reachable || falls_through_else || !f.label.fixups.is_empty();
        self.stack.truncate(f.height);
        for _ in 0..f.results {
            self.push(Operand::Temp);
        }
        self.fuse = None;
        Ok(())
    }
    pub(super) fn visit_br(&mut self, relative_depth: u32) -> Result<()> {
        self.branch(relative_depth)?;
        self.set_unreachable();
        Ok(())
    }
    pub(super) fn visit_br_if(&mut self, relative_depth: u32) -> Result<()> {
        let cond = self.pop()?;
        let idx = self.control.index(relative_depth);
        if self.is_plain_jump(idx)? {
            let br = self.cond_branch(cond, false);
            self.jump_to(idx, br);
            return Ok(());
        }
        let br = self.cond_branch(cond, true);
        let skip = self.emit(br);
        self.branch(relative_depth)?;
        self.mark_label();
        let here = self.code.len();
        self.patch(skip, here);
        Ok(())
    }
    pub(super) fn visit_br_table(&mut self, targets: BrTable<'_>) -> Result<()> {
        let index = self.pop()?;
        let mut depths = Vec::with_capacity(targets.len() as usize + 1);
        for t in targets.targets() {
            depths.push(t.map_err(rwamr_core::translate::read_err)?);
        }
        depths.push(targets.default());
        self.emit(Instr::BrTable {
            index,
            len: targets.len(),
        });
        let first = self.code.len();
        for _ in &depths {
            self.emit(Instr::Br { offset: 0 });
        }
        // Targets that need values copied (or that return) get a stub after the table.
        for (i, d) in depths.iter().enumerate() {
            let idx = self.control.index(*d);
            if self.is_plain_jump(idx)? {
                self.link(idx, first + i);
            } else {
                self.mark_label();
                let here = self.code.len();
                self.patch(first + i, here);
                self.branch(*d)?;
            }
        }
        self.set_unreachable();
        Ok(())
    }
    pub(super) fn visit_return(&mut self) -> Result<()> {
        self.emit_return()?;
        self.set_unreachable();
        Ok(())
    }

    // ---- parametric ----
    pub(super) fn visit_drop(&mut self) -> Result<()> {
        self.pop()?;
        Ok(())
    }
    pub(super) fn visit_select(&mut self) -> Result<()> {
        // The result replaces the first operand in its temporary: `Select` picks between
        // what is there and the second.
        let cond = self.pop()?;
        let other = self.pop()?;
        let first = self.stack.len() - 1;
        self.materialize(first)?;
        let out = self.temp(first)?;
        self.emit(Instr::Select { out, cond, other });
        Ok(())
    }
    pub(super) fn visit_typed_select(&mut self, _ty: wasmparser::ValType) -> Result<()> {
        self.visit_select()
    }
    pub(super) fn visit_typed_select_multi(&mut self, _: Vec<wasmparser::ValType>) -> Result<()> {
        Err(Error::invalid("select with several results is not valid"))
    }
}

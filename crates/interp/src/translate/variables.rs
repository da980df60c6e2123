//! Locals and globals. `local.get` emits nothing: the operand names the local's slot
//! until something would overwrite it (`preserve_local`).

use super::{Operand, Translator};
use crate::bytecode::{Instr, Slot};
use rwamr_core::Result;

impl Translator<'_> {
    fn local_slot(&self, index: u32) -> Slot {
        index as Slot
    }

    /// Before local `index` is written: copies every stacked `local.get` of it (below the
    /// top `keep` operands) to its temporary, so it keeps the old value.
    fn preserve_local(&mut self, index: u32, keep: usize) -> Result<()> {
        let s = self.local_slot(index);
        let n = self.stack.len() - keep;
        for i in 0..n {
            if self.stack[i] == Operand::Local(s) {
                self.materialize(i)?;
            }
        }
        Ok(())
    }

    fn set_local(&mut self, index: u32) -> Result<()> {
        let dst = self.local_slot(index);
        let top = self.stack.len() - 1;
        let fuse = self.fuse;
        self.preserve_local(index, 1)?;
        let top_op = self.stack[top];
        let src = self.pop()?;
        if top_op == Operand::Local(dst) {
            return Ok(());
        }
        // Retarget the instruction that computed the value, when nothing came between.
        if let (Operand::Temp, Some((pc, h))) = (top_op, fuse) {
            if h == top && pc + 1 == self.code.len() && self.fuse == fuse {
                if let Some(d) = self.code[pc].dst_mut() {
                    *d = dst;
                    self.fuse = None;
                    return Ok(());
                }
            }
        }
        self.emit(Instr::Copy { dst, src });
        Ok(())
    }

    pub(super) fn visit_local_get(&mut self, local_index: u32) -> Result<()> {
        let s = self.local_slot(local_index);
        self.push(Operand::Local(s));
        Ok(())
    }
    pub(super) fn visit_local_set(&mut self, local_index: u32) -> Result<()> {
        self.set_local(local_index)
    }
    pub(super) fn visit_local_tee(&mut self, local_index: u32) -> Result<()> {
        self.set_local(local_index)?;
        let s = self.local_slot(local_index);
        self.push(Operand::Local(s));
        Ok(())
    }
    pub(super) fn visit_global_get(&mut self, global_index: u32) -> Result<()> {
        self.emit_result(|dst| Instr::GlobalGet {
            dst,
            global: global_index,
        })
    }
    pub(super) fn visit_global_set(&mut self, global_index: u32) -> Result<()> {
        let src = self.pop()?;
        self.emit(Instr::GlobalSet {
            src,
            global: global_index,
        });
        Ok(())
    }
}

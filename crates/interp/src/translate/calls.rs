//! Calls. The arguments are gathered in consecutive temporaries, where the callee's
//! frame starts (see `bytecode.rs`), and the results come back there.

use super::{Operand, Translator};
use crate::bytecode::{Instr, Slot};
use rwamr_core::Result;

impl Translator<'_> {
    /// Moves the top `n_params` operands into their temporaries (the callee's first
    /// cells) and pops them; returns where they start.
    fn call_common(&mut self, n_params: usize, n_results: usize) -> Result<Slot> {
        let first = self.stack.len() - n_params;
        for i in first..self.stack.len() {
            self.materialize(i)?;
        }
        let base = self.temp(first)?;
        self.stack.truncate(first);
        self.note_height(first + n_params.max(n_results).max(1));
        Ok(base)
    }

    pub(super) fn visit_call(&mut self, function_index: u32) -> Result<()> {
        let ty = self.module.func_type(function_index);
        let (np, nr) = (ty.params().len(), ty.results().len());
        let base = self.call_common(np, nr)?;
        self.emit(Instr::Call {
            func: function_index,
            base,
        });
        for _ in 0..nr {
            self.push(Operand::Temp);
        }
        Ok(())
    }
    pub(super) fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Result<()> {
        let index = self.pop()?;
        let ty = &self.module.types[type_index as usize];
        let (np, nr) = (ty.params().len(), ty.results().len());
        let base = self.call_common(np, nr)?;
        self.emit(Instr::CallIndirect {
            sig: type_index,
            table: super::table::table_index(table_index)?,
            index,
            base,
        });
        for _ in 0..nr {
            self.push(Operand::Temp);
        }
        Ok(())
    }
}

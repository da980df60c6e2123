//! Table instructions and function references (`ref.func`).

use super::Translator;
use crate::bytecode::Instr;
use rwamr_core::{Error, Result};

impl Translator<'_> {
    pub(super) fn visit_ref_func(&mut self, function_index: u32) -> Result<()> {
        self.emit_result(|dst| Instr::RefFunc {
            dst,
            func: function_index,
        })
    }
    pub(super) fn visit_table_get(&mut self, table: u32) -> Result<()> {
        let index = self.pop()?;
        self.emit_result(|dst| Instr::TableGet { dst, index, table })
    }
    pub(super) fn visit_table_set(&mut self, table: u32) -> Result<()> {
        let value = self.pop()?;
        let index = self.pop()?;
        self.emit(Instr::TableSet {
            index,
            value,
            table,
        });
        Ok(())
    }
    pub(super) fn visit_table_size(&mut self, table: u32) -> Result<()> {
        self.emit_result(|dst| Instr::TableSize { dst, table })
    }
    pub(super) fn visit_table_grow(&mut self, table: u32) -> Result<()> {
        let table = table_index(table)?;
        let delta = self.pop()?;
        let init = self.pop()?;
        self.emit_result(|dst| Instr::TableGrow {
            dst,
            init,
            delta,
            table,
        })
    }
    pub(super) fn visit_table_fill(&mut self, table: u32) -> Result<()> {
        let (at, value, len) = self.pop3()?;
        self.emit(Instr::TableFill {
            at,
            value,
            len,
            table: table_index(table)?,
        });
        Ok(())
    }
    pub(super) fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> Result<()> {
        let args = self.pop_args3()?;
        self.emit(Instr::TableCopy {
            args,
            dst_table: table_index(dst_table)?,
            src_table: table_index(src_table)?,
        });
        Ok(())
    }
    pub(super) fn visit_table_init(&mut self, elem_index: u32, table: u32) -> Result<()> {
        let args = self.pop_args3()?;
        self.emit(Instr::TableInit {
            args,
            elem: elem_index,
            table: table_index(table)?,
        });
        Ok(())
    }
    pub(super) fn visit_elem_drop(&mut self, elem_index: u32) -> Result<()> {
        self.emit(Instr::ElemDrop { elem: elem_index });
        Ok(())
    }
}

/// A table index as the bytecode holds it (16 bits: the validator allows 100 tables).
pub(super) fn table_index(table: u32) -> Result<u16> {
    u16::try_from(table).map_err(|_| Error::unsupported("more than 65,536 tables"))
}

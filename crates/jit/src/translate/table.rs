//! Table instructions and function references. Reads of elements and sizes are inline
//! (tables publish their element array's base and length, see core's `table.rs`);
//! writes and the bulk operations call helpers, which keep holders and check bounds.

use super::{trusted, trusted_readonly, user, Translator};
use crate::abi::{user_trap, PTR};
use crate::helpers::Helper;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Value};
use rwamr_core::{Result, Table};

impl Translator<'_, '_, '_> {
    /// The address of the `Table` of table index `table`.
    pub(super) fn table_ptr(&mut self, table: u32) -> Value {
        self.b.ins().load(
            PTR,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.table(table),
        )
    }

    /// The cell of element `index` of table `table`. For `call_indirect`
    /// (`for_call`), an index outside the table traps "undefined element" and a null
    /// cell "uninitialized element"; otherwise outside is "out of bounds table access".
    pub(super) fn table_cell(&mut self, table: u32, index: Value, for_call: bool) -> Value {
        let t = self.table_ptr(table);
        // Length, then base (see core's `table.rs`); both change when the table grows.
        let len = self.b.ins().load(PTR, trusted(), t, Table::LEN_OFFSET);
        let i = self.b.ins().uextend(PTR, index);
        let outside = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, i, len);
        let code = if for_call {
            user_trap::UNDEFINED_ELEMENT
        } else {
            user_trap::TABLE_OUT_OF_BOUNDS
        };
        self.b.ins().trapnz(outside, user(code));
        let cells = self.b.ins().load(PTR, trusted(), t, Table::BASE_OFFSET);
        let off = self.b.ins().ishl_imm_u(i, 3);
        let at = self.b.ins().iadd(cells, off);
        let cell = self.b.ins().load(types::I64, trusted(), at, 0);
        if for_call {
            self.b
                .ins()
                .trapz(cell, user(user_trap::UNINITIALIZED_ELEMENT));
        }
        cell
    }

    pub(super) fn visit_table_get(&mut self, table: u32) -> Result<()> {
        let index = self.pop();
        let v = self.table_cell(table, index, false);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_table_set(&mut self, table: u32) -> Result<()> {
        self.helper_op(Helper::TableSet, &[table], 2);
        Ok(())
    }
    pub(super) fn visit_table_size(&mut self, table: u32) -> Result<()> {
        let t = self.table_ptr(table);
        let len = self.b.ins().load(PTR, trusted(), t, Table::LEN_OFFSET);
        let v = self.b.ins().ireduce(types::I32, len);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_table_grow(&mut self, table: u32) -> Result<()> {
        let v = self.helper_op(Helper::TableGrow, &[table], 2);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_table_fill(&mut self, table: u32) -> Result<()> {
        self.bulk_helper_op(Helper::TableFill, &[table]);
        Ok(())
    }
    pub(super) fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> Result<()> {
        self.bulk_helper_op(Helper::TableCopy, &[dst_table, src_table]);
        Ok(())
    }
    pub(super) fn visit_table_init(&mut self, elem_index: u32, table: u32) -> Result<()> {
        self.bulk_helper_op(Helper::TableInit, &[table, elem_index]);
        Ok(())
    }
    pub(super) fn visit_elem_drop(&mut self, elem_index: u32) -> Result<()> {
        self.helper_op(Helper::ElemDrop, &[elem_index], 0);
        Ok(())
    }
    pub(super) fn visit_ref_func(&mut self, function_index: u32) -> Result<()> {
        // A function reference is the address of its slot.
        let v = self.b.ins().load(
            types::I64,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.func_slot(function_index),
        );
        self.push(v);
        Ok(())
    }
}

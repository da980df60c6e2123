//! Locals and globals. A local is a frontend variable (SSA), or a stack slot in the
//! baseline tier; a global is a cell its vmctx word points to.

use super::{local_offset, trusted, trusted_readonly, Local, Translator};
use crate::abi::{clif_type, PTR};
use crate::helpers::Helper;
use cranelift_codegen::ir::{InstBuilder, Value};
use rwamr_core::{Result, ValType};

impl Translator<'_, '_, '_> {
    fn get_local(&mut self, index: u32) -> Value {
        match self.locals[index as usize] {
            Local::Var(var) => self.b.use_var(var),
            Local::Slot(slot, ty) => {
                let at = local_offset(index as usize);
                self.b.ins().stack_load(PTR, ty, slot, at)
            }
        }
    }

    fn set_local(&mut self, index: u32, v: Value) {
        match self.locals[index as usize] {
            Local::Var(var) => self.b.def_var(var, v),
            Local::Slot(slot, _) => {
                let at = local_offset(index as usize);
                self.b.ins().stack_store(PTR, v, slot, at);
            }
        }
    }

    /// The address of global `index`'s value cell.
    fn global_cell(&mut self, index: u32) -> Value {
        self.b.ins().load(
            PTR,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.global(index),
        )
    }

    pub(super) fn visit_local_get(&mut self, local_index: u32) -> Result<()> {
        let v = self.get_local(local_index);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_local_set(&mut self, local_index: u32) -> Result<()> {
        let v = self.pop();
        self.set_local(local_index, v);
        Ok(())
    }
    pub(super) fn visit_local_tee(&mut self, local_index: u32) -> Result<()> {
        let v = *self.stack.last().expect("validated: tee operand");
        self.set_local(local_index, v);
        Ok(())
    }
    pub(super) fn visit_global_get(&mut self, global_index: u32) -> Result<()> {
        let ty = self.env.module.globals[global_index as usize];
        let at = self.global_cell(global_index);
        let flags = if ty.mutable {
            trusted()
        } else {
            trusted_readonly()
        };
        let v = self.b.ins().load(clif_type(ty.ty), flags, at, 0);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_global_set(&mut self, global_index: u32) -> Result<()> {
        let ty = self.env.module.globals[global_index as usize];
        if matches!(ty.ty, ValType::FuncRef | ValType::ExternRef) {
            // Storing a reference may need to keep its instance alive.
            self.helper_op(Helper::GlobalSetRef, &[global_index], 1);
        } else {
            let v = self.pop();
            let v = self.widen(v);
            let at = self.global_cell(global_index);
            self.b.ins().store(trusted(), v, at, 0);
        }
        Ok(())
    }
}

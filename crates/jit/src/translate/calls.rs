//! Calls. Every call goes through a function slot: load the slot's current entry, then
//! its native entry point, and call that with the native convention (`abi.rs`):
//! compiled code directly, other code through its type's stub (`stubs.rs`).

use super::{trusted, trusted_readonly, user, Translator};
use crate::abi::{self, user_trap, ThreadCtx, PTR};
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Value};
use rwamr_core::{FuncEntry, FuncType, Result};

impl Translator<'_, '_, '_> {
    /// Calls the function of slot entry `entry`, of type `ty`, with arguments from the
    /// operand stack; pushes the results.
    fn call_entry(&mut self, entry: Value, ty: &FuncType) {
        let np = ty.params().len();
        // One signature per type and function: Cranelift computes the ABI of each.
        let sig = match self.signatures.get(ty) {
            Some(sig) => *sig,
            None => {
                let sig = self.b.import_signature(abi::native_signature(ty));
                self.signatures.insert(ty.clone(), sig);
                sig
            }
        };
        let native = self
            .b
            .ins()
            .load(PTR, trusted_readonly(), entry, FuncEntry::NATIVE_OFFSET);
        // For a host callee's `Caller` (see `abi.rs`).
        self.b.ins().store(
            trusted(),
            self.vmctx,
            self.tctx,
            ThreadCtx::CALLER_VMCTX_OFFSET,
        );
        let mut all = Vec::with_capacity(np + 3);
        all.push(entry);
        all.push(self.tctx);
        all.push(self.stack_left);
        all.extend(self.stack.drain(self.stack.len() - np..));
        let call = self.b.ins().call_indirect(sig, native, &all);
        let results = self.b.inst_results(call).to_vec();
        self.stack.extend(results);
        self.after_call();
    }

    pub(super) fn visit_call(&mut self, function_index: u32) -> Result<()> {
        let slot = self.b.ins().load(
            PTR,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.func_slot(function_index),
        );
        let entry = self.b.ins().load(PTR, trusted(), slot, 0);
        let ty = self.env.module.func_type(function_index).clone();
        self.call_entry(entry, &ty);
        Ok(())
    }
    pub(super) fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Result<()> {
        let index = self.pop();
        let slot = self.table_cell(table_index, index, true);
        let entry = self.b.ins().load(PTR, trusted(), slot, 0);
        let have = self
            .b
            .ins()
            .load(types::I32, trusted_readonly(), entry, FuncEntry::SIG_OFFSET);
        let want = self.b.ins().load(
            types::I32,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.sig(type_index),
        );
        let differ = self.b.ins().icmp(IntCC::NotEqual, have, want);
        self.b.ins().trapnz(differ, user(user_trap::BAD_SIGNATURE));
        let ty = self.env.module.types[type_index as usize].clone();
        self.call_entry(entry, &ty);
        Ok(())
    }
}

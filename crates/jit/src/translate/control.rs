//! Blocks, branches, calls, locals, `select` and `drop`.
//!
//! Every call goes through a function slot: load the slot's current entry, then its
//! native entry point, and call that with the native convention (`abi.rs`): compiled
//! code directly, other code through its type's stub (`stubs.rs`).

use super::{trusted, trusted_readonly, user, Frame, FrameKind, Translator};
use crate::abi::{self, clif_type, user_trap, PTR};
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types, BlockArg, InstBuilder, JumpTableData, Value,
};
use rwamr_core::{Error, FuncEntry, FuncType, Result, Table};
use wasmparser::{BlockType, Operator};

fn args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl Translator<'_, '_, '_> {
    fn block_types(&self, bt: BlockType) -> Result<(Vec<ir::Type>, Vec<ir::Type>)> {
        Ok(match bt {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (
                vec![],
                vec![clif_type(rwamr_core::ValType::from_wasmparser(t)?)],
            ),
            BlockType::FuncType(i) => {
                let ft = &self.env.module.types[i as usize];
                (
                    ft.params().iter().map(|t| clif_type(*t)).collect(),
                    ft.results().iter().map(|t| clif_type(*t)).collect(),
                )
            }
        })
    }

    fn block_with_params(&mut self, tys: &[ir::Type]) -> ir::Block {
        let blk = self.b.create_block();
        for t in tys {
            self.b.append_block_param(blk, *t);
        }
        blk
    }

    /// Control operators; `false` when `op` is not one.
    pub(super) fn control(&mut self, op: &Operator<'_>) -> Result<bool> {
        match *op {
            Operator::Nop => {}
            Operator::Unreachable => {
                self.b.ins().trap(user(user_trap::UNREACHABLE));
                self.reachable = false;
            }
            Operator::Block { blockty } => {
                let (p, r) = self.block_types(blockty)?;
                let next = self.block_with_params(&r);
                self.frames.push(Frame {
                    kind: FrameKind::Block,
                    next,
                    num_params: p.len(),
                    num_results: r.len(),
                    height: self.stack.len() - p.len(),
                    next_reachable: false,
                });
            }
            Operator::Loop { blockty } => {
                let (p, r) = self.block_types(blockty)?;
                let header = self.block_with_params(&p);
                let inputs = args(self.peekn(p.len()));
                self.b.ins().jump(header, &inputs);
                let height = self.stack.len() - p.len();
                self.stack.truncate(height);
                self.b.switch_to_block(header);
                let params = self.b.block_params(header).to_vec();
                self.stack.extend(params);
                let next = self.block_with_params(&r);
                self.frames.push(Frame {
                    kind: FrameKind::Loop { header },
                    next,
                    num_params: p.len(),
                    num_results: r.len(),
                    height,
                    next_reachable: false,
                });
            }
            Operator::If { blockty } => {
                let (p, r) = self.block_types(blockty)?;
                let cond = self.pop();
                let (then_b, else_b) = (self.b.create_block(), self.b.create_block());
                self.b.ins().brif(cond, then_b, &[], else_b, &[]);
                self.b.seal_block(then_b);
                self.b.seal_block(else_b);
                self.b.switch_to_block(then_b);
                let next = self.block_with_params(&r);
                let params = self.peekn(p.len()).to_vec();
                self.frames.push(Frame {
                    kind: FrameKind::If {
                        else_block: Some(else_b),
                        params,
                        head_reachable: true,
                    },
                    next,
                    num_params: p.len(),
                    num_results: r.len(),
                    height: self.stack.len() - p.len(),
                    next_reachable: false,
                });
            }
            Operator::Else => {
                let frame = self.frames.last_mut().expect("validated: else in if");
                let results = args(&self.stack[self.stack.len() - frame.num_results..]);
                self.b.ins().jump(frame.next, &results);
                frame.next_reachable = true;
                self.switch_to_else();
            }
            Operator::End => self.end(),
            Operator::Br { relative_depth } => {
                let (blk, n) = self.br_target(relative_depth);
                let a = args(self.peekn(n));
                self.b.ins().jump(blk, &a);
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop();
                let (blk, n) = self.br_target(relative_depth);
                let a = args(self.peekn(n));
                let cont = self.b.create_block();
                self.b.ins().brif(cond, blk, &a, cont, &[]);
                self.b.seal_block(cont);
                self.b.switch_to_block(cont);
            }
            Operator::BrTable { ref targets } => {
                let index = self.pop();
                let mut depths = Vec::with_capacity(targets.len() as usize);
                for d in targets.targets() {
                    depths.push(d.map_err(|e| Error::malformed(e.to_string()))?);
                }
                let (default, n) = self.br_target(targets.default());
                let a = args(self.peekn(n));
                let default_call = self.b.func.dfg.block_call(default, &a);
                let mut calls = Vec::with_capacity(depths.len());
                for d in depths {
                    let (blk, _) = self.br_target(d);
                    calls.push(self.b.func.dfg.block_call(blk, &a));
                }
                let jt = self
                    .b
                    .create_jump_table(JumpTableData::new(default_call, &calls));
                self.b.ins().br_table(index, jt);
                self.reachable = false;
            }
            Operator::Return => {
                let n = self.frames[0].num_results;
                let results = self.peekn(n).to_vec();
                self.b.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let (x, y, c) = self.pop3();
                let v = self.b.ins().select(c, x, y);
                self.push(v);
            }
            Operator::LocalGet { local_index } => {
                let v = self.get_local(local_index);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.set_local(local_index, v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated: tee operand");
                self.set_local(local_index, v);
            }
            Operator::Call { function_index } => {
                let layout = self.env.layout;
                let slot = self.b.ins().load(
                    PTR,
                    trusted_readonly(),
                    self.vmctx,
                    layout.func_slot(function_index),
                );
                let entry = self.b.ins().load(PTR, trusted(), slot, 0);
                let ty = self.env.module.func_type(function_index).clone();
                self.call_entry(entry, &ty);
            }
            Operator::CallIndirect {
                type_index,
                table_index,
            } => {
                let index = self.pop();
                let slot = self.table_cell(table_index, index, true);
                let entry = self.b.ins().load(PTR, trusted(), slot, 0);
                let have =
                    self.b
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
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

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
        let mut all = Vec::with_capacity(np + 3);
        all.push(entry);
        all.push(self.tctx);
        all.push(self.vmctx);
        all.extend(self.stack.drain(self.stack.len() - np..));
        let call = self.b.ins().call_indirect(sig, native, &all);
        let results = self.b.inst_results(call).to_vec();
        self.stack.extend(results);
    }

    /// The block a branch to `depth` jumps to and how many values it carries.
    fn br_target(&mut self, depth: u32) -> (ir::Block, usize) {
        let at = self.frames.len() - 1 - depth as usize;
        let f = &mut self.frames[at];
        match f.kind {
            FrameKind::Loop { header } => (header, f.num_params),
            _ => {
                f.next_reachable = true;
                (f.next, f.num_results)
            }
        }
    }

    /// Starts the else branch of the innermost `if` frame (whose then branch ended).
    fn switch_to_else(&mut self) {
        let frame = self.frames.last_mut().expect("validated: else in if");
        self.stack.truncate(frame.height);
        if let FrameKind::If {
            else_block,
            params,
            head_reachable,
        } = &mut frame.kind
        {
            if let Some(eb) = else_block.take() {
                self.b.switch_to_block(eb);
                self.stack.extend(params.iter().copied());
                self.reachable = *head_reachable;
            }
        }
    }

    /// `end` of the innermost frame, reachable or not.
    fn end(&mut self) {
        let mut frame = self.frames.pop().expect("validated: end of a frame");
        if let FrameKind::Dead = frame.kind {
            return;
        }
        if self.reachable {
            let results = args(&self.stack[self.stack.len() - frame.num_results..]);
            self.b.ins().jump(frame.next, &results);
            frame.next_reachable = true;
        }
        match &mut frame.kind {
            FrameKind::If {
                else_block: Some(eb),
                params,
                head_reachable,
            } => {
                // An `if` without `else`: the else branch passes the parameters on.
                self.b.switch_to_block(*eb);
                let a = args(params);
                self.b.ins().jump(frame.next, &a);
                frame.next_reachable |= *head_reachable;
            }
            FrameKind::Loop { header } => self.b.seal_block(*header),
            _ => {}
        }
        self.stack.truncate(frame.height);
        self.b.switch_to_block(frame.next);
        self.b.seal_block(frame.next);
        if frame.next_reachable {
            let results = self.b.block_params(frame.next).to_vec();
            self.stack.extend(results);
            self.reachable = true;
        } else {
            // Nothing reaches the continuation: it holds only a trap, and what follows
            // is unreachable until an enclosing frame ends.
            self.b.ins().trap(user(user_trap::UNREACHABLE));
            self.reachable = false;
        }
    }

    /// Operators in unreachable code: only the frame structure matters.
    pub(super) fn unreachable_operator(&mut self, op: Operator<'_>) -> Result<()> {
        match op {
            Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                self.frames.push(Frame {
                    kind: FrameKind::Dead,
                    next: ir::Block::from_u32(0),
                    num_params: 0,
                    num_results: 0,
                    height: self.stack.len(),
                    next_reachable: false,
                })
            }
            Operator::Else
                if !matches!(self.frames.last().map(|f| &f.kind), Some(FrameKind::Dead)) =>
            {
                self.switch_to_else()
            }
            Operator::End => self.end(),
            _ => {}
        }
        Ok(())
    }
}

//! Blocks, branches, `return`, `unreachable`, and the parametric `drop` and `select`.
//! Each frame's continuation is a Cranelift block whose parameters are the frame's
//! results; a loop's header is a block whose parameters are the loop's.

use super::{user, Label, Translator};
use crate::abi::{clif_type, user_trap};
use cranelift_codegen::ir::{self, condcodes::IntCC, BlockArg, InstBuilder, JumpTableData, Value};
use rwamr_core::translate::{read_err, BlockSig, Frame, FrameKind};
use rwamr_core::{Error, Result};
use wasmparser::{BlockType, BrTable};

fn args(vals: &[Value]) -> Vec<BlockArg> {
    vals.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl Translator<'_, '_, '_> {
    /// A new block with parameters of `tys`.
    fn block_with_params(&mut self, tys: &[rwamr_core::ValType]) -> ir::Block {
        let blk = self.b.create_block();
        for t in tys {
            self.b.append_block_param(blk, clif_type(*t));
        }
        blk
    }

    /// Opens a frame of `kind` for `sig`, whose parameters are on the stack.
    fn open(&mut self, kind: FrameKind, sig: &BlockSig<'_>, label: Label) {
        let params = sig.params().len();
        self.control.push(Frame {
            kind,
            height: self.stack.len() - params,
            params,
            results: sig.results().len(),
            label,
        });
    }

    /// The block a branch to `depth` jumps to and how many values it carries.
    fn br_target(&mut self, depth: u32) -> (ir::Block, usize) {
        let idx = self.control.index(depth);
        let f = &mut self.control[idx];
        let n = f.branch_arity();
        match f.label.loop_header {
            Some(header) => (header, n),
            None => {
                f.label.next_reachable = true;
                (f.label.next, n)
            }
        }
    }

    pub(super) fn visit_nop(&mut self) -> Result<()> {
        Ok(())
    }
    pub(super) fn visit_unreachable(&mut self) -> Result<()> {
        self.b.ins().trap(user(user_trap::UNREACHABLE));
        self.reachable = false;
        Ok(())
    }
    pub(super) fn visit_block(&mut self, blockty: BlockType) -> Result<()> {
        let sig = BlockSig::new(self.env.module, blockty)?;
        let next = self.block_with_params(sig.results());
        self.open(FrameKind::Block, &sig, Label::new(next));
        Ok(())
    }
    pub(super) fn visit_loop(&mut self, blockty: BlockType) -> Result<()> {
        let sig = BlockSig::new(self.env.module, blockty)?;
        let header = self.block_with_params(sig.params());
        let inputs = args(self.peekn(sig.params().len()));
        self.b.ins().jump(header, &inputs);
        self.loops_seen += 1;
        if self.stack.is_empty() {
            self.enter_at(header, self.loops_seen - 1);
        }
        let next = self.block_with_params(sig.results());
        self.open(
            FrameKind::Loop,
            &sig,
            Label {
                loop_header: Some(header),
                ..Label::new(next)
            },
        );
        let height = self.control.top().height;
        self.stack.truncate(height);
        self.b.switch_to_block(header);
        let params = self.b.block_params(header).to_vec();
        self.stack.extend(params);
        Ok(())
    }
    /// In the OSR entry of loop `number` (one with an empty operand stack), links its
    /// `header` into the way in (see `translate/mod.rs`).
    fn enter_at(&mut self, header: ir::Block, number: u32) {
        let Some(osr) = self.osr.as_mut().filter(|o| o.target == number) else {
            return;
        };
        let (way_in, at_loop) = (osr.way_in, osr.at_loop);
        let wrong = self.b.create_block();
        osr.way_in = wrong;
        self.b.switch_to_block(way_in);
        let right = self
            .b
            .ins()
            .icmp_imm_u(IntCC::Equal, at_loop, i64::from(number));
        self.b.ins().brif(right, header, &[], wrong, &[]);
        self.b.seal_block(wrong);
    }
    pub(super) fn visit_if(&mut self, blockty: BlockType) -> Result<()> {
        let sig = BlockSig::new(self.env.module, blockty)?;
        let cond = self.pop();
        let (then_b, else_b) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(cond, then_b, &[], else_b, &[]);
        self.b.seal_block(then_b);
        self.b.seal_block(else_b);
        self.b.switch_to_block(then_b);
        let next = self.block_with_params(sig.results());
        let if_params = self.peekn(sig.params().len()).to_vec();
        self.open(
            FrameKind::If,
            &sig,
            Label {
                else_block: Some(else_b),
                if_params,
                ..Label::new(next)
            },
        );
        Ok(())
    }
    /// Also called in unreachable code, for the innermost frame's `else`.
    pub(super) fn visit_else(&mut self) -> Result<()> {
        let reachable = self.reachable;
        let f = self.control.top_mut();
        if reachable {
            let results = args(&self.stack[self.stack.len() - f.results..]);
            self.b.ins().jump(f.label.next, &results);
            f.label.next_reachable = true;
        }
        // The `if` was reachable (frames open only in reachable code): so is its else.
        f.kind = FrameKind::Else;
        self.stack.truncate(f.height);
        let else_block = f.label.else_block.take().expect("validated: else of an if");
        self.b.switch_to_block(else_block);
        self.stack.extend(f.label.if_params.iter().copied());
        self.reachable = true;
        Ok(())
    }
    /// Also called in unreachable code, for the innermost frame's `end`.
    pub(super) fn visit_end(&mut self) -> Result<()> {
        let mut f = self.control.pop();
        if self.reachable {
            let results = args(&self.stack[self.stack.len() - f.results..]);
            self.b.ins().jump(f.label.next, &results);
            f.label.next_reachable = true;
        }
        if let Some(else_block) = f.label.else_block {
            // An `if` without `else`: the else branch passes the parameters on.
            self.b.switch_to_block(else_block);
            let a = args(&f.label.if_params);
            self.b.ins().jump(f.label.next, &a);
            f.label.next_reachable = true;
        }
        if let Some(header) = f.label.loop_header {
            self.b.seal_block(header);
        }
        self.stack.truncate(f.height);
        let next = f.label.next;
        self.b.switch_to_block(next);
        self.b.seal_block(next);
        if f.label.next_reachable {
            let results = self.b.block_params(next).to_vec();
            self.stack.extend(results);
            self.reachable = true;
        } else {
            // Nothing reaches the continuation: it holds only a trap, and what follows
            // is unreachable until an enclosing frame ends.
            self.b.ins().trap(user(user_trap::UNREACHABLE));
            self.reachable = false;
        }
        Ok(())
    }
    pub(super) fn visit_br(&mut self, relative_depth: u32) -> Result<()> {
        let (blk, n) = self.br_target(relative_depth);
        let a = args(self.peekn(n));
        self.b.ins().jump(blk, &a);
        self.reachable = false;
        Ok(())
    }
    pub(super) fn visit_br_if(&mut self, relative_depth: u32) -> Result<()> {
        let cond = self.pop();
        let (blk, n) = self.br_target(relative_depth);
        let a = args(self.peekn(n));
        let cont = self.b.create_block();
        self.b.ins().brif(cond, blk, &a, cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        Ok(())
    }
    pub(super) fn visit_br_table(&mut self, targets: BrTable<'_>) -> Result<()> {
        let index = self.pop();
        let mut depths = Vec::with_capacity(targets.len() as usize);
        for d in targets.targets() {
            depths.push(d.map_err(read_err)?);
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
        Ok(())
    }
    pub(super) fn visit_return(&mut self) -> Result<()> {
        let n = self.control[0].results;
        let results = self.peekn(n).to_vec();
        self.emit_return(&results);
        self.reachable = false;
        Ok(())
    }

    // ---- parametric ----
    pub(super) fn visit_drop(&mut self) -> Result<()> {
        self.pop();
        Ok(())
    }
    pub(super) fn visit_select(&mut self) -> Result<()> {
        let (x, y, c) = self.pop3();
        let v = self.b.ins().select(c, x, y);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_typed_select(&mut self, _ty: wasmparser::ValType) -> Result<()> {
        self.visit_select()
    }
    pub(super) fn visit_typed_select_multi(&mut self, _: Vec<wasmparser::ValType>) -> Result<()> {
        Err(Error::invalid("select with several results is not valid"))
    }
}

//! wasm -> interpreter bytecode. One [`wasmparser::VisitOperator`] implementation: a
//! missing operator is a compile error. See `bytecode.rs` for the frame layout and the
//! meaning of every instruction.

use crate::bytecode::{Instr, InterpFunc, Slot};
use hashbrown::HashMap;
use rwamr_core::{Error, Module, Result};
use wasmparser::{BlockType, BrTable, Ieee32, Ieee64, MemArg, VisitOperator};

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

struct Control {
    kind: Kind,
    /// Stack height below the block's parameters.
    height: usize,
    params: usize,
    results: usize,
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
    control: Vec<Control>,
    reachable: bool,
    /// Blocks opened inside unreachable code (skipped until their `end`).
    unreachable_depth: u32,
    /// `(pc, height)` of the last instruction if it wrote the temporary of `height` and
    /// nothing has been emitted or labelled since: `local.set` may retarget it.
    fuse: Option<(usize, usize)>,
    /// Code index of the last branch target placed (no instruction may be merged into
    /// the one before it across a branch target).
    label_at: usize,
}

fn too_large(what: &str) -> Error {
    Error::unsupported(format!(
        "function too large for the interpreter: more than 65535 {what}"
    ))
}

/// Translates defined function `index` of `module`.
pub fn translate(module: &Module, index: u32) -> Result<InterpFunc> {
    let body = module.func_body(index);
    let ty = module.func_type(index);
    let num_params = ty.params().len() as u32;
    let mut num_locals = num_params as u64;
    for l in body.get_locals_reader().map_err(read_err)? {
        let (n, _) = l.map_err(read_err)?;
        num_locals += n as u64;
    }
    if num_locals > 60000 {
        return Err(too_large("locals"));
    }
    let num_locals = num_locals as u32;

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
            if slot > 0xffff {
                return Err(too_large("locals and constants"));
            }
            e.insert(slot as Slot);
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
        control: Vec::new(),
        reachable: true,
        unreachable_depth: 0,
        fuse: None,
        label_at: 0,
    };
    t.control.push(Control {
        kind: Kind::Func,
        height: 0,
        params: 0,
        results: ty.results().len(),
        loop_start: 0,
        fixups: Vec::new(),
        else_fixup: None,
    });
    let mut ops = body.get_operators_reader().map_err(read_err)?;
    while !ops.eof() {
        ops.visit_operator(&mut t).map_err(read_err)??;
    }
    t.finish()
}

fn read_err(e: wasmparser::BinaryReaderError) -> Error {
    Error::malformed(format!(
        "{} (at byte offset {:#x})",
        e.message(),
        e.offset()
    ))
}

impl Translator<'_> {
    fn finish(self) -> Result<InterpFunc> {
        // Three spare cells: frame setup writes locals and constants in blocks of four.
        let frame_size = self.temp_base + self.max_height + 1 + 3;
        if frame_size > 0xffff {
            return Err(too_large("stack slots"));
        }
        crate::verify::verify(&self.code, frame_size, self.module)?;
        let ops = self
            .code
            .iter()
            .map(|i| crate::dispatch::Op::new(*i))
            .collect();
        Ok(InterpFunc {
            func_index: self.func_index,
            ops,
            num_params: self.num_params as u16,
            num_locals: self.num_locals as u16,
            consts: {
                // Padded to whole blocks of four (see `enter_frame`).
                let mut c = self.consts;
                c.resize(c.len().div_ceil(4) * 4, 0);
                c.into_boxed_slice()
            },
            frame_size,
        })
    }

    // ---- operand stack ----

    fn temp(&self, height: usize) -> Result<Slot> {
        let s = self.temp_base as usize + height;
        if s >= 0xffff {
            return Err(too_large("stack slots"));
        }
        Ok(s as Slot)
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

    fn unary(&mut self, make: fn(Slot, Slot) -> Instr) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let src = self.pop()?;
        self.emit_result(|dst| make(dst, src))
    }

    fn binary(&mut self, make: fn(Slot, Slot, Slot) -> Instr) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let rhs = self.pop()?;
        let lhs = self.pop()?;
        self.emit_result(|dst| make(dst, lhs, rhs))
    }

    /// A wasm instruction that only moves a value (wrap, reinterpret): no code.
    fn nop_conversion(&mut self) -> Result<()> {
        Ok(())
    }

    fn constant(&mut self, v: u64) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let s = *self
            .const_slots
            .get(&v)
            .ok_or_else(|| Error::invalid("constant missed by the pre-scan"))?;
        self.push(Operand::Const(s));
        Ok(())
    }

    /// When the address operand at `height` is the result of the `i32.add` just emitted,
    /// removes that add and returns its operands, for an indexed access.
    fn take_index_add(&mut self, height: usize) -> Option<(Slot, Slot)> {
        let (pc, h) = self.fuse?;
        if h != height || pc + 1 != self.code.len() || self.stack[height] != Operand::Temp {
            return None;
        }
        let Instr::I32Add { lhs, rhs, .. } = self.code[pc] else {
            return None;
        };
        self.code.pop();
        self.fuse = None;
        Some((lhs, rhs))
    }

    fn load(&mut self, memarg: MemArg, make: fn(Slot, Slot, u32) -> Instr) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let offset = memarg_offset(&memarg)?;
        let index_add = self.take_index_add(self.stack.len() - 1);
        let addr = self.pop()?;
        self.emit_result(|dst| {
            let plain = make(dst, addr, offset);
            index_add
                .and_then(|(base, index)| plain.indexed(base, index))
                .unwrap_or(plain)
        })
    }

    fn store(&mut self, memarg: MemArg, make: fn(Slot, Slot, u32) -> Instr) -> Result<()> {
        if !self.reachable {
            return Ok(());
        }
        let offset = memarg_offset(&memarg)?;
        let index_add = self.take_index_add(self.stack.len() - 2);
        let src = self.pop()?;
        let addr = self.pop()?;
        let plain = make(addr, src, offset);
        let instr = index_add
            .and_then(|(base, index)| plain.indexed(base, index))
            .unwrap_or(plain);
        self.emit(instr);
        Ok(())
    }

    /// Pops three operands (a, b, c in push order).
    fn pop3(&mut self) -> Result<(Slot, Slot, Slot)> {
        let c = self.pop()?;
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b, c))
    }

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

    // ---- control ----

    fn block_arity(&self, ty: BlockType) -> (usize, usize) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(i) => {
                let t = &self.module.types[i as usize];
                (t.params().len(), t.results().len())
            }
        }
    }

    fn enter(&mut self, kind: Kind, ty: BlockType, else_fixup: Option<usize>) -> Result<()> {
        let (params, results) = self.block_arity(ty);
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
        self.control.push(Control {
            kind,
            height,
            params,
            results,
            loop_start: self.code.len(),
            fixups: Vec::new(),
            else_fixup,
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
        if self.control[idx].kind == Kind::Loop {
            let start = self.control[idx].loop_start;
            self.patch(at, start);
        } else {
            self.control[idx].fixups.push(at);
        }
    }

    fn frame_index(&self, depth: u32) -> usize {
        self.control.len() - 1 - depth as usize
    }

    fn label_arity(&self, idx: usize) -> (usize, usize) {
        let c = &self.control[idx];
        let arity = if c.kind == Kind::Loop {
            c.params
        } else {
            c.results
        };
        (c.height, arity)
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
    fn branch(&mut self, depth: u32) -> Result<()> {
        let idx = self.frame_index(depth);
        if self.control[idx].kind == Kind::Func {
            return self.emit_return();
        }
        let (height, arity) = self.label_arity(idx);
        self.copy_to_label(height, arity)?;
        self.jump_to(idx, Instr::Br { offset: 0 });
        Ok(())
    }

    fn set_unreachable(&mut self) {
        self.reachable = false;
        let h = self.control.last().map_or(0, |c| c.height);
        self.stack.truncate(h);
        self.fuse = None;
    }

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
}

fn memarg_offset(m: &MemArg) -> Result<u32> {
    u32::try_from(m.offset).map_err(|_| Error::unsupported("memory offsets above 4 GiB (memory64)"))
}

fn unsupported_op(proposal: &str, op: &str) -> Error {
    Error::unsupported(format!(
        "instruction `{op}` of the {proposal} proposal is not supported yet"
    ))
}

/// Trait methods for operators of proposals this interpreter does not run: an error that
/// names the proposal (the validator already refuses them with the enabled features).
macro_rules! unsupported_operators {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $( unsupported_operators!(@one @$proposal $op $({ $($arg: $argty),* })? => $visit); )*
    };
    (@one @mvp $($rest:tt)*) => {};
    (@one @sign_extension $($rest:tt)*) => {};
    (@one @saturating_float_to_int $($rest:tt)*) => {};
    (@one @bulk_memory $($rest:tt)*) => {};
    (@one @reference_types $($rest:tt)*) => {};
    (@one @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident) => {
        fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
            $($( let _ = $arg; )*)?
            Err(unsupported_op(stringify!($proposal), stringify!($op)))
        }
    };
}

/// `visit_x => Variant` for operators that are one unary / binary instruction.
macro_rules! simple_operators {
    (unary: $($uvisit:ident => $uvar:ident),* ; binary: $($bvisit:ident => $bvar:ident),* $(,)?) => {
        $( fn $uvisit(&mut self) -> Self::Output {
            self.unary(|dst, src| Instr::$uvar { dst, src })
        } )*
        $( fn $bvisit(&mut self) -> Self::Output {
            self.binary(|dst, lhs, rhs| Instr::$bvar { dst, lhs, rhs })
        } )*
    };
}

impl<'a> VisitOperator<'a> for Translator<'_> {
    type Output = Result<()>;

    wasmparser::for_each_visit_operator!(unsupported_operators);

    simple_operators! {
        unary:
        visit_i32_eqz => I32Eqz, visit_i64_eqz => I64Eqz, visit_ref_is_null => I64Eqz,
        visit_i32_clz => I32Clz, visit_i32_ctz => I32Ctz, visit_i32_popcnt => I32Popcnt,
        visit_i64_clz => I64Clz, visit_i64_ctz => I64Ctz, visit_i64_popcnt => I64Popcnt,
        visit_f32_abs => F32Abs, visit_f32_neg => F32Neg, visit_f32_ceil => F32Ceil,
        visit_f32_floor => F32Floor, visit_f32_trunc => F32Trunc, visit_f32_nearest => F32Nearest,
        visit_f32_sqrt => F32Sqrt,
        visit_f64_abs => F64Abs, visit_f64_neg => F64Neg, visit_f64_ceil => F64Ceil,
        visit_f64_floor => F64Floor, visit_f64_trunc => F64Trunc, visit_f64_nearest => F64Nearest,
        visit_f64_sqrt => F64Sqrt,
        visit_i64_extend_i32_s => I64ExtendI32S, visit_i64_extend_i32_u => I64ExtendI32U,
        visit_i32_trunc_f32_s => I32TruncF32S, visit_i32_trunc_f32_u => I32TruncF32U,
        visit_i32_trunc_f64_s => I32TruncF64S, visit_i32_trunc_f64_u => I32TruncF64U,
        visit_i64_trunc_f32_s => I64TruncF32S, visit_i64_trunc_f32_u => I64TruncF32U,
        visit_i64_trunc_f64_s => I64TruncF64S, visit_i64_trunc_f64_u => I64TruncF64U,
        visit_i32_trunc_sat_f32_s => I32TruncSatF32S, visit_i32_trunc_sat_f32_u => I32TruncSatF32U,
        visit_i32_trunc_sat_f64_s => I32TruncSatF64S, visit_i32_trunc_sat_f64_u => I32TruncSatF64U,
        visit_i64_trunc_sat_f32_s => I64TruncSatF32S, visit_i64_trunc_sat_f32_u => I64TruncSatF32U,
        visit_i64_trunc_sat_f64_s => I64TruncSatF64S, visit_i64_trunc_sat_f64_u => I64TruncSatF64U,
        visit_f32_convert_i32_s => F32ConvertI32S, visit_f32_convert_i32_u => F32ConvertI32U,
        visit_f32_convert_i64_s => F32ConvertI64S, visit_f32_convert_i64_u => F32ConvertI64U,
        visit_f32_demote_f64 => F32DemoteF64,
        visit_f64_convert_i32_s => F64ConvertI32S, visit_f64_convert_i32_u => F64ConvertI32U,
        visit_f64_convert_i64_s => F64ConvertI64S, visit_f64_convert_i64_u => F64ConvertI64U,
        visit_f64_promote_f32 => F64PromoteF32,
        visit_i32_extend8_s => I32Extend8S, visit_i32_extend16_s => I32Extend16S,
        visit_i64_extend8_s => I64Extend8S, visit_i64_extend16_s => I64Extend16S,
        visit_i64_extend32_s => I64Extend32S;
        binary:
        visit_i32_eq => I32Eq, visit_i32_ne => I32Ne, visit_i32_lt_s => I32LtS,
        visit_i32_lt_u => I32LtU, visit_i32_gt_s => I32GtS, visit_i32_gt_u => I32GtU,
        visit_i32_le_s => I32LeS, visit_i32_le_u => I32LeU, visit_i32_ge_s => I32GeS,
        visit_i32_ge_u => I32GeU, visit_i32_add => I32Add, visit_i32_sub => I32Sub,
        visit_i32_mul => I32Mul, visit_i32_div_s => I32DivS, visit_i32_div_u => I32DivU,
        visit_i32_rem_s => I32RemS, visit_i32_rem_u => I32RemU, visit_i32_and => I32And,
        visit_i32_or => I32Or, visit_i32_xor => I32Xor, visit_i32_shl => I32Shl,
        visit_i32_shr_s => I32ShrS, visit_i32_shr_u => I32ShrU, visit_i32_rotl => I32Rotl,
        visit_i32_rotr => I32Rotr,
        visit_i64_eq => I64Eq, visit_i64_ne => I64Ne, visit_i64_lt_s => I64LtS,
        visit_i64_lt_u => I64LtU, visit_i64_gt_s => I64GtS, visit_i64_gt_u => I64GtU,
        visit_i64_le_s => I64LeS, visit_i64_le_u => I64LeU, visit_i64_ge_s => I64GeS,
        visit_i64_ge_u => I64GeU, visit_i64_add => I64Add, visit_i64_sub => I64Sub,
        visit_i64_mul => I64Mul, visit_i64_div_s => I64DivS, visit_i64_div_u => I64DivU,
        visit_i64_rem_s => I64RemS, visit_i64_rem_u => I64RemU, visit_i64_and => I64And,
        visit_i64_or => I64Or, visit_i64_xor => I64Xor, visit_i64_shl => I64Shl,
        visit_i64_shr_s => I64ShrS, visit_i64_shr_u => I64ShrU, visit_i64_rotl => I64Rotl,
        visit_i64_rotr => I64Rotr,
        visit_f32_eq => F32Eq, visit_f32_ne => F32Ne, visit_f32_lt => F32Lt,
        visit_f32_gt => F32Gt, visit_f32_le => F32Le, visit_f32_ge => F32Ge,
        visit_f32_add => F32Add, visit_f32_sub => F32Sub, visit_f32_mul => F32Mul,
        visit_f32_div => F32Div, visit_f32_min => F32Min, visit_f32_max => F32Max,
        visit_f32_copysign => F32Copysign,
        visit_f64_eq => F64Eq, visit_f64_ne => F64Ne, visit_f64_lt => F64Lt,
        visit_f64_gt => F64Gt, visit_f64_le => F64Le, visit_f64_ge => F64Ge,
        visit_f64_add => F64Add, visit_f64_sub => F64Sub, visit_f64_mul => F64Mul,
        visit_f64_div => F64Div, visit_f64_min => F64Min, visit_f64_max => F64Max,
        visit_f64_copysign => F64Copysign,
    }

    // ---- conversions that are plain moves in the cell representation ----
    fn visit_i32_wrap_i64(&mut self) -> Self::Output {
        self.nop_conversion()
    }
    fn visit_i32_reinterpret_f32(&mut self) -> Self::Output {
        self.nop_conversion()
    }
    fn visit_i64_reinterpret_f64(&mut self) -> Self::Output {
        self.nop_conversion()
    }
    fn visit_f32_reinterpret_i32(&mut self) -> Self::Output {
        self.nop_conversion()
    }
    fn visit_f64_reinterpret_i64(&mut self) -> Self::Output {
        self.nop_conversion()
    }

    // ---- constants ----
    fn visit_i32_const(&mut self, value: i32) -> Self::Output {
        self.constant(value as u32 as u64)
    }
    fn visit_i64_const(&mut self, value: i64) -> Self::Output {
        self.constant(value as u64)
    }
    fn visit_f32_const(&mut self, value: Ieee32) -> Self::Output {
        self.constant(value.bits() as u64)
    }
    fn visit_f64_const(&mut self, value: Ieee64) -> Self::Output {
        self.constant(value.bits())
    }
    fn visit_ref_null(&mut self, _hty: wasmparser::HeapType) -> Self::Output {
        self.constant(0)
    }
    fn visit_ref_func(&mut self, function_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit_result(|dst| Instr::RefFunc {
            dst,
            func: function_index,
        })
    }

    // ---- locals, globals, parametric ----
    fn visit_local_get(&mut self, local_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let s = self.local_slot(local_index);
        self.push(Operand::Local(s));
        Ok(())
    }
    fn visit_local_set(&mut self, local_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.set_local(local_index)
    }
    fn visit_local_tee(&mut self, local_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.set_local(local_index)?;
        let s = self.local_slot(local_index);
        self.push(Operand::Local(s));
        Ok(())
    }
    fn visit_global_get(&mut self, global_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit_result(|dst| Instr::GlobalGet {
            dst,
            global: global_index,
        })
    }
    fn visit_global_set(&mut self, global_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let src = self.pop()?;
        self.emit(Instr::GlobalSet {
            src,
            global: global_index,
        });
        Ok(())
    }
    fn visit_drop(&mut self) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.pop()?;
        Ok(())
    }
    fn visit_select(&mut self) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (a, b, cond) = self.pop3()?;
        self.emit_result(|dst| Instr::Select { dst, cond, a, b })
    }
    fn visit_typed_select(&mut self, _ty: wasmparser::ValType) -> Self::Output {
        self.visit_select()
    }
    fn visit_typed_select_multi(&mut self, _tys: Vec<wasmparser::ValType>) -> Self::Output {
        Err(Error::invalid("select with several results is not valid"))
    }
    fn visit_nop(&mut self) -> Self::Output {
        Ok(())
    }

    // ---- memory ----
    fn visit_i32_load(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load32U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_f32_load(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load32U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load64 {
            dst,
            addr,
            offset,
        })
    }
    fn visit_f64_load(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load64 {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i32_load8_s(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load8S {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load8_s(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load8S {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i32_load8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load8U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load8_u(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load8U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i32_load16_s(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load16S {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load16_s(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load16S {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i32_load16_u(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load16U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load16_u(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load16U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load32_s(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load32S {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i64_load32_u(&mut self, memarg: MemArg) -> Self::Output {
        self.load(memarg, |dst, addr, offset| Instr::Load32U {
            dst,
            addr,
            offset,
        })
    }
    fn visit_i32_store(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store32 {
            addr,
            src,
            offset,
        })
    }
    fn visit_f32_store(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store32 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i64_store32(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store32 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i64_store(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store64 {
            addr,
            src,
            offset,
        })
    }
    fn visit_f64_store(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store64 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i32_store8(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store8 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i64_store8(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store8 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i32_store16(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store16 {
            addr,
            src,
            offset,
        })
    }
    fn visit_i64_store16(&mut self, memarg: MemArg) -> Self::Output {
        self.store(memarg, |addr, src, offset| Instr::Store16 {
            addr,
            src,
            offset,
        })
    }
    fn visit_memory_size(&mut self, _mem: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit_result(|dst| Instr::MemorySize { dst })
    }
    fn visit_memory_grow(&mut self, _mem: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let delta = self.pop()?;
        self.emit_result(|dst| Instr::MemoryGrow { dst, delta })
    }
    fn visit_memory_fill(&mut self, _mem: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (at, val, len) = self.pop3()?;
        self.emit(Instr::MemoryFill { at, val, len });
        Ok(())
    }
    fn visit_memory_copy(&mut self, _dst_mem: u32, _src_mem: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (to, from, len) = self.pop3()?;
        self.emit(Instr::MemoryCopy { to, from, len });
        Ok(())
    }
    fn visit_memory_init(&mut self, data_index: u32, _mem: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (to, from, len) = self.pop3()?;
        self.emit(Instr::MemoryInit {
            data: data_index,
            to,
            from,
            len,
        });
        Ok(())
    }
    fn visit_data_drop(&mut self, data_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit(Instr::DataDrop { data: data_index });
        Ok(())
    }

    // ---- tables ----
    fn visit_table_get(&mut self, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let index = self.pop()?;
        self.emit_result(|dst| Instr::TableGet { dst, index, table })
    }
    fn visit_table_set(&mut self, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let value = self.pop()?;
        let index = self.pop()?;
        self.emit(Instr::TableSet {
            index,
            value,
            table,
        });
        Ok(())
    }
    fn visit_table_size(&mut self, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit_result(|dst| Instr::TableSize { dst, table })
    }
    fn visit_table_grow(&mut self, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let delta = self.pop()?;
        let init = self.pop()?;
        self.emit_result(|dst| Instr::TableGrow {
            dst,
            init,
            delta,
            table,
        })
    }
    fn visit_table_fill(&mut self, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (at, value, len) = self.pop3()?;
        self.emit(Instr::TableFill {
            at,
            value,
            len,
            table,
        });
        Ok(())
    }
    fn visit_table_copy(&mut self, dst_table: u32, src_table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (to, from, len) = self.pop3()?;
        self.emit(Instr::TableCopy {
            to,
            from,
            len,
            dst_table,
            src_table,
        });
        Ok(())
    }
    fn visit_table_init(&mut self, elem_index: u32, table: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let (to, from, len) = self.pop3()?;
        self.emit(Instr::TableInit {
            to,
            from,
            len,
            elem: elem_index,
            table,
        });
        Ok(())
    }
    fn visit_elem_drop(&mut self, elem_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit(Instr::ElemDrop { elem: elem_index });
        Ok(())
    }

    // ---- calls ----
    fn visit_call(&mut self, function_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
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
    fn visit_call_indirect(&mut self, type_index: u32, table_index: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let index = self.pop()?;
        let ty = &self.module.types[type_index as usize];
        let (np, nr) = (ty.params().len(), ty.results().len());
        let base = self.call_common(np, nr)?;
        self.emit(Instr::CallIndirect {
            sig: type_index,
            table: table_index,
            index,
            base,
        });
        for _ in 0..nr {
            self.push(Operand::Temp);
        }
        Ok(())
    }

    // ---- control ----
    fn visit_unreachable(&mut self) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit(Instr::Unreachable);
        self.set_unreachable();
        Ok(())
    }
    fn visit_block(&mut self, blockty: BlockType) -> Self::Output {
        if !self.reachable {
            self.unreachable_depth += 1;
            return Ok(());
        }
        self.enter(Kind::Block, blockty, None)
    }
    fn visit_loop(&mut self, blockty: BlockType) -> Self::Output {
        if !self.reachable {
            self.unreachable_depth += 1;
            return Ok(());
        }
        self.enter(Kind::Loop, blockty, None)
    }
    fn visit_if(&mut self, blockty: BlockType) -> Self::Output {
        if !self.reachable {
            self.unreachable_depth += 1;
            return Ok(());
        }
        let cond = self.pop()?;
        // Parameters are materialized by `enter`, which may emit copies: they must run
        // on both paths, so the conditional branch comes after them (and fuses with the
        // compare only when `enter` emitted nothing).
        let (fuse, len) = (self.fuse, self.code.len());
        self.enter(Kind::If, blockty, None)?;
        if self.code.len() == len {
            self.fuse = fuse;
        }
        let br = self.cond_branch(cond, true);
        let at = self.emit(br);
        self.control.last_mut().expect("if frame").else_fixup = Some(at);
        Ok(())
    }
    fn visit_else(&mut self) -> Self::Output {
        if !self.reachable && self.unreachable_depth > 0 {
            return Ok(());
        }
        let idx = self.control.len() - 1;
        if self.reachable {
            let (height, arity) = (self.control[idx].height, self.control[idx].results);
            self.copy_to_label(height, arity)?;
            self.jump_to(idx, Instr::Br { offset: 0 });
        }
        self.mark_label();
        let here = self.code.len();
        if let Some(at) = self.control[idx].else_fixup.take() {
            self.patch(at, here);
        }
        let c = &mut self.control[idx];
        c.kind = Kind::Else;
        let (height, params) = (c.height, c.params);
        self.stack.truncate(height);
        for _ in 0..params {
            self.push(Operand::Temp);
        }
        self.reachable = true;
        self.fuse = None;
        Ok(())
    }
    fn visit_end(&mut self) -> Self::Output {
        if !self.reachable && self.unreachable_depth > 0 {
            self.unreachable_depth -= 1;
            return Ok(());
        }
        let idx = self.control.len() - 1;
        if self.control[idx].kind == Kind::Func {
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
        let c = self.control.pop().expect("control frame");
        self.mark_label();
        let here = self.code.len();
        let falls_through_else = c.else_fixup.is_some();
        if let Some(at) = c.else_fixup {
            self.patch(at, here);
        }
        for at in &c.fixups {
            self.patch(*at, here);
        }
        self.reachable = self.reachable || falls_through_else || !c.fixups.is_empty();
        self.stack.truncate(c.height);
        for _ in 0..c.results {
            self.push(Operand::Temp);
        }
        self.fuse = None;
        Ok(())
    }
    fn visit_br(&mut self, relative_depth: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.branch(relative_depth)?;
        self.set_unreachable();
        Ok(())
    }
    fn visit_br_if(&mut self, relative_depth: u32) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let cond = self.pop()?;
        let idx = self.frame_index(relative_depth);
        let (height, arity) = self.label_arity(idx);
        if self.control[idx].kind != Kind::Func && !self.label_needs_copies(height, arity)? {
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
    fn visit_br_table(&mut self, targets: BrTable<'a>) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        let index = self.pop()?;
        let mut depths = Vec::with_capacity(targets.len() as usize + 1);
        for t in targets.targets() {
            depths.push(t.map_err(read_err)?);
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
            let idx = self.frame_index(*d);
            let (height, arity) = self.label_arity(idx);
            if self.control[idx].kind != Kind::Func && !self.label_needs_copies(height, arity)? {
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
    fn visit_return(&mut self) -> Self::Output {
        if !self.reachable {
            return Ok(());
        }
        self.emit_return()?;
        self.set_unreachable();
        Ok(())
    }
}

//! The executor: runs translated functions. Calls between interpreted functions stay in
//! one loop (no Rust recursion), so deep wasm recursion ends in the deterministic
//! "call stack exhausted" trap, never a host stack overflow.

use crate::bytecode::{Instr, InterpFunc, Slot};
use crate::stack::{self, Regs};
use rwamr_core::slot::Guard;
use rwamr_core::{FuncCode, FuncEntry, Instance, MemoryView, Trap, TrapCode};

/// A caller suspended by a call.
struct Activation<'x> {
    func: &'x InterpFunc,
    inst: &'x Instance,
    fp: usize,
    pc: usize,
}

/// Runs `func` (the code of `entry`) with arguments in `cells`; leaves the results there.
pub fn execute(entry: &FuncEntry, func: &InterpFunc, cells: &mut [u64]) -> Result<(), Trap> {
    let inst = entry.instance();
    let limits = inst.engine().limits();
    let (max_cells, max_depth) = (limits.max_stack_cells, limits.max_call_depth);
    let depth = stack::depth();
    if depth + 1 > max_depth {
        return Err(Trap::new(TrapCode::StackOverflow));
    }
    stack::with_stack(max_cells, |stack| {
        if func.frame_size as usize > stack.len() {
            return Err(Trap::new(TrapCode::StackOverflow));
        }
        // SAFETY: the frame fits in the stack (checked just above).
        let mut regs = unsafe { Regs::new(stack, 0) };
        let np = func.num_params as usize;
        regs.cells(0, np).copy_from_slice(&cells[..np]);
        enter_frame(regs, func);
        // Every entry this run reads stays alive until the guard drops (see core's slot).
        let guard = rwamr_core::slot::pin();
        run(stack, inst, func, &guard, depth, max_depth)?;
        let nr = entry.ty.results().len();
        // SAFETY: results are in the root frame's first cells, inside the stack.
        let regs = unsafe { Regs::new(stack, 0) };
        for (i, c) in cells[..nr].iter_mut().enumerate() {
            *c = regs.get(i as Slot);
        }
        Ok(())
    })
}

/// Zeroes the declared locals and copies the constants in. Most functions have few of
/// each: those are set one by one, avoiding memset/memcpy calls on the call path.
#[inline(always)]
fn enter_frame(mut regs: Regs, f: &InterpFunc) {
    let (np, nl, nc) = (f.num_params, f.num_locals, f.consts.len());
    if nl - np <= 4 {
        for s in np..nl {
            regs.set(s, 0);
        }
    } else {
        regs.cells(np as usize, (nl - np) as usize).fill(0);
    }
    if nc <= 4 {
        for (i, c) in f.consts.iter().enumerate() {
            regs.set(nl + i as Slot, *c);
        }
    } else {
        regs.cells(nl as usize, nc).copy_from_slice(&f.consts);
    }
}

#[inline(always)]
fn memory_of(inst: &Instance) -> MemoryView<'_> {
    match inst.memories().first() {
        Some(m) => m.view(),
        None => MemoryView::empty(),
    }
}

// Cell conversions (see `rwamr_core::val`).
#[inline(always)]
fn i32_of(c: u64) -> i32 {
    c as u32 as i32
}
#[inline(always)]
fn u32_of(c: u64) -> u32 {
    c as u32
}
#[inline(always)]
fn i64_of(c: u64) -> i64 {
    c as i64
}
#[inline(always)]
fn f32_of(c: u64) -> f32 {
    f32::from_bits(c as u32)
}
#[inline(always)]
fn f64_of(c: u64) -> f64 {
    f64::from_bits(c)
}
#[inline(always)]
fn of_i32(v: i32) -> u64 {
    v as u32 as u64
}
#[inline(always)]
fn of_u32(v: u32) -> u64 {
    v as u64
}
#[inline(always)]
fn of_i64(v: i64) -> u64 {
    v as u64
}
#[inline(always)]
fn of_u64(v: u64) -> u64 {
    v
}
#[inline(always)]
fn of_f32(v: f32) -> u64 {
    v.to_bits() as u64
}
#[inline(always)]
fn of_f64(v: f64) -> u64 {
    v.to_bits()
}
#[inline(always)]
fn of_bool(v: bool) -> u64 {
    v as u64
}

fn trap(code: TrapCode) -> Trap {
    Trap::new(code)
}

macro_rules! fminmax {
    ($name:ident, $t:ty, $pick:ident, $zero:tt) => {
        #[inline(always)]
        fn $name(a: $t, b: $t) -> $t {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == b {
                // -0 vs +0: min takes the negative one, max the positive one.
                <$t>::from_bits(a.to_bits() $zero b.to_bits())
            } else {
                a.$pick(b)
            }
        }
    };
}
fminmax!(f32_min, f32, min, |);
fminmax!(f32_max, f32, max, &);
fminmax!(f64_min, f64, min, |);
fminmax!(f64_max, f64, max, &);

/// Rounding of a NaN must give a quiet NaN (the spec's arithmetic NaN); the host's
/// rounding instructions may hand a signalling NaN back unchanged.
#[inline(always)]
fn quiet_f32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}
#[inline(always)]
fn quiet_f64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

/// Float -> int truncation with the spec's traps. `lo` and `hi` are the exclusive bounds
/// of the values that fit.
macro_rules! trunc {
    ($name:ident, $f:ty, $i:ty, $lo:expr, $hi:expr) => {
        #[inline(always)]
        fn $name(x: $f) -> Result<$i, Trap> {
            if x.is_nan() {
                return Err(trap(TrapCode::BadConversionToInteger));
            }
            if !(x > $lo && x < $hi) {
                return Err(trap(TrapCode::IntegerOverflow));
            }
            Ok(x as $i)
        }
    };
}
trunc!(i32_trunc_f32_s, f32, i32, -2147483904.0f32, 2147483648.0f32);
trunc!(i32_trunc_f32_u, f32, u32, -1.0f32, 4294967296.0f32);
trunc!(i32_trunc_f64_s, f64, i32, -2147483649.0f64, 2147483648.0f64);
trunc!(i32_trunc_f64_u, f64, u32, -1.0f64, 4294967296.0f64);
trunc!(
    i64_trunc_f32_s,
    f32,
    i64,
    -9223373136366403584.0f32,
    9223372036854775808.0f32
);
trunc!(
    i64_trunc_f32_u,
    f32,
    u64,
    -1.0f32,
    18446744073709551616.0f32
);
trunc!(
    i64_trunc_f64_s,
    f64,
    i64,
    -9223372036854777856.0f64,
    9223372036854775808.0f64
);
trunc!(
    i64_trunc_f64_u,
    f64,
    u64,
    -1.0f64,
    18446744073709551616.0f64
);

/// Most frames a trap's backtrace records.
const MAX_BACKTRACE: usize = 1000;

/// Runs `root` to completion; on a trap, records the wasm frames in its backtrace.
fn run<'x>(
    stack: &mut [u64],
    root_inst: &'x Instance,
    root: &'x InterpFunc,
    guard: &'x Guard,
    depth_base: usize,
    max_depth: usize,
) -> Result<(), Trap> {
    let mut frames: Vec<Activation<'x>> = Vec::new();
    let mut current = (root_inst, root);
    let result = exec_loop(
        stack,
        &mut frames,
        &mut current,
        guard,
        depth_base,
        max_depth,
    );
    result.map_err(|mut trap| {
        if trap.code() != TrapCode::Exit {
            // Deep recursion would make huge backtraces: the innermost frames tell most.
            let callers = frames.iter().rev().map(|a| (a.inst, a.func));
            for (inst, func) in std::iter::once(current).chain(callers).take(MAX_BACKTRACE) {
                let name = inst
                    .module()
                    .and_then(|m| m.known_func_name(func.func_index));
                trap.push_frame(inst.name(), func.func_index, name);
            }
        }
        trap
    })
}

/// The executor loop. `frames` holds the suspended callers and `current` the running
/// function, both kept up to date at calls and returns so `run` can name them on a trap.
fn exec_loop<'x>(
    stack: &mut [u64],
    frames: &mut Vec<Activation<'x>>,
    current: &mut (&'x Instance, &'x InterpFunc),
    guard: &'x Guard,
    depth_base: usize,
    max_depth: usize,
) -> Result<(), Trap> {
    let stack_len = stack.len();
    let (root_inst, root) = *current;
    let mut func: &'x InterpFunc = root;
    let mut code: &'x [Instr] = &root.code;
    let mut inst: &'x Instance = root_inst;
    let mut fp: usize = 0;
    let mut pc: usize = 0;
    // SAFETY: the root frame was checked to fit by `execute`.
    let mut r = unsafe { Regs::new(stack, 0) };
    let mut mem = memory_of(inst);

    macro_rules! un {
        ($dst:ident, $src:ident, $get:ident, $put:ident, |$x:ident| $e:expr) => {{
            let $x = $get(r.get($src));
            r.set($dst, $put($e));
        }};
    }
    macro_rules! bin {
        ($dst:ident, $lhs:ident, $rhs:ident, $get:ident, $put:ident, |$a:ident, $b:ident| $e:expr) => {{
            let $a = $get(r.get($lhs));
            let $b = $get(r.get($rhs));
            r.set($dst, $put($e));
        }};
    }
    macro_rules! br_cmp {
        ($lhs:ident, $rhs:ident, $offset:ident, $get:ident, $op:tt) => {{
            if $get(r.get($lhs)) $op $get(r.get($rhs)) {
                pc = (pc as isize - 1 + $offset as isize) as usize;
            }
        }};
    }
    macro_rules! ea {
        ($addr:ident, $offset:ident) => {
            u32_of(r.get($addr)) as u64 + $offset as u64
        };
    }
    macro_rules! ret {
        () => {{
            match frames.pop() {
                None => return Ok(()),
                Some(a) => {
                    func = a.func;
                    code = &func.code;
                    inst = a.inst;
                    fp = a.fp;
                    pc = a.pc;
                    *current = (inst, func);
                    // SAFETY: the caller's frame was checked to fit when it was entered.
                    r = unsafe { Regs::new(stack, fp) };
                    // The callee may have grown the memory.
                    mem = memory_of(inst);
                }
            }
        }};
    }
    // Calls the function in `entry` with arguments at `base`.
    macro_rules! call {
        ($entry:expr, $base:expr) => {{
            let entry: &'x FuncEntry = $entry;
            let base: usize = $base as usize;
            match &entry.code {
                FuncCode::Wasm(c) => {
                    if let Some(callee) = entry.code_as::<InterpFunc>() {
                        let new_fp = fp + base;
                        if depth_base + frames.len() + 1 >= max_depth
                            || new_fp + callee.frame_size as usize > stack_len
                        {
                            return Err(trap(TrapCode::StackOverflow));
                        }
                        frames.push(Activation { func, inst, fp, pc });
                        fp = new_fp;
                        // SAFETY: `fp + frame_size <= stack length`, checked above.
                        r = unsafe { Regs::new(stack, fp) };
                        enter_frame(r, callee);
                        func = callee;
                        code = &callee.code;
                        pc = 0;
                        let callee_inst = entry.instance();
                        if !std::ptr::eq(inst, callee_inst) {
                            inst = callee_inst;
                            mem = memory_of(inst);
                        }
                        *current = (inst, func);
                    } else {
                        let ty = &entry.ty;
                        let n = ty.params().len().max(ty.results().len());
                        let depth = depth_base + frames.len() + 1;
                        stack::with_depth(depth, || c.call(entry, r.cells(base, n)))?;
                        mem = memory_of(inst);
                    }
                }
                FuncCode::Host(h) => {
                    let ty = h.ty();
                    let n = ty.params().len().max(ty.results().len());
                    let depth = depth_base + frames.len() + 1;
                    stack::with_depth(depth, || h.call_cells(inst, r.cells(base, n)))?;
                    mem = memory_of(inst);
                }
            }
        }};
    }

    loop {
        let instr = code[pc];
        pc += 1;
        match instr {
            Instr::Unreachable => return Err(trap(TrapCode::Unreachable)),
            Instr::Br { offset } => pc = (pc as isize - 1 + offset as isize) as usize,
            Instr::BrIfNez { cond, offset } => {
                if u32_of(r.get(cond)) != 0 {
                    pc = (pc as isize - 1 + offset as isize) as usize;
                }
            }
            Instr::BrIfEqz { cond, offset } => {
                if u32_of(r.get(cond)) == 0 {
                    pc = (pc as isize - 1 + offset as isize) as usize;
                }
            }
            Instr::BrI64Eqz { cond, offset } => {
                if r.get(cond) == 0 {
                    pc = (pc as isize - 1 + offset as isize) as usize;
                }
            }
            Instr::BrI64Nez { cond, offset } => {
                if r.get(cond) != 0 {
                    pc = (pc as isize - 1 + offset as isize) as usize;
                }
            }
            Instr::BrI32Eq { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, ==),
            Instr::BrI32Ne { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, !=),
            Instr::BrI32LtS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i32_of, <),
            Instr::BrI32LtU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, <),
            Instr::BrI32GtS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i32_of, >),
            Instr::BrI32GtU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, >),
            Instr::BrI32LeS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i32_of, <=),
            Instr::BrI32LeU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, <=),
            Instr::BrI32GeS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i32_of, >=),
            Instr::BrI32GeU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, u32_of, >=),
            Instr::BrI64Eq { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, ==),
            Instr::BrI64Ne { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, !=),
            Instr::BrI64LtS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i64_of, <),
            Instr::BrI64LtU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, <),
            Instr::BrI64GtS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i64_of, >),
            Instr::BrI64GtU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, >),
            Instr::BrI64LeS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i64_of, <=),
            Instr::BrI64LeU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, <=),
            Instr::BrI64GeS { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, i64_of, >=),
            Instr::BrI64GeU { lhs, rhs, offset } => br_cmp!(lhs, rhs, offset, of_u64, >=),
            Instr::BrTable { index, len } => pc += u32_of(r.get(index)).min(len) as usize,
            Instr::Return => ret!(),
            Instr::ReturnSlot { src } => {
                r.set(0, r.get(src));
                ret!()
            }
            Instr::ReturnMany { src, len } => {
                for i in 0..len {
                    r.set(i, r.get(src + i));
                }
                ret!()
            }
            Instr::Call { func: f, base } => call!(inst.func_slot(f).entry(guard), base),
            Instr::CallIndirect {
                sig,
                table,
                index,
                base,
            } => {
                let slot = inst.table(table).func_at(u32_of(r.get(index)))?;
                let entry = slot.entry(guard);
                if entry.sig != inst.sig(sig) {
                    return Err(trap(TrapCode::BadSignature));
                }
                call!(entry, base)
            }

            Instr::Copy { dst, src } => r.set(dst, r.get(src)),
            Instr::Select { dst, cond, a, b } => {
                let v = if u32_of(r.get(cond)) != 0 {
                    r.get(a)
                } else {
                    r.get(b)
                };
                r.set(dst, v)
            }
            Instr::GlobalGet { dst, global } => r.set(dst, inst.global(global).get()),
            Instr::GlobalSet { src, global } => inst.global(global).set(r.get(src)),
            Instr::RefFunc { dst, func: f } => r.set(dst, inst.func_slot(f).as_cell()),

            Instr::Load8S { dst, addr, offset } => {
                r.set(dst, mem.load::<i8>(ea!(addr, offset))? as i64 as u64)
            }
            Instr::Load8U { dst, addr, offset } => {
                r.set(dst, mem.load::<u8>(ea!(addr, offset))? as u64)
            }
            Instr::Load16S { dst, addr, offset } => {
                r.set(dst, mem.load::<i16>(ea!(addr, offset))? as i64 as u64)
            }
            Instr::Load16U { dst, addr, offset } => {
                r.set(dst, mem.load::<u16>(ea!(addr, offset))? as u64)
            }
            Instr::Load32S { dst, addr, offset } => {
                r.set(dst, mem.load::<i32>(ea!(addr, offset))? as i64 as u64)
            }
            Instr::Load32U { dst, addr, offset } => {
                r.set(dst, mem.load::<u32>(ea!(addr, offset))? as u64)
            }
            Instr::Load64 { dst, addr, offset } => r.set(dst, mem.load::<u64>(ea!(addr, offset))?),
            Instr::Store8 { addr, src, offset } => {
                mem.store::<u8>(ea!(addr, offset), r.get(src) as u8)?
            }
            Instr::Store16 { addr, src, offset } => {
                mem.store::<u16>(ea!(addr, offset), r.get(src) as u16)?
            }
            Instr::Store32 { addr, src, offset } => {
                mem.store::<u32>(ea!(addr, offset), r.get(src) as u32)?
            }
            Instr::Store64 { addr, src, offset } => {
                mem.store::<u64>(ea!(addr, offset), r.get(src))?
            }
            Instr::MemorySize { dst } => r.set(dst, of_u32(inst.memory(0).size_pages())),
            Instr::MemoryGrow { dst, delta } => {
                let old = inst.memory(0).grow(u32_of(r.get(delta)));
                r.set(dst, of_u32(old.unwrap_or(u32::MAX)));
                mem = memory_of(inst);
            }
            Instr::MemoryFill { at, val, len } => mem.fill(
                u32_of(r.get(at)) as u64,
                r.get(val) as u8,
                u32_of(r.get(len)) as u64,
            )?,
            Instr::MemoryCopy { to, from, len } => mem.copy_within(
                u32_of(r.get(to)) as u64,
                u32_of(r.get(from)) as u64,
                u32_of(r.get(len)) as u64,
            )?,
            Instr::MemoryInit {
                data,
                to,
                from,
                len,
            } => {
                let bytes = inst.data(data);
                let (from, len) = (u32_of(r.get(from)) as usize, u32_of(r.get(len)) as usize);
                let src = bytes
                    .get(from..from.saturating_add(len))
                    .ok_or(trap(TrapCode::MemoryOutOfBounds))?;
                mem.write(u32_of(r.get(to)) as u64, src)?
            }
            Instr::DataDrop { data } => inst.drop_data(data),

            Instr::TableGet { dst, index, table } => {
                r.set(dst, inst.table(table).get(u32_of(r.get(index)))?)
            }
            Instr::TableSet {
                index,
                value,
                table,
            } => inst.table(table).set(u32_of(r.get(index)), r.get(value))?,
            Instr::TableSize { dst, table } => r.set(dst, of_u32(inst.table(table).size())),
            Instr::TableGrow {
                dst,
                init,
                delta,
                table,
            } => {
                let old = inst.table(table).grow(u32_of(r.get(delta)), r.get(init));
                r.set(dst, of_u32(old.unwrap_or(u32::MAX)))
            }
            Instr::TableFill {
                at,
                value,
                len,
                table,
            } => inst
                .table(table)
                .fill(u32_of(r.get(at)), r.get(value), u32_of(r.get(len)))?,
            Instr::TableCopy {
                to,
                from,
                len,
                dst_table,
                src_table,
            } => inst.table(dst_table).copy_from(
                u32_of(r.get(to)),
                inst.table(src_table),
                u32_of(r.get(from)),
                u32_of(r.get(len)),
            )?,
            Instr::TableInit {
                to,
                from,
                len,
                elem,
                table,
            } => {
                let items = inst.elem_items(elem);
                inst.table(table).init(
                    u32_of(r.get(to)),
                    &items,
                    u32_of(r.get(from)),
                    u32_of(r.get(len)),
                )?
            }
            Instr::ElemDrop { elem } => inst.drop_elem(elem),

            // ---- unary ----
            Instr::I32Eqz { dst, src } => un!(dst, src, u32_of, of_bool, |x| x == 0),
            Instr::I64Eqz { dst, src } => un!(dst, src, of_u64, of_bool, |x| x == 0),
            Instr::I32Clz { dst, src } => un!(dst, src, u32_of, of_u32, |x| x.leading_zeros()),
            Instr::I32Ctz { dst, src } => un!(dst, src, u32_of, of_u32, |x| x.trailing_zeros()),
            Instr::I32Popcnt { dst, src } => un!(dst, src, u32_of, of_u32, |x| x.count_ones()),
            Instr::I64Clz { dst, src } => {
                un!(dst, src, of_u64, of_u64, |x| x.leading_zeros() as u64)
            }
            Instr::I64Ctz { dst, src } => {
                un!(dst, src, of_u64, of_u64, |x| x.trailing_zeros() as u64)
            }
            Instr::I64Popcnt { dst, src } => {
                un!(dst, src, of_u64, of_u64, |x| x.count_ones() as u64)
            }
            Instr::F32Abs { dst, src } => un!(dst, src, f32_of, of_f32, |x| x.abs()),
            Instr::F32Neg { dst, src } => un!(dst, src, f32_of, of_f32, |x| -x),
            Instr::F32Ceil { dst, src } => un!(dst, src, f32_of, of_f32, |x| quiet_f32(x.ceil())),
            Instr::F32Floor { dst, src } => un!(dst, src, f32_of, of_f32, |x| quiet_f32(x.floor())),
            Instr::F32Trunc { dst, src } => un!(dst, src, f32_of, of_f32, |x| quiet_f32(x.trunc())),
            Instr::F32Nearest { dst, src } => {
                un!(dst, src, f32_of, of_f32, |x| quiet_f32(x.round_ties_even()))
            }
            Instr::F32Sqrt { dst, src } => un!(dst, src, f32_of, of_f32, |x| x.sqrt()),
            Instr::F64Abs { dst, src } => un!(dst, src, f64_of, of_f64, |x| x.abs()),
            Instr::F64Neg { dst, src } => un!(dst, src, f64_of, of_f64, |x| -x),
            Instr::F64Ceil { dst, src } => un!(dst, src, f64_of, of_f64, |x| quiet_f64(x.ceil())),
            Instr::F64Floor { dst, src } => un!(dst, src, f64_of, of_f64, |x| quiet_f64(x.floor())),
            Instr::F64Trunc { dst, src } => un!(dst, src, f64_of, of_f64, |x| quiet_f64(x.trunc())),
            Instr::F64Nearest { dst, src } => {
                un!(dst, src, f64_of, of_f64, |x| quiet_f64(x.round_ties_even()))
            }
            Instr::F64Sqrt { dst, src } => un!(dst, src, f64_of, of_f64, |x| x.sqrt()),
            Instr::I64ExtendI32S { dst, src } => un!(dst, src, i32_of, of_i64, |x| x as i64),
            Instr::I64ExtendI32U { dst, src } => un!(dst, src, u32_of, of_u64, |x| x as u64),
            Instr::I32TruncF32S { dst, src } => {
                un!(dst, src, f32_of, of_i32, |x| i32_trunc_f32_s(x)?)
            }
            Instr::I32TruncF32U { dst, src } => {
                un!(dst, src, f32_of, of_u32, |x| i32_trunc_f32_u(x)?)
            }
            Instr::I32TruncF64S { dst, src } => {
                un!(dst, src, f64_of, of_i32, |x| i32_trunc_f64_s(x)?)
            }
            Instr::I32TruncF64U { dst, src } => {
                un!(dst, src, f64_of, of_u32, |x| i32_trunc_f64_u(x)?)
            }
            Instr::I64TruncF32S { dst, src } => {
                un!(dst, src, f32_of, of_i64, |x| i64_trunc_f32_s(x)?)
            }
            Instr::I64TruncF32U { dst, src } => {
                un!(dst, src, f32_of, of_u64, |x| i64_trunc_f32_u(x)?)
            }
            Instr::I64TruncF64S { dst, src } => {
                un!(dst, src, f64_of, of_i64, |x| i64_trunc_f64_s(x)?)
            }
            Instr::I64TruncF64U { dst, src } => {
                un!(dst, src, f64_of, of_u64, |x| i64_trunc_f64_u(x)?)
            }
            // Rust's float -> int `as` saturates and maps NaN to 0: the sat semantics.
            Instr::I32TruncSatF32S { dst, src } => un!(dst, src, f32_of, of_i32, |x| x as i32),
            Instr::I32TruncSatF32U { dst, src } => un!(dst, src, f32_of, of_u32, |x| x as u32),
            Instr::I32TruncSatF64S { dst, src } => un!(dst, src, f64_of, of_i32, |x| x as i32),
            Instr::I32TruncSatF64U { dst, src } => un!(dst, src, f64_of, of_u32, |x| x as u32),
            Instr::I64TruncSatF32S { dst, src } => un!(dst, src, f32_of, of_i64, |x| x as i64),
            Instr::I64TruncSatF32U { dst, src } => un!(dst, src, f32_of, of_u64, |x| x as u64),
            Instr::I64TruncSatF64S { dst, src } => un!(dst, src, f64_of, of_i64, |x| x as i64),
            Instr::I64TruncSatF64U { dst, src } => un!(dst, src, f64_of, of_u64, |x| x as u64),
            Instr::F32ConvertI32S { dst, src } => un!(dst, src, i32_of, of_f32, |x| x as f32),
            Instr::F32ConvertI32U { dst, src } => un!(dst, src, u32_of, of_f32, |x| x as f32),
            Instr::F32ConvertI64S { dst, src } => un!(dst, src, i64_of, of_f32, |x| x as f32),
            Instr::F32ConvertI64U { dst, src } => un!(dst, src, of_u64, of_f32, |x| x as f32),
            Instr::F32DemoteF64 { dst, src } => un!(dst, src, f64_of, of_f32, |x| x as f32),
            Instr::F64ConvertI32S { dst, src } => un!(dst, src, i32_of, of_f64, |x| x as f64),
            Instr::F64ConvertI32U { dst, src } => un!(dst, src, u32_of, of_f64, |x| x as f64),
            Instr::F64ConvertI64S { dst, src } => un!(dst, src, i64_of, of_f64, |x| x as f64),
            Instr::F64ConvertI64U { dst, src } => un!(dst, src, of_u64, of_f64, |x| x as f64),
            Instr::F64PromoteF32 { dst, src } => un!(dst, src, f32_of, of_f64, |x| x as f64),
            Instr::I32Extend8S { dst, src } => un!(dst, src, i32_of, of_i32, |x| x as i8 as i32),
            Instr::I32Extend16S { dst, src } => un!(dst, src, i32_of, of_i32, |x| x as i16 as i32),
            Instr::I64Extend8S { dst, src } => un!(dst, src, i64_of, of_i64, |x| x as i8 as i64),
            Instr::I64Extend16S { dst, src } => un!(dst, src, i64_of, of_i64, |x| x as i16 as i64),
            Instr::I64Extend32S { dst, src } => un!(dst, src, i64_of, of_i64, |x| x as i32 as i64),

            // ---- binary ----
            Instr::I32Eq { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a == b),
            Instr::I32Ne { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a != b),
            Instr::I32LtS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_bool, |a, b| a < b),
            Instr::I32LtU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a < b),
            Instr::I32GtS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_bool, |a, b| a > b),
            Instr::I32GtU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a > b),
            Instr::I32LeS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_bool, |a, b| a <= b),
            Instr::I32LeU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a <= b),
            Instr::I32GeS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_bool, |a, b| a >= b),
            Instr::I32GeU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_bool, |a, b| a >= b),
            Instr::I32Add { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.wrapping_add(b))
            }
            Instr::I32Sub { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.wrapping_sub(b))
            }
            Instr::I32Mul { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.wrapping_mul(b))
            }
            Instr::I32DivS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_i32, |a, b| {
                if b == 0 {
                    return Err(trap(TrapCode::IntegerDivisionByZero));
                }
                a.checked_div(b).ok_or(trap(TrapCode::IntegerOverflow))?
            }),
            Instr::I32DivU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| {
                a.checked_div(b)
                    .ok_or(trap(TrapCode::IntegerDivisionByZero))?
            }),
            Instr::I32RemS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_i32, |a, b| {
                if b == 0 {
                    return Err(trap(TrapCode::IntegerDivisionByZero));
                }
                a.wrapping_rem(b)
            }),
            Instr::I32RemU { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| {
                a.checked_rem(b)
                    .ok_or(trap(TrapCode::IntegerDivisionByZero))?
            }),
            Instr::I32And { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a & b),
            Instr::I32Or { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a | b),
            Instr::I32Xor { dst, lhs, rhs } => bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a ^ b),
            Instr::I32Shl { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.wrapping_shl(b))
            }
            Instr::I32ShrS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i32_of, of_i32, |a, b| a
                .wrapping_shr(b as u32)),
            Instr::I32ShrU { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.wrapping_shr(b))
            }
            Instr::I32Rotl { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.rotate_left(b))
            }
            Instr::I32Rotr { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, u32_of, of_u32, |a, b| a.rotate_right(b))
            }
            Instr::I64Eq { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a == b),
            Instr::I64Ne { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a != b),
            Instr::I64LtS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_bool, |a, b| a < b),
            Instr::I64LtU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a < b),
            Instr::I64GtS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_bool, |a, b| a > b),
            Instr::I64GtU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a > b),
            Instr::I64LeS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_bool, |a, b| a <= b),
            Instr::I64LeU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a <= b),
            Instr::I64GeS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_bool, |a, b| a >= b),
            Instr::I64GeU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_bool, |a, b| a >= b),
            Instr::I64Add { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a.wrapping_add(b))
            }
            Instr::I64Sub { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a.wrapping_sub(b))
            }
            Instr::I64Mul { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a.wrapping_mul(b))
            }
            Instr::I64DivS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_i64, |a, b| {
                if b == 0 {
                    return Err(trap(TrapCode::IntegerDivisionByZero));
                }
                a.checked_div(b).ok_or(trap(TrapCode::IntegerOverflow))?
            }),
            Instr::I64DivU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| {
                a.checked_div(b)
                    .ok_or(trap(TrapCode::IntegerDivisionByZero))?
            }),
            Instr::I64RemS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_i64, |a, b| {
                if b == 0 {
                    return Err(trap(TrapCode::IntegerDivisionByZero));
                }
                a.wrapping_rem(b)
            }),
            Instr::I64RemU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| {
                a.checked_rem(b)
                    .ok_or(trap(TrapCode::IntegerDivisionByZero))?
            }),
            Instr::I64And { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a & b),
            Instr::I64Or { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a | b),
            Instr::I64Xor { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a ^ b),
            Instr::I64Shl { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a
                .wrapping_shl(b as u32)),
            Instr::I64ShrS { dst, lhs, rhs } => bin!(dst, lhs, rhs, i64_of, of_i64, |a, b| a
                .wrapping_shr(b as u32)),
            Instr::I64ShrU { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a
                .wrapping_shr(b as u32)),
            Instr::I64Rotl { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a
                .rotate_left((b & 63) as u32)),
            Instr::I64Rotr { dst, lhs, rhs } => bin!(dst, lhs, rhs, of_u64, of_u64, |a, b| a
                .rotate_right((b & 63) as u32)),
            Instr::F32Eq { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a == b),
            Instr::F32Ne { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a != b),
            Instr::F32Lt { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a < b),
            Instr::F32Gt { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a > b),
            Instr::F32Le { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a <= b),
            Instr::F32Ge { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_bool, |a, b| a >= b),
            Instr::F32Add { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| a + b),
            Instr::F32Sub { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| a - b),
            Instr::F32Mul { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| a * b),
            Instr::F32Div { dst, lhs, rhs } => bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| a / b),
            Instr::F32Min { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| f32_min(a, b))
            }
            Instr::F32Max { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| f32_max(a, b))
            }
            Instr::F32Copysign { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f32_of, of_f32, |a, b| a.copysign(b))
            }
            Instr::F64Eq { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a == b),
            Instr::F64Ne { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a != b),
            Instr::F64Lt { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a < b),
            Instr::F64Gt { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a > b),
            Instr::F64Le { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a <= b),
            Instr::F64Ge { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_bool, |a, b| a >= b),
            Instr::F64Add { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| a + b),
            Instr::F64Sub { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| a - b),
            Instr::F64Mul { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| a * b),
            Instr::F64Div { dst, lhs, rhs } => bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| a / b),
            Instr::F64Min { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| f64_min(a, b))
            }
            Instr::F64Max { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| f64_max(a, b))
            }
            Instr::F64Copysign { dst, lhs, rhs } => {
                bin!(dst, lhs, rhs, f64_of, of_f64, |a, b| a.copysign(b))
            }
        }
    }
}

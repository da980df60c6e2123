//! One handler per instruction (see `bytecode.rs` for what each does, `dispatch.rs` for
//! how they chain). A handler reads its operands from its op, does its work on the frame
//! (`fp`), and dispatches to the next op, a branch target, a callee or a caller.
#![allow(non_snake_case)]

use crate::bytecode::{Instr, InterpFunc, Slot};
use crate::dispatch::{
    dispatch, foreign_op, Acc, Activation, Cx, Done, IntoStep, Next, SlowStep, Step,
};
use crate::stack::{self, Ip, Regs};
use rwamr_core::{FuncCode, FuncEntry, Instance, MemoryView, TrapCode};

/// Continues at `$ip` with frame `$fp` and accumulator `$acc`.
macro_rules! next {
    ($ip:expr, $fp:expr, $acc:expr) => {
        return Next::next($ip, $fp, $acc)
    };
}

/// The value of a fallible expression, or the end of the run with its trap.
macro_rules! tr {
    ($cx:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(t) => return $cx.fail(t),
        }
    };
}

/// Defines the handler of `$name`: its work, in a function of its own that binds the
/// operand fields and returns where to go next, then the dispatch. Nothing is left to
/// drop and no temporary is on the handler's stack at the dispatch, so it compiles to a
/// tail jump and the native stack stays flat (`tail_calls_are_jumps` checks every
/// handler). The work is inlined (`handler!`) unless it calls out of line with results
/// on the stack (host calls, table and bulk operations: `slow_handler!`), where its
/// temporaries must stay in its own frame.
macro_rules! define_handler {
    (#[$inline:meta] $step:ty, $name:ident $({ $($f:ident),* })? ($ip:ident, $fp:ident, $cx:ident, $acc:ident) $body:block) => {
        pub fn $name($ip: Ip, $fp: Regs, $cx: &mut Cx<'_>, $acc: Acc) -> Done {
            #[$inline]
            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn work($ip: Ip, $fp: Regs, $cx: &mut Cx<'_>, mut $acc: Acc) -> $step {
                // `Op::new` pairs every instruction with its own handler.
                let Instr::$name $({ $($f),* })? = $ip.op().instr() else {
                    foreign_op()
                };
                $body
            }
            match IntoStep::into_step(work($ip, $fp, $cx, $acc)) {
                Some((ip, fp, acc)) => dispatch(ip, fp, $cx, acc),
                None => $cx.done,
            }
        }
    };
}

macro_rules! handler {
    ($($t:tt)*) => { define_handler!(#[inline(always)] Step, $($t)*); };
}

macro_rules! slow_handler {
    ($($t:tt)*) => { define_handler!(#[inline(never)] SlowStep, $($t)*); };
}

macro_rules! unary {
    ($($name:ident: $get:ident -> $put:ident, |$x:ident| $e:expr;)*) => {$(
        handler!($name { dst, src } (ip, fp, cx, acc) {
            let $x = $get(acc.get(fp, src));
            acc = Acc::set(fp, dst, $put($e));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! unary_try {
    ($($name:ident: $get:ident -> $put:ident, $f:ident;)*) => {$(
        handler!($name { dst, src } (ip, fp, cx, acc) {
            let v = tr!(cx, $f($get(acc.get(fp, src))));
            acc = Acc::set(fp, dst, $put(v));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! binary {
    ($($name:ident: $get:ident -> $put:ident, |$a:ident, $b:ident| $e:expr;)*) => {$(
        handler!($name { dst, lhs, rhs } (ip, fp, cx, acc) {
            let $a = $get(acc.get(fp, lhs));
            let $b = $get(acc.get(fp, rhs));
            acc = Acc::set(fp, dst, $put($e));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! binary_try {
    ($($name:ident: $get:ident -> $put:ident, $f:ident;)*) => {$(
        handler!($name { dst, lhs, rhs } (ip, fp, cx, acc) {
            let v = tr!(cx, $f($get(acc.get(fp, lhs)), $get(acc.get(fp, rhs))));
            acc = Acc::set(fp, dst, $put(v));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! branch_cmp {
    ($($name:ident: $get:ident, $op:tt;)*) => {$(
        handler!($name { lhs, rhs, offset } (ip, fp, cx, acc) {
            if $get(acc.get(fp, lhs)) $op $get(acc.get(fp, rhs)) {
                next!(ip.offset(offset), fp, acc)
            }
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! load {
    ($($name:ident: $t:ty => |$v:ident| $e:expr;)*) => {$(
        handler!($name { dst, addr, offset } (ip, fp, cx, acc) {
            let $v = tr!(cx, cx.mem.load::<$t>(u32_of(acc.get(fp, addr)) as u64 + offset as u64));
            acc = Acc::set(fp, dst, $e);
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! load_indexed {
    ($($name:ident: $t:ty => |$v:ident| $e:expr;)*) => {$(
        handler!($name { dst, base, index, offset } (ip, fp, cx, acc) {
            let addr = u32_of(acc.get(fp, base)).wrapping_add(u32_of(acc.get(fp, index)));
            let $v = tr!(cx, cx.mem.load::<$t>(addr as u64 + offset as u64));
            acc = Acc::set(fp, dst, $e);
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! store_indexed {
    ($($name:ident: $t:ty;)*) => {$(
        handler!($name { base, index, src, offset } (ip, fp, cx, acc) {
            let addr = u32_of(acc.get(fp, base)).wrapping_add(u32_of(acc.get(fp, index)));
            tr!(cx, cx.mem.store::<$t>(addr as u64 + offset as u64, acc.get(fp, src) as $t));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! store {
    ($($name:ident: $t:ty;)*) => {$(
        handler!($name { addr, src, offset } (ip, fp, cx, acc) {
            let ea = u32_of(acc.get(fp, addr)) as u64 + offset as u64;
            tr!(cx, cx.mem.store::<$t>(ea, acc.get(fp, src) as $t));
            next!(ip.next(), fp, acc)
        });
    )*};
}

// ---- cell conversions (see `rwamr_core::val`) ----
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
fn u64_of(c: u64) -> u64 {
    c
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

// ---- numeric helpers with the spec's semantics ----
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

/// Float rounding without libm calls (the x86-64 baseline has no rounding instruction, so
/// `f64::floor` and friends would be function calls). Values of magnitude 2^mantissa
/// and above, infinities and NaNs are already integral.
macro_rules! rounding {
    ($trunc:ident, $floor:ident, $ceil:ident, $nearest:ident, $f:ty, $i:ty, $big:expr) => {
        #[inline(always)]
        fn $trunc(x: $f) -> $f {
            if x.abs() < $big {
                // In range for the integer type; the cast truncates, copysign keeps -0.
                ((x as $i) as $f).copysign(x)
            } else {
                x
            }
        }
        #[inline(always)]
        fn $floor(x: $f) -> $f {
            let t = $trunc(x);
            if t > x {
                t - 1.0
            } else {
                t
            }
        }
        #[inline(always)]
        fn $ceil(x: $f) -> $f {
            let t = $trunc(x);
            if t < x {
                t + 1.0
            } else {
                t
            }
        }
        #[inline(always)]
        fn $nearest(x: $f) -> $f {
            if x.abs() < $big {
                // Adding and subtracting 2^mantissa rounds to an integer in the default
                // round-to-nearest-even mode.
                ((x.abs() + $big) - $big).copysign(x)
            } else {
                x
            }
        }
    };
}
rounding!(
    trunc_f32,
    floor_f32,
    ceil_f32,
    nearest_f32,
    f32,
    i32,
    8388608.0f32
);
rounding!(
    trunc_f64,
    floor_f64,
    ceil_f64,
    nearest_f64,
    f64,
    i64,
    4503599627370496.0f64
);

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

/// Float -> int truncation with the spec's traps. (Errors here and below are bare
/// `TrapCode`s: a `Trap` on a handler's stack would cost it its tail jump.) `lo` and `hi` are the exclusive bounds
/// of the values that fit.
macro_rules! trunc {
    ($name:ident, $f:ty, $i:ty, $lo:expr, $hi:expr) => {
        #[inline(always)]
        fn $name(x: $f) -> Result<$i, TrapCode> {
            if x.is_nan() {
                return Err(TrapCode::BadConversionToInteger);
            }
            if !(x > $lo && x < $hi) {
                return Err(TrapCode::IntegerOverflow);
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

macro_rules! int_div {
    ($div_s:ident, $rem_s:ident, $div_u:ident, $rem_u:ident, $s:ty, $u:ty) => {
        #[inline(always)]
        fn $div_s(a: $s, b: $s) -> Result<$s, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            a.checked_div(b).ok_or(TrapCode::IntegerOverflow)
        }
        #[inline(always)]
        fn $rem_s(a: $s, b: $s) -> Result<$s, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            Ok(a.wrapping_rem(b))
        }
        #[inline(always)]
        fn $div_u(a: $u, b: $u) -> Result<$u, TrapCode> {
            a.checked_div(b).ok_or(TrapCode::IntegerDivisionByZero)
        }
        #[inline(always)]
        fn $rem_u(a: $u, b: $u) -> Result<$u, TrapCode> {
            a.checked_rem(b).ok_or(TrapCode::IntegerDivisionByZero)
        }
    };
}
int_div!(i32_div_s, i32_rem_s, i32_div_u, i32_rem_u, i32, u32);
int_div!(i64_div_s, i64_rem_s, i64_div_u, i64_rem_u, i64, u64);

// ---- frames and calls ----

/// Memory 0 of `inst`, or nothing.
#[inline(always)]
pub fn memory_of(inst: &Instance) -> MemoryView<'_> {
    match inst.memories().first() {
        Some(m) => m.view(),
        None => MemoryView::empty(),
    }
}

/// Zeroes the declared locals and copies the constants in, in blocks of four cells (the
/// translator leaves room after the constants and pads them). Up to 16 of each are set by
/// straight-line code: a loop here becomes a memset/memcpy call, which costs more than
/// the copying on the call path.
#[inline(always)]
pub fn enter_frame(fp: Regs, f: &InterpFunc) {
    let (np, nl) = (f.num_params as usize, f.num_locals as usize);
    let block = |at: usize, cells: &[u64]| fp.cells(at, 4).copy_from_slice(&cells[..4]);
    let zeros = [0u64; 4];
    let n = nl - np;
    if n <= 16 {
        for k in [0, 4, 8, 12] {
            if n > k {
                block(np + k, &zeros);
            }
        }
    } else {
        fp.cells(np, n).fill(0);
    }
    let c = &f.consts;
    if c.len() <= 16 {
        for k in [0, 4, 8, 12] {
            if c.len() > k {
                block(nl + k, &c[k..]);
            }
        }
    } else {
        fp.cells(nl, c.len()).copy_from_slice(c);
    }
}

/// Calls the function of `entry` with its arguments at slot `base` of `fp`.
#[inline(always)]
fn call<'x>(entry: &'x FuncEntry, base: Slot, ip: Ip, fp: Regs, cx: &mut Cx<'x>) -> Step {
    if let Some(callee) = entry.code_as::<InterpFunc>() {
        if cx.depth_base + cx.frames.len() + 1 >= cx.max_depth {
            return cx.fail(TrapCode::StackOverflow);
        }
        let Some(callee_fp) = cx.stack.frame(fp, base, callee.frame_size) else {
            return cx.fail(TrapCode::StackOverflow);
        };
        cx.frames.push(Activation {
            func: cx.func,
            inst: cx.inst,
            fp,
            ret: ip.next(),
        });
        enter_frame(callee_fp, callee);
        cx.func = callee;
        let inst = entry.instance();
        if !std::ptr::eq(inst, cx.inst) {
            cx.inst = inst;
            cx.mem = memory_of(inst);
        }
        next!(Ip::start(&callee.ops), callee_fp, Acc::NONE)
    }
    call_out(entry, base, ip, fp, cx).into_step()
}

/// Calls a host function or another tier's code. Out of line: its result temporaries
/// must not sit in the frame of a handler (see `handler!`). They run on the native stack
/// and may re-enter the interpreter, which continues the depth count from here.
#[inline(never)]
fn call_out<'x>(entry: &'x FuncEntry, base: Slot, ip: Ip, fp: Regs, cx: &mut Cx<'x>) -> SlowStep {
    let ty = &entry.ty;
    let n = ty.params().len().max(ty.results().len());
    let depth = cx.depth_base + cx.frames.len() + 1;
    let cells = fp.cells(base as usize, n);
    let result = match &entry.code {
        // SAFETY: the entry's own code; `cells` are the callee's `max(params, results)`
        // cells of this frame (the translator reserved them), holding validated
        // arguments.
        FuncCode::Wasm(code) => stack::with_depth(depth, || unsafe { code.call(entry, cells) }),
        FuncCode::Host(h) => stack::with_depth(depth, || h.call_cells(cx.inst, cells)),
    };
    tr!(cx, result);
    cx.mem = memory_of(cx.inst);
    next!(ip.next(), fp, Acc::NONE)
}

/// Returns to the caller, or ends the run when this is the outermost function.
#[inline(always)]
fn ret(cx: &mut Cx<'_>) -> Step {
    match cx.frames.pop() {
        None => cx.finish(),
        Some(a) => {
            cx.func = a.func;
            cx.inst = a.inst;
            // The callee may have grown the memory.
            cx.mem = memory_of(cx.inst);
            next!(a.ret, a.fp, Acc::NONE)
        }
    }
}

// ---- control ----
handler!(Unreachable(_ip, _fp, cx, acc) {
    cx.fail(TrapCode::Unreachable)
});
handler!(Br { offset } (ip, fp, cx, acc) {
    next!(ip.offset(offset), fp, acc)
});
handler!(BrIfNez { cond, offset } (ip, fp, cx, acc) {
    if u32_of(acc.get(fp, cond)) != 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrIfEqz { cond, offset } (ip, fp, cx, acc) {
    if u32_of(acc.get(fp, cond)) == 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrI64Eqz { cond, offset } (ip, fp, cx, acc) {
    if acc.get(fp, cond) == 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrI64Nez { cond, offset } (ip, fp, cx, acc) {
    if acc.get(fp, cond) != 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
branch_cmp! {
    BrI32Eq: u32_of, ==; BrI32Ne: u32_of, !=;
    BrI32LtS: i32_of, <; BrI32LtU: u32_of, <; BrI32GtS: i32_of, >; BrI32GtU: u32_of, >;
    BrI32LeS: i32_of, <=; BrI32LeU: u32_of, <=; BrI32GeS: i32_of, >=; BrI32GeU: u32_of, >=;
    BrI64Eq: u64_of, ==; BrI64Ne: u64_of, !=;
    BrI64LtS: i64_of, <; BrI64LtU: u64_of, <; BrI64GtS: i64_of, >; BrI64GtU: u64_of, >;
    BrI64LeS: i64_of, <=; BrI64LeU: u64_of, <=; BrI64GeS: i64_of, >=; BrI64GeU: u64_of, >=;
}
handler!(BrTable { index, len } (ip, fp, cx, acc) {
    // The table's entries are the `len + 1` `Br`s after this op.
    let i = u32_of(acc.get(fp, index)).min(len);
    next!(ip.offset(1 + i as i32), fp, acc)
});
handler!(Return(_ip, _fp, cx, acc) {
    ret(cx)
});
handler!(ReturnSlot { src } (_ip, fp, cx, acc) {
    fp.set(0, acc.get(fp, src));
    ret(cx)
});
handler!(ReturnMany { src, len } (_ip, fp, cx, acc) {
    for i in 0..len {
        fp.set(i, acc.get(fp, src + i));
    }
    ret(cx)
});
handler!(Call { func, base } (ip, fp, cx, acc) {
    let inst = cx.inst;
    let entry = inst.func_slot(func).entry(cx.guard);
    call(entry, base, ip, fp, cx)
});
handler!(CallIndirect { sig, table, index, base } (ip, fp, cx, acc) {
    let inst = cx.inst;
    // SAFETY: `inst` is running, and it owns or imports the table, which keeps the
    // table's owner alive.
    let slot = tr!(cx, unsafe { inst.table(table).func_at(u32_of(acc.get(fp, index))) });
    let entry = slot.entry(cx.guard);
    if entry.sig != inst.sig(sig) {
        return cx.fail(TrapCode::BadSignature);
    }
    call(entry, base, ip, fp, cx)
});

// ---- data movement ----
handler!(Copy { dst, src } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, acc.get(fp, src));
    next!(ip.next(), fp, acc)
});
handler!(Copy2 { to, a, b } (ip, fp, cx, acc) {
    acc = Acc::set(fp, to, acc.get(fp, a));
    acc = Acc::set(fp, to + 1, acc.get(fp, b));
    next!(ip.next(), fp, acc)
});
handler!(Select { dst, cond, a, b } (ip, fp, cx, acc) {
    let v = if u32_of(acc.get(fp, cond)) != 0 { acc.get(fp, a) } else { acc.get(fp, b) };
    acc = Acc::set(fp, dst, v);
    next!(ip.next(), fp, acc)
});
handler!(GlobalGet { dst, global } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, cx.inst.global(global).get());
    next!(ip.next(), fp, acc)
});
handler!(GlobalSet { src, global } (ip, fp, cx, acc) {
    cx.inst.global(global).set(acc.get(fp, src));
    next!(ip.next(), fp, acc)
});
handler!(RefFunc { dst, func } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, cx.inst.func_slot(func).as_cell());
    next!(ip.next(), fp, acc)
});

// ---- memory ----
load! {
    Load8S: i8 => |v| v as i64 as u64;
    Load8U: u8 => |v| v as u64;
    Load16S: i16 => |v| v as i64 as u64;
    Load16U: u16 => |v| v as u64;
    Load32S: i32 => |v| v as i64 as u64;
    Load32U: u32 => |v| v as u64;
    Load64: u64 => |v| v;
}
load_indexed! {
    Load8SIdx: i8 => |v| v as i64 as u64;
    Load8UIdx: u8 => |v| v as u64;
    Load16SIdx: i16 => |v| v as i64 as u64;
    Load16UIdx: u16 => |v| v as u64;
    Load32SIdx: i32 => |v| v as i64 as u64;
    Load32UIdx: u32 => |v| v as u64;
    Load64Idx: u64 => |v| v;
}
store_indexed! {
    Store8Idx: u8;
    Store16Idx: u16;
    Store32Idx: u32;
    Store64Idx: u64;
}
store! {
    Store8: u8;
    Store16: u16;
    Store32: u32;
    Store64: u64;
}
slow_handler!(MemorySize { dst } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, of_u32(cx.inst.memory(0).size_pages()));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryGrow { dst, delta } (ip, fp, cx, acc) {
    let old = cx.inst.memory(0).grow(u32_of(acc.get(fp, delta)));
    acc = Acc::set(fp, dst, of_u32(old.unwrap_or(u32::MAX)));
    cx.mem = memory_of(cx.inst);
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryFill { at, val, len } (ip, fp, cx, acc) {
    let (at, len) = (u32_of(acc.get(fp, at)) as u64, u32_of(acc.get(fp, len)) as u64);
    tr!(cx, cx.mem.fill(at, acc.get(fp, val) as u8, len));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryCopy { to, from, len } (ip, fp, cx, acc) {
    let (to, from) = (u32_of(acc.get(fp, to)) as u64, u32_of(acc.get(fp, from)) as u64);
    tr!(cx, cx.mem.copy_within(to, from, u32_of(acc.get(fp, len)) as u64));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryInit { data, to, from, len } (ip, fp, cx, acc) {
    let bytes = cx.inst.data(data);
    let (from, len) = (u32_of(acc.get(fp, from)) as usize, u32_of(acc.get(fp, len)) as usize);
    let src = tr!(
        cx,
        bytes
            .get(from..from.saturating_add(len))
            .ok_or(TrapCode::MemoryOutOfBounds)
    );
    tr!(cx, cx.mem.write(u32_of(acc.get(fp, to)) as u64, src));
    next!(ip.next(), fp, acc)
});
slow_handler!(DataDrop { data } (ip, fp, cx, acc) {
    cx.inst.drop_data(data);
    next!(ip.next(), fp, acc)
});

// ---- tables ----
slow_handler!(TableGet { dst, index, table } (ip, fp, cx, acc) {
    let v = tr!(cx, cx.inst.table(table).get(u32_of(acc.get(fp, index))));
    acc = Acc::set(fp, dst, v);
    next!(ip.next(), fp, acc)
});
slow_handler!(TableSet { index, value, table } (ip, fp, cx, acc) {
    tr!(cx, cx.inst.table(table).set(u32_of(acc.get(fp, index)), acc.get(fp, value)));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableSize { dst, table } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, of_u32(cx.inst.table(table).size()));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableGrow { dst, init, delta, table } (ip, fp, cx, acc) {
    let old = cx.inst.table(table).grow(u32_of(acc.get(fp, delta)), acc.get(fp, init));
    acc = Acc::set(fp, dst, of_u32(old.unwrap_or(u32::MAX)));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableFill { at, value, len, table } (ip, fp, cx, acc) {
    let t = cx.inst.table(table);
    tr!(cx, t.fill(u32_of(acc.get(fp, at)), acc.get(fp, value), u32_of(acc.get(fp, len))));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableCopy { to, from, len, dst_table, src_table } (ip, fp, cx, acc) {
    let (d, s) = (cx.inst.table(dst_table), cx.inst.table(src_table));
    let (to, from, len) = (u32_of(acc.get(fp, to)), u32_of(acc.get(fp, from)), u32_of(acc.get(fp, len)));
    tr!(cx, d.copy_from(to, s, from, len));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableInit { to, from, len, elem, table } (ip, fp, cx, acc) {
    let items = cx.inst.elem_items(elem);
    let (to, from, len) = (u32_of(acc.get(fp, to)), u32_of(acc.get(fp, from)), u32_of(acc.get(fp, len)));
    tr!(cx, cx.inst.table(table).init(to, &items, from, len));
    next!(ip.next(), fp, acc)
});
slow_handler!(ElemDrop { elem } (ip, fp, cx, acc) {
    cx.inst.drop_elem(elem);
    next!(ip.next(), fp, acc)
});

// ---- numeric ----
unary! {
    I32Eqz: u32_of -> of_bool, |x| x == 0;
    I64Eqz: u64_of -> of_bool, |x| x == 0;
    I32Clz: u32_of -> of_u32, |x| x.leading_zeros();
    I32Ctz: u32_of -> of_u32, |x| x.trailing_zeros();
    I32Popcnt: u32_of -> of_u32, |x| x.count_ones();
    I64Clz: u64_of -> of_u64, |x| x.leading_zeros() as u64;
    I64Ctz: u64_of -> of_u64, |x| x.trailing_zeros() as u64;
    I64Popcnt: u64_of -> of_u64, |x| x.count_ones() as u64;
    F32Abs: f32_of -> of_f32, |x| x.abs();
    F32Neg: f32_of -> of_f32, |x| -x;
    F32Ceil: f32_of -> of_f32, |x| quiet_f32(ceil_f32(x));
    F32Floor: f32_of -> of_f32, |x| quiet_f32(floor_f32(x));
    F32Trunc: f32_of -> of_f32, |x| quiet_f32(trunc_f32(x));
    F32Nearest: f32_of -> of_f32, |x| quiet_f32(nearest_f32(x));
    F32Sqrt: f32_of -> of_f32, |x| x.sqrt();
    F64Abs: f64_of -> of_f64, |x| x.abs();
    F64Neg: f64_of -> of_f64, |x| -x;
    F64Ceil: f64_of -> of_f64, |x| quiet_f64(ceil_f64(x));
    F64Floor: f64_of -> of_f64, |x| quiet_f64(floor_f64(x));
    F64Trunc: f64_of -> of_f64, |x| quiet_f64(trunc_f64(x));
    F64Nearest: f64_of -> of_f64, |x| quiet_f64(nearest_f64(x));
    F64Sqrt: f64_of -> of_f64, |x| x.sqrt();
    I64ExtendI32S: i32_of -> of_i64, |x| x as i64;
    I64ExtendI32U: u32_of -> of_u64, |x| x as u64;
    // Rust's float -> int `as` saturates and maps NaN to 0: the sat semantics.
    I32TruncSatF32S: f32_of -> of_i32, |x| x as i32;
    I32TruncSatF32U: f32_of -> of_u32, |x| x as u32;
    I32TruncSatF64S: f64_of -> of_i32, |x| x as i32;
    I32TruncSatF64U: f64_of -> of_u32, |x| x as u32;
    I64TruncSatF32S: f32_of -> of_i64, |x| x as i64;
    I64TruncSatF32U: f32_of -> of_u64, |x| x as u64;
    I64TruncSatF64S: f64_of -> of_i64, |x| x as i64;
    I64TruncSatF64U: f64_of -> of_u64, |x| x as u64;
    F32ConvertI32S: i32_of -> of_f32, |x| x as f32;
    F32ConvertI32U: u32_of -> of_f32, |x| x as f32;
    F32ConvertI64S: i64_of -> of_f32, |x| x as f32;
    F32ConvertI64U: u64_of -> of_f32, |x| x as f32;
    F32DemoteF64: f64_of -> of_f32, |x| x as f32;
    F64ConvertI32S: i32_of -> of_f64, |x| x as f64;
    F64ConvertI32U: u32_of -> of_f64, |x| x as f64;
    F64ConvertI64S: i64_of -> of_f64, |x| x as f64;
    F64ConvertI64U: u64_of -> of_f64, |x| x as f64;
    F64PromoteF32: f32_of -> of_f64, |x| x as f64;
    I32Extend8S: i32_of -> of_i32, |x| x as i8 as i32;
    I32Extend16S: i32_of -> of_i32, |x| x as i16 as i32;
    I64Extend8S: i64_of -> of_i64, |x| x as i8 as i64;
    I64Extend16S: i64_of -> of_i64, |x| x as i16 as i64;
    I64Extend32S: i64_of -> of_i64, |x| x as i32 as i64;
}
unary_try! {
    I32TruncF32S: f32_of -> of_i32, i32_trunc_f32_s;
    I32TruncF32U: f32_of -> of_u32, i32_trunc_f32_u;
    I32TruncF64S: f64_of -> of_i32, i32_trunc_f64_s;
    I32TruncF64U: f64_of -> of_u32, i32_trunc_f64_u;
    I64TruncF32S: f32_of -> of_i64, i64_trunc_f32_s;
    I64TruncF32U: f32_of -> of_u64, i64_trunc_f32_u;
    I64TruncF64S: f64_of -> of_i64, i64_trunc_f64_s;
    I64TruncF64U: f64_of -> of_u64, i64_trunc_f64_u;
}
binary! {
    I32Eq: u32_of -> of_bool, |a, b| a == b;
    I32Ne: u32_of -> of_bool, |a, b| a != b;
    I32LtS: i32_of -> of_bool, |a, b| a < b;
    I32LtU: u32_of -> of_bool, |a, b| a < b;
    I32GtS: i32_of -> of_bool, |a, b| a > b;
    I32GtU: u32_of -> of_bool, |a, b| a > b;
    I32LeS: i32_of -> of_bool, |a, b| a <= b;
    I32LeU: u32_of -> of_bool, |a, b| a <= b;
    I32GeS: i32_of -> of_bool, |a, b| a >= b;
    I32GeU: u32_of -> of_bool, |a, b| a >= b;
    I32Add: u32_of -> of_u32, |a, b| a.wrapping_add(b);
    I32Sub: u32_of -> of_u32, |a, b| a.wrapping_sub(b);
    I32Mul: u32_of -> of_u32, |a, b| a.wrapping_mul(b);
    I32And: u32_of -> of_u32, |a, b| a & b;
    I32Or: u32_of -> of_u32, |a, b| a | b;
    I32Xor: u32_of -> of_u32, |a, b| a ^ b;
    I32Shl: u32_of -> of_u32, |a, b| a.wrapping_shl(b);
    I32ShrS: i32_of -> of_i32, |a, b| a.wrapping_shr(b as u32);
    I32ShrU: u32_of -> of_u32, |a, b| a.wrapping_shr(b);
    I32Rotl: u32_of -> of_u32, |a, b| a.rotate_left(b);
    I32Rotr: u32_of -> of_u32, |a, b| a.rotate_right(b);
    I64Eq: u64_of -> of_bool, |a, b| a == b;
    I64Ne: u64_of -> of_bool, |a, b| a != b;
    I64LtS: i64_of -> of_bool, |a, b| a < b;
    I64LtU: u64_of -> of_bool, |a, b| a < b;
    I64GtS: i64_of -> of_bool, |a, b| a > b;
    I64GtU: u64_of -> of_bool, |a, b| a > b;
    I64LeS: i64_of -> of_bool, |a, b| a <= b;
    I64LeU: u64_of -> of_bool, |a, b| a <= b;
    I64GeS: i64_of -> of_bool, |a, b| a >= b;
    I64GeU: u64_of -> of_bool, |a, b| a >= b;
    I64Add: u64_of -> of_u64, |a, b| a.wrapping_add(b);
    I64Sub: u64_of -> of_u64, |a, b| a.wrapping_sub(b);
    I64Mul: u64_of -> of_u64, |a, b| a.wrapping_mul(b);
    I64And: u64_of -> of_u64, |a, b| a & b;
    I64Or: u64_of -> of_u64, |a, b| a | b;
    I64Xor: u64_of -> of_u64, |a, b| a ^ b;
    I64Shl: u64_of -> of_u64, |a, b| a.wrapping_shl(b as u32);
    I64ShrS: i64_of -> of_i64, |a, b| a.wrapping_shr(b as u32);
    I64ShrU: u64_of -> of_u64, |a, b| a.wrapping_shr(b as u32);
    I64Rotl: u64_of -> of_u64, |a, b| a.rotate_left((b & 63) as u32);
    I64Rotr: u64_of -> of_u64, |a, b| a.rotate_right((b & 63) as u32);
    F32Eq: f32_of -> of_bool, |a, b| a == b;
    F32Ne: f32_of -> of_bool, |a, b| a != b;
    F32Lt: f32_of -> of_bool, |a, b| a < b;
    F32Gt: f32_of -> of_bool, |a, b| a > b;
    F32Le: f32_of -> of_bool, |a, b| a <= b;
    F32Ge: f32_of -> of_bool, |a, b| a >= b;
    F32Add: f32_of -> of_f32, |a, b| a + b;
    F32Sub: f32_of -> of_f32, |a, b| a - b;
    F32Mul: f32_of -> of_f32, |a, b| a * b;
    F32Div: f32_of -> of_f32, |a, b| a / b;
    F32Min: f32_of -> of_f32, |a, b| f32_min(a, b);
    F32Max: f32_of -> of_f32, |a, b| f32_max(a, b);
    F32Copysign: f32_of -> of_f32, |a, b| a.copysign(b);
    F64Eq: f64_of -> of_bool, |a, b| a == b;
    F64Ne: f64_of -> of_bool, |a, b| a != b;
    F64Lt: f64_of -> of_bool, |a, b| a < b;
    F64Gt: f64_of -> of_bool, |a, b| a > b;
    F64Le: f64_of -> of_bool, |a, b| a <= b;
    F64Ge: f64_of -> of_bool, |a, b| a >= b;
    F64Add: f64_of -> of_f64, |a, b| a + b;
    F64Sub: f64_of -> of_f64, |a, b| a - b;
    F64Mul: f64_of -> of_f64, |a, b| a * b;
    F64Div: f64_of -> of_f64, |a, b| a / b;
    F64Min: f64_of -> of_f64, |a, b| f64_min(a, b);
    F64Max: f64_of -> of_f64, |a, b| f64_max(a, b);
    F64Copysign: f64_of -> of_f64, |a, b| a.copysign(b);
}
binary_try! {
    I32DivS: i32_of -> of_i32, i32_div_s;
    I32DivU: u32_of -> of_u32, i32_div_u;
    I32RemS: i32_of -> of_i32, i32_rem_s;
    I32RemU: u32_of -> of_u32, i32_rem_u;
    I64DivS: i64_of -> of_i64, i64_div_s;
    I64DivU: u64_of -> of_u64, i64_div_u;
    I64RemS: i64_of -> of_i64, i64_rem_s;
    I64RemU: u64_of -> of_u64, i64_rem_u;
}

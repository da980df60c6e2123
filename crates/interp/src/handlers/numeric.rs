//! Arithmetic, comparisons and conversions, with the spec's semantics.

use super::*;

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

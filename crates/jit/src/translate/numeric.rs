//! Constants, arithmetic, comparisons, conversions and reference tests. Cranelift's
//! instructions already have wasm's semantics here (trapping division and conversions,
//! masked shift counts, NaN-propagating min/max, round-to-even `nearest`).

use super::Translator;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    immediates::{Ieee32, Ieee64},
    types::{F32, F64, I16, I32, I64, I8},
    InstBuilder, MemFlagsData, Type,
};
use rwamr_core::Result;

/// Visitors that are one Cranelift instruction of their operands, by instruction:
/// `unary { inst => visit, ...; }` (`inst(x)`), `unary_to { inst(T) => visit; }`
/// (`inst(T, x)`), `binary { inst => visit; }` (`inst(x, y)`), `icmp`/`fcmp { CC => visit; }`
/// (a compare whose result becomes an `i32`), `with { helper(args) => visit; }` (a
/// method of the translator).
macro_rules! numeric_visitors {
    (unary { $($u:ident => $($uvisit:ident),+;)* }
     unary_to { $($ut:ident($uty:ident) => $($utvisit:ident),+;)* }
     binary { $($bi:ident => $($bvisit:ident),+;)* }
     icmp { $($icc:ident => $($ivisit:ident),+;)* }
     fcmp { $($fcc:ident => $($fvisit:ident),+;)* }
     with { $($h:ident $hargs:tt => $($hvisit:ident),+;)* }) => {
        impl Translator<'_, '_, '_> {
            $($( pub(super) fn $hvisit(&mut self) -> Result<()> {
                self.$h $hargs
            } )+)*
            $($( pub(super) fn $uvisit(&mut self) -> Result<()> {
                let x = self.pop();
                let v = self.b.ins().$u(x);
                self.push(v);
                Ok(())
            } )+)*
            $($( pub(super) fn $utvisit(&mut self) -> Result<()> {
                let x = self.pop();
                let v = self.b.ins().$ut($uty, x);
                self.push(v);
                Ok(())
            } )+)*
            $($( pub(super) fn $bvisit(&mut self) -> Result<()> {
                let (x, y) = self.pop2();
                let v = self.b.ins().$bi(x, y);
                self.push(v);
                Ok(())
            } )+)*
            $($( pub(super) fn $ivisit(&mut self) -> Result<()> {
                let (x, y) = self.pop2();
                let c = self.b.ins().icmp(IntCC::$icc, x, y);
                self.push_bool(c);
                Ok(())
            } )+)*
            $($( pub(super) fn $fvisit(&mut self) -> Result<()> {
                let (x, y) = self.pop2();
                let c = self.b.ins().fcmp(FloatCC::$fcc, x, y);
                self.push_bool(c);
                Ok(())
            } )+)*
        }
    };
}

numeric_visitors! {
    unary {
    clz => visit_i32_clz, visit_i64_clz;
    ctz => visit_i32_ctz, visit_i64_ctz;
    popcnt => visit_i32_popcnt, visit_i64_popcnt;
    fabs => visit_f32_abs, visit_f64_abs;
    fneg => visit_f32_neg, visit_f64_neg;
    ceil => visit_f32_ceil, visit_f64_ceil;
    floor => visit_f32_floor, visit_f64_floor;
    trunc => visit_f32_trunc, visit_f64_trunc;
    nearest => visit_f32_nearest, visit_f64_nearest;
    sqrt => visit_f32_sqrt, visit_f64_sqrt;
    }
    unary_to {
    ireduce(I32) => visit_i32_wrap_i64;
    sextend(I64) => visit_i64_extend_i32_s;
    uextend(I64) => visit_i64_extend_i32_u;
    fcvt_to_sint(I32) => visit_i32_trunc_f32_s, visit_i32_trunc_f64_s;
    fcvt_to_uint(I32) => visit_i32_trunc_f32_u, visit_i32_trunc_f64_u;
    fcvt_to_sint(I64) => visit_i64_trunc_f32_s, visit_i64_trunc_f64_s;
    fcvt_to_uint(I64) => visit_i64_trunc_f32_u, visit_i64_trunc_f64_u;
    fcvt_to_sint_sat(I32) => visit_i32_trunc_sat_f32_s, visit_i32_trunc_sat_f64_s;
    fcvt_to_uint_sat(I32) => visit_i32_trunc_sat_f32_u, visit_i32_trunc_sat_f64_u;
    fcvt_to_sint_sat(I64) => visit_i64_trunc_sat_f32_s, visit_i64_trunc_sat_f64_s;
    fcvt_to_uint_sat(I64) => visit_i64_trunc_sat_f32_u, visit_i64_trunc_sat_f64_u;
    fcvt_from_sint(F32) => visit_f32_convert_i32_s, visit_f32_convert_i64_s;
    fcvt_from_uint(F32) => visit_f32_convert_i32_u, visit_f32_convert_i64_u;
    fcvt_from_sint(F64) => visit_f64_convert_i32_s, visit_f64_convert_i64_s;
    fcvt_from_uint(F64) => visit_f64_convert_i32_u, visit_f64_convert_i64_u;
    fdemote(F32) => visit_f32_demote_f64;
    fpromote(F64) => visit_f64_promote_f32;
    }
    binary {
    iadd => visit_i32_add, visit_i64_add;
    isub => visit_i32_sub, visit_i64_sub;
    imul => visit_i32_mul, visit_i64_mul;
    sdiv => visit_i32_div_s, visit_i64_div_s;
    udiv => visit_i32_div_u, visit_i64_div_u;
    srem => visit_i32_rem_s, visit_i64_rem_s;
    urem => visit_i32_rem_u, visit_i64_rem_u;
    band => visit_i32_and, visit_i64_and;
    bor => visit_i32_or, visit_i64_or;
    bxor => visit_i32_xor, visit_i64_xor;
    ishl => visit_i32_shl, visit_i64_shl;
    sshr => visit_i32_shr_s, visit_i64_shr_s;
    ushr => visit_i32_shr_u, visit_i64_shr_u;
    rotl => visit_i32_rotl, visit_i64_rotl;
    rotr => visit_i32_rotr, visit_i64_rotr;
    fadd => visit_f32_add, visit_f64_add;
    fsub => visit_f32_sub, visit_f64_sub;
    fmul => visit_f32_mul, visit_f64_mul;
    fdiv => visit_f32_div, visit_f64_div;
    fmin => visit_f32_min, visit_f64_min;
    fmax => visit_f32_max, visit_f64_max;
    fcopysign => visit_f32_copysign, visit_f64_copysign;
    }
    icmp {
    Equal => visit_i32_eq, visit_i64_eq;
    NotEqual => visit_i32_ne, visit_i64_ne;
    SignedLessThan => visit_i32_lt_s, visit_i64_lt_s;
    UnsignedLessThan => visit_i32_lt_u, visit_i64_lt_u;
    SignedGreaterThan => visit_i32_gt_s, visit_i64_gt_s;
    UnsignedGreaterThan => visit_i32_gt_u, visit_i64_gt_u;
    SignedLessThanOrEqual => visit_i32_le_s, visit_i64_le_s;
    UnsignedLessThanOrEqual => visit_i32_le_u, visit_i64_le_u;
    SignedGreaterThanOrEqual => visit_i32_ge_s, visit_i64_ge_s;
    UnsignedGreaterThanOrEqual => visit_i32_ge_u, visit_i64_ge_u;
    }
    fcmp {
    Equal => visit_f32_eq, visit_f64_eq;
    NotEqual => visit_f32_ne, visit_f64_ne;
    LessThan => visit_f32_lt, visit_f64_lt;
    GreaterThan => visit_f32_gt, visit_f64_gt;
    LessThanOrEqual => visit_f32_le, visit_f64_le;
    GreaterThanOrEqual => visit_f32_ge, visit_f64_ge;
    }
    with {
    eqz() => visit_i32_eqz, visit_i64_eqz, visit_ref_is_null;
    sext(I8, I32) => visit_i32_extend8_s;
    sext(I16, I32) => visit_i32_extend16_s;
    sext(I8, I64) => visit_i64_extend8_s;
    sext(I16, I64) => visit_i64_extend16_s;
    sext(I32, I64) => visit_i64_extend32_s;
    bitcast(I32) => visit_i32_reinterpret_f32;
    bitcast(I64) => visit_i64_reinterpret_f64;
    bitcast(F32) => visit_f32_reinterpret_i32;
    bitcast(F64) => visit_f64_reinterpret_i64;
    }
}

impl Translator<'_, '_, '_> {
    /// Pushes a compare's result as wasm's `i32` 0 or 1.
    fn push_bool(&mut self, c: cranelift_codegen::ir::Value) {
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }
    fn eqz(&mut self) -> Result<()> {
        let x = self.pop();
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        self.push_bool(c);
        Ok(())
    }
    fn sext(&mut self, from: Type, to: Type) -> Result<()> {
        let x = self.pop();
        let narrow = self.b.ins().ireduce(from, x);
        let v = self.b.ins().sextend(to, narrow);
        self.push(v);
        Ok(())
    }
    fn bitcast(&mut self, to: Type) -> Result<()> {
        let x = self.pop();
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), x);
        self.push(v);
        Ok(())
    }

    pub(super) fn visit_i32_const(&mut self, value: i32) -> Result<()> {
        let v = self.i32const(value as i64);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_i64_const(&mut self, value: i64) -> Result<()> {
        let v = self.b.ins().iconst(I64, value);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_f32_const(&mut self, value: wasmparser::Ieee32) -> Result<()> {
        let v = self.b.ins().f32const(Ieee32::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_f64_const(&mut self, value: wasmparser::Ieee64) -> Result<()> {
        let v = self.b.ins().f64const(Ieee64::with_bits(value.bits()));
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_ref_null(&mut self, _hty: wasmparser::HeapType) -> Result<()> {
        let v = self.b.ins().iconst(I64, 0);
        self.push(v);
        Ok(())
    }
}

//! Constants, arithmetic, comparisons, conversions and reference tests. Cranelift's
//! instructions already have wasm's semantics here (trapping division and conversions,
//! masked shift counts, NaN-propagating min/max, round-to-even `nearest`).

use super::Translator;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types::{F32, F64, I16, I32, I64, I8},
    InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use rwamr_core::Result;
use wasmparser::Operator;

type Bin = fn(&mut FunctionBuilder<'_>, Value, Value) -> Value;
type Un = fn(&mut FunctionBuilder<'_>, Value) -> Value;

impl Translator<'_, '_, '_> {
    fn bin(&mut self, f: Bin) {
        let (x, y) = self.pop2();
        let v = f(&mut self.b, x, y);
        self.push(v);
    }
    fn un(&mut self, f: Un) {
        let x = self.pop();
        let v = f(&mut self.b, x);
        self.push(v);
    }
    fn icmp(&mut self, cc: IntCC) {
        let (x, y) = self.pop2();
        let c = self.b.ins().icmp(cc, x, y);
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }
    fn fcmp(&mut self, cc: FloatCC) {
        let (x, y) = self.pop2();
        let c = self.b.ins().fcmp(cc, x, y);
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }
    fn eqz(&mut self) {
        let x = self.pop();
        let c = self.b.ins().icmp_imm_u(IntCC::Equal, x, 0);
        let v = self.b.ins().uextend(I32, c);
        self.push(v);
    }
    fn sext(&mut self, from: Type, to: Type) {
        let x = self.pop();
        let narrow = self.b.ins().ireduce(from, x);
        let v = self.b.ins().sextend(to, narrow);
        self.push(v);
    }
    fn bitcast(&mut self, to: Type) {
        let x = self.pop();
        let v = self.b.ins().bitcast(to, MemFlagsData::new(), x);
        self.push(v);
    }

    /// Numeric operators; `false` when `op` is not one.
    pub(super) fn numeric(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator as O;
        match *op {
            O::I32Const { value } => {
                let v = self.i32const(value as i64);
                self.push(v)
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(I64, value);
                self.push(v)
            }
            O::F32Const { value } => {
                let v =
                    self.b
                        .ins()
                        .f32const(cranelift_codegen::ir::immediates::Ieee32::with_bits(
                            value.bits(),
                        ));
                self.push(v)
            }
            O::F64Const { value } => {
                let v =
                    self.b
                        .ins()
                        .f64const(cranelift_codegen::ir::immediates::Ieee64::with_bits(
                            value.bits(),
                        ));
                self.push(v)
            }

            O::I32Eqz | O::I64Eqz => self.eqz(),
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual),

            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            O::I32Clz | O::I64Clz => self.un(|b, x| b.ins().clz(x)),
            O::I32Ctz | O::I64Ctz => self.un(|b, x| b.ins().ctz(x)),
            O::I32Popcnt | O::I64Popcnt => self.un(|b, x| b.ins().popcnt(x)),
            O::I32Add | O::I64Add => self.bin(|b, x, y| b.ins().iadd(x, y)),
            O::I32Sub | O::I64Sub => self.bin(|b, x, y| b.ins().isub(x, y)),
            O::I32Mul | O::I64Mul => self.bin(|b, x, y| b.ins().imul(x, y)),
            O::I32DivS | O::I64DivS => self.bin(|b, x, y| b.ins().sdiv(x, y)),
            O::I32DivU | O::I64DivU => self.bin(|b, x, y| b.ins().udiv(x, y)),
            O::I32RemS | O::I64RemS => self.bin(|b, x, y| b.ins().srem(x, y)),
            O::I32RemU | O::I64RemU => self.bin(|b, x, y| b.ins().urem(x, y)),
            O::I32And | O::I64And => self.bin(|b, x, y| b.ins().band(x, y)),
            O::I32Or | O::I64Or => self.bin(|b, x, y| b.ins().bor(x, y)),
            O::I32Xor | O::I64Xor => self.bin(|b, x, y| b.ins().bxor(x, y)),
            O::I32Shl | O::I64Shl => self.bin(|b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS | O::I64ShrS => self.bin(|b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU | O::I64ShrU => self.bin(|b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl | O::I64Rotl => self.bin(|b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr | O::I64Rotr => self.bin(|b, x, y| b.ins().rotr(x, y)),

            O::F32Abs | O::F64Abs => self.un(|b, x| b.ins().fabs(x)),
            O::F32Neg | O::F64Neg => self.un(|b, x| b.ins().fneg(x)),
            O::F32Ceil | O::F64Ceil => self.un(|b, x| b.ins().ceil(x)),
            O::F32Floor | O::F64Floor => self.un(|b, x| b.ins().floor(x)),
            O::F32Trunc | O::F64Trunc => self.un(|b, x| b.ins().trunc(x)),
            O::F32Nearest | O::F64Nearest => self.un(|b, x| b.ins().nearest(x)),
            O::F32Sqrt | O::F64Sqrt => self.un(|b, x| b.ins().sqrt(x)),
            O::F32Add | O::F64Add => self.bin(|b, x, y| b.ins().fadd(x, y)),
            O::F32Sub | O::F64Sub => self.bin(|b, x, y| b.ins().fsub(x, y)),
            O::F32Mul | O::F64Mul => self.bin(|b, x, y| b.ins().fmul(x, y)),
            O::F32Div | O::F64Div => self.bin(|b, x, y| b.ins().fdiv(x, y)),
            O::F32Min | O::F64Min => self.bin(|b, x, y| b.ins().fmin(x, y)),
            O::F32Max | O::F64Max => self.bin(|b, x, y| b.ins().fmax(x, y)),
            O::F32Copysign | O::F64Copysign => self.bin(|b, x, y| b.ins().fcopysign(x, y)),

            O::I32WrapI64 => self.un(|b, x| b.ins().ireduce(I32, x)),
            O::I64ExtendI32S => self.un(|b, x| b.ins().sextend(I64, x)),
            O::I64ExtendI32U => self.un(|b, x| b.ins().uextend(I64, x)),
            O::I32Extend8S => self.sext(I8, I32),
            O::I32Extend16S => self.sext(I16, I32),
            O::I64Extend8S => self.sext(I8, I64),
            O::I64Extend16S => self.sext(I16, I64),
            O::I64Extend32S => self.sext(I32, I64),

            O::I32TruncF32S | O::I32TruncF64S => self.un(|b, x| b.ins().fcvt_to_sint(I32, x)),
            O::I32TruncF32U | O::I32TruncF64U => self.un(|b, x| b.ins().fcvt_to_uint(I32, x)),
            O::I64TruncF32S | O::I64TruncF64S => self.un(|b, x| b.ins().fcvt_to_sint(I64, x)),
            O::I64TruncF32U | O::I64TruncF64U => self.un(|b, x| b.ins().fcvt_to_uint(I64, x)),
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.un(|b, x| b.ins().fcvt_to_sint_sat(I32, x))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.un(|b, x| b.ins().fcvt_to_uint_sat(I32, x))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.un(|b, x| b.ins().fcvt_to_sint_sat(I64, x))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.un(|b, x| b.ins().fcvt_to_uint_sat(I64, x))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => self.un(|b, x| b.ins().fcvt_from_sint(F32, x)),
            O::F32ConvertI32U | O::F32ConvertI64U => self.un(|b, x| b.ins().fcvt_from_uint(F32, x)),
            O::F64ConvertI32S | O::F64ConvertI64S => self.un(|b, x| b.ins().fcvt_from_sint(F64, x)),
            O::F64ConvertI32U | O::F64ConvertI64U => self.un(|b, x| b.ins().fcvt_from_uint(F64, x)),
            O::F32DemoteF64 => self.un(|b, x| b.ins().fdemote(F32, x)),
            O::F64PromoteF32 => self.un(|b, x| b.ins().fpromote(F64, x)),
            O::I32ReinterpretF32 => self.bitcast(I32),
            O::I64ReinterpretF64 => self.bitcast(I64),
            O::F32ReinterpretI32 => self.bitcast(F32),
            O::F64ReinterpretI64 => self.bitcast(F64),

            O::RefNull { .. } => {
                let v = self.b.ins().iconst(I64, 0);
                self.push(v)
            }
            O::RefIsNull => self.eqz(),
            O::RefFunc { function_index } => {
                // A function reference is the address of its slot.
                let v = self.b.ins().load(
                    I64,
                    super::trusted_readonly(),
                    self.vmctx,
                    self.env.layout.func_slot(function_index),
                );
                self.push(v)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

//! The atomic instructions of the threads proposal (generated from core's table), as
//! Cranelift's atomic instructions: sequentially consistent, lock-free.
//!
//! Core's `memory/atomic.rs` states the rule every mode keeps: alignment is checked
//! first, then bounds. Atomic accesses are bounds checked here even with guard pages,
//! so none of them faults: Cranelift lowers some to load-and-compare-exchange loops,
//! whose accesses need no trap records then. `memory.atomic.wait/notify` call core
//! through helpers, which check the same way.

use super::{user, Translator};
use crate::abi::{clif_type, user_trap, PTR};
use crate::helpers::Helper;
use cranelift_codegen::ir::{
    condcodes::IntCC, types, AtomicRmwOp, InstBuilder, MemFlagsData, TrapCode, Type, Value,
};
use rwamr_core::{Result, RmwOp, ValType};
use wasmparser::MemArg;

/// Flags of an atomic access whose alignment and bounds were checked.
fn checked() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_aligned()
}

/// The integer type of `bytes` bytes.
fn narrow(bytes: u8) -> Type {
    match bytes {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}

macro_rules! atomic_accesses {
    (loads: $($load:ident => ($lty:ident, $lbytes:literal)),* ;
     stores: $($store:ident => ($sty:ident, $sbytes:literal)),* ;
     rmw: $($rmw:ident => ($op:ident, $rty:ident, $rbytes:literal)),* ;
     cmpxchg: $($cx:ident => ($cty:ident, $cbytes:literal)),* ;) => {
        impl Translator<'_, '_, '_> {
            $( pub(super) fn $load(&mut self, memarg: MemArg) -> Result<()> {
                self.atomic_load(&memarg, ValType::$lty, $lbytes);
                Ok(())
            } )*
            $( pub(super) fn $store(&mut self, memarg: MemArg) -> Result<()> {
                self.atomic_store(&memarg, $sbytes);
                Ok(())
            } )*
            $( pub(super) fn $rmw(&mut self, memarg: MemArg) -> Result<()> {
                self.atomic_rmw(&memarg, ValType::$rty, $rbytes, RmwOp::$op);
                Ok(())
            } )*
            $( pub(super) fn $cx(&mut self, memarg: MemArg) -> Result<()> {
                self.atomic_cmpxchg(&memarg, ValType::$cty, $cbytes);
                Ok(())
            } )*
        }
    };
}
rwamr_core::for_each_atomic_access!(atomic_accesses);

impl Translator<'_, '_, '_> {
    /// The effective address `zext(addr) + offset` of the popped address, 64-bit.
    fn effective_address(&mut self, memarg: &MemArg) -> Value {
        let addr = self.pop();
        let ea = self.b.ins().uextend(PTR, addr);
        match memarg.offset {
            0 => ea,
            // Both terms fit 32 bits, so the sum cannot wrap in 64.
            off => self.b.ins().iadd_imm_u(ea, off as i64),
        }
    }

    /// The host address of an atomic access of `size` bytes at the popped address,
    /// checked (see the module docs).
    fn atomic_address(&mut self, memarg: &MemArg, size: u8) -> Value {
        let mem = super::memory::target_memory(memarg);
        let ea = self.effective_address(memarg);
        if size > 1 {
            let low = self.b.ins().band_imm_u(ea, size as i64 - 1);
            self.b.ins().trapnz(low, user(user_trap::UNALIGNED_ATOMIC));
        }
        let len = self.memory_len(mem);
        let end = self.b.ins().iadd_imm_u(ea, size as i64);
        let outside = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        self.b.ins().trapnz(outside, TrapCode::HEAP_OUT_OF_BOUNDS);
        let base = self.memory_base(mem);
        self.b.ins().iadd(base, ea)
    }

    /// `v` (of wasm type `ty`) cut to `size` bytes.
    fn cut(&mut self, v: Value, ty: ValType, size: u8) -> Value {
        match clif_type(ty).bytes() == size as u32 {
            true => v,
            false => self.b.ins().ireduce(narrow(size), v),
        }
    }

    /// `v` of `size` bytes zero-extended to wasm type `ty`.
    fn widen_to(&mut self, v: Value, ty: ValType, size: u8) -> Value {
        match clif_type(ty).bytes() == size as u32 {
            true => v,
            false => self.b.ins().uextend(clif_type(ty), v),
        }
    }

    fn atomic_load(&mut self, memarg: &MemArg, ty: ValType, size: u8) {
        let at = self.atomic_address(memarg, size);
        let v = self.b.ins().atomic_load(narrow(size), checked(), at);
        let v = self.widen_to(v, ty, size);
        self.push(v);
    }

    fn atomic_store(&mut self, memarg: &MemArg, size: u8) {
        let v = self.pop();
        let at = self.atomic_address(memarg, size);
        let ty = match self.b.func.dfg.value_type(v) {
            types::I32 => ValType::I32,
            _ => ValType::I64,
        };
        let v = self.cut(v, ty, size);
        self.b.ins().atomic_store(checked(), v, at);
    }

    fn atomic_rmw(&mut self, memarg: &MemArg, ty: ValType, size: u8, op: RmwOp) {
        let v = self.pop();
        let at = self.atomic_address(memarg, size);
        let v = self.cut(v, ty, size);
        let op = match op {
            RmwOp::Add => AtomicRmwOp::Add,
            RmwOp::Sub => AtomicRmwOp::Sub,
            RmwOp::And => AtomicRmwOp::And,
            RmwOp::Or => AtomicRmwOp::Or,
            RmwOp::Xor => AtomicRmwOp::Xor,
            RmwOp::Xchg => AtomicRmwOp::Xchg,
        };
        let old = self.b.ins().atomic_rmw(narrow(size), checked(), op, at, v);
        let old = self.widen_to(old, ty, size);
        self.push(old);
    }

    fn atomic_cmpxchg(&mut self, memarg: &MemArg, ty: ValType, size: u8) {
        let replacement = self.pop();
        let expected = self.pop();
        let at = self.atomic_address(memarg, size);
        let expected = self.cut(expected, ty, size);
        let replacement = self.cut(replacement, ty, size);
        let old = self
            .b
            .ins()
            .atomic_cas(checked(), at, expected, replacement);
        let old = self.widen_to(old, ty, size);
        self.push(old);
    }

    pub(super) fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> Result<()> {
        self.atomic_wait(&memarg, 4);
        Ok(())
    }
    pub(super) fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> Result<()> {
        self.atomic_wait(&memarg, 8);
        Ok(())
    }

    fn atomic_wait(&mut self, memarg: &MemArg, size: u8) {
        let timeout = self.pop();
        let expected = self.pop();
        let expected = self.widen_to(expected, ValType::I64, size);
        let ea = self.effective_address(memarg);
        let mem = self.i32const(super::memory::target_memory(memarg) as i64);
        let size = self.i32const(size as i64);
        let r = self.call_helper(Helper::AtomicWait, &[mem, ea, expected, timeout, size]);
        self.after_call();
        self.push(r);
    }

    pub(super) fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> Result<()> {
        let count = self.pop();
        let ea = self.effective_address(&memarg);
        let mem = self.i32const(super::memory::target_memory(&memarg) as i64);
        let r = self.call_helper(Helper::AtomicNotify, &[mem, ea, count]);
        self.push(r);
        Ok(())
    }

    pub(super) fn visit_atomic_fence(&mut self, _ordering: wasmparser::Ordering) -> Result<()> {
        self.b.ins().fence();
        Ok(())
    }
}

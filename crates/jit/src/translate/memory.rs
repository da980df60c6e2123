//! Loads and stores (generated from core's table of memory accesses) and the memory
//! instructions.
//!
//! A memory access computes `base + zext(address) + offset`. With the engine's default
//! guard (see core's `UNCHECKED_MEMORY_GUARD`) that address always lies inside the
//! memory's reservation, so an out-of-bounds access faults on an inaccessible page and
//! the trap handler reports it; otherwise the access is checked against the length.

use super::{trusted, trusted_readonly, Translator};
use crate::abi::{clif_type, PTR};
use crate::helpers::Helper;
use cranelift_codegen::ir::{
    condcodes::IntCC, types::I32, InstBuilder, MemFlagsData, TrapCode, Value,
};
use rwamr_core::translate::LoadKind;
use rwamr_core::{Result, ValType};
use wasmparser::MemArg;

/// Flags of a wasm memory access: may be unaligned, traps as out of bounds.
fn heap() -> MemFlagsData {
    MemFlagsData::new().with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

/// The load and store visitors, from core's table.
macro_rules! memory_accesses {
    (loads: $($load:ident => ($ty:ident, $bytes:literal, $signed:literal)),* ;
     stores: $($store:ident => $width:literal),* ;) => {
        impl Translator<'_, '_, '_> {
            $( pub(super) fn $load(&mut self, memarg: MemArg) -> Result<()> {
                let kind = LoadKind { ty: ValType::$ty, bytes: $bytes, signed: $signed };
                self.load(&memarg, kind);
                Ok(())
            } )*
            $( pub(super) fn $store(&mut self, memarg: MemArg) -> Result<()> {
                self.store(&memarg, $width);
                Ok(())
            } )*
        }
    };
}
rwamr_core::for_each_memory_access!(memory_accesses);

/// The memory an access targets.
pub(super) fn target_memory(memarg: &MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => m,
        // Validation (GC is off) admits no other target.
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

impl Translator<'_, '_, '_> {
    /// The address and immediate offset of an access of `size` bytes at the popped
    /// address (bounds checked here when the guard region cannot be relied on).
    fn address(&mut self, memarg: &MemArg, size: u64) -> (Value, i32) {
        let addr = self.pop();
        let mem = target_memory(memarg);
        let base = self.memory_base(mem);
        let a = self.b.ins().uextend(PTR, addr);
        if self.env.bounds_checks {
            let len = self.memory_len(mem);
            // Both terms fit 32 bits, so the sum cannot wrap in 64.
            let end = self.b.ins().iadd_imm_u(a, (memarg.offset + size) as i64);
            let outside = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
            self.b.ins().trapnz(outside, TrapCode::HEAP_OUT_OF_BOUNDS);
        }
        let ea = self.b.ins().iadd(base, a);
        match i32::try_from(memarg.offset) {
            Ok(off) => (ea, off),
            Err(_) => (self.b.ins().iadd_imm_u(ea, memarg.offset as i64), 0),
        }
    }

    /// The host address of bytes `at..at+len` of memory `mem` (`len` already 64-bit),
    /// trapping "out of bounds memory access" unless all of them are inside it.
    fn checked_range(&mut self, mem: u32, at: Value, len: Value) -> Value {
        let at = self.b.ins().uextend(PTR, at);
        let end = self.b.ins().iadd(at, len);
        let size = self.memory_len(mem);
        let outside = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, size);
        self.b.ins().trapnz(outside, TrapCode::HEAP_OUT_OF_BOUNDS);
        let base = self.memory_base(mem);
        self.b.ins().iadd(base, at)
    }

    /// The base address of memory `mem` (memory 0's was loaded in the entry block).
    pub(super) fn memory_base(&mut self, mem: u32) -> Value {
        match (mem, self.memory0_base) {
            (0, Some(base)) => base,
            _ => self.b.ins().load(
                PTR,
                trusted_readonly(),
                self.vmctx,
                self.env.layout.memory_base(mem),
            ),
        }
    }

    /// The current byte length of memory `mem`.
    pub(super) fn memory_len(&mut self, mem: u32) -> Value {
        let at = self.b.ins().load(
            PTR,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.memory_len(mem),
        );
        self.b.ins().load(PTR, trusted(), at, 0)
    }

    fn load(&mut self, memarg: &MemArg, kind: LoadKind) {
        let (ea, off) = self.address(memarg, kind.bytes as u64);
        let t = clif_type(kind.ty);
        let ins = self.b.ins();
        let v = match (kind.bytes, kind.signed) {
            _ if t.bytes() == kind.bytes as u32 => ins.load(t, heap(), ea, off),
            (1, true) => ins.sload8(t, heap(), ea, off),
            (1, false) => ins.uload8(t, heap(), ea, off),
            (2, true) => ins.sload16(t, heap(), ea, off),
            (2, false) => ins.uload16(t, heap(), ea, off),
            (_, true) => ins.sload32(heap(), ea, off),
            (_, false) => ins.uload32(heap(), ea, off),
        };
        self.push(v);
    }

    /// Stores the low `size` bytes of the popped value.
    fn store(&mut self, memarg: &MemArg, size: u64) {
        let v = self.pop();
        let (ea, off) = self.address(memarg, size);
        let full = self.b.func.dfg.value_type(v).bytes() as u64 == size;
        let ins = self.b.ins();
        match size {
            _ if full => ins.store(heap(), v, ea, off),
            1 => ins.istore8(heap(), v, ea, off),
            2 => ins.istore16(heap(), v, ea, off),
            _ => ins.istore32(heap(), v, ea, off),
        };
    }

    pub(super) fn visit_memory_size(&mut self, mem: u32) -> Result<()> {
        let len = self.memory_len(mem);
        let pages = self.b.ins().ushr_imm_u(len, 16);
        let v = self.b.ins().ireduce(I32, pages);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_memory_grow(&mut self, mem: u32) -> Result<()> {
        let v = self.helper_op(Helper::MemoryGrow, &[mem], 1);
        self.push(v);
        Ok(())
    }
    pub(super) fn visit_memory_fill(&mut self, mem: u32) -> Result<()> {
        let (dst, value, len) = self.pop3();
        let len = self.b.ins().uextend(PTR, len);
        let dst = self.checked_range(mem, dst, len);
        self.charge_bulk(len);
        self.call_helper(Helper::FillBytes, &[dst, value, len]);
        Ok(())
    }
    pub(super) fn visit_memory_copy(&mut self, dst_mem: u32, src_mem: u32) -> Result<()> {
        let (dst, src, len) = self.pop3();
        let len = self.b.ins().uextend(PTR, len);
        // Both ranges are checked before anything is copied, as the spec says.
        let dst = self.checked_range(dst_mem, dst, len);
        let src = self.checked_range(src_mem, src, len);
        self.charge_bulk(len);
        self.call_helper(Helper::CopyBytes, &[dst, src, len]);
        Ok(())
    }
    pub(super) fn visit_memory_init(&mut self, data_index: u32, mem: u32) -> Result<()> {
        self.bulk_helper_op(Helper::MemoryInit, &[mem, data_index]);
        Ok(())
    }
    pub(super) fn visit_data_drop(&mut self, data_index: u32) -> Result<()> {
        self.helper_op(Helper::DataDrop, &[data_index], 0);
        Ok(())
    }
}

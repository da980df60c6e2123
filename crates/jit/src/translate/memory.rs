//! Loads and stores, memory and table instructions, globals.
//!
//! A memory access computes `base + zext(address) + offset`. With the engine's default
//! guard (see core's `UNCHECKED_MEMORY_GUARD`) that address always lies inside the
//! memory's reservation, so an out-of-bounds access faults on an inaccessible page and
//! the trap handler reports it; otherwise the access is checked against the length.

use super::{trusted, trusted_readonly, Translator};
use crate::abi::PTR;
use crate::helpers::Helper;
use cranelift_codegen::ir::{
    condcodes::IntCC,
    types::{F32, F64, I32, I64},
    InstBuilder, MemFlagsData, TrapCode, Type, Value,
};
use rwamr_core::{Result, ValType};
use wasmparser::{MemArg, Operator};

/// Flags of a wasm memory access: may be unaligned, traps as out of bounds.
fn heap() -> MemFlagsData {
    MemFlagsData::new().with_trap_code(Some(TrapCode::HEAP_OUT_OF_BOUNDS))
}

#[derive(Clone, Copy)]
enum Load {
    Full(Type),
    Sext8(Type),
    Zext8(Type),
    Sext16(Type),
    Zext16(Type),
    Sext32,
    Zext32,
}

impl Load {
    fn size(self) -> u64 {
        match self {
            Load::Full(t) => t.bytes() as u64,
            Load::Sext8(_) | Load::Zext8(_) => 1,
            Load::Sext16(_) | Load::Zext16(_) => 2,
            Load::Sext32 | Load::Zext32 => 4,
        }
    }
}

impl Translator<'_, '_, '_> {
    /// The address and immediate offset of an access of `size` bytes at the popped
    /// address (bounds checked here when the guard region cannot be relied on).
    fn address(&mut self, memarg: &MemArg, size: u64) -> (Value, i32) {
        let addr = self.pop();
        let mem = match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => m,
            // Validation (GC is off) admits no other target.
            wasmparser::MemArgTarget::Array(_) => 0,
        };
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
    fn memory_base(&mut self, mem: u32) -> Value {
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
    fn memory_len(&mut self, mem: u32) -> Value {
        let at = self.b.ins().load(
            PTR,
            trusted_readonly(),
            self.vmctx,
            self.env.layout.memory_len(mem),
        );
        self.b.ins().load(PTR, trusted(), at, 0)
    }

    fn load(&mut self, memarg: &MemArg, kind: Load) {
        let (ea, off) = self.address(memarg, kind.size());
        let ins = self.b.ins();
        let v = match kind {
            Load::Full(t) => ins.load(t, heap(), ea, off),
            Load::Sext8(t) => ins.sload8(t, heap(), ea, off),
            Load::Zext8(t) => ins.uload8(t, heap(), ea, off),
            Load::Sext16(t) => ins.sload16(t, heap(), ea, off),
            Load::Zext16(t) => ins.uload16(t, heap(), ea, off),
            Load::Sext32 => ins.sload32(heap(), ea, off),
            Load::Zext32 => ins.uload32(heap(), ea, off),
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

    fn helper_op(&mut self, h: Helper, imms: &[u32], popped: usize) -> Value {
        let operands = self.stack.split_off(self.stack.len() - popped);
        let mut all: Vec<Value> = imms.iter().map(|i| self.i32const(*i as i64)).collect();
        all.extend(operands);
        self.call_helper(h, &all)
    }

    /// The current length of table `table`.
    fn table_len(&mut self, table: u32) -> Value {
        let t = self.table_ptr(table);
        self.b
            .ins()
            .load(PTR, trusted(), t, rwamr_core::Table::LEN_OFFSET)
    }

    /// Memory, table and global operators; `false` when `op` is not one.
    pub(super) fn memory(&mut self, op: &Operator<'_>) -> Result<bool> {
        use Operator as O;
        match *op {
            O::I32Load { ref memarg } => self.load(memarg, Load::Full(I32)),
            O::I64Load { ref memarg } => self.load(memarg, Load::Full(I64)),
            O::F32Load { ref memarg } => self.load(memarg, Load::Full(F32)),
            O::F64Load { ref memarg } => self.load(memarg, Load::Full(F64)),
            O::I32Load8S { ref memarg } => self.load(memarg, Load::Sext8(I32)),
            O::I32Load8U { ref memarg } => self.load(memarg, Load::Zext8(I32)),
            O::I32Load16S { ref memarg } => self.load(memarg, Load::Sext16(I32)),
            O::I32Load16U { ref memarg } => self.load(memarg, Load::Zext16(I32)),
            O::I64Load8S { ref memarg } => self.load(memarg, Load::Sext8(I64)),
            O::I64Load8U { ref memarg } => self.load(memarg, Load::Zext8(I64)),
            O::I64Load16S { ref memarg } => self.load(memarg, Load::Sext16(I64)),
            O::I64Load16U { ref memarg } => self.load(memarg, Load::Zext16(I64)),
            O::I64Load32S { ref memarg } => self.load(memarg, Load::Sext32),
            O::I64Load32U { ref memarg } => self.load(memarg, Load::Zext32),
            O::I32Store { ref memarg } | O::F32Store { ref memarg } => self.store(memarg, 4),
            O::I64Store { ref memarg } | O::F64Store { ref memarg } => self.store(memarg, 8),
            O::I32Store8 { ref memarg } | O::I64Store8 { ref memarg } => self.store(memarg, 1),
            O::I32Store16 { ref memarg } | O::I64Store16 { ref memarg } => self.store(memarg, 2),
            O::I64Store32 { ref memarg } => self.store(memarg, 4),

            O::MemorySize { mem } => {
                let len = self.memory_len(mem);
                let pages = self.b.ins().ushr_imm_u(len, 16);
                let v = self.b.ins().ireduce(I32, pages);
                self.push(v)
            }
            O::MemoryGrow { mem } => {
                let v = self.helper_op(Helper::MemoryGrow, &[mem], 1);
                self.push(v)
            }
            O::MemoryFill { mem } => {
                let (dst, value, len) = self.pop3();
                let len = self.b.ins().uextend(PTR, len);
                let dst = self.checked_range(mem, dst, len);
                self.call_helper(Helper::FillBytes, &[dst, value, len]);
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst, src, len) = self.pop3();
                let len = self.b.ins().uextend(PTR, len);
                // Both ranges are checked before anything is copied, as the spec says.
                let dst = self.checked_range(dst_mem, dst, len);
                let src = self.checked_range(src_mem, src, len);
                self.call_helper(Helper::CopyBytes, &[dst, src, len]);
            }
            O::MemoryInit { data_index, mem } => {
                self.helper_op(Helper::MemoryInit, &[mem, data_index], 3);
            }
            O::DataDrop { data_index } => {
                self.helper_op(Helper::DataDrop, &[data_index], 0);
            }

            O::TableGet { table } => {
                let index = self.pop();
                let v = self.table_cell(table, index, false);
                self.push(v)
            }
            O::TableSet { table } => {
                self.helper_op(Helper::TableSet, &[table], 2);
            }
            O::TableSize { table } => {
                let len = self.table_len(table);
                let v = self.b.ins().ireduce(I32, len);
                self.push(v)
            }
            O::TableGrow { table } => {
                let v = self.helper_op(Helper::TableGrow, &[table], 2);
                self.push(v)
            }
            O::TableFill { table } => {
                self.helper_op(Helper::TableFill, &[table], 3);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                self.helper_op(Helper::TableCopy, &[dst_table, src_table], 3);
            }
            O::TableInit { elem_index, table } => {
                self.helper_op(Helper::TableInit, &[table, elem_index], 3);
            }
            O::ElemDrop { elem_index } => {
                self.helper_op(Helper::ElemDrop, &[elem_index], 0);
            }

            O::GlobalGet { global_index } => {
                let ty = self.env.module.globals[global_index as usize];
                let at = self.b.ins().load(
                    PTR,
                    trusted_readonly(),
                    self.vmctx,
                    self.env.layout.global(global_index),
                );
                let flags = if ty.mutable {
                    trusted()
                } else {
                    trusted_readonly()
                };
                let v = self
                    .b
                    .ins()
                    .load(crate::abi::clif_type(ty.ty), flags, at, 0);
                self.push(v)
            }
            O::GlobalSet { global_index } => {
                let ty = self.env.module.globals[global_index as usize];
                if matches!(ty.ty, ValType::FuncRef | ValType::ExternRef) {
                    // Storing a reference may need to keep its instance alive.
                    self.helper_op(Helper::GlobalSetRef, &[global_index], 1);
                } else {
                    let v = self.pop();
                    let v = self.widen(v);
                    let at = self.b.ins().load(
                        PTR,
                        trusted_readonly(),
                        self.vmctx,
                        self.env.layout.global(global_index),
                    );
                    self.b.ins().store(trusted(), v, at, 0);
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

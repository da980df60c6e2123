//! Loads, stores (generated from core's table of memory accesses) and the memory
//! instructions. Accesses are to memory 0: the interpreter runs no multi-memory modules.

use super::{Operand, Translator};
use crate::bytecode::{Instr, Slot};
use rwamr_core::{Error, Result, RmwOp};
use wasmparser::MemArg;

/// The load and store visitors: each is one instruction, chosen by the access width and
/// sign extension alone (cells are untyped; see `bytecode.rs`).
macro_rules! memory_accesses {
    (loads: $($load:ident => ($ty:ident, $bytes:literal, $signed:literal)),* ;
     stores: $($store:ident => $width:literal),* ;) => {
        impl Translator<'_> {
            $( pub(super) fn $load(&mut self, memarg: MemArg) -> Result<()> {
                self.load(memarg, load_instr($bytes, $signed))
            } )*
            $( pub(super) fn $store(&mut self, memarg: MemArg) -> Result<()> {
                self.store(memarg, store_instr($width))
            } )*
        }
    };
}
rwamr_core::for_each_memory_access!(memory_accesses);

/// The atomic visitors, from core's table.
macro_rules! atomic_accesses {
    (loads: $($load:ident => ($lty:ident, $lbytes:literal)),* ;
     stores: $($store:ident => ($sty:ident, $sbytes:literal)),* ;
     rmw: $($rmw:ident => ($op:ident, $rty:ident, $rbytes:literal)),* ;
     cmpxchg: $($cx:ident => ($cty:ident, $cbytes:literal)),* ;) => {
        impl Translator<'_> {
            $( pub(super) fn $load(&mut self, memarg: MemArg) -> Result<()> {
                let (offset, width) = (memarg_offset(&memarg)?, $lbytes);
                let addr = self.pop()?;
                self.emit_result(|dst| Instr::AtomicLoad { dst, addr, offset, width })
            } )*
            $( pub(super) fn $store(&mut self, memarg: MemArg) -> Result<()> {
                let (offset, width) = (memarg_offset(&memarg)?, $sbytes);
                let src = self.pop()?;
                let addr = self.pop()?;
                self.emit(Instr::AtomicStore { addr, src, offset, width });
                Ok(())
            } )*
            $( pub(super) fn $rmw(&mut self, memarg: MemArg) -> Result<()> {
                let (offset, width, op) = (memarg_offset(&memarg)?, $rbytes, RmwOp::$op as u8);
                let args = self.pop_args(2)?;
                self.emit_result(|dst| Instr::AtomicRmw { dst, args, offset, op, width })
            } )*
            $( pub(super) fn $cx(&mut self, memarg: MemArg) -> Result<()> {
                let (offset, width) = (memarg_offset(&memarg)?, $cbytes);
                let args = self.pop_args(3)?;
                self.emit_result(|dst| Instr::AtomicCmpxchg { dst, args, offset, width })
            } )*
        }
    };
}
rwamr_core::for_each_atomic_access!(atomic_accesses);

type Access = fn(Slot, Slot, u32) -> Instr;

/// The load of `bytes` bytes, sign- or zero-extended.
fn load_instr(bytes: u8, signed: bool) -> Access {
    match (bytes, signed) {
        (1, true) => |dst, addr, offset| Instr::Load8S { dst, addr, offset },
        (1, false) => |dst, addr, offset| Instr::Load8U { dst, addr, offset },
        (2, true) => |dst, addr, offset| Instr::Load16S { dst, addr, offset },
        (2, false) => |dst, addr, offset| Instr::Load16U { dst, addr, offset },
        (4, true) => |dst, addr, offset| Instr::Load32S { dst, addr, offset },
        (4, false) => |dst, addr, offset| Instr::Load32U { dst, addr, offset },
        _ => |dst, addr, offset| Instr::Load64 { dst, addr, offset },
    }
}

/// The store of the low `bytes` bytes of a value.
fn store_instr(bytes: u8) -> Access {
    match bytes {
        1 => |addr, src, offset| Instr::Store8 { addr, src, offset },
        2 => |addr, src, offset| Instr::Store16 { addr, src, offset },
        4 => |addr, src, offset| Instr::Store32 { addr, src, offset },
        _ => |addr, src, offset| Instr::Store64 { addr, src, offset },
    }
}

impl Translator<'_> {
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

    pub(super) fn visit_memory_size(&mut self, _mem: u32) -> Result<()> {
        self.emit_result(|dst| Instr::MemorySize { dst })
    }
    pub(super) fn visit_memory_grow(&mut self, _mem: u32) -> Result<()> {
        let delta = self.pop()?;
        self.emit_result(|dst| Instr::MemoryGrow { dst, delta })
    }
    pub(super) fn visit_memory_fill(&mut self, _mem: u32) -> Result<()> {
        let (at, val, len) = self.pop3()?;
        self.emit(Instr::MemoryFill { at, val, len });
        Ok(())
    }
    pub(super) fn visit_memory_copy(&mut self, _dst_mem: u32, _src_mem: u32) -> Result<()> {
        let (to, from, len) = self.pop3()?;
        self.emit(Instr::MemoryCopy { to, from, len });
        Ok(())
    }
    pub(super) fn visit_memory_init(&mut self, data_index: u32, _mem: u32) -> Result<()> {
        let args = self.pop_args3()?;
        self.emit(Instr::MemoryInit {
            data: data_index,
            args,
        });
        Ok(())
    }
    pub(super) fn visit_memory_atomic_wait32(&mut self, memarg: MemArg) -> Result<()> {
        self.atomic_wait(memarg, 4)
    }
    pub(super) fn visit_memory_atomic_wait64(&mut self, memarg: MemArg) -> Result<()> {
        self.atomic_wait(memarg, 8)
    }
    fn atomic_wait(&mut self, memarg: MemArg, width: u8) -> Result<()> {
        let offset = memarg_offset(&memarg)?;
        let args = self.pop_args(3)?;
        self.emit_result(|dst| Instr::AtomicWait {
            dst,
            args,
            offset,
            width,
        })
    }
    pub(super) fn visit_memory_atomic_notify(&mut self, memarg: MemArg) -> Result<()> {
        let offset = memarg_offset(&memarg)?;
        let args = self.pop_args(2)?;
        self.emit_result(|dst| Instr::AtomicNotify { dst, args, offset })
    }
    pub(super) fn visit_atomic_fence(&mut self, _ordering: wasmparser::Ordering) -> Result<()> {
        self.emit(Instr::AtomicFence);
        Ok(())
    }
    pub(super) fn visit_data_drop(&mut self, data_index: u32) -> Result<()> {
        self.emit(Instr::DataDrop { data: data_index });
        Ok(())
    }
}

fn memarg_offset(m: &MemArg) -> Result<u32> {
    u32::try_from(m.offset).map_err(|_| Error::unsupported("memory offsets above 4 GiB (memory64)"))
}

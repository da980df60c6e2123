//! Atomic accesses to linear memory (the threads proposal), for the interpreter and the
//! host: real atomic instructions on the memory's bytes, sequentially consistent, never
//! a lock. Compiled code emits the same instructions itself (`crates/jit`).
//!
//! **The rule.** An atomic access of `n` bytes at effective address `ea` first traps
//! with [`TrapCode::UnalignedAtomic`] unless `ea` is a multiple of `n`, then with
//! [`TrapCode::MemoryOutOfBounds`] unless `ea + n` is within the length. (Alignment
//! first in every mode: compiled code checks it before the access, whose bounds the
//! guard pages may check.) Values narrower than 64 bits are the low bytes of the operand
//! and come back zero-extended; `cmpxchg`'s expected value is wrapped to the width too.

use super::MemoryView;
use crate::trap::TrapCode;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};

/// The operation of an atomic read-modify-write (`i32.atomic.rmw.add`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

impl RmwOp {
    pub const ALL: [RmwOp; 6] = [
        RmwOp::Add,
        RmwOp::Sub,
        RmwOp::And,
        RmwOp::Or,
        RmwOp::Xor,
        RmwOp::Xchg,
    ];

    /// The operation `op as u8` stands for.
    pub fn from_u8(op: u8) -> Option<RmwOp> {
        Self::ALL.get(op as usize).copied()
    }
}

/// Runs `$body` with `$a` the atomic of `$size` bytes at `$at` and `$t` its value type.
macro_rules! with_atomic {
    ($size:expr, $at:expr, |$a:ident: $t:ident| $body:expr) => {
        match $size {
            1 => {
                #[allow(dead_code)]
                type $t = u8;
                // SAFETY: `at` is aligned and in bounds (`atomic_at`); see `atomic_at`.
                let $a = unsafe { AtomicU8::from_ptr($at) };
                $body
            }
            2 => {
                #[allow(dead_code)]
                type $t = u16;
                // SAFETY: as above.
                let $a = unsafe { AtomicU16::from_ptr($at.cast()) };
                $body
            }
            4 => {
                #[allow(dead_code)]
                type $t = u32;
                // SAFETY: as above.
                let $a = unsafe { AtomicU32::from_ptr($at.cast()) };
                $body
            }
            _ => {
                #[allow(dead_code)]
                type $t = u64;
                // SAFETY: as above.
                let $a = unsafe { AtomicU64::from_ptr($at.cast()) };
                $body
            }
        }
    };
}

// The 8-byte arm of `with_atomic!` casts a `u64` to `u64`.
#[allow(clippy::unnecessary_cast)]
impl MemoryView<'_> {
    /// The host address of an atomic access of `size` (1, 2, 4 or 8) bytes at `ea`,
    /// checked as the module docs say. It stays valid while the memory lives (memories
    /// never shrink or move); other threads may access the same bytes meanwhile, with
    /// atomics or without, which wasm's memory model allows and the hardware tolerates
    /// (every access is one instruction at an aligned address).
    #[inline]
    pub(crate) fn atomic_at(&self, ea: u64, size: u8) -> Result<*mut u8, TrapCode> {
        if ea & (size as u64 - 1) != 0 {
            return Err(TrapCode::UnalignedAtomic);
        }
        let at = self.check(ea, size as usize)?;
        // SAFETY: `check` proved `at..at + size` lies in the accessible bytes.
        Ok(unsafe { self.base.as_ptr().add(at) })
    }

    /// `atomic.load` of `size` bytes at `ea`, zero-extended.
    pub fn atomic_load(&self, ea: u64, size: u8) -> Result<u64, TrapCode> {
        let at = self.atomic_at(ea, size)?;
        Ok(with_atomic!(size, at, |a: T| a.load(SeqCst) as u64))
    }

    /// `atomic.store` of the low `size` bytes of `v` at `ea`.
    pub fn atomic_store(&self, ea: u64, size: u8, v: u64) -> Result<(), TrapCode> {
        let at = self.atomic_at(ea, size)?;
        with_atomic!(size, at, |a: T| a.store(v as T, SeqCst));
        Ok(())
    }

    /// `atomic.rmw.<op>` of `size` bytes at `ea` with the low bytes of `v`: the old
    /// value, zero-extended.
    pub fn atomic_rmw(&self, ea: u64, size: u8, op: RmwOp, v: u64) -> Result<u64, TrapCode> {
        let at = self.atomic_at(ea, size)?;
        Ok(with_atomic!(size, at, |a: T| {
            let v = v as T;
            (match op {
                RmwOp::Add => a.fetch_add(v, SeqCst),
                RmwOp::Sub => a.fetch_sub(v, SeqCst),
                RmwOp::And => a.fetch_and(v, SeqCst),
                RmwOp::Or => a.fetch_or(v, SeqCst),
                RmwOp::Xor => a.fetch_xor(v, SeqCst),
                RmwOp::Xchg => a.swap(v, SeqCst),
            }) as u64
        }))
    }

    /// `atomic.rmw.cmpxchg` of `size` bytes at `ea`: stores `replacement` if the value
    /// there is `expected` (both wrapped to the width); returns the old value.
    pub fn atomic_cmpxchg(
        &self,
        ea: u64,
        size: u8,
        expected: u64,
        replacement: u64,
    ) -> Result<u64, TrapCode> {
        let at = self.atomic_at(ea, size)?;
        Ok(with_atomic!(size, at, |a: T| {
            match a.compare_exchange(expected as T, replacement as T, SeqCst, SeqCst) {
                Ok(old) | Err(old) => old as u64,
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::Memory;
    use crate::types::MemoryType;

    #[test]
    fn alignment_is_checked_before_bounds() {
        let m = Memory::new(MemoryType::new(1, Some(1))).unwrap();
        // SAFETY: the memory is the test's alone.
        let v = unsafe { m.view() };
        let end = crate::PAGE_SIZE as u64;
        assert_eq!(v.atomic_load(1, 4), Err(TrapCode::UnalignedAtomic));
        assert_eq!(v.atomic_load(end + 2, 4), Err(TrapCode::UnalignedAtomic));
        assert_eq!(v.atomic_load(end, 4), Err(TrapCode::MemoryOutOfBounds));
        assert_eq!(v.atomic_load(end - 1, 1), Ok(0));
        assert_eq!(v.atomic_load(!7, 8), Err(TrapCode::MemoryOutOfBounds));
    }

    #[test]
    fn narrow_accesses_wrap_operands_and_zero_extend_results() {
        let m = Memory::new(MemoryType::shared(1, 1)).unwrap();
        // SAFETY: as above.
        let v = unsafe { m.view() };
        v.atomic_store(8, 8, u64::MAX).unwrap();
        assert_eq!(v.atomic_rmw(8, 1, RmwOp::Add, 0x101).unwrap(), 0xff);
        assert_eq!(v.atomic_load(8, 8).unwrap(), 0xffff_ffff_ffff_ff00);
        assert_eq!(v.atomic_cmpxchg(8, 2, 0x1_ff00, 7).unwrap(), 0xff00);
        assert_eq!(v.atomic_load(8, 2).unwrap(), 7);
        assert_eq!(
            v.atomic_cmpxchg(8, 4, 8, 9).unwrap(),
            0xffff_0007,
            "no match"
        );
        assert_eq!(v.atomic_rmw(8, 4, RmwOp::Xchg, 1).unwrap(), 0xffff_0007);
        assert_eq!(v.atomic_rmw(12, 4, RmwOp::Sub, 1).unwrap(), 0xffff_ffff);
        assert_eq!(v.atomic_load(8, 8).unwrap(), 0xffff_fffe_0000_0001);
    }

    #[test]
    fn contended_adds_lose_nothing() {
        let m = std::sync::Arc::new(Memory::new(MemoryType::shared(1, 1)).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    // SAFETY: a shared memory: threads access it at once, atomically.
                    let v = unsafe { m.view() };
                    for _ in 0..10_000 {
                        v.atomic_rmw(16, 4, RmwOp::Add, 1).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        // SAFETY: as above.
        assert_eq!(unsafe { m.view() }.atomic_load(16, 4).unwrap(), 40_000);
    }
}

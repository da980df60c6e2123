//! Guest pointers: every read and write of the caller's linear memory a WASI call makes.
//! A pointer or length that leaves the memory is the guest's mistake and gives errno
//! `fault`, never a trap or a host panic.

use crate::errno::{Errno, WasiResult};
use rwamr_core::memory::Scalar;
use rwamr_core::{Caller, MemoryView};

/// The caller's exported `memory` (or no bytes at all when it exports none, so that
/// every pointer is out of bounds).
pub struct GuestMemory<'a> {
    view: MemoryView<'a>,
}

impl<'a> GuestMemory<'a> {
    pub fn of(caller: &'a Caller<'_>) -> GuestMemory<'a> {
        match caller.exported_memory_view("memory") {
            Some(view) => GuestMemory { view },
            None => GuestMemory {
                view: MemoryView::empty(),
            },
        }
    }

    pub fn from_view(view: MemoryView<'a>) -> GuestMemory<'a> {
        GuestMemory { view }
    }

    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    pub fn load<T: Scalar>(&self, ptr: u64) -> WasiResult<T> {
        self.view.load::<T>(ptr).map_err(|_| Errno::Fault)
    }

    pub fn store<T: Scalar>(&self, ptr: u64, v: T) -> WasiResult {
        self.view.store::<T>(ptr, v).map_err(|_| Errno::Fault)
    }

    pub fn u32(&self, ptr: u32) -> WasiResult<u32> {
        self.load::<u32>(u64::from(ptr))
    }

    pub fn set_u32(&self, ptr: u32, v: u32) -> WasiResult {
        self.store::<u32>(u64::from(ptr), v)
    }

    pub fn set_u64(&self, ptr: u32, v: u64) -> WasiResult {
        self.store::<u64>(u64::from(ptr), v)
    }

    /// Checks that `len` bytes at `ptr` are in bounds (before allocating host buffers
    /// of a size the guest chose).
    pub fn check(&self, ptr: u32, len: u32) -> WasiResult {
        match u64::from(ptr).checked_add(u64::from(len)) {
            Some(end) if end <= self.view.len() as u64 => Ok(()),
            _ => Err(Errno::Fault),
        }
    }

    /// A copy of `len` bytes at `ptr`.
    pub fn bytes(&self, ptr: u32, len: u32) -> WasiResult<Vec<u8>> {
        self.check(ptr, len)?;
        let mut buf = vec![0u8; len as usize];
        self.view
            .read(u64::from(ptr), &mut buf)
            .map_err(|_| Errno::Fault)?;
        Ok(buf)
    }

    pub fn write(&self, ptr: u32, data: &[u8]) -> WasiResult {
        self.view
            .write(u64::from(ptr), data)
            .map_err(|_| Errno::Fault)
    }

    /// A UTF-8 string of `len` bytes at `ptr` (WASI strings, paths among them, are
    /// UTF-8; anything else is `ilseq`).
    pub fn string(&self, ptr: u32, len: u32) -> WasiResult<String> {
        String::from_utf8(self.bytes(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// An array of `count` `(buf, buf_len)` pairs (`iovec` / `ciovec`) at `ptr`,
    /// each checked to lie in bounds.
    pub fn iovecs(&self, ptr: u32, count: u32) -> WasiResult<Vec<(u32, u32)>> {
        let size = count.checked_mul(8).ok_or(Errno::Fault)?;
        self.check(ptr, size)?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = ptr + i * 8;
            let (buf, len) = (self.u32(at)?, self.u32(at + 4)?);
            self.check(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }

    /// The bytes of the buffers of a `ciovec` array, concatenated, at most
    /// [`MAX_IO`] of them (buffers may overlap, so their total is not bounded by the
    /// memory's size; a shorter transfer is what POSIX allows anyway).
    pub fn gather(&self, iovs: &[(u32, u32)]) -> WasiResult<Vec<u8>> {
        let total = total_len(iovs).min(MAX_IO as u64) as usize;
        let mut out = Vec::with_capacity(total);
        for &(buf, len) in iovs {
            let room = total - out.len();
            if room == 0 {
                break;
            }
            out.extend_from_slice(&self.bytes(buf, len.min(room as u32))?);
        }
        Ok(out)
    }

    /// Spreads `data` over the buffers of an `iovec` array, in order.
    pub fn scatter(&self, iovs: &[(u32, u32)], mut data: &[u8]) -> WasiResult {
        for &(buf, len) in iovs {
            if data.is_empty() {
                break;
            }
            let n = data.len().min(len as usize);
            self.write(buf, &data[..n])?;
            data = &data[n..];
        }
        Ok(())
    }
}

/// Most bytes one read or write call moves.
pub const MAX_IO: usize = 64 << 20;

/// Total length of an iovec array's buffers (`u64`: overlapping buffers can add up to
/// more than the memory holds).
pub fn total_len(iovs: &[(u32, u32)]) -> u64 {
    iovs.iter().map(|&(_, l)| u64::from(l)).sum()
}

/// The size of a host buffer for reading into `iovs`: their total, at most [`MAX_IO`].
pub fn read_len(iovs: &[(u32, u32)]) -> usize {
    total_len(iovs).min(MAX_IO as u64) as usize
}

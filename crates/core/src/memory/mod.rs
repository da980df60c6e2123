//! Linear memory. A memory's address space is reserved up front (`reserve.rs` says how
//! much, and whether bytes past its length fault) and made accessible as it grows, so
//! the base address never moves: code may cache it, and a grow never copies.
//!
//! Access to the bytes goes through this module (one of the few places with `unsafe`),
//! bounds-checked against the current length, or through compiled code
//! (`crates/jit`), which checks bounds too unless the engine's plan is the guarded
//! layout: then every 32-bit address plus 32-bit offset lands in the reservation and
//! faults past the length. One thread at a time accesses the bytes of an unshared
//! memory: the thread holding the memory's owner (`exclusive.rs`), which the host's
//! [`Memory::read`] and [`Memory::write`] take for the length of the copy.
//!
//! A *shared* memory (threads proposal) has no owner: any number of threads access it at
//! once, as wasm's memory model allows, synchronizing with the atomic instructions
//! (`atomic.rs`) and `memory.atomic.wait/notify` (`parking.rs`). Its whole maximum is
//! reserved when it is made, and a grow on one thread is seen by the others: whoever
//! holds a [`MemoryView`] (the interpreter) takes a new one before it reports an access
//! out of bounds.

mod atomic;
mod parking;
mod reserve;

pub use atomic::RmwOp;
pub use parking::{wake_for_epoch, WaitResult};
pub use reserve::{MemoryPlan, MemoryPool};

use crate::error::{Error, Result};
use crate::exclusive::{EntryLock, HostAccess};
use crate::limits::ResourceAccount;
use crate::meter::{Bulk, Epoch};
use crate::trap::{Trap, TrapCode};
use crate::types::MemoryType;
use reserve::Reservation;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes in a wasm page.
pub const PAGE_SIZE: usize = 65536;
/// Most pages a 32-bit memory can have (4 GiB).
pub const MAX_PAGES: u32 = 65536;

/// A memory's initial contents as one block, which a loader can map copy-on-write
/// instead of copying the active data segments into the memory (an AOT file's): every
/// active data segment of memory 0 lies in it at its offset, the rest of it is zero.
#[derive(Clone)]
pub struct MemoryImage {
    /// Where it starts in the memory (a multiple of the wasm page size).
    pub offset: usize,
    /// Its length (a multiple of the wasm page size).
    pub len: usize,
    pub source: Arc<dyn ImageSource>,
}

impl std::fmt::Debug for MemoryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MemoryImage({} bytes at {})", self.len, self.offset)
    }
}

/// Where a [`MemoryImage`]'s bytes come from.
///
/// # Safety
/// `map_at` must replace exactly `at..at + len` with a private, readable and writable
/// mapping of the image's bytes (or fail and leave the range as it was).
pub unsafe trait ImageSource: Send + Sync {
    /// Maps the image over `at..at + len`.
    ///
    /// # Safety
    /// `at..at + len` must be page aligned and mapped by the caller, who gives it up.
    unsafe fn map_at(&self, at: *mut u8, len: usize) -> Result<()>;
}

/// A linear memory.
pub struct Memory {
    ty: MemoryType,
    /// Its address space (the base address never changes).
    reservation: Reservation,
    /// The most bytes it can grow to (its maximum, or what its reservation allows).
    max_len: usize,
    /// Accessible bytes.
    len: AtomicUsize,
    grow_lock: Mutex<()>,
    /// The engine account its bytes count in, for a memory wasm made (`limits.rs`).
    account: Option<Arc<ResourceAccount>>,
    /// Its owner's lock (`exclusive.rs`), set when the owner is made; never set for a
    /// shared memory.
    entry_lock: OnceLock<Arc<EntryLock>>,
    /// Set by [`Memory::interrupt_waits`]: every wait in the memory traps.
    waits_interrupted: AtomicBool,
}

// SAFETY: the mapping is owned by the `Memory` and only released in `drop`; every access
// to the bytes is a raw read or write inside the accessible length, by the one thread
// that holds the memory's owner, or, in a shared memory, by any thread as wasm's memory
// model allows (see the module docs).
unsafe impl Send for Memory {}
// SAFETY: see `Send`; the length is atomic and growth is serialized by `grow_lock`.
unsafe impl Sync for Memory {}

impl Memory {
    /// Creates a memory of `ty.min` pages, reserving room for `ty.max` (or 4 GiB).
    pub fn new(ty: MemoryType) -> Result<Memory> {
        Self::create(ty, &MemoryPlan::default(), None)
    }

    /// Like [`Memory::new`], laid out as `plan` says (an engine's plan: see
    /// `Engine::memory_plan`).
    pub fn with_plan(ty: MemoryType, plan: &MemoryPlan) -> Result<Memory> {
        Self::create(ty, plan, None)
    }

    /// A memory laid out for `engine`'s code, for a host to make and hand to modules
    /// ([`crate::HostModule::export_memory`]): a shared one (see [`MemoryType::shared`])
    /// is what threads running instances of one program share.
    pub fn new_in<E: AsRef<crate::Engine>>(engine: &E, ty: MemoryType) -> Result<Arc<Memory>> {
        Ok(Arc::new(Self::create(
            ty,
            engine.as_ref().memory_plan(),
            None,
        )?))
    }

    /// Like [`Memory::with_plan`], for a memory an instance defines: its size counts in
    /// `account`, which may refuse it (an error) or a grow (-1).
    pub fn counted(
        ty: MemoryType,
        plan: &MemoryPlan,
        account: Arc<ResourceAccount>,
    ) -> Result<Memory> {
        Self::create(ty, plan, Some(account))
    }

    fn create(
        ty: MemoryType,
        plan: &MemoryPlan,
        account: Option<Arc<ResourceAccount>>,
    ) -> Result<Memory> {
        if ty.min > MAX_PAGES || ty.max.is_some_and(|m| m > MAX_PAGES) {
            return Err(Error::invalid(
                "memory size must be at most 65536 pages (4GiB)",
            ));
        }
        if ty.shared && ty.max.is_none() {
            return Err(Error::invalid("shared memory must have maximum"));
        }
        let declared = ty.max.unwrap_or(MAX_PAGES) as usize * PAGE_SIZE;
        let initial = ty.min as usize * PAGE_SIZE;
        // The guarded layout covers any 32-bit address plus offset, whatever the maximum.
        // A shared memory reserves its whole maximum, whatever the engine's reservation:
        // it never moves, and its threads cannot agree on a grow that fails for lack of
        // address space.
        let (max_len, size) = if plan.unchecked {
            (
                declared,
                (MAX_PAGES as usize * PAGE_SIZE).saturating_add(plan.guard),
            )
        } else {
            let max_len = match ty.shared {
                true => declared,
                false => declared.min(plan.reservation),
            };
            (max_len, max_len.saturating_add(plan.guard))
        };
        if initial > max_len {
            return Err(Error::resource(format!(
                "a memory of {} pages does not fit the engine's memory reservation of {} \
                 bytes; raise it with Config::memory_reservation",
                ty.min, plan.reservation
            )));
        }
        if let Some(a) = &account {
            a.memory_growing(0, initial, ty.max.map(|m| m as usize * PAGE_SIZE))
                .map_err(Error::resource)?;
        }
        let reservation = match &plan.pool {
            Some(pool) if max_len <= plan.reservation => Reservation::from_pool(pool),
            _ => Reservation::map(size, plan.unchecked, plan.guard),
        };
        let reservation = reservation.inspect_err(|_| {
            if let Some(a) = &account {
                a.memory_released(initial);
            }
        })?;
        let mem = Memory {
            ty,
            reservation,
            max_len,
            len: AtomicUsize::new(0),
            grow_lock: Mutex::new(()),
            account,
            entry_lock: OnceLock::new(),
            waits_interrupted: AtomicBool::new(false),
        };
        // From here on `drop` gives the account back the memory's length: the initial
        // bytes count from the start.
        mem.len.store(initial, Ordering::Release);
        mem.reservation.commit(0, initial)?;
        Ok(mem)
    }

    /// Puts `image` in place, copy-on-write, over a memory nothing has used yet.
    /// `false` where this memory cannot take a mapping (a pooled slot, whose reuse
    /// zeroes it with `madvise`, which would bring back the image) or the image does not
    /// fit: then the caller copies the segments.
    pub fn map_image(&self, image: &MemoryImage) -> Result<bool> {
        let end = image.offset.checked_add(image.len);
        if self.reservation.pooled()
            || image.len == 0
            || !image.offset.is_multiple_of(PAGE_SIZE)
            || !image.len.is_multiple_of(PAGE_SIZE)
            || end.is_none_or(|end| end > self.len.load(Ordering::Acquire))
        {
            return Ok(false);
        }
        // SAFETY: `offset..offset + len` is page aligned and inside the accessible
        // bytes of our own reservation (checked above), which nothing has used yet
        // (the caller's instance is being made); the mapping replaces those pages.
        unsafe {
            image
                .source
                .map_at(self.reservation.base.as_ptr().add(image.offset), image.len)?
        };
        Ok(true)
    }

    /// Whether bytes past the length fault (the guarded layout), as compiled code
    /// without bounds checks needs.
    pub fn faults_past_len(&self) -> bool {
        self.reservation.protected
    }

    pub fn ty(&self) -> MemoryType {
        MemoryType {
            min: self.size_pages(),
            max: self.ty.max,
            shared: self.ty.shared,
        }
    }

    /// Whether it is a shared memory (see the module docs).
    pub fn is_shared(&self) -> bool {
        self.ty.shared
    }

    /// The base address (fixed for the memory's lifetime), for compiled code.
    pub(crate) fn base_ptr(&self) -> *mut u8 {
        self.reservation.base.as_ptr()
    }
    /// Where the byte length is (an `AtomicUsize`), for compiled code.
    pub(crate) fn len_ptr(&self) -> *const usize {
        self.len.as_ptr()
    }
    /// Bytes of address space reserved at the base (accessible or not).
    pub fn reserved(&self) -> usize {
        self.reservation.size
    }

    /// Current size in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u32 {
        (self.len() / PAGE_SIZE) as u32
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None` when the memory
    /// cannot grow that far (the wasm `memory.grow` result -1).
    pub fn grow(&self, delta: u32) -> Option<u32> {
        let _guard = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.size_pages();
        let new = old.checked_add(delta)?;
        if new > self.ty.max.unwrap_or(MAX_PAGES) || new as usize * PAGE_SIZE > self.max_len {
            return None;
        }
        let (from, to) = (old as usize * PAGE_SIZE, new as usize * PAGE_SIZE);
        if let Some(a) = &self.account {
            let max = self.ty.max.map(|m| m as usize * PAGE_SIZE);
            a.memory_growing(from, to, max).ok()?;
        }
        if self.reservation.commit(from, to).is_err() {
            if let Some(a) = &self.account {
                a.memory_released(to - from);
            }
            return None;
        }
        self.len.store(to, Ordering::Release);
        Some(old)
    }

    /// Its owner's lock, for a memory an instance or host module made.
    pub(crate) fn entry_lock(&self) -> Option<&Arc<EntryLock>> {
        self.entry_lock.get()
    }
    /// Its owner's lock, `make`'s when it has none yet (a memory the host made is its
    /// own owner); `None` for a shared memory, which has no owner.
    pub(crate) fn entry_lock_or(
        &self,
        make: impl FnOnce() -> Arc<EntryLock>,
    ) -> Option<&Arc<EntryLock>> {
        (!self.ty.shared).then(|| self.entry_lock.get_or_init(make))
    }

    /// `memory.atomic.wait32` (`size` 4) or `wait64` (8) at effective address `ea`:
    /// waits while the value there is `expected`, at most `timeout` nanoseconds
    /// (negative: no limit), and until a notify, the thread's deadline (with `epoch`) or
    /// [`Memory::interrupt_waits`]. Traps on an unshared memory, as the spec says.
    pub fn atomic_wait(
        &self,
        ea: u64,
        size: u8,
        expected: u64,
        timeout: i64,
        epoch: Option<&Epoch>,
    ) -> Result<WaitResult, TrapCode> {
        if !self.ty.shared {
            return Err(TrapCode::ExpectedSharedMemory);
        }
        // SAFETY: a shared memory's bytes may be accessed by any thread.
        let view = unsafe { self.view() };
        let at = view.atomic_at(ea, size)?;
        let expected = match size {
            4 => expected as u32 as u64,
            _ => expected,
        };
        parking::wait(
            at as usize,
            self as *const Memory as usize,
            || view.atomic_load(ea, size) == Ok(expected),
            timeout,
            &self.waits_interrupted,
            epoch,
        )
    }

    /// `memory.atomic.notify` at effective address `ea`: wakes up to `count` threads
    /// waiting there, oldest first, and returns how many it woke (0 in an unshared
    /// memory, where no thread can wait).
    pub fn atomic_notify(&self, ea: u64, count: u32) -> Result<u32, TrapCode> {
        // SAFETY: only the address is checked; no byte is read or written.
        let at = unsafe { self.view() }.atomic_at(ea, 4)?;
        Ok(match self.ty.shared {
            true => parking::notify(at as usize, count),
            false => 0,
        })
    }

    /// Makes every wait in this memory, present and future, trap with
    /// [`TrapCode::Interrupted`]: for a host that shuts down the threads sharing it.
    pub fn interrupt_waits(&self) {
        self.waits_interrupted.store(true, Ordering::Release);
        parking::interrupt_memory(self as *const Memory as usize);
    }

    /// A view of the current bytes, for fast repeated access. Refresh it after anything
    /// that may grow the memory.
    ///
    /// # Safety
    /// While the view is used, the calling thread holds the memory's owner (see the
    /// module docs): it runs wasm code of an instance that reaches the memory, or a host
    /// function such code called, and nothing it calls meanwhile runs wasm. Or the
    /// memory is shared, whose bytes other threads may access meanwhile.
    #[inline]
    pub unsafe fn view(&self) -> MemoryView<'_> {
        MemoryView {
            base: self.reservation.base,
            len: self.len(),
            _memory: std::marker::PhantomData,
        }
    }

    /// The first `len` bytes (at most the accessible length) as a slice.
    ///
    /// # Safety
    /// As for [`Memory::view`], and nothing else reads or writes the bytes while the
    /// slice lives (a host function's borrow: `exclusive.rs`).
    // (A slice of memory the `Memory` does not own as Rust data: `&self` is right.)
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn bytes(&self, len: usize) -> &mut [u8] {
        let len = len.min(self.len());
        // SAFETY: `len` bytes at `base` are accessible (the memory never shrinks); the
        // caller guarantees exclusive use while the slice lives.
        unsafe { std::slice::from_raw_parts_mut(self.base_ptr(), len) }
    }

    /// Holds the memory's owner for a host access (see the module docs).
    fn access(&self) -> Result<Option<HostAccess>, Trap> {
        self.entry_lock().map(HostAccess::new).transpose()
    }

    /// Runs `f` with a view of the bytes, holding the memory's owner meanwhile (waits or
    /// fails like [`Memory::read`]).
    pub fn with_view<R>(&self, f: impl for<'v> FnOnce(MemoryView<'v>) -> R) -> Result<R, Trap> {
        let _access = self.access()?;
        // SAFETY: this thread holds the owner until `_access` drops, and the view cannot
        // leave `f`.
        Ok(f(unsafe { self.view() }))
    }

    /// Copies `buf.len()` bytes at `addr` into `buf`. Waits while another thread runs
    /// the memory's owner (or fails with `TrapCode::Busy`, as the engine's setting says).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Trap> {
        let _access = self.access()?;
        // SAFETY: this thread holds the owner until `_access` drops, after the copy.
        unsafe { self.view() }.read(addr, buf).map_err(Trap::new)
    }

    /// Copies `data` to `addr`; waits or fails like [`Memory::read`].
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), Trap> {
        let _access = self.access()?;
        // SAFETY: as in `read`.
        unsafe { self.view() }.write(addr, data).map_err(Trap::new)
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        let len = self.len();
        if let Some(a) = &self.account {
            a.memory_released(len);
        }
        self.reservation.release(len);
    }
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("pages", &self.size_pages())
            .field("max", &self.ty.max)
            .finish()
    }
}

/// Bounds-checked access to a memory's bytes as they were when the view was taken.
/// Errors are bare [`TrapCode`]s, small enough to return in registers.
/// Memories never shrink and never move, so a stale view is only too cautious: an
/// access it finds out of bounds is so only if a new view finds it so too.
#[derive(Clone, Copy)]
pub struct MemoryView<'a> {
    base: NonNull<u8>,
    len: usize,
    _memory: std::marker::PhantomData<&'a Memory>,
}

/// A value that can be loaded from or stored to linear memory (little endian).
pub trait Scalar: Copy {
    const SIZE: usize;
    fn from_le_bytes_ptr(bytes: [u8; 8]) -> Self;
    fn to_le_bytes_buf(self) -> [u8; 8];
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline(always)]
            fn from_le_bytes_ptr(bytes: [u8; 8]) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(&bytes[..std::mem::size_of::<$t>()]);
                <$t>::from_le_bytes(b)
            }
            #[inline(always)]
            fn to_le_bytes_buf(self) -> [u8; 8] {
                let mut out = [0u8; 8];
                out[..std::mem::size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
                out
            }
        }
    )*};
}
scalar!(u8, i8, u16, i16, u32, i32, u64, i64);

impl<'a> MemoryView<'a> {
    /// A view with no accessible bytes (for instances without memory).
    pub fn empty() -> MemoryView<'static> {
        MemoryView {
            base: NonNull::dangling(),
            len: 0,
            _memory: std::marker::PhantomData,
        }
    }

    /// Accessible bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The effective address `addr + offset` if `size` bytes there are in bounds.
    #[inline(always)]
    fn check(&self, ea: u64, size: usize) -> Result<usize, TrapCode> {
        match ea.checked_add(size as u64) {
            Some(end) if end <= self.len as u64 => Ok(ea as usize),
            _ => Err(TrapCode::MemoryOutOfBounds),
        }
    }

    /// Loads a `T` at effective address `ea`.
    #[inline(always)]
    pub fn load<T: Scalar>(&self, ea: u64) -> Result<T, TrapCode> {
        let at = self.check(ea, T::SIZE)?;
        let mut buf = [0u8; 8];
        // SAFETY: `check` proved `at..at + SIZE` lies in the accessible part of the mapping,
        // and `buf` has room for SIZE <= 8 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(at), buf.as_mut_ptr(), T::SIZE)
        };
        Ok(T::from_le_bytes_ptr(buf))
    }

    /// Stores `v` at effective address `ea`.
    #[inline(always)]
    pub fn store<T: Scalar>(&self, ea: u64, v: T) -> Result<(), TrapCode> {
        let at = self.check(ea, T::SIZE)?;
        let buf = v.to_le_bytes_buf();
        // SAFETY: `check` proved `at..at + SIZE` lies in the accessible, writable part of
        // the mapping; `buf` holds at least SIZE bytes.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.base.as_ptr().add(at), T::SIZE) };
        Ok(())
    }

    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), TrapCode> {
        let at = self.check(addr, buf.len())?;
        // SAFETY: bounds checked above; `buf` is a separate Rust allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(at), buf.as_mut_ptr(), buf.len())
        };
        Ok(())
    }

    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), TrapCode> {
        self.init(addr, data, Bulk::NONE)
    }

    /// `memory.fill`, metered by `bulk` (fuel by its length; a long fill stops at the
    /// thread's deadline, see [`fill_bytes`]).
    pub fn fill(&self, addr: u64, value: u8, len: u64, bulk: Bulk<'_>) -> Result<(), TrapCode> {
        let at = self.check(addr, usize::try_from(len).unwrap_or(usize::MAX))?;
        bulk.charge(len)?;
        // SAFETY: bounds checked above.
        unsafe {
            fill_bytes(
                self.base.as_ptr().add(at),
                value,
                len as usize,
                bulk.interrupt,
            )
        }
    }

    /// `memory.copy` within one memory (overlap allowed), metered by `bulk` (see
    /// [`MemoryView::fill`] and [`copy_bytes`]).
    pub fn copy_within(
        &self,
        dst: u64,
        src: u64,
        len: u64,
        bulk: Bulk<'_>,
    ) -> Result<(), TrapCode> {
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        let d = self.check(dst, n)?;
        let s = self.check(src, n)?;
        bulk.charge(len)?;
        let base = self.base.as_ptr();
        // SAFETY: both ranges are bounds checked above.
        unsafe { copy_bytes(base.add(d), base.add(s), n, bulk.interrupt) }
    }

    /// `memory.init`: writes `bytes` (a data segment's, which the caller took in
    /// bounds) at `addr`, metered by `bulk` (fuel by its length).
    pub fn init(&self, addr: u64, bytes: &[u8], bulk: Bulk<'_>) -> Result<(), TrapCode> {
        let at = self.check(addr, bytes.len())?;
        bulk.charge(bytes.len() as u64)?;
        // SAFETY: bounds checked above; `bytes` is a separate Rust allocation.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(at), bytes.len())
        };
        Ok(())
    }
}

/// Bulk memory operations longer than this check the deadline (with `interrupt`)
/// before each further chunk of this many bytes: about a millisecond of copying.
pub const BULK_CHUNK: usize = 4 << 20;

/// Copies `len` bytes from `src` to `dst` (the ranges may overlap), in chunks of
/// [`BULK_CHUNK`] with the deadline of [`Epoch::reached`] checked between them when
/// `interrupt` is given. An interrupted copy has copied some chunks and traps with
/// [`TrapCode::Interrupted`].
///
/// # Safety
/// `src..src+len` is readable and `dst..dst+len` writable memory (other threads may race
/// on linear memory's bytes, as wasm's memory model allows).
pub unsafe fn copy_bytes(
    dst: *mut u8,
    src: *const u8,
    len: usize,
    interrupt: Option<&Epoch>,
) -> Result<(), TrapCode> {
    // Chunks go in the order that reads every source byte before it is overwritten:
    // from the end when the destination lies above the source.
    let backwards = (dst as usize) > (src as usize);
    in_chunks(len, backwards, interrupt, |at, n| {
        // SAFETY: `at..at+n` lies inside both ranges (the caller's guarantee); `copy`
        // is memmove.
        unsafe { std::ptr::copy(src.add(at), dst.add(at), n) }
    })
}

/// Fills `len` bytes at `dst` with `value`, in chunks as [`copy_bytes`] copies.
///
/// # Safety
/// `dst..dst+len` is writable memory.
pub unsafe fn fill_bytes(
    dst: *mut u8,
    value: u8,
    len: usize,
    interrupt: Option<&Epoch>,
) -> Result<(), TrapCode> {
    in_chunks(len, false, interrupt, |at, n| {
        // SAFETY: `at..at+n` lies inside the range (the caller's guarantee).
        unsafe { std::ptr::write_bytes(dst.add(at), value, n) }
    })
}

/// Calls `step(at, n)` on `0..len`: at once without `interrupt`, else in chunks of
/// [`BULK_CHUNK`] (from the end when `backwards`), stopping with
/// [`TrapCode::Interrupted`] before a chunk once the thread's deadline has come.
fn in_chunks(
    len: usize,
    backwards: bool,
    interrupt: Option<&Epoch>,
    mut step: impl FnMut(usize, usize),
) -> Result<(), TrapCode> {
    let Some(epoch) = interrupt.filter(|_| len > BULK_CHUNK) else {
        step(0, len);
        return Ok(());
    };
    let mut done = 0;
    while done < len {
        if done > 0 && epoch.reached() {
            return Err(TrapCode::Interrupted);
        }
        let n = BULK_CHUNK.min(len - done);
        step(if backwards { len - done - n } else { done }, n);
        done += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_and_bounds() {
        let m = Memory::new(MemoryType::new(1, Some(3))).unwrap();
        // SAFETY: the memory is the test's alone.
        let v = unsafe { m.view() };
        v.store::<u32>(PAGE_SIZE as u64 - 4, 0xdead_beef).unwrap();
        assert_eq!(v.load::<u32>(PAGE_SIZE as u64 - 4).unwrap(), 0xdead_beef);
        assert!(v.load::<u32>(PAGE_SIZE as u64 - 3).is_err());
        assert_eq!(m.grow(2), Some(1));
        assert_eq!(m.grow(1), None);
        // SAFETY: as above.
        let v = unsafe { m.view() };
        v.store::<u64>(3 * PAGE_SIZE as u64 - 8, 7).unwrap();
        assert!(v.load::<u8>(3 * PAGE_SIZE as u64).is_err());
        assert!(v.load::<u8>(u64::MAX).is_err());
    }

    #[test]
    fn guard_region_is_reserved_but_inaccessible() {
        let one_page = MemoryType::new(1, Some(1));
        let m = Memory::with_plan(one_page, &MemoryPlan::new(1 << 32, 1 << 20, false)).unwrap();
        assert_eq!(m.reserved(), PAGE_SIZE + (1 << 20));
        assert!(m
            .with_view(|v| v.load::<u8>(PAGE_SIZE as u64))
            .unwrap()
            .is_err());
        assert_eq!(m.grow(1), None);
    }

    #[test]
    fn a_small_reservation_bounds_growth_and_refuses_a_larger_minimum() {
        let plan = MemoryPlan::new(2 * PAGE_SIZE, 0, false);
        let m = Memory::with_plan(MemoryType::new(1, None), &plan).unwrap();
        assert_eq!(m.reserved(), 2 * PAGE_SIZE);
        assert_eq!(m.grow(1), Some(1));
        assert_eq!(m.grow(1), None, "past the reservation");
        let e = Memory::with_plan(MemoryType::new(3, None), &plan).unwrap_err();
        assert!(e.to_string().contains("memory_reservation"), "{e}");
    }

    #[test]
    fn pooled_memories_reuse_zeroed_slots() {
        let plan = MemoryPlan::new(PAGE_SIZE, 0, true);
        let ty = MemoryType::new(1, Some(1));
        let m = Memory::with_plan(ty, &plan).unwrap();
        m.write(100, b"dirty").unwrap();
        let base = m.base_ptr();
        drop(m);
        let m = Memory::with_plan(ty, &plan).unwrap();
        assert_eq!(m.base_ptr(), base);
        let mut buf = [1u8; 5];
        m.read(100, &mut buf).unwrap();
        assert_eq!(buf, [0; 5]);
        assert!(m.read(PAGE_SIZE as u64, &mut buf).is_err());
    }

    #[test]
    fn zero_sized_memory() {
        let m = Memory::new(MemoryType::new(0, Some(0))).unwrap();
        assert!(m.with_view(|v| v.load::<u8>(0)).unwrap().is_err());
        assert_eq!(m.grow(0), Some(0));
        assert_eq!(m.grow(1), None);
    }

    #[test]
    fn chunked_copies_move_overlapping_ranges_like_memmove() {
        let epoch = Epoch::default();
        let len = 2 * BULK_CHUNK + 12345;
        for (src, dst) in [
            (0, 1000),
            (1000, 0),
            (0, BULK_CHUNK + 7),
            (BULK_CHUNK + 7, 3),
        ] {
            let mut a: Vec<u8> = (0..len + 2 * BULK_CHUNK)
                .map(|i| (i * 7 % 251) as u8)
                .collect();
            let mut b = a.clone();
            a.copy_within(src..src + len, dst);
            let p = b.as_mut_ptr();
            // SAFETY: both ranges lie inside `b`.
            unsafe { copy_bytes(p.add(dst), p.add(src), len, Some(&epoch)) }.unwrap();
            assert!(a == b, "src {src} dst {dst}");
        }
    }

    #[test]
    fn a_long_fill_stops_at_the_deadline() {
        let epoch = Epoch::default();
        let mut a = vec![0u8; 3 * BULK_CHUNK];
        crate::meter::set_deadline(epoch.current());
        // SAFETY: the range is `a`.
        let r = unsafe { fill_bytes(a.as_mut_ptr(), 1, a.len(), Some(&epoch)) };
        crate::meter::set_deadline(u64::MAX);
        assert_eq!(r, Err(TrapCode::Interrupted));
        assert_eq!(
            a.iter().filter(|b| **b == 1).count(),
            BULK_CHUNK,
            "one chunk ran"
        );
        // SAFETY: as above.
        unsafe { fill_bytes(a.as_mut_ptr(), 2, a.len(), Some(&epoch)) }.unwrap();
        assert!(a.iter().all(|b| *b == 2));
    }

    proptest::proptest! {
        #[test]
        fn never_reads_outside(addr in proptest::prelude::any::<u64>(), len in 0usize..70000) {
            let m = Memory::new(MemoryType::new(1, Some(1))).unwrap();
            let mut buf = vec![0u8; len];
            let ok = m.read(addr, &mut buf).is_ok();
            proptest::prop_assert_eq!(ok, addr.checked_add(len as u64).is_some_and(|e| e <= PAGE_SIZE as u64));
        }
    }
}

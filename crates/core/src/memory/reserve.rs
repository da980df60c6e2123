//! Address space for linear memories: how an engine lays them out ([`MemoryPlan`]),
//! each memory's own mapping, or a slot of the engine's [`MemoryPool`].
//!
//! Two layouts. *Guarded* (the default): 4 GiB plus a guard of at least
//! [`crate::UNCHECKED_MEMORY_GUARD`] per memory, bytes past the length inaccessible, so
//! compiled code needs no bounds checks. *Checked*: a memory reserves only what it may
//! reach (`Config::memory_reservation`, at most its declared maximum) plus the guard
//! asked for, and compiled code checks bounds, as the interpreter always does. In a pool
//! a checked slot is readable and writable as a whole: pages come from the kernel zeroed
//! on first touch, so taking a slot costs no system call and giving one back one
//! `madvise`; one mapping serves thousands of memories.

use crate::error::{Error, Result};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// Bytes in 4 GiB: what any 32-bit address reaches.
const FOUR_GIB: usize = 1 << 32;

/// How an engine lays out its linear memories.
#[derive(Clone, Debug)]
pub struct MemoryPlan {
    /// The most bytes a memory may reach (it cannot grow past them).
    pub reservation: usize,
    /// Inaccessible bytes after that.
    pub guard: usize,
    /// Whether compiled code leaves accesses unchecked (the guarded layout).
    pub unchecked: bool,
    /// Where memories come from when pooling is on.
    pub pool: Option<Arc<MemoryPool>>,
}

impl MemoryPlan {
    /// The plan for `reservation` and `guard` bytes, pooled or not.
    pub fn new(reservation: usize, guard: usize, pooled: bool) -> MemoryPlan {
        let reservation = reservation.min(FOUR_GIB) / crate::PAGE_SIZE * crate::PAGE_SIZE;
        let unchecked = reservation >= FOUR_GIB && guard >= crate::UNCHECKED_MEMORY_GUARD;
        let mut plan = MemoryPlan {
            reservation,
            guard,
            unchecked,
            pool: None,
        };
        if pooled {
            let pool = MemoryPool::new(plan.slot_size(), guard, unchecked);
            plan.pool = Some(Arc::new(pool));
        }
        plan
    }

    /// Bytes of address space one memory takes at most (guard included).
    pub fn slot_size(&self) -> usize {
        let size = self.reservation.saturating_add(self.guard);
        // Pool slots start on page boundaries.
        size.div_ceil(crate::PAGE_SIZE).max(1) * crate::PAGE_SIZE
    }
}

impl Default for MemoryPlan {
    /// A memory of its own for each, reserving its maximum (or 4 GiB), no guard.
    fn default() -> Self {
        MemoryPlan::new(FOUR_GIB, 0, false)
    }
}

/// The address space of one memory.
pub(crate) struct Reservation {
    pub base: NonNull<u8>,
    /// Bytes at `base` (0: nothing mapped).
    pub size: usize,
    /// Whether bytes past the memory's length are inaccessible (grows `commit`).
    pub protected: bool,
    /// The pool the reservation is a slot of, which takes it back.
    pool: Option<Arc<MemoryPool>>,
}

impl Reservation {
    /// `size` bytes: inaccessible when `protected` (grows `commit` them), else readable
    /// and writable except the last `guard` bytes.
    pub fn map(size: usize, protected: bool, guard: usize) -> Result<Reservation> {
        if size == 0 {
            return Ok(Reservation {
                base: NonNull::dangling(),
                size: 0,
                protected,
                pool: None,
            });
        }
        let base = map_anonymous(size, protected)?;
        let r = Reservation {
            base,
            size,
            protected,
            pool: None,
        };
        if !protected && guard > 0 {
            // SAFETY: the last `guard` bytes of the mapping just made (page multiples).
            unsafe { protect(base.as_ptr().add(size - guard), guard, false) }.map_err(|e| {
                Error::resource(format!("cannot protect a linear memory's guard: {e}"))
            })?;
        }
        Ok(r)
    }

    /// A slot of `pool` (of the pool's slot size).
    pub fn from_pool(pool: &Arc<MemoryPool>) -> Result<Reservation> {
        Ok(Reservation {
            base: pool.take()?,
            size: pool.slot,
            protected: pool.protected,
            pool: Some(pool.clone()),
        })
    }

    /// Whether it is a slot of a pool.
    pub fn pooled(&self) -> bool {
        self.pool.is_some()
    }

    /// Makes bytes `from..to` readable and writable (they are already, unprotected).
    pub fn commit(&self, from: usize, to: usize) -> Result<()> {
        if to <= from || !self.protected {
            return Ok(());
        }
        debug_assert!(to <= self.size);
        // SAFETY: `from..to` lies inside our own mapping (`to <= size`), page aligned
        // because both are multiples of the wasm page size.
        unsafe { protect(self.base.as_ptr().add(from), to - from, true) }
            .map_err(|e| Error::resource(format!("cannot commit linear memory: {e}")))
    }

    /// Gives the address space back; `used` bytes at the start were accessible.
    pub fn release(&mut self, used: usize) {
        match self.pool.take() {
            Some(pool) => pool.give(self.base, used),
            None if self.size != 0 => {
                // SAFETY: we own the mapping and nothing can use it after this; failure to
                // unmap only leaks address space.
                let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.size) };
            }
            None => {}
        }
        self.size = 0;
    }
}

/// Fresh anonymous address space, backed by nothing until touched.
fn map_anonymous(size: usize, protected: bool) -> Result<NonNull<u8>> {
    use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
    let prot = if protected {
        ProtFlags::empty()
    } else {
        ProtFlags::READ | ProtFlags::WRITE
    };
    // SAFETY: a fresh anonymous mapping at an address the kernel picks; it aliases nothing.
    let ptr = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            size,
            prot,
            MapFlags::PRIVATE | MapFlags::NORESERVE,
        )
    }
    .map_err(|e| {
        Error::resource(format!(
            "cannot reserve {size} bytes of address space for a linear memory: {e}"
        ))
    })?;
    NonNull::new(ptr.cast::<u8>())
        .ok_or_else(|| Error::resource("the kernel mapped a linear memory at address 0"))
}

/// Zeroes the first `len` bytes of a slot (readable and writable, ours) and keeps them
/// mapped: the resident pages with stores, so the next memory in the slot does not
/// fault on them; the others (never touched, or swapped out) with `madvise`, which also
/// drops a swapped-out copy. False when a system call failed (the slot is then unusable).
fn zero_keeping_resident(slot: NonNull<u8>, len: usize) -> bool {
    let page = rustix::param::page_size();
    let pages = len.div_ceil(page);
    let mut resident = [0u8; KEEP_RESIDENT / 4096];
    if pages > resident.len() {
        return false;
    }
    // SAFETY: `slot..slot+len` is mapped (a slot of ours, page aligned) and `resident`
    // has a byte for each of its pages (checked above).
    let asked = unsafe { libc::mincore(slot.as_ptr().cast(), len, resident.as_mut_ptr()) };
    if asked != 0 {
        return false;
    }
    let mut p = 0;
    while p < pages {
        let here = resident[p] & 1 != 0;
        let run = resident[p..pages]
            .iter()
            .take_while(|r| (*r & 1 != 0) == here)
            .count();
        let (at, n) = (p * page, (run * page).min(len - p * page));
        // SAFETY: `at..at+n` lies inside the slot, readable and writable; nothing else
        // uses it.
        let zeroed = unsafe {
            let at = slot.as_ptr().add(at);
            if here {
                std::ptr::write_bytes(at, 0, n);
                true
            } else {
                drop_pages(at, n)
            }
        };
        if !zeroed {
            return false;
        }
        p += run;
    }
    true
}

/// Drops the pages of `len` bytes at `at` (`madvise(DONTNEED)` on a private anonymous
/// mapping): the next touch sees zeroes. False when the system call failed.
///
/// # Safety
/// The range lies in a mapping the caller owns, and nothing relies on its contents.
unsafe fn drop_pages(at: *mut u8, len: usize) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { rustix::mm::madvise(at.cast(), len, rustix::mm::Advice::LinuxDontNeed) }.is_ok()
}

/// `mprotect`s `len` bytes at `at` to read-write (`on`) or to nothing.
///
/// # Safety
/// The range lies in a mapping the caller owns, and nothing relies on the old access.
unsafe fn protect(at: *mut u8, len: usize, on: bool) -> rustix::io::Result<()> {
    use rustix::mm::{mprotect, MprotectFlags};
    let flags = if on {
        MprotectFlags::READ | MprotectFlags::WRITE
    } else {
        MprotectFlags::empty()
    };
    // SAFETY: the caller's guarantee.
    unsafe { mprotect(at.cast(), len, flags) }
}

/// Memory slots of one size, taken from large mappings and reused: creating and
/// dropping a memory then costs no `mmap`, `mprotect` or `munmap` (see the module docs).
/// The mappings stay until the engine (every memory of it) is gone.
pub struct MemoryPool {
    slot: usize,
    /// Inaccessible bytes at the end of each slot (the unprotected layout's guard).
    guard: usize,
    protected: bool,
    inner: Mutex<PoolInner>,
}

#[derive(Default)]
struct PoolInner {
    /// Slots given back, zeroed, the latest last (taken first: its pages may be warm).
    free: Vec<NonNull<u8>>,
    /// Slots of the last mapping never used yet.
    fresh: Vec<NonNull<u8>>,
    /// Every mapping: base and size.
    slabs: Vec<(NonNull<u8>, usize)>,
}

// SAFETY: the pointers are addresses of mappings the pool owns, handed out one slot
// to one memory at a time under the mutex.
unsafe impl Send for MemoryPool {}
// SAFETY: as above.
unsafe impl Sync for MemoryPool {}

/// Bytes of a returned slot zeroed in place rather than given back to the kernel, and
/// how many free slots at most are kept so (16 MiB of resident memory at most).
const KEEP_RESIDENT: usize = 1 << 16;
const KEEP_RESIDENT_SLOTS: usize = 256;

/// Address space a pool maps at once (at least one slot).
const SLAB_BYTES: usize = 1 << 30;

impl MemoryPool {
    fn new(slot: usize, guard: usize, protected: bool) -> MemoryPool {
        MemoryPool {
            slot,
            guard: if protected { 0 } else { guard.min(slot) },
            protected,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self) -> Result<NonNull<u8>> {
        let mut inner = self.lock();
        if let Some(slot) = inner.free.pop().or_else(|| inner.fresh.pop()) {
            return Ok(slot);
        }
        let slots = (SLAB_BYTES / self.slot).max(1);
        let size = slots * self.slot;
        let base = map_anonymous(size, self.protected)?;
        inner.slabs.push((base, size));
        if self.guard > 0 {
            for i in 0..slots {
                let end = (i + 1) * self.slot;
                // SAFETY: the guard at the end of slot `i` of the slab just mapped.
                unsafe { protect(base.as_ptr().add(end - self.guard), self.guard, false) }
                    .map_err(|e| {
                        Error::resource(format!("cannot protect a linear memory's guard: {e}"))
                    })?;
            }
        }
        // Handed out from the start of the slab.
        for i in (1..slots).rev() {
            // SAFETY: inside the slab just mapped.
            inner
                .fresh
                .push(unsafe { NonNull::new_unchecked(base.as_ptr().add(i * self.slot)) });
        }
        Ok(base)
    }

    /// Takes back a slot whose first `used` bytes were accessible: they become zero (and
    /// inaccessible again, when protected) before another memory gets it.
    fn give(&self, slot: NonNull<u8>, used: usize) {
        let used = used.min(self.slot);
        let keep_resident = used <= KEEP_RESIDENT
            && !self.protected
            && self.lock().free.len() < KEEP_RESIDENT_SLOTS;
        if keep_resident {
            // Small, and among the next to be reused: zeroing in place costs less than
            // the TLB flush and the page faults of the next memory to use the slot.
            // (About the first slots of the free list stay resident so.)
            if !zero_keeping_resident(slot, used) {
                return;
            }
        } else if used > 0 {
            // SAFETY: the slot is ours again: its memory is gone.
            let zeroed = unsafe { drop_pages(slot.as_ptr(), used) };
            // SAFETY: as above.
            let closed = !self.protected || unsafe { protect(slot.as_ptr(), used, false) }.is_ok();
            if !zeroed || !closed {
                // Not reusable as it should be: leave it out of the pool.
                return;
            }
        }
        self.lock().free.push(slot);
    }
}

impl Drop for MemoryPool {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        for (base, size) in inner.slabs.drain(..) {
            // SAFETY: the pool's own mappings; every memory using a slot is gone (each
            // holds the pool).
            let _ = unsafe { rustix::mm::munmap(base.as_ptr().cast(), size) };
        }
    }
}

impl std::fmt::Debug for MemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPool")
            .field("slot", &self.slot)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_comes_back_zeroed() {
        let plan = MemoryPlan::new(1 << 16, 0, true);
        let pool = plan.pool.clone().unwrap();
        let mut r = Reservation::from_pool(&pool).unwrap();
        let base = r.base;
        // SAFETY: the slot is ours and readable and writable (unprotected).
        unsafe { base.as_ptr().write(42) };
        r.release(1 << 16);
        let r2 = Reservation::from_pool(&pool).unwrap();
        assert_eq!(r2.base, base, "the slot is reused");
        // SAFETY: as above.
        assert_eq!(unsafe { r2.base.as_ptr().read() }, 0);
    }
}

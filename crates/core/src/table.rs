//! Tables of references. Elements are stored as cells (see [`crate::val`]): a function
//! reference is the address of a [`crate::slot::FuncSlot`], 0 is null.
//!
//! Errors are bare [`TrapCode`]s: small enough to return in registers, which keeps the
//! interpreter's handlers free of stack temporaries.
//!
//! Reads (`table.get`, `call_indirect`) take no lock: the element array is published
//! through an epoch-protected pointer. Writers (set, fill, copy, init, grow) serialize
//! on a mutex; `grow` publishes a larger copy and the old array is freed once no reader
//! can still see it.

use crate::exclusive::EntryLock;
use crate::holders::Holders;
use crate::limits::ResourceAccount;
use crate::meter::Bulk;
use crate::slot::{pin, FuncSlot};
use crate::trap::TrapCode;
use crate::types::TableType;
use crossbeam_epoch::{Atomic, Guard, Owned};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Most elements a table may have; larger tables are refused (as wasmtime does).
pub const MAX_TABLE_ELEMS: u32 = 10_000_000;

type Cells = Box<[AtomicU64]>;

pub struct Table {
    ty: TableType,
    elems: Atomic<Cells>,
    /// The current array's first cell and length, for compiled code (crossbeam's
    /// `Atomic` promises no layout). A grow stores `base` before `len`: a reader that
    /// loads `len` and then `base` never indexes past the array it reads, old or new.
    /// Arrays are freed by epoch, and compiled code runs under a guard.
    base: AtomicPtr<AtomicU64>,
    len: AtomicUsize,
    write: Mutex<()>,
    /// Instances of foreign functions stored here (see `holders.rs`).
    holders: Holders,
    /// The engine account that may refuse growth, for a table wasm made (`limits.rs`).
    account: Option<Arc<ResourceAccount>>,
    /// Its owner's lock (`exclusive.rs`), set when the owner is made.
    entry_lock: OnceLock<Arc<EntryLock>>,
}

/// An element array of `n` cells holding `init`, or `None` when the host cannot
/// allocate it. Null-filled arrays come from zeroed allocations, which the system maps
/// lazily: a large table costs no memory until its elements are written.
fn cells(n: usize, init: u64) -> Option<Cells> {
    let layout = std::alloc::Layout::array::<AtomicU64>(n).ok()?;
    let cells: Cells = if layout.size() == 0 {
        Box::new([])
    } else {
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<AtomicU64>();
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` is a fresh allocation of `layout`, i.e. of `n` `AtomicU64`s, all
        // zero bytes, which is a valid `AtomicU64` (0); the box frees it with the same
        // layout.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, n)) }
    };
    if init != 0 {
        for c in cells.iter() {
            c.store(init, Ordering::Relaxed);
        }
    }
    Some(cells)
}

/// The error of a table the host cannot allocate.
fn no_memory(n: usize) -> crate::Error {
    crate::Error::resource(format!(
        "cannot allocate a table of {n} elements: the host is out of memory"
    ))
}

impl Table {
    /// A table of `ty` with every element `init`, which is a valid cell of the table's
    /// engine (see [`Table::set`]).
    /// With `account` (a table an instance defines) its size must be allowed there.
    pub(crate) fn new(
        ty: TableType,
        init: u64,
        account: Option<Arc<ResourceAccount>>,
    ) -> Result<Table, crate::Error> {
        if ty.min > MAX_TABLE_ELEMS {
            return Err(crate::Error::resource(format!(
                "table of {} elements is larger than the limit of {MAX_TABLE_ELEMS}",
                ty.min
            )));
        }
        if let Some(a) = &account {
            a.table_growing(0, ty.min, ty.max)
                .map_err(crate::Error::resource)?;
        }
        let first = cells(ty.min as usize, init).ok_or_else(|| no_memory(ty.min as usize))?;
        let (base, len) = (first.as_ptr() as *mut AtomicU64, first.len());
        let table = Table {
            ty,
            base: AtomicPtr::new(base),
            len: AtomicUsize::new(len),
            elems: Atomic::new(first),
            write: Mutex::new(()),
            holders: Holders::new(ty.elem == crate::types::ValType::FuncRef),
            account,
            entry_lock: OnceLock::new(),
        };
        table.holders.note(init);
        Ok(table)
    }

    /// The current element array, valid while `guard` lives.
    #[inline]
    fn read<'g>(&self, guard: &'g Guard) -> &'g [AtomicU64] {
        let p = self.elems.load(Ordering::Acquire, guard);
        // SAFETY: the pointer is never null (set in `new`, replaced only by `grow` with a
        // new array), and a replaced array is freed only after every guard that could
        // have loaded it is dropped (`defer_destroy` in `grow`).
        unsafe { p.deref() }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Offsets of the current array's first cell (`*const u64`) and length (`usize`), for
    /// compiled code: load the length first, then the base. Code that reads through the
    /// base must run under an epoch guard, as all wasm calls do.
    pub const BASE_OFFSET: i32 = std::mem::offset_of!(Table, base) as i32;
    pub const LEN_OFFSET: i32 = std::mem::offset_of!(Table, len) as i32;

    pub fn ty(&self) -> TableType {
        TableType {
            min: self.size(),
            ..self.ty
        }
    }

    pub fn size(&self) -> u32 {
        self.read(&pin()).len() as u32
    }

    /// Its owner's lock, `make`'s when it has none yet.
    pub(crate) fn entry_lock_or(&self, make: impl FnOnce() -> Arc<EntryLock>) -> &Arc<EntryLock> {
        self.entry_lock.get_or_init(make)
    }
    /// Records the instance that owns the table (its own functions need no holding).
    pub(crate) fn set_owner(&self, owner: *const crate::instance::Instance) {
        self.holders.set_owner(owner);
    }

    #[inline]
    pub fn get(&self, index: u32) -> Result<u64, TrapCode> {
        self.read(&pin())
            .get(index as usize)
            .map(|c| c.load(Ordering::Acquire))
            .ok_or(TrapCode::TableOutOfBounds)
    }

    /// The function stored at `index`, for `call_indirect`: "undefined element" outside
    /// the table, "uninitialized element" for null.
    ///
    /// The caller's `guard` (a running call's) keeps the element array readable: pinning
    /// here would cost every `call_indirect` an epoch pin.
    ///
    /// # Safety
    /// The instance that owns the table must be alive for as long as the returned slot is
    /// used (its own functions are stored without a holder). That holds for any instance
    /// that owns or imports the table, while it runs: an importer keeps the owner alive.
    #[inline]
    pub unsafe fn func_at<'g>(
        &'g self,
        index: u32,
        guard: &'g Guard,
    ) -> Result<&'g FuncSlot, TrapCode> {
        let cell = self
            .read(guard)
            .get(index as usize)
            .map(|c| c.load(Ordering::Acquire))
            .ok_or(TrapCode::UndefinedElement)?;
        if cell == 0 {
            return Err(TrapCode::UninitializedElement);
        }
        // SAFETY: a non-null cell is the address of a slot of the table's owner (alive by
        // this function's contract) or of an instance the table holds (`holders.rs`).
        Ok(unsafe { &*(cell as *const FuncSlot) })
    }

    /// `table.set`.
    ///
    /// # Safety
    /// In a funcref table every cell written is 0 or the address of a live function slot
    /// of this table's engine: a reference wasm code of the engine computed, or a
    /// [`crate::Func`]'s cell. Cells are pointers the table's readers dereference.
    pub unsafe fn set(&self, index: u32, value: u64) -> Result<(), TrapCode> {
        let _w = self.lock();
        self.holders.note(value);
        match self.read(&pin()).get(index as usize) {
            Some(c) => {
                c.store(value, Ordering::Release);
                Ok(())
            }
            None => Err(TrapCode::TableOutOfBounds),
        }
    }

    /// `table.grow`: the old size, or `None` (wasm -1) when it cannot grow that far.
    ///
    /// # Safety
    /// In a funcref table every cell written is 0 or the address of a live function slot
    /// of this table's engine: a reference wasm code of the engine computed, or a
    /// [`crate::Func`]'s cell. Cells are pointers the table's readers dereference.
    pub unsafe fn grow(&self, delta: u32, init: u64) -> Option<u32> {
        let _w = self.lock();
        let guard = pin();
        let old = self.read(&guard);
        let old_len = old.len() as u32;
        let new_len = old_len.checked_add(delta)?;
        if new_len > self.ty.max.unwrap_or(u32::MAX) || new_len > MAX_TABLE_ELEMS {
            return None;
        }
        if delta == 0 {
            return Some(old_len);
        }
        if let Some(a) = &self.account {
            a.table_growing(old_len, new_len, self.ty.max).ok()?;
        }
        // The new elements are `init`; when the host cannot allocate them, the grow fails
        // as wasm allows (-1).
        let grown = cells(new_len as usize, init)?;
        for (new, old) in grown.iter().zip(old) {
            new.store(old.load(Ordering::Acquire), Ordering::Relaxed);
        }
        self.holders.note(init);
        self.base
            .store(grown.as_ptr() as *mut AtomicU64, Ordering::Release);
        self.len.store(grown.len(), Ordering::Release);
        let prev = self.elems.swap(Owned::new(grown), Ordering::AcqRel, &guard);
        // SAFETY: `prev` is unreachable from the table now; readers that loaded it hold
        // guards, and the collector frees it only after they are all dropped.
        unsafe { guard.defer_destroy(prev) };
        Some(old_len)
    }

    /// `table.fill`, metered by `bulk` (fuel by its length, see `meter.rs`).
    ///
    /// # Safety
    /// In a funcref table every cell written is 0 or the address of a live function slot
    /// of this table's engine: a reference wasm code of the engine computed, or a
    /// [`crate::Func`]'s cell. Cells are pointers the table's readers dereference.
    pub unsafe fn fill(
        &self,
        at: u32,
        value: u64,
        len: u32,
        bulk: Bulk<'_>,
    ) -> Result<(), TrapCode> {
        let _w = self.lock();
        let guard = pin();
        let e = self.read(&guard);
        let end = at as u64 + len as u64;
        if end > e.len() as u64 {
            return Err(TrapCode::TableOutOfBounds);
        }
        bulk.charge(len.into())?;
        self.holders.note(value);
        for c in &e[at as usize..end as usize] {
            c.store(value, Ordering::Release);
        }
        Ok(())
    }

    /// `table.copy` from `src` (which may be this table) into this table, metered by
    /// `bulk`.
    ///
    /// # Safety
    /// `src` belongs to this table's engine (its cells are that engine's references).
    pub unsafe fn copy_from(
        &self,
        dst: u32,
        src: &Table,
        src_at: u32,
        len: u32,
        bulk: Bulk<'_>,
    ) -> Result<(), TrapCode> {
        // Two tables lock in address order so concurrent copies cannot deadlock (the
        // source is only read, but its array must not be swapped under us).
        let _locks = if std::ptr::eq(self, src) {
            (self.lock(), None)
        } else if (self as *const Table) < (src as *const Table) {
            let d = self.lock();
            (d, Some(src.lock()))
        } else {
            let s = src.lock();
            (self.lock(), Some(s))
        };
        let guard = pin();
        let (d, s) = (self.read(&guard), src.read(&guard));
        if dst as u64 + len as u64 > d.len() as u64 || src_at as u64 + len as u64 > s.len() as u64 {
            return Err(TrapCode::TableOutOfBounds);
        }
        bulk.charge(len.into())?;
        let vals: Vec<u64> = s[src_at as usize..(src_at + len) as usize]
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .collect();
        for (c, v) in d[dst as usize..].iter().zip(vals) {
            if !std::ptr::eq(self, src) {
                self.holders.note(v);
            }
            c.store(v, Ordering::Release);
        }
        Ok(())
    }

    /// `table.init`: copies `items[src..src+len]` to `dst`, metered by `bulk`.
    ///
    /// # Safety
    /// In a funcref table every item is 0 or the address of a live function slot
    /// of this table's engine: a reference wasm code of the engine computed, or a
    /// [`crate::Func`]'s cell. Cells are pointers the table's readers dereference.
    pub unsafe fn init(
        &self,
        dst: u32,
        items: &[u64],
        src: u32,
        len: u32,
        bulk: Bulk<'_>,
    ) -> Result<(), TrapCode> {
        let oob = TrapCode::TableOutOfBounds;
        if src as u64 + len as u64 > items.len() as u64 {
            return Err(oob);
        }
        let _w = self.lock();
        let guard = pin();
        let d = self.read(&guard);
        if dst as u64 + len as u64 > d.len() as u64 {
            return Err(oob);
        }
        bulk.charge(len.into())?;
        for (c, v) in d[dst as usize..]
            .iter()
            .zip(&items[src as usize..(src + len) as usize])
        {
            self.holders.note(*v);
            c.store(*v, Ordering::Release);
        }
        Ok(())
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no reader can hold the table; the current array is owned
        // by it alone (replaced ones went to the collector).
        unsafe {
            let guard = crossbeam_epoch::unprotected();
            drop(self.elems.load(Ordering::Relaxed, guard).into_owned());
        }
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("ty", &self.ty()).finish()
    }
}

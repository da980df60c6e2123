//! Globals. The value is one cell (see [`crate::val`]) in an atomic, so instances on
//! several threads may read and write it without a lock.

use crate::exclusive::EntryLock;
use crate::holders::Holders;
use crate::instance::Instance;
use crate::types::GlobalType;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

pub struct Global {
    ty: GlobalType,
    value: AtomicU64,
    /// Instances of foreign functions stored here (see `holders.rs`).
    holders: Holders,
    /// Its owner's lock (`exclusive.rs`), set when the owner is made.
    entry_lock: OnceLock<Arc<EntryLock>>,
}

impl Global {
    /// A global of `ty` holding `cell`, a valid cell of the global's engine (see
    /// [`Global::set`]).
    pub(crate) fn new(ty: GlobalType, cell: u64) -> Global {
        let g = Global {
            ty,
            value: AtomicU64::new(cell),
            holders: Holders::new(ty.ty == crate::types::ValType::FuncRef),
            entry_lock: OnceLock::new(),
        };
        g.holders.note(cell);
        g
    }
    pub fn ty(&self) -> GlobalType {
        self.ty
    }
    /// Where the value cell is, for compiled code (plain loads and stores of numbers;
    /// references go through [`Global::set`] so that holders are kept).
    pub(crate) fn value_ptr(&self) -> *const u64 {
        self.value.as_ptr()
    }
    #[inline]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
    /// Writes the value cell.
    ///
    /// # Safety
    /// For a funcref global, `cell` is 0 or the address of a live function slot of the
    /// global's engine (a reference wasm code of the engine computed, or a
    /// [`crate::Func`]'s cell): readers dereference it.
    #[inline]
    pub unsafe fn set(&self, cell: u64) {
        self.holders.note(cell);
        self.value.store(cell, Ordering::Relaxed)
    }
    /// Its owner's lock, `make`'s when it has none yet.
    pub(crate) fn entry_lock_or(&self, make: impl FnOnce() -> Arc<EntryLock>) -> &Arc<EntryLock> {
        self.entry_lock.get_or_init(make)
    }
    /// Records the instance that owns the global (its own functions need no holding).
    pub(crate) fn set_owner(&self, owner: *const crate::instance::Instance) {
        self.holders.set_owner(owner);
    }
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("ty", &self.ty)
            .field("value", &self.get())
            .finish()
    }
}

/// A host handle to a global: reads and writes it as [`Val`](crate::Val)s, and keeps the instance
/// that owns it alive (a funcref stored in it refers to that instance's functions).
#[derive(Clone)]
pub struct GlobalRef {
    global: Arc<Global>,
    owner: Arc<Instance>,
}

impl GlobalRef {
    /// A handle to `global`, exported by `owner`.
    pub fn new(global: Arc<Global>, owner: Arc<Instance>) -> GlobalRef {
        GlobalRef { global, owner }
    }
    pub fn ty(&self) -> GlobalType {
        self.global.ty()
    }
    pub fn get(&self) -> crate::Val {
        // SAFETY: a funcref stored in a global points to a slot of an instance that the
        // global's holders or owner keep alive, and we keep the owner alive.
        unsafe { crate::Val::from_cell(self.global.get(), self.global.ty().ty) }
    }
    /// Sets a mutable global; refuses immutable globals and values of the wrong type.
    pub fn set(&self, v: crate::Val) -> crate::Result<()> {
        let ty = self.global.ty();
        if !ty.mutable {
            return Err(crate::Error::argument("cannot set an immutable global"));
        }
        if v.ty() != ty.ty {
            return Err(crate::Error::argument(format!(
                "global holds {}, cannot set it to a {}",
                ty.ty,
                v.ty()
            )));
        }
        v.check_engine(self.owner.engine())?;
        // SAFETY: a value of the global's type and engine: a funcref's cell is the slot
        // of a live `Func` handle.
        unsafe { self.global.set(v.to_cell()) };
        Ok(())
    }
}

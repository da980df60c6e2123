//! Keeping alive the instances whose functions a table or global refers to.
//!
//! A function reference is the address of a slot inside its instance. When one is stored
//! into a table or global that another instance owns (an imported table, a host global),
//! that storage must keep the function's instance alive, or unloading the instance would
//! leave the reference dangling. Only such foreign references are held, and only once
//! they are actually stored: an instance that merely imports a table is not kept alive by
//! it.

use crate::instance::Instance;
use crate::slot::FuncSlot;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

pub(crate) struct Holders {
    /// Whether the storage holds function references (cells are slot addresses).
    funcref: bool,
    /// The instance that owns the storage (null until it exists, or for host storage
    /// made before its instance).
    owner: AtomicPtr<Instance>,
    held: Mutex<Vec<Arc<Instance>>>,
}

impl Holders {
    pub fn new(funcref: bool) -> Holders {
        Holders {
            funcref,
            owner: AtomicPtr::new(ptr::null_mut()),
            held: Mutex::new(Vec::new()),
        }
    }

    pub fn set_owner(&self, owner: *const Instance) {
        self.owner.store(owner as *mut Instance, Ordering::Release);
    }

    /// Called with every cell stored: keeps a foreign function's instance alive.
    #[inline]
    pub fn note(&self, cell: u64) {
        if !self.funcref || cell == 0 {
            return;
        }
        // SAFETY: a non-null cell stored into funcref storage is the address of a live
        // slot: the writer got it from its own functions, from other storage that keeps
        // it alive, or from a host handle that does.
        let owner = unsafe { (*(cell as *const FuncSlot)).owner() };
        if !ptr::eq(owner, self.owner.load(Ordering::Acquire)) {
            self.hold(owner);
        }
    }

    #[cold]
    fn hold(&self, owner: *const Instance) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.iter().any(|h| Arc::as_ptr(h) == owner) {
            return;
        }
        // SAFETY: `owner` is alive (see `note`) and instances only exist in `Arc`s, so
        // taking one more strong count is sound.
        let arc = unsafe {
            Arc::increment_strong_count(owner);
            Arc::from_raw(owner)
        };
        held.push(arc);
    }
}

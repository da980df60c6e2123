//! Globals. The value is one cell (see [`crate::val`]) in an atomic, so instances on
//! several threads may read and write it without a lock.

use crate::types::GlobalType;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct Global {
    ty: GlobalType,
    value: AtomicU64,
    /// See [`crate::table::Table`]'s holders: owners of references stored here.
    holders: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
}

impl Global {
    pub fn new(ty: GlobalType, cell: u64) -> Global {
        Global {
            ty,
            value: AtomicU64::new(cell),
            holders: Mutex::new(Vec::new()),
        }
    }
    pub fn ty(&self) -> GlobalType {
        self.ty
    }
    #[inline]
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
    #[inline]
    pub fn set(&self, cell: u64) {
        self.value.store(cell, Ordering::Relaxed)
    }
    pub fn add_holder(&self, holder: Arc<dyn Any + Send + Sync>) {
        let mut h = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        if !h.iter().any(|x| Arc::ptr_eq(x, &holder)) {
            h.push(holder);
        }
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

/// A host handle to a global: reads and writes it as [`Val`]s, and keeps the instance
/// that owns it alive (a funcref stored in it refers to that instance's functions).
#[derive(Clone)]
pub struct GlobalRef {
    global: Arc<Global>,
    _owner: Arc<dyn Any + Send + Sync>,
}

impl GlobalRef {
    pub fn new(global: Arc<Global>, owner: Arc<dyn Any + Send + Sync>) -> GlobalRef {
        GlobalRef {
            global,
            _owner: owner,
        }
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
        if let crate::Val::FuncRef(Some(f)) = &v {
            self.global.add_holder(f.owner().clone());
        }
        self.global.set(v.to_cell());
        Ok(())
    }
}

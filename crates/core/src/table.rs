//! Tables of references. Elements are stored as cells (see [`crate::val`]): a function
//! reference is the address of a [`crate::slot::FuncSlot`], 0 is null.

use crate::slot::FuncSlot;
use crate::trap::{Trap, TrapCode};
use crate::types::TableType;
use std::any::Any;
use std::sync::{Arc, Mutex, RwLock};

/// Most elements a table may have; larger tables are refused (as wasmtime does).
pub const MAX_TABLE_ELEMS: u32 = 10_000_000;

pub struct Table {
    ty: TableType,
    elems: RwLock<Vec<u64>>,
    /// Instances whose functions may be stored here although they do not own the table
    /// (modules that import it, host handles that were stored): kept alive with it, so a
    /// stored reference never dangles.
    holders: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
}

impl Table {
    pub fn new(ty: TableType, init: u64) -> Result<Table, crate::Error> {
        if ty.min > MAX_TABLE_ELEMS {
            return Err(crate::Error::resource(format!(
                "table of {} elements is larger than the limit of {MAX_TABLE_ELEMS}",
                ty.min
            )));
        }
        Ok(Table {
            ty,
            elems: RwLock::new(vec![init; ty.min as usize]),
            holders: Mutex::new(Vec::new()),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<u64>> {
        self.elems.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<u64>> {
        self.elems.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn ty(&self) -> TableType {
        TableType {
            min: self.size(),
            ..self.ty
        }
    }

    pub fn size(&self) -> u32 {
        self.read().len() as u32
    }

    /// Keeps `holder` alive as long as this table.
    pub fn add_holder(&self, holder: Arc<dyn Any + Send + Sync>) {
        let mut h = self.holders.lock().unwrap_or_else(|e| e.into_inner());
        if !h.iter().any(|x| Arc::ptr_eq(x, &holder)) {
            h.push(holder);
        }
    }

    #[inline]
    pub fn get(&self, index: u32) -> Result<u64, Trap> {
        self.read()
            .get(index as usize)
            .copied()
            .ok_or(Trap::new(TrapCode::TableOutOfBounds))
    }

    /// The function stored at `index`, for `call_indirect`: "undefined element" outside
    /// the table, "uninitialized element" for null.
    #[inline]
    pub fn func_at(&self, index: u32) -> Result<&FuncSlot, Trap> {
        let cell = *self
            .read()
            .get(index as usize)
            .ok_or(Trap::new(TrapCode::UndefinedElement))?;
        if cell == 0 {
            return Err(Trap::new(TrapCode::UninitializedElement));
        }
        // SAFETY: a non-null funcref cell in a table is the address of a slot whose owner
        // is kept alive by this table's owner or holders (instances never leave a table
        // while they are stored in it), so it lives at least as long as `&self`.
        Ok(unsafe { &*(cell as *const FuncSlot) })
    }

    pub fn set(&self, index: u32, value: u64) -> Result<(), Trap> {
        match self.write().get_mut(index as usize) {
            Some(e) => {
                *e = value;
                Ok(())
            }
            None => Err(Trap::new(TrapCode::TableOutOfBounds)),
        }
    }

    /// `table.grow`: the old size, or `None` (wasm -1) when it cannot grow that far.
    pub fn grow(&self, delta: u32, init: u64) -> Option<u32> {
        let mut e = self.write();
        let old = e.len() as u32;
        let new = old.checked_add(delta)?;
        if new > self.ty.max.unwrap_or(u32::MAX) || new > MAX_TABLE_ELEMS {
            return None;
        }
        e.resize(new as usize, init);
        Some(old)
    }

    pub fn fill(&self, at: u32, value: u64, len: u32) -> Result<(), Trap> {
        let mut e = self.write();
        let end = (at as u64) + len as u64;
        if end > e.len() as u64 {
            return Err(Trap::new(TrapCode::TableOutOfBounds));
        }
        e[at as usize..end as usize].fill(value);
        Ok(())
    }

    /// `table.copy` from `src` (which may be this table) into this table.
    pub fn copy_from(&self, dst: u32, src: &Table, src_at: u32, len: u32) -> Result<(), Trap> {
        let oob = Trap::new(TrapCode::TableOutOfBounds);
        if std::ptr::eq(self, src) {
            let mut e = self.write();
            let n = e.len() as u64;
            if dst as u64 + len as u64 > n || src_at as u64 + len as u64 > n {
                return Err(oob);
            }
            e.copy_within(src_at as usize..(src_at + len) as usize, dst as usize);
            return Ok(());
        }
        let s = src.read();
        if src_at as u64 + len as u64 > s.len() as u64 {
            return Err(oob);
        }
        let mut d = self.write();
        if dst as u64 + len as u64 > d.len() as u64 {
            return Err(oob);
        }
        d[dst as usize..(dst + len) as usize]
            .copy_from_slice(&s[src_at as usize..(src_at + len) as usize]);
        Ok(())
    }

    /// `table.init`: copies `items[src..src+len]` to `dst`.
    pub fn init(&self, dst: u32, items: &[u64], src: u32, len: u32) -> Result<(), Trap> {
        let oob = Trap::new(TrapCode::TableOutOfBounds);
        if src as u64 + len as u64 > items.len() as u64 {
            return Err(oob);
        }
        let mut d = self.write();
        if dst as u64 + len as u64 > d.len() as u64 {
            return Err(oob);
        }
        d[dst as usize..(dst + len) as usize]
            .copy_from_slice(&items[src as usize..(src + len) as usize]);
        Ok(())
    }
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("ty", &self.ty()).finish()
    }
}

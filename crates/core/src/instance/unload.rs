//! Unloading an instance: from then on every call of its functions traps with
//! [`TrapCode::Unloaded`], through any path (host handles, importers, tables,
//! forwarded slots), and once no call that started before can still be running its code,
//! the older instances that forwarded to it stop keeping it alive. That last edge is
//! what an import cycle after a `Fresh` update closes (old -> new -> importer -> old),
//! so unloading the modules of a cycle frees them all.
//!
//! Handles kept past the unload keep the instance's memory, tables and globals usable:
//! those are data. Only its code stops.

use super::Instance;
use crate::error::Result;
use crate::slot::{FuncCode, FuncEntry, FuncSlot, WasmCode, WasmCodeRef};
use crate::trap::{Trap, TrapCode};
use hashbrown::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The code of every function of an unloaded instance.
struct UnloadedCode;

// SAFETY: no native entry point of its own; `call` touches nothing.
unsafe impl WasmCode for UnloadedCode {
    unsafe fn call(&self, _: &FuncEntry, _: &mut [u64]) -> Result<(), Trap> {
        Err(Trap::new(TrapCode::Unloaded))
    }
}

impl Instance {
    /// Unloads the instance (see the module docs); the registry does this when no name
    /// refers to it any more. Idempotent. An error (changing nothing) only when the
    /// engine cannot make a native stub for one of its function types.
    pub fn unload(&self) -> Result<()> {
        if self.unloaded.load(Ordering::Acquire) {
            return Ok(());
        }
        let code: WasmCodeRef = Arc::new(UnloadedCode);
        let code = FuncCode::Wasm(code);
        let guard = crate::slot::pin();
        // Native entry points first, per type: a failure then changes nothing. (Slots
        // forwarding to ours have the types of ours: `forward_to` checks.)
        let mut natives = HashMap::new();
        for slot in self.slots.iter() {
            let ty = &slot.entry(&guard).ty;
            if !natives.contains_key(ty) {
                natives.insert(ty.clone(), self.engine.native_entry(&code, ty)?);
            }
        }
        if self.unloaded.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Whether it installed the trapping entry (not where the type has no native entry
        // point, which cannot happen: such a slot would keep us alive).
        let install = |slot: &FuncSlot, owner: &Instance| {
            let old = slot.entry(&guard);
            let Some(&native) = natives.get(&old.ty) else {
                return false;
            };
            // SAFETY: the entry runs in `owner`, the slot's own instance, alive as long as
            // the slot; `native` is the engine's choice for this code and type.
            let entry = unsafe {
                FuncEntry::new(
                    old.sig,
                    old.ty.clone(),
                    owner,
                    old.index,
                    code.clone(),
                    native,
                )
            };
            slot.install(entry);
            true
        };
        for slot in self.slots.iter() {
            install(slot, self);
        }
        self.forwarding.unload(self, install);
        Ok(())
    }

    /// Whether [`Instance::unload`] ran.
    pub fn is_unloaded(&self) -> bool {
        self.unloaded.load(Ordering::Acquire)
    }
}

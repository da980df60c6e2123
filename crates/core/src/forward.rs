//! Forwarding, the slot mechanism across instances: after a `Fresh` module update, the
//! slots of the old instance that others import run the new instance's functions, and
//! keep doing so when the new functions are patched later.
//!
//! The rule: a slot that forwards to function `i` of instance `new` is an *alias* of
//! `new`'s slot `i`; every install into that slot is repeated into its aliases, with the
//! same entry (code and instance are `new`'s). The old instance keeps `new` alive; an
//! alias holds its own instance weakly and is skipped once that instance is gone.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::slot::{FuncEntry, FuncSlot, SlotUpdate};
use hashbrown::HashMap;
use std::sync::{Arc, Mutex, Weak};

/// An instance's side of forwarding.
#[derive(Default)]
pub(crate) struct Forwarding {
    /// Slots of other (older) instances that forward to our functions, by function
    /// index: an install here is repeated there.
    aliases: Mutex<HashMap<u32, Vec<Alias>>>,
    /// Instances whose code runs in our slots (a newer version we forward to).
    keep_alive: Mutex<Vec<Arc<Instance>>>,
}

/// A slot of another instance that forwards to one of ours.
#[derive(Clone)]
struct Alias {
    owner: Weak<Instance>,
    slot: *const FuncSlot,
}
// SAFETY: slots are Sync, and `slot` is only dereferenced while `owner` is upgraded.
unsafe impl Send for Alias {}
// SAFETY: as above.
unsafe impl Sync for Alias {}

impl Alias {
    /// Installs an entry built by `make` over the code `replaced` if the owner is still
    /// alive (a tier's install, see `Instance::install_code_replacing`).
    fn install_over(&self, make: impl FnOnce() -> FuncEntry, replaced: *const ()) {
        if let Some(_owner) = self.owner.upgrade() {
            // SAFETY: the slot lives inside `owner`, which we hold for the duration.
            let slot = unsafe { &*self.slot };
            slot.install_if_code(replaced, make());
        }
    }
}

impl Forwarding {
    /// Repeats a tier's install into our function `index`'s slot in every slot
    /// forwarding to it (see `Instance::install_code_replacing`).
    pub(crate) fn repeat_install(
        &self,
        index: u32,
        make: impl Fn() -> FuncEntry,
        replaced: *const (),
    ) {
        let mut aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = aliases.get_mut(&index) {
            list.retain(|a| a.owner.strong_count() > 0);
            for a in list.iter() {
                a.install_over(&make, replaced);
            }
        }
    }

    /// The live slots forwarding to our function `index`, with their instances (which
    /// keep the slots alive): where a patch of it installs too.
    pub(crate) fn aliases_of(&self, index: u32) -> Vec<(Arc<Instance>, *const FuncSlot)> {
        let aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        aliases
            .get(&index)
            .into_iter()
            .flatten()
            .filter_map(|a| Some((a.owner.upgrade()?, a.slot)))
            .collect()
    }
}

impl Forwarding {
    /// For `me`, being unloaded (`instance/unload.rs`): runs `install` on every slot that
    /// forwards to its functions, with that slot's instance, and forgets them; once no
    /// call that started before can still be in `me`'s code, their instances stop
    /// keeping `me` alive.
    pub(crate) fn unload(&self, me: &Instance, install: impl Fn(&FuncSlot, &Instance) -> bool) {
        let aliases = std::mem::take(&mut *self.aliases.lock().unwrap_or_else(|e| e.into_inner()));
        let mut owners: Vec<Weak<Instance>> = Vec::new();
        let mut keep: Vec<Weak<Instance>> = Vec::new();
        for a in aliases.values().flatten() {
            if let Some(owner) = a.owner.upgrade() {
                // SAFETY: the slot lives inside `owner`, which we hold.
                if !install(unsafe { &*a.slot }, &owner) {
                    // It may still run our code: it keeps us alive.
                    keep.push(a.owner.clone());
                } else if !owners.iter().any(|o| o.ptr_eq(&a.owner)) {
                    owners.push(a.owner.clone());
                }
            }
        }
        owners.retain(|o| !keep.iter().any(|k| k.ptr_eq(o)));
        if owners.is_empty() {
            return;
        }
        // Only compared, never dereferenced: `me` is alive until the closure drops the
        // references that keep it so.
        let me = me as *const Instance as usize;
        let guard = crate::slot::pin();
        guard.defer(move || {
            for owner in owners.iter().filter_map(Weak::upgrade) {
                owner
                    .forwarding()
                    .keep_alive
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|k| Arc::as_ptr(k) as usize != me);
            }
        });
        guard.flush();
    }
}

impl Instance {
    #[doc(hidden)]
    /// Makes each function `old_index` of `old` (slots others import) run function
    /// `new_index` of `new`, for every pair `(old_index, new_index)` of `pairs`, all in
    /// one step (`slot/update.rs`), and go on doing so after later patches of `new`'s
    /// functions. `old` keeps `new` alive. Types must be equal; everything is checked
    /// before anything changes.
    pub fn forward_to(
        old: &Arc<Instance>,
        new: &Arc<Instance>,
        pairs: &[(u32, u32)],
    ) -> Result<()> {
        if !old.engine().same(new.engine()) {
            return Err(Error::registry(
                "forwarding needs instances of the same engine",
            ));
        }
        let guard = crate::slot::pin();
        let mut stubs = Vec::with_capacity(pairs.len());
        for &(old_index, new_index) in pairs {
            if !old.defines_func(old_index) || !new.defines_func(new_index) {
                return Err(Error::registry(
                    "forwarding needs functions defined by both instances",
                ));
            }
            let old_entry = old.func_slot(old_index).entry(&guard);
            let new_entry = new.func_slot(new_index).entry(&guard);
            if old_entry.sig != new_entry.sig {
                return Err(Error::registry(format!(
                    "cannot forward a function of type {} to one of type {}",
                    old_entry.ty, new_entry.ty
                )));
            }
            stubs.push(new.engine().native_stub(&new_entry.ty)?);
        }
        {
            let fw = old.forwarding();
            let mut keep = fw.keep_alive.lock().unwrap_or_else(|e| e.into_inner());
            if !keep.iter().any(|k| Arc::ptr_eq(k, new)) {
                keep.push(new.clone());
            }
        }
        let mut update = SlotUpdate::new();
        for (&(old_index, new_index), stub) in pairs.iter().zip(stubs) {
            let old_slot = old.func_slot(old_index);
            let new_entry = new.func_slot(new_index).entry(&guard).settled();
            // Slots that forwarded to the old function now forward to the new one too.
            let mut moved = old
                .forwarding()
                .aliases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&old_index)
                .cloned()
                .unwrap_or_default();
            moved.push(Alias {
                owner: Arc::downgrade(old),
                slot: old_slot as *const FuncSlot,
            });
            // SAFETY: `new` is kept alive by `old` (just above), and transitively by the
            // owners of the moved aliases, which keep `old` alive; the native entry point
            // is the one `new`'s engine chose for this code and type.
            let entry = unsafe {
                FuncEntry::new(
                    new_entry.sig,
                    new_entry.ty.clone(),
                    Arc::as_ptr(new),
                    new_index,
                    new_entry.code.clone(),
                    new_entry.native(),
                )
            };
            for a in &moved {
                if let Some(owner) = a.owner.upgrade() {
                    // SAFETY: the alias slot lies in `owner` and has the function's type
                    // (checked above for `old`'s, by earlier forwards for the others);
                    // the entry's instance outlives it (see above); `stub` is the type's.
                    unsafe { update.stage(&owner, &*a.slot, entry.duplicate(), stub) };
                }
            }
            new.forwarding()
                .aliases
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(new_index)
                .or_default()
                .extend(moved);
        }
        update.commit();
        Ok(())
    }
}

//! Installs into several slots that become visible in one step: a module update swaps
//! many functions (in every thread's instance, and in the slots that forward to them),
//! and no call may see half of it.
//!
//! **The rule.** Once any call runs code of an update, every call that starts later runs
//! the update's code in every slot it installs into. A call already running may still
//! reach the new code at its next call (so a running main loop picks up an update), and
//! may have started in the old code: a caller of the old version can call a callee of
//! the new one, never the reverse.
//!
//! **How.** [`SlotUpdate::commit`] first gives each slot a *switching* entry, which runs
//! the slot's old entry until the update's one flag is set and its new entry after (a
//! call of it goes through its type's native stub, as a call of interpreted code does).
//! Once every slot switches, one store sets the flag: that store is the step. Then each
//! slot gets its new entry itself, which runs what the switching entry runs by then.
//! Calls outside an update pay nothing (the entries they read are plain ones); during
//! one, calls of the functions being updated take the stub's slower path.

use super::{pin, FuncCode, FuncEntry, FuncSlot, WasmCode};
use crate::instance::Instance;
use crate::trap::Trap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Entries to install into slots in one step (see the module docs).
#[derive(Default)]
pub struct SlotUpdate {
    staged: Vec<Staged>,
    /// The instances whose slots are staged, alive until the commit is done.
    keep: Vec<Arc<Instance>>,
}

struct Staged {
    slot: *const FuncSlot,
    entry: FuncEntry,
    /// The native stub of the entry's type (null without compiled tiers): the native
    /// entry point of the slot's switching entry.
    stub: *const u8,
}

impl SlotUpdate {
    pub fn new() -> SlotUpdate {
        SlotUpdate::default()
    }

    /// Adds `entry`, to be installed into `slot` of instance `owner`.
    ///
    /// # Safety
    /// `slot` lies in `owner` (its own slots); `entry` may be installed in it (see
    /// [`FuncEntry::new`]: its instance outlives the slot) and has the type of the
    /// slot's current entry; `stub` is the engine's native stub for that type (see
    /// `Engine::native_stub`).
    pub unsafe fn stage(
        &mut self,
        owner: &Arc<Instance>,
        slot: &FuncSlot,
        entry: FuncEntry,
        stub: *const u8,
    ) {
        if !self.keep.iter().any(|k| Arc::ptr_eq(k, owner)) {
            self.keep.push(owner.clone());
        }
        self.staged.push(Staged { slot, entry, stub });
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.staged.is_empty()
    }

    /// Installs every staged entry, all visible in one step (see the module docs).
    pub fn commit(self) {
        let switched = Arc::new(AtomicBool::new(false));
        let guard = pin();
        let slot = |s: &Staged| {
            // SAFETY: each slot lies in an instance of `self.keep`, alive until this
            // returns.
            unsafe { &*s.slot }
        };
        let mut switching = Vec::with_capacity(self.staged.len());
        for s in &self.staged {
            let slot = slot(s);
            // Another install (a tier's) may come between the read and the swap.
            loop {
                let current = slot.entry(&guard);
                // SAFETY: both entries may be installed in this slot (the current one
                // is, the new one by `stage`'s contract), and the switching entry holds
                // them in it.
                let (old, new) = unsafe { (current.duplicate(), s.entry.duplicate()) };
                let code: Arc<dyn WasmCode> = Arc::new(Switching {
                    old,
                    new,
                    switched: switched.clone(),
                });
                // SAFETY: it runs in the current entry's instance, which outlives the slot;
                // the stub is its type's (`stage`'s contract), and `Switching` has no
                // native entry of its own.
                let entry = unsafe {
                    FuncEntry::new(
                        current.sig,
                        current.ty.clone(),
                        current.instance,
                        current.index,
                        FuncCode::Wasm(code),
                        s.stub,
                    )
                };
                if let Ok(installed) = slot.replace(current, entry) {
                    switching.push(installed);
                    break;
                }
            }
        }
        // The step.
        switched.store(true, Ordering::SeqCst);
        for (s, sw) in self.staged.into_iter().zip(switching) {
            // Where an install came after the switching entry (only an unserialized
            // patch can), that newer code stays.
            let _ = slot(&s).replace(sw, s.entry);
        }
        drop(guard);
    }
}

/// The code of a slot's entry during an update: the old entry's until the update's
/// step, the new one's after it.
struct Switching {
    old: FuncEntry,
    new: FuncEntry,
    switched: Arc<AtomicBool>,
}

impl Switching {
    fn current(&self) -> &FuncEntry {
        if self.switched.load(Ordering::Acquire) {
            &self.new
        } else {
            &self.old
        }
    }
}

// SAFETY: no native entry point of its own (callers reach it through its type's stub);
// `call` runs one of the entries it holds, with the caller's cells.
unsafe impl WasmCode for Switching {
    unsafe fn call(&self, _entry: &FuncEntry, cells: &mut [u64]) -> Result<(), Trap> {
        let e = self.current();
        match &e.code {
            // SAFETY: `e` runs its own code; both entries have the switching entry's type
            // (`SlotUpdate::stage`'s contract), for which the caller sized `cells`.
            FuncCode::Wasm(code) => unsafe { code.call(e, cells) },
            FuncCode::Host(h) => h.call_cells(e.instance(), cells),
        }
    }
}

impl FuncEntry {
    /// The entry that runs when this one is called: itself, or for a slot in the middle
    /// of an update (see `update.rs`), the old or new entry that it runs now. For code
    /// that copies entries elsewhere (a thread's new instance).
    pub fn settled(&self) -> &FuncEntry {
        match self.code_as::<Switching>() {
            Some(s) => s.current().settled(),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Limits;
    use crate::host::HostModule;
    use crate::types::{FuncType, ValType};
    use std::sync::atomic::AtomicU32;

    /// Code that returns its version.
    struct Version(u32);
    // SAFETY: no native entry point; `call` writes one result cell.
    unsafe impl WasmCode for Version {
        unsafe fn call(&self, _: &FuncEntry, cells: &mut [u64]) -> Result<(), Trap> {
            cells[0] = u64::from(self.0);
            Ok(())
        }
    }

    /// Calls the function in `slot`.
    fn call(slot: &FuncSlot) -> u32 {
        let guard = pin();
        let entry = slot.entry(&guard);
        let mut cells = [0u64];
        match &entry.code {
            // SAFETY: the entry runs its own code; one cell holds the i32 result.
            FuncCode::Wasm(c) => unsafe { c.call(entry, &mut cells) }.unwrap(),
            FuncCode::Host(_) => panic!("the host function was not replaced"),
        }
        cells[0] as u32
    }

    /// Functions of the fixture: a reader calls the first and then the last, which an
    /// update installs first and last.
    const FUNCS: u32 = 64;
    const LAST: u32 = FUNCS - 1;

    /// An instance of `FUNCS` functions (the slots), and version `k` of all.
    struct Fixture {
        inst: Arc<Instance>,
    }

    impl Fixture {
        fn new() -> Fixture {
            let engine = crate::engine::test_engine(Limits::default());
            let ty = FuncType::new([], [ValType::I32]);
            let host = (0..FUNCS).fold(HostModule::new(), |h, i| {
                h.func(&format!("f{i}"), ty.clone(), |_, _, _| Ok(()))
            });
            Fixture {
                inst: Instance::new_host(&engine, "h", &host).unwrap(),
            }
        }

        fn slot(&self, index: u32) -> &FuncSlot {
            self.inst.func_slot(index)
        }

        /// Every function at version `k`, in one step.
        fn update(&self, k: u32) {
            let mut update = SlotUpdate::new();
            for index in 0..FUNCS {
                let guard = pin();
                let old = self.slot(index).entry(&guard);
                // SAFETY: the instance owns the slot and outlives it; the code has the
                // slot's type; the engine has no native stubs (null).
                unsafe {
                    let entry = FuncEntry::new(
                        old.sig,
                        old.ty.clone(),
                        Arc::as_ptr(&self.inst),
                        index,
                        FuncCode::Wasm(Arc::new(Version(k))),
                        std::ptr::null(),
                    );
                    update.stage(&self.inst, self.slot(index), entry, std::ptr::null());
                }
            }
            update.commit();
        }
    }

    #[test]
    fn a_commit_leaves_plain_entries() {
        let f = Fixture::new();
        assert!(SlotUpdate::new().is_empty());
        f.update(1);
        let guard = pin();
        for index in 0..FUNCS {
            let entry = f.slot(index).entry(&guard);
            assert!(
                entry.code_as::<Version>().is_some(),
                "no switching entry left"
            );
            assert!(std::ptr::eq(entry.settled(), entry));
            assert_eq!(call(f.slot(index)), 1);
        }
    }

    /// Readers call the first function and then the last (as a caller and its callee)
    /// while all are updated through many versions: the last is never older than the
    /// first, and no call is older than a version another call has shown.
    const VERSIONS: u32 = 5000;

    #[test]
    fn an_update_is_seen_whole_or_not_at_all() {
        let f = Fixture::new();
        f.update(1);
        let newest = AtomicU32::new(0);
        let done = AtomicBool::new(false);
        let torn = std::thread::scope(|s| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut torn = 0;
                        while !done.load(Ordering::Acquire) {
                            let floor = newest.load(Ordering::SeqCst);
                            let a = call(f.slot(0));
                            let b = call(f.slot(LAST));
                            if b < a || a < floor {
                                torn += 1;
                            }
                            newest.fetch_max(b, Ordering::SeqCst);
                        }
                        torn
                    })
                })
                .collect();
            for k in 2..VERSIONS {
                f.update(k);
            }
            done.store(true, Ordering::Release);
            readers.into_iter().map(|r| r.join().unwrap()).sum::<u32>()
        });
        assert_eq!(torn, 0, "calls that saw half an update");
        let last = VERSIONS - 1;
        assert_eq!((call(f.slot(0)), call(f.slot(LAST))), (last, last));
    }
}

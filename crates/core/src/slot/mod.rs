//! The function-slot table: every call of a wasm or host function goes through a
//! [`FuncSlot`]. A slot is one atomically read pointer to an immutable [`FuncEntry`] that
//! says how to run the function. Replacing a function is one atomic store of a new entry;
//! a call that already loaded the old entry finishes with it.
//!
//! Reading a slot needs a [`Guard`] (an epoch pin, `crossbeam-epoch`): every host->wasm
//! call holds one for its whole duration. An entry replaced in a slot is freed only once
//! every guard that existed at the replacement is gone, so no call can be inside freed
//! code, and the call path takes no lock.
//!
//! Installs into several slots that must become visible together (a module update) go
//! through a [`SlotUpdate`] (`update.rs`).

mod update;

pub use update::SlotUpdate;

use crate::host::HostFunc;
use crate::instance::Instance;
use crate::trap::Trap;
use crate::types::{FuncType, SigId};
use std::any::{Any, TypeId};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;

pub use crossbeam_epoch::{pin, Guard};

/// Frees, as far as no call still running can see them, what replaced entries and
/// unloaded instances left to the epoch collector, now rather than on later calls: the
/// collector needs the epoch to advance twice, which each flush tries.
pub fn collect() {
    for _ in 0..3 {
        pin().flush();
    }
}

/// Compiled code of one wasm function, as one execution tier made it.
///
/// # Safety
/// Implementations promise that [`WasmCode::native_entry`], when not null, is machine
/// code following the native calling convention of the compiled tiers
/// (`crates/jit/src/abi.rs`) for the type of every entry the code is installed in, that
/// it stays valid as long as the value lives, and that it reads the entry it is called
/// with only at [`FuncEntry`]'s published offsets.
pub unsafe trait WasmCode: Any + Send + Sync {
    /// Runs the function described by `entry`. On entry `cells[..params]` hold the
    /// arguments; on success `cells[..results]` hold the results.
    ///
    /// # Safety
    /// `entry` runs this code: its code is `self`, or a placeholder standing for `self`
    /// (the same function of the same module, as lazy compilation installs). `cells`
    /// has room for `max(params, results)` values of `entry.ty`, and the arguments are
    /// values of the parameter types (a funcref is 0 or a live slot's address).
    unsafe fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> Result<(), Trap>;

    /// The machine-code entry point of compiled code, called with the native calling
    /// convention of the compiled tiers (`crates/jit/src/abi.rs`): `(entry, thread ctx,
    /// stack budget left, params...) -> results`. Null (the default) for code that only runs
    /// through [`WasmCode::call`]; its entries then get their type's native stub from
    /// the engine (see [`NativeStubs`]), through which compiled callers reach `call`.
    fn native_entry(&self) -> *const u8 {
        ptr::null()
    }
}

/// Shared compiled code.
pub type WasmCodeRef = Arc<dyn WasmCode>;

/// Native entry points for functions whose code has none of its own (interpreted and
/// host functions): one stub per function type, which spills the native arguments to
/// cells and calls the entry's [`WasmCode::call`] or host function. An engine with a
/// compiled tier has one (the Cranelift tiers compile them, an AOT loader may map them
/// from a file), so compiled code calls every entry the same way: load its native entry
/// point, call it. An engine without compiled tiers has none and compiles nothing.
///
/// # Safety
/// A stub returned for `ty` is machine code following the native calling convention for
/// functions of type `ty`, valid as long as the implementation lives.
pub unsafe trait NativeStubs: Send + Sync {
    /// The stub for functions of type `ty` (made on first use); an error when it cannot
    /// be made, never a null pointer.
    fn native_stub(&self, ty: &FuncType) -> crate::Result<*const u8>;

    /// The implementation, for a tier that adds stubs of its own to it (an AOT loader
    /// hands over the stubs a file brings).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// How a function runs.
#[derive(Clone)]
pub enum FuncCode {
    Wasm(Arc<dyn WasmCode>),
    Host(Arc<HostFunc>),
}

/// What a slot points to: everything needed to call a function. Immutable once built.
///
/// `repr(C)`: compiled code reads `native`, `vmctx` and `sig` at the offsets below.
#[repr(C)]
pub struct FuncEntry {
    /// Native entry point: of compiled code, or its type's stub (see [`NativeStubs`]);
    /// null in an engine without compiled tiers, where no compiled code can call it.
    native: *const u8,
    /// The instance's context words (see `vmctx.rs`), for compiled code.
    vmctx: *const u64,
    /// Canonical type id, compared by `call_indirect`.
    pub sig: SigId,
    pub ty: FuncType,
    /// The instance the code runs in (its memories, globals, tables, function space).
    instance: *const Instance,
    /// Index of the function in its module's function index space.
    pub index: u32,
    pub code: FuncCode,
    /// The concrete type of `FuncCode::Wasm` code, so a tier can recognise its own code
    /// with one comparison (see [`FuncEntry::code_as`]).
    code_type: Option<TypeId>,
    /// Where that code's value is (the `Arc`'s data), precomputed: finding it through the
    /// trait object would read the vtable on every call.
    code_data: *const (),
}

// SAFETY: `instance` is only dereferenced through `FuncEntry::instance`, whose validity is
// guaranteed by whoever installs the entry (see `FuncSlot::install`); `Instance` is Sync.
unsafe impl Send for FuncEntry {}
// SAFETY: as for Send; the entry is immutable.
unsafe impl Sync for FuncEntry {}

impl FuncEntry {
    pub const NATIVE_OFFSET: i32 = std::mem::offset_of!(FuncEntry, native) as i32;
    pub const VMCTX_OFFSET: i32 = std::mem::offset_of!(FuncEntry, vmctx) as i32;
    pub const SIG_OFFSET: i32 = std::mem::offset_of!(FuncEntry, sig) as i32;

    /// # Safety
    /// `instance` must stay alive as long as any slot this entry is installed in.
    /// `native` is the code's own native entry point, or a native stub for `ty` (see
    /// [`NativeStubs`]) that lives as long as the entry, or null when no compiled code
    /// can reach the entry (its engine has no compiled tier): `Engine::native_entry`
    /// chooses it.
    pub unsafe fn new(
        sig: SigId,
        ty: FuncType,
        instance: *const Instance,
        index: u32,
        code: FuncCode,
        native: *const u8,
    ) -> FuncEntry {
        let (code_type, code_data) = match &code {
            FuncCode::Wasm(c) => (Some((**c).type_id()), Arc::as_ptr(c) as *const ()),
            FuncCode::Host(_) => (None, ptr::null()),
        };
        let vmctx = if instance.is_null() {
            ptr::null()
        } else {
            // SAFETY: the caller guarantees a non-null `instance` is alive.
            unsafe { (*instance).vmctx_ptr() }
        };
        FuncEntry {
            native,
            vmctx,
            sig,
            ty,
            instance,
            index,
            code,
            code_type,
            code_data,
        }
    }

    /// A copy of the entry, to install in another slot or to keep beside this one.
    ///
    /// # Safety
    /// As for [`FuncEntry::new`]: the instance outlives every slot the copy goes into.
    pub(crate) unsafe fn duplicate(&self) -> FuncEntry {
        // SAFETY: the fields of a valid entry; the caller vouches for the new slot.
        unsafe {
            FuncEntry::new(
                self.sig,
                self.ty.clone(),
                self.instance,
                self.index,
                self.code.clone(),
                self.native,
            )
        }
    }

    /// The entry's wasm code as `T`, when it is a `T` (a tier's fast path for calls into
    /// its own code).
    #[inline(always)]
    pub fn code_as<T: WasmCode>(&self) -> Option<&T> {
        if self.code_type == Some(TypeId::of::<T>()) {
            // SAFETY: `code_type` is the `TypeId` of the concrete type of the code (taken
            // through `Any`, which cannot be overridden) and `code_data` points to that
            // value inside the `Arc` the entry holds in `code`, so it is a live `T`.
            Some(unsafe { &*(self.code_data as *const T) })
        } else {
            None
        }
    }

    /// Identifies the entry's wasm code (the address of its value; null for host code).
    pub fn code_ptr(&self) -> *const () {
        self.code_data
    }

    /// The native entry point (see the field).
    pub fn native(&self) -> *const u8 {
        self.native
    }

    /// The instance the function runs in.
    #[inline(always)]
    pub fn instance(&self) -> &Instance {
        // SAFETY: `FuncEntry::new`'s contract: the instance outlives every slot holding
        // this entry, and the entry is only reachable through such a slot (or a borrow of
        // one), so it is alive for the lifetime of `&self`.
        unsafe { &*self.instance }
    }
}

/// One function's slot. `repr(C)`: compiled code reads the entry pointer at offset 0.
#[repr(C)]
pub struct FuncSlot {
    entry: AtomicPtr<FuncEntry>,
    owner: AtomicPtr<Instance>,
}

/// A replaced entry on its way to being freed by the epoch collector.
struct Retired(*mut FuncEntry);
// SAFETY: the entry is exclusively owned by the deferred destructor; `FuncEntry` is Send.
unsafe impl Send for Retired {}

// SAFETY: the raw pointers are owned boxes (entries) or the owning instance, which is
// Sync; all mutation is atomic or under the mutex.
unsafe impl Send for FuncSlot {}
// SAFETY: as above.
unsafe impl Sync for FuncSlot {}

impl FuncSlot {
    /// A slot with no entry yet; [`FuncSlot::init`] must run before it is published.
    pub fn empty() -> FuncSlot {
        FuncSlot {
            entry: AtomicPtr::new(ptr::null_mut()),
            owner: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Sets the owning instance and the first entry, before the slot is reachable.
    pub fn init(&self, owner: *const Instance, entry: FuncEntry) {
        self.owner.store(owner as *mut Instance, Ordering::Release);
        let old = self
            .entry
            .swap(Box::into_raw(Box::new(entry)), Ordering::AcqRel);
        debug_assert!(old.is_null());
    }

    /// The current entry, valid while `guard` (and the slot) lives.
    #[inline(always)]
    pub fn entry<'g>(&'g self, _guard: &'g Guard) -> &'g FuncEntry {
        let p = self.entry.load(Ordering::Acquire);
        debug_assert!(!p.is_null(), "slot used before init");
        // SAFETY: slots are initialized before they are published; a replaced entry is
        // freed only after every guard pinned before its replacement is dropped (see
        // `install`), and the current one only with the slot, which `&self` keeps.
        unsafe { &*p }
    }

    /// The instance that owns this slot.
    pub fn owner(&self) -> *const Instance {
        self.owner.load(Ordering::Acquire)
    }

    /// Atomically installs `entry`; calls that start from now on run it. The old entry is
    /// freed once no call that could have read it is still running.
    pub fn install(&self, entry: FuncEntry) {
        let old = self
            .entry
            .swap(Box::into_raw(Box::new(entry)), Ordering::AcqRel);
        Self::retire(old);
    }

    /// Installs `entry` only while the current entry's code is `expected` (see
    /// [`FuncEntry::code_ptr`]); `false`, changing nothing, when another install came
    /// first (lazy compilation must not undo a patch).
    pub fn install_if_code(&self, expected: *const (), entry: FuncEntry) -> bool {
        let guard = pin();
        let cur = self.entry(&guard);
        cur.code_data == expected && self.replace(cur, entry).is_ok()
    }

    /// Installs `entry` only while the slot holds `current` (compared by address);
    /// gives `entry` back, changing nothing, when another install came first. On success,
    /// where the installed entry is.
    fn replace(
        &self,
        current: *const FuncEntry,
        entry: FuncEntry,
    ) -> Result<*const FuncEntry, FuncEntry> {
        let new = Box::into_raw(Box::new(entry));
        match self.entry.compare_exchange(
            current as *mut FuncEntry,
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(old) => {
                Self::retire(old);
                Ok(new)
            }
            // SAFETY: `new` came from `Box::into_raw` above and was never published.
            Err(_) => Err(*unsafe { Box::from_raw(new) }),
        }
    }

    fn retire(old: *mut FuncEntry) {
        if !old.is_null() {
            let retired = Retired(old);
            let guard = pin();
            // SAFETY: `old` is unreachable from the slot now; readers that loaded it did so
            // under a guard pinned before this point, and the collector runs the destructor
            // only after all of those are dropped. The Box came from `Box::into_raw`.
            unsafe {
                guard.defer_unchecked(move || {
                    let r = retired;
                    drop(Box::from_raw(r.0));
                })
            };
        }
    }

    /// The cell value of a reference to this function.
    #[inline(always)]
    pub fn as_cell(&self) -> u64 {
        self as *const FuncSlot as u64
    }
}

impl Drop for FuncSlot {
    fn drop(&mut self) {
        let cur = *self.entry.get_mut();
        if !cur.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` in `init`/`install` and is owned
            // by this slot; no call can be reading it once the slot (its instance) is gone.
            drop(unsafe { Box::from_raw(cur) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FuncType;
    use std::sync::atomic::AtomicUsize;

    static DROPPED: AtomicUsize = AtomicUsize::new(0);

    struct Code;
    // SAFETY: no native entry point.
    unsafe impl WasmCode for Code {
        unsafe fn call(&self, _: &FuncEntry, _: &mut [u64]) -> Result<(), Trap> {
            Ok(())
        }
    }
    impl Drop for Code {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn entry() -> FuncEntry {
        // SAFETY: the test never asks the entry for its instance nor calls it natively.
        unsafe {
            FuncEntry::new(
                SigId(0),
                FuncType::new([], []),
                ptr::null(),
                0,
                FuncCode::Wasm(Arc::new(Code)),
                ptr::null(),
            )
        }
    }

    #[test]
    fn replaced_entries_are_freed_once_no_guard_can_see_them() {
        let slot = FuncSlot::empty();
        slot.init(ptr::null(), entry());
        let guard = pin();
        let first = slot.entry(&guard) as *const FuncEntry;
        for _ in 0..1000 {
            slot.install(entry());
        }
        // A guard pinned before the replacements keeps the first entry alive.
        assert_eq!(DROPPED.load(Ordering::SeqCst), 0);
        // SAFETY: `guard` was pinned before `first` was replaced, so it is not freed yet.
        assert!(matches!(unsafe { &(*first).code }, FuncCode::Wasm(_)));
        drop(guard);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while DROPPED.load(Ordering::SeqCst) < 1000 && std::time::Instant::now() < deadline {
            pin().flush();
        }
        assert_eq!(
            DROPPED.load(Ordering::SeqCst),
            1000,
            "retired entries were freed"
        );
        drop(slot);
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1001);
    }
}

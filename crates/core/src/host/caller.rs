//! What a host function sees of its call: the calling instance, its module's state, and
//! the caller's memory as a slice.

use super::state::{HostState, StateGuard};
use crate::exclusive::HostBorrow;
use crate::instance::Instance;
use crate::memory::{Memory, MemoryView};
use crate::trap::{Trap, TrapCode};
use std::sync::Arc;

/// What a host function sees of its caller: the calling instance's exports (its memory,
/// for example) when it was called from wasm, and its host module's state.
pub struct Caller<'a> {
    instance: Option<&'a Instance>,
    state: Option<&'a HostState>,
}

impl<'a> Caller<'a> {
    pub(crate) fn new(instance: Option<&'a Instance>, state: Option<&'a HostState>) -> Self {
        Caller { instance, state }
    }

    /// The calling instance, when called from wasm.
    pub fn instance(&self) -> Option<&'a Instance> {
        self.instance
    }

    /// The state of the function's host module ([`super::HostModule::with_state`]),
    /// borrowed until the guard drops. Fails when the module has no state or it is not a
    /// `T`, and while this thread borrows it already. Meanwhile the thread enters no
    /// wasm (see core's `exclusive.rs`); another thread's host call waits for it.
    pub fn state<T: Send + 'static>(&self) -> Result<StateGuard<'a, T>, Trap> {
        match self.state {
            Some(state) => state.borrow(),
            None => Err(Trap::host(
                "this host function's module has no state (see HostModule::with_state)",
            )),
        }
    }

    /// The caller's exported memory named `name` (WASI uses "memory").
    pub fn exported_memory(&self, name: &str) -> Option<&'a Arc<Memory>> {
        self.instance?.exported_memory(name)
    }

    /// A view of the caller's exported memory `name`, for fast repeated access during
    /// the call (WASI's guest pointers). Refresh it after calling anything that may grow
    /// the memory.
    pub fn exported_memory_view(&self, name: &str) -> Option<MemoryView<'_>> {
        let m = self.exported_memory(name)?;
        // SAFETY: a `Caller` exists only during a host call from the caller's code, on
        // the thread that holds the caller (`exclusive.rs`); the view borrows the caller,
        // so no slice of `memory_export` is alive beside it, and it cannot outlive the
        // call (host bodies get the caller for any lifetime).
        Some(unsafe { m.view() })
    }

    /// The caller's memory exported as "memory", as a slice: see
    /// [`Caller::memory_export`].
    pub fn memory(&mut self) -> Result<CallerMemory<'_>, Trap> {
        self.memory_export("memory")
    }

    /// The caller's exported memory `name` as a byte slice, for the length of the
    /// borrow. Meanwhile the thread enters no wasm and the host's other accesses to
    /// memories fail (see core's `exclusive.rs`): nothing else reads or writes the bytes.
    pub fn memory_export(&mut self, name: &str) -> Result<CallerMemory<'_>, Trap> {
        let Some(instance) = self.instance else {
            return Err(Trap::host(
                "no caller memory: the host function was called from the host",
            ));
        };
        let Some(memory) = instance.exported_memory(name) else {
            return Err(Trap::host(format!(
                "the calling module exports no memory named `{}`",
                crate::module::escape_controls(name)
            )));
        };
        Ok(CallerMemory {
            memory,
            len: memory.len(),
            _borrow: HostBorrow::new(true),
        })
    }
}

/// A host function's borrow of its caller's memory ([`Caller::memory`]).
pub struct CallerMemory<'c> {
    memory: &'c Memory,
    /// The length when borrowed: wasm cannot grow the memory meanwhile.
    len: usize,
    _borrow: HostBorrow,
}

impl CallerMemory<'_> {
    /// The memory's bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the borrow keeps wasm and the host's other accesses away from the
        // bytes while it lives (`exclusive.rs`), and the thread holds the memory's owner;
        // the memory never shrinks or moves, so `len` bytes stay accessible.
        unsafe { self.memory.bytes(self.len) }
    }

    /// The memory's bytes, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` makes this the only slice of the borrow.
        unsafe { self.memory.bytes(self.len) }
    }

    /// Bytes in the memory.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `len` bytes at `addr`, or an out-of-bounds trap (guest pointers).
    pub fn slice(&self, addr: u32, len: u32) -> Result<&[u8], Trap> {
        let (from, to) = (addr as usize, addr as usize + len as usize);
        self.data()
            .get(from..to)
            .ok_or_else(|| Trap::new(TrapCode::MemoryOutOfBounds))
    }

    /// The `len` bytes at `addr`, writable, or an out-of-bounds trap.
    pub fn slice_mut(&mut self, addr: u32, len: u32) -> Result<&mut [u8], Trap> {
        let (from, to) = (addr as usize, addr as usize + len as usize);
        self.data_mut()
            .get_mut(from..to)
            .ok_or_else(|| Trap::new(TrapCode::MemoryOutOfBounds))
    }

    /// The UTF-8 string of `len` bytes at `addr`.
    pub fn str(&self, addr: u32, len: u32) -> Result<&str, Trap> {
        std::str::from_utf8(self.slice(addr, len)?)
            .map_err(|e| Trap::host(format!("string at {addr} is not UTF-8: {e}")))
    }
}

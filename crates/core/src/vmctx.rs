//! The instance context ("vmctx"): an array of 8-byte words that compiled code reads to
//! reach its instance's memories, globals, functions and tables without going through
//! Rust structures. Its layout depends on the module alone, so a compiler computes every
//! offset from the module ([`VmCtxLayout`]) and the same code runs in every instance.
//!
//! ```text
//! word 0                 the owning `Instance`
//! word 1                 address of the engine's epoch counter (see `meter.rs`)
//! word 2                 token of the thread holding the instance (see `exclusive.rs`)
//! per memory   (2 words) base address, address of the byte length (an AtomicUsize)
//! per global   (1 word)  address of the value cell (an AtomicU64)
//! per function (1 word)  address of the function's `FuncSlot`
//! per table    (1 word)  address of the `Table`
//! per type     (1 word)  canonical `SigId` of the module's type
//! ```
//!
//! Every word but the owner is written once, before the instance is published, and never
//! changes: memories do not move when they grow, tables publish a new element array
//! themselves.

use crate::global::Global;
use crate::instance::Instance;
use crate::memory::Memory;
use crate::meter::Epoch;
use crate::module::Module;
use crate::slot::FuncSlot;
use crate::table::Table;
use crate::types::SigId;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// What an instance's context words point to: its index spaces, complete (imports
/// first), and its canonical signature ids.
pub(crate) struct VmCtxItems<'a> {
    pub memories: &'a [Arc<Memory>],
    pub globals: &'a [Arc<Global>],
    pub funcs: &'a [*const FuncSlot],
    pub tables: &'a [Arc<Table>],
    pub sigs: &'a [SigId],
}

/// Word offsets into a module's vmctx, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmCtxLayout {
    memories: u32,
    globals: u32,
    funcs: u32,
    tables: u32,
    types: u32,
    size: u32,
}

impl VmCtxLayout {
    pub fn new(module: &Module) -> VmCtxLayout {
        let memories = 24;
        let globals = memories + 16 * module.memories.len() as u32;
        let funcs = globals + 8 * module.globals.len() as u32;
        let tables = funcs + 8 * module.funcs.len() as u32;
        let types = tables + 8 * module.tables.len() as u32;
        let size = types + 8 * module.types.len() as u32;
        VmCtxLayout {
            memories,
            globals,
            funcs,
            tables,
            types,
            size,
        }
    }

    /// Where each kind of item starts, and the size: what an AOT file records of the
    /// layout its code reads.
    pub fn offsets(&self) -> [u32; 6] {
        [
            self.memories,
            self.globals,
            self.funcs,
            self.tables,
            self.types,
            self.size,
        ]
    }

    /// Size in words.
    pub fn words(&self) -> usize {
        self.size as usize / 8
    }
    pub const fn instance(&self) -> i32 {
        0
    }
    pub const fn epoch(&self) -> i32 {
        8
    }
    /// The owner word: the token of the thread holding the instance, 0 when none.
    pub const fn owner(&self) -> i32 {
        Self::OWNER_WORD as i32 * 8
    }
    pub(crate) const OWNER_WORD: usize = 2;
    /// Offset of the owner word (see `exclusive.rs`).
    pub const OWNER_OFFSET: i32 = Self::OWNER_WORD as i32 * 8;
    /// Whether the module has memory `index`.
    pub fn has_memory(&self, index: u32) -> bool {
        self.memories + 16 * index < self.globals
    }
    pub fn memory_base(&self, index: u32) -> i32 {
        (self.memories + 16 * index) as i32
    }
    pub fn memory_len(&self, index: u32) -> i32 {
        (self.memories + 16 * index + 8) as i32
    }
    pub fn global(&self, index: u32) -> i32 {
        (self.globals + 8 * index) as i32
    }
    pub fn func_slot(&self, index: u32) -> i32 {
        (self.funcs + 8 * index) as i32
    }
    pub fn table(&self, index: u32) -> i32 {
        (self.tables + 8 * index) as i32
    }
    pub fn sig(&self, type_index: u32) -> i32 {
        (self.types + 8 * type_index) as i32
    }

    /// The context words of instance `instance`, of an engine with epoch counter `epoch`.
    pub(crate) fn fill(
        &self,
        instance: *const Instance,
        epoch: &Epoch,
        items: VmCtxItems<'_>,
    ) -> Box<[AtomicU64]> {
        let VmCtxItems {
            memories,
            globals,
            funcs,
            tables,
            sigs,
        } = items;
        let mut words = vec![0u64; self.words()].into_boxed_slice();
        let mut set = |off: i32, v: u64| words[off as usize / 8] = v;
        set(self.instance(), instance as u64);
        set(self.epoch(), epoch.as_ptr() as u64);
        for (i, m) in (0..).zip(memories) {
            set(self.memory_base(i), m.base_ptr() as u64);
            set(self.memory_len(i), m.len_ptr() as u64);
        }
        for (i, g) in (0..).zip(globals) {
            set(self.global(i), g.value_ptr() as u64);
        }
        for (i, f) in (0..).zip(funcs) {
            set(self.func_slot(i), *f as u64);
        }
        for (i, t) in (0..).zip(tables) {
            set(self.table(i), Arc::as_ptr(t) as u64);
        }
        for (i, s) in (0..).zip(sigs) {
            set(self.sig(i), s.0 as u64);
        }
        words.iter().map(|&w| AtomicU64::new(w)).collect()
    }
}

//! Host instances: a [`HostModule`]'s items as an instance, so that wasm modules import
//! from it like from any other module.

use super::Instance;
use crate::engine::Engine;
use crate::error::Result;
use crate::exclusive::EntryLock;
use crate::forward::Forwarding;
use crate::global::Global;
use crate::host::{HostItem, HostModule};
use crate::memory::Memory;
use crate::module::ExternKind;
use crate::slot::{FuncCode, FuncSlot};
use crate::table::Table;
use hashbrown::HashMap;
use std::sync::Arc;

impl Instance {
    /// Creates the instance of a host module.
    pub fn new_host(engine: &Engine, name: &str, host: &HostModule) -> Result<Arc<Instance>> {
        host.check()?;
        let mut funcs = Vec::new();
        let mut memories = Vec::new();
        let mut tables = Vec::new();
        let mut globals = Vec::new();
        let mut exports = HashMap::new();
        for (n, item) in &host.items {
            let export = match item {
                HostItem::Func(f) => {
                    funcs.push(f.clone());
                    (ExternKind::Func, funcs.len() - 1)
                }
                HostItem::Memory(ty) => {
                    memories.push(Arc::new(Memory::with_plan(*ty, engine.memory_plan())?));
                    (ExternKind::Memory, memories.len() - 1)
                }
                HostItem::Existing(m) => {
                    engine.check_imported_memory(m)?;
                    memories.push(m.clone());
                    (ExternKind::Memory, memories.len() - 1)
                }
                HostItem::Table(ty, init) => {
                    init.check_engine(engine)?;
                    tables.push(Arc::new(Table::new(*ty, init.to_cell(), None)?));
                    (ExternKind::Table, tables.len() - 1)
                }
                HostItem::Global(ty, v) => {
                    v.check_engine(engine)?;
                    globals.push(Arc::new(Global::new(*ty, v.to_cell())));
                    (ExternKind::Global, globals.len() - 1)
                }
            };
            exports.insert(n.clone(), (export.0, export.1 as u32));
        }
        // Host functions run under their caller's locks; host memories, tables and
        // mutable globals have one lock, which their importers take.
        if memories.iter().any(|m| !m.is_shared())
            || !tables.is_empty()
            || globals.iter().any(|g| g.ty().mutable)
        {
            let lock = EntryLock::new(engine.limits().contention);
            memories
                .iter()
                .for_each(|m| _ = m.entry_lock_or(|| lock.clone()));
            tables
                .iter()
                .for_each(|t| _ = t.entry_lock_or(|| lock.clone()));
            globals
                .iter()
                .filter(|g| g.ty().mutable)
                .for_each(|g| _ = g.entry_lock_or(|| lock.clone()));
        }
        let slots: Box<[FuncSlot]> = funcs.iter().map(|_| FuncSlot::empty()).collect();
        let inst = Arc::new(Instance {
            name: name.to_string(),
            engine: engine.clone(),
            module: None,
            funcs: slots.iter().map(|s| s as *const FuncSlot).collect(),
            slots,
            sigs: Vec::new().into(),
            memories: memories.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            globals: globals.into_boxed_slice(),
            elems: Box::new([]),
            data_dropped: Box::new([]),
            exports: Arc::new(exports),
            deps: Vec::new(),
            forwarding: Forwarding::default(),
            unloaded: std::sync::atomic::AtomicBool::new(false),
            _counted: None,
            mode: engine.mode(),
            vmctx: Box::new([]),
            // Never entered: its functions are the host's.
            entry_locks: Box::new([]),
            this: std::sync::Weak::new(),
            group: std::sync::OnceLock::new(),
            bodies: std::sync::Mutex::new(Box::new([])),
        });
        let ptr = Arc::as_ptr(&inst);
        for t in inst.tables.iter() {
            t.set_owner(ptr);
        }
        for g in inst.globals.iter() {
            g.set_owner(ptr);
        }
        for (i, (slot, f)) in inst.slots.iter().zip(funcs).enumerate() {
            let sig = engine.types().intern(f.ty());
            let entry = inst.new_entry(sig, f.ty().clone(), i as u32, FuncCode::Host(f))?;
            slot.init(ptr, entry);
        }
        Ok(inst)
    }
}

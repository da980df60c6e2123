//! Instances: a module's functions (as slots), memories, tables and globals, linked to
//! the instances it imports from. Host modules are instances too, made of host items
//! (`host.rs`); imports are checked against the module's declarations in `imports.rs`.

mod host;
mod imports;
mod threads;
mod unload;

use threads::ThreadGroup;

use crate::compile::CompiledModule;
use crate::engine::{Engine, Mode};
use crate::error::{Error, Result};
use crate::exclusive::{Contention, EntryLock};
use crate::forward::Forwarding;
use crate::func::Func;
use crate::global::Global;
use crate::limits::CountedInstance;
use crate::memory::Memory;
use crate::module::{ConstExpr, ConstOp, DataMode, ElemMode, ExternKind, Module};
use crate::slot::{FuncCode, FuncEntry, FuncSlot, SlotUpdate, WasmCodeRef};
use crate::table::Table;
use crate::types::{FuncType, SigId};
use crate::vmctx::{VmCtxItems, VmCtxLayout};
use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// An exported item.
#[derive(Clone, Debug)]
pub enum Extern {
    Func(Func),
    Table(Arc<Table>),
    Memory(Arc<Memory>),
    Global(Arc<Global>),
}

impl Extern {
    pub fn kind(&self) -> ExternKind {
        match self {
            Extern::Func(_) => ExternKind::Func,
            Extern::Table(_) => ExternKind::Table,
            Extern::Memory(_) => ExternKind::Memory,
            Extern::Global(_) => ExternKind::Global,
        }
    }
}

/// An import resolved by the linker: the item, and the instance that must stay alive
/// for it (the exporter).
pub struct ResolvedImport {
    pub item: Extern,
    pub owner: Arc<Instance>,
}

pub struct Instance {
    name: String,
    engine: Engine,
    module: Option<Arc<Module>>,
    /// The function index space: imported functions point into their exporter's slots.
    funcs: Box<[*const FuncSlot]>,
    /// Slots of the functions this instance defines.
    slots: Box<[FuncSlot]>,
    /// Canonical id of each type of the module's type section.
    sigs: Arc<[SigId]>,
    memories: Box<[Arc<Memory>]>,
    tables: Box<[Arc<Table>]>,
    globals: Box<[Arc<Global>]>,
    /// Element segments as cells; a dropped segment is empty.
    elems: Box<[Mutex<Arc<[u64]>>]>,
    data_dropped: Box<[AtomicBool]>,
    /// Export name -> kind and index in the instance's index space of that kind.
    exports: Arc<HashMap<String, (ExternKind, u32)>>,
    /// Instances this one imports from, kept alive by it.
    deps: Vec<Arc<Instance>>,
    /// Slots of older instances that run our functions (see `forward.rs`).
    forwarding: Forwarding,
    /// Whether it was unloaded (`unload.rs`): its functions trap.
    unloaded: AtomicBool,
    /// The execution mode the module was compiled for (patches compile with it too).
    mode: Mode,
    /// Context words for compiled code (see `vmctx.rs`); empty for host instances.
    vmctx: Box<[AtomicU64]>,
    /// The locks of every owner of state the instance reaches, its own included, in
    /// address order (see `exclusive.rs`); empty when it has no state.
    entry_locks: Box<[Arc<EntryLock>]>,
    /// The instance's place in its engine's instance count (none for host instances).
    _counted: Option<CountedInstance>,
    /// Itself, for handing out owning handles from `&self` (empty for host instances).
    this: Weak<Instance>,
    /// The instances of its program's other threads, once it has any (`threads.rs`).
    group: OnceLock<Arc<ThreadGroup>>,
    /// The digest of the body each defined function runs now ([`Module::body_digest`]
    /// as loaded, then as patched): what a patch or an update compares with.
    bodies: Mutex<Box<[u128]>>,
}

/// New code for defined function `index`, compiled from a body with digest `body`
/// (see [`Module::body_digest`]): what a patch installs ([`Instance::install_code`]).
pub struct NewCode {
    pub index: u32,
    pub code: WasmCodeRef,
    pub body: u128,
}

// SAFETY: the raw slot pointers point into `slots` of this instance or of an instance in
// `deps`, all kept alive by this instance; slots, memories, tables and globals are Sync.
unsafe impl Send for Instance {}
// SAFETY: as above; all mutable state is behind atomics or locks.
unsafe impl Sync for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("name", &self.name)
            .finish()
    }
}

fn eval_const(expr: &ConstExpr, globals: &[Arc<Global>], funcs: &[*const FuncSlot]) -> u64 {
    let mut stack: Vec<u64> = Vec::with_capacity(2);
    for op in expr.iter() {
        let v = match *op {
            ConstOp::I32(v) => v as u32 as u64,
            ConstOp::I64(v) => v as u64,
            ConstOp::F32(v) => v as u64,
            ConstOp::F64(v) => v,
            ConstOp::RefNull(_) => 0,
            ConstOp::RefFunc(i) => funcs[i as usize] as u64,
            ConstOp::GlobalGet(i) => globals[i as usize].get(),
            ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                let (b, a) = (
                    stack.pop().unwrap_or(0) as u32,
                    stack.pop().unwrap_or(0) as u32,
                );
                (match op {
                    ConstOp::I32Add => a.wrapping_add(b),
                    ConstOp::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }) as u64
            }
            ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                let (b, a) = (stack.pop().unwrap_or(0), stack.pop().unwrap_or(0));
                match op {
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
        };
        stack.push(v);
    }
    stack.pop().unwrap_or(0)
}

/// The locks of the owners of `memories`, `tables` and mutable `globals` (an instance's
/// index spaces), each once, in address order. Items without an owner (the host made
/// them alone) get a lock of their own.
fn entry_locks(
    memories: &[Arc<Memory>],
    tables: &[Arc<Table>],
    globals: &[Arc<Global>],
    contention: Contention,
) -> Box<[Arc<EntryLock>]> {
    let make = || EntryLock::new(contention);
    // Shared memories have no owner (see `exclusive.rs`).
    let mut locks: Vec<Arc<EntryLock>> = memories
        .iter()
        .filter_map(|m| m.entry_lock_or(make))
        .chain(tables.iter().map(|t| t.entry_lock_or(make)))
        .chain(
            globals
                .iter()
                .filter(|g| g.ty().mutable)
                .map(|g| g.entry_lock_or(make)),
        )
        .cloned()
        .collect();
    locks.sort_by_key(|l| Arc::as_ptr(l) as usize);
    locks.dedup_by(|a, b| Arc::ptr_eq(a, b));
    locks.into_boxed_slice()
}

impl Instance {
    /// Instantiates a compiled module: checks the resolved imports against the module's
    /// import types, creates its state, runs the active segments and the start function.
    /// A trap during segments or start is returned as an error (effects on imported
    /// memories and tables stay, as the spec says).
    pub fn instantiate(
        engine: &Engine,
        name: &str,
        compiled: &CompiledModule,
        imports: Vec<ResolvedImport>,
    ) -> Result<Arc<Instance>> {
        Self::instantiate_in(engine, name, compiled, imports, OnceLock::new())
    }

    /// [`Instance::instantiate`] as a member of `group` (a thread's instance).
    fn instantiate_in_group(
        engine: &Engine,
        name: &str,
        compiled: &CompiledModule,
        imports: Vec<ResolvedImport>,
        group: Arc<ThreadGroup>,
    ) -> Result<Arc<Instance>> {
        Self::instantiate_in(engine, name, compiled, imports, OnceLock::from(group))
    }

    fn instantiate_in(
        engine: &Engine,
        name: &str,
        compiled: &CompiledModule,
        imports: Vec<ResolvedImport>,
        group: OnceLock<Arc<ThreadGroup>>,
    ) -> Result<Arc<Instance>> {
        let module = &compiled.module;
        if compiled.mode != Mode::Interp && !compiled.prepared.engine.same(engine) {
            // Native code bakes in its engine's settings (metering, bounds checks).
            return Err(Error::registry(format!(
                "cannot instantiate `{name}`: its native code was compiled for another \
                 engine, whose settings it depends on; compile or load it with this engine"
            )));
        }
        // Looked up when the module was compiled, for its engine.
        let prepared = Some(&compiled.prepared).filter(|p| p.engine.same(engine));
        let sigs: Arc<[SigId]> = match prepared {
            Some(p) => p.sigs.clone(),
            None => module
                .types
                .iter()
                .map(|t| engine.types().intern(t))
                .collect(),
        };
        let imports::Imported {
            mut funcs,
            mut tables,
            mut memories,
            mut globals,
            deps,
        } = imports::check(engine, module, &sigs, imports)?;

        // Defined functions get fresh slots; their addresses are final already (the boxed
        // slice does not move when the instance is built around it).
        let slots: Box<[FuncSlot]> = (0..module.num_defined_funcs())
            .map(|_| FuncSlot::empty())
            .collect();
        funcs.extend(slots.iter().map(|s| s as *const FuncSlot));

        for (i, init) in module.global_inits.iter().enumerate() {
            let ty = module.globals[module.num_imported_globals as usize + i];
            let v = eval_const(init, &globals, &funcs);
            globals.push(Arc::new(Global::new(ty, v)));
        }
        // Counted in the engine's account while the instance lives (or until this
        // instantiation fails), as its tables and memories are.
        let account = engine.resources();
        let own_tables = &module.tables[module.num_imported_tables as usize..];
        let own_memories = &module.memories[module.num_imported_memories as usize..];
        let counted = account
            .instance_creating(own_tables.len() as u32, own_memories.len() as u32)
            .map_err(Error::resource)?;
        for ty in own_tables {
            tables.push(Arc::new(Table::new(*ty, 0, Some(account.clone()))?));
        }
        for ty in own_memories {
            memories.push(Arc::new(Memory::counted(
                *ty,
                engine.memory_plan(),
                account.clone(),
            )?));
        }
        let elems: Box<[Mutex<Arc<[u64]>>]> = module
            .elems
            .iter()
            .map(|seg| {
                let cells: Arc<[u64]> = seg
                    .items
                    .iter()
                    .map(|e| eval_const(e, &globals, &funcs))
                    .collect();
                Mutex::new(cells)
            })
            .collect();
        let data_dropped = module
            .datas
            .iter()
            .map(|_| AtomicBool::new(false))
            .collect();

        // One lock for the state we define; holding us means holding it and the locks
        // of the state we import.
        let defines_state = !own_tables.is_empty()
            || own_memories.iter().any(|m| !m.shared)
            || globals[module.num_imported_globals as usize..]
                .iter()
                .any(|g| g.ty().mutable);
        let contention = engine.limits().contention;
        if defines_state {
            let lock = EntryLock::new(contention);
            let n = |k: u32| k as usize;
            for m in &memories[n(module.num_imported_memories)..] {
                _ = m.entry_lock_or(|| lock.clone());
            }
            for t in &tables[n(module.num_imported_tables)..] {
                t.entry_lock_or(|| lock.clone());
            }
            for g in globals[n(module.num_imported_globals)..]
                .iter()
                .filter(|g| g.ty().mutable)
            {
                g.entry_lock_or(|| lock.clone());
            }
        }
        let entry_locks = entry_locks(&memories, &tables, &globals, contention);
        let layout = VmCtxLayout::new(module);
        let inst = Arc::new_cyclic(|me| Instance {
            entry_locks,
            mode: compiled.mode,
            vmctx: layout.fill(
                me.as_ptr(),
                engine.epoch(),
                VmCtxItems {
                    memories: &memories,
                    globals: &globals,
                    funcs: &funcs,
                    tables: &tables,
                    sigs: &sigs,
                },
            ),
            name: name.to_string(),
            engine: engine.clone(),
            module: Some(module.clone()),
            funcs: funcs.into_boxed_slice(),
            slots,
            sigs,
            memories: memories.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            globals: globals.into_boxed_slice(),
            elems,
            data_dropped,
            exports: module.exports.clone(),
            deps,
            forwarding: Forwarding::default(),
            unloaded: AtomicBool::new(false),
            _counted: Some(counted),
            this: me.clone(),
            group,
            bodies: Mutex::new(
                (module.num_imported_funcs..module.funcs.len() as u32)
                    .map(|i| module.body_digest(i))
                    .collect(),
            ),
        });
        let ptr = Arc::as_ptr(&inst);
        for (i, (slot, code)) in inst.slots.iter().zip(&compiled.code).enumerate() {
            let index = module.num_imported_funcs + i as u32;
            let t = module.funcs[index as usize] as usize;
            let code = FuncCode::Wasm(code.clone());
            let ty = module.types[t].clone();
            let native = match prepared {
                Some(p) => p.natives[i].0,
                None => engine.native_entry(&code, &ty)?,
            };
            // SAFETY: as in `new_entry`; `native` is the engine's choice for this code.
            let entry = unsafe { FuncEntry::new(inst.sigs[t], ty, ptr, index, code, native) };
            slot.init(ptr, entry);
        }
        // Storage we define holds our own functions without keeping us alive (that would
        // be a cycle); foreign storage holds us once our functions are stored in it.
        for t in &inst.tables[module.num_imported_tables as usize..] {
            t.set_owner(ptr);
        }
        for g in &inst.globals[module.num_imported_globals as usize..] {
            g.set_owner(ptr);
        }

        inst.run_initializers()?;
        Ok(inst)
    }

    /// An entry running `code` (of type `ty`, function `index` of our index space) in
    /// this instance, with its native entry point (see `Engine::native_entry`).
    fn new_entry(&self, sig: SigId, ty: FuncType, index: u32, code: FuncCode) -> Result<FuncEntry> {
        let native = self.engine.native_entry(&code, &ty)?;
        // SAFETY: the entry runs in `self`, which owns the slot it goes into and outlives
        // it (slots forwarding to ours keep `self` alive, see `forward.rs`); `native` is
        // the engine's choice for the code, kept alive by the code or the engine, which
        // `self` holds.
        Ok(unsafe { FuncEntry::new(sig, ty, self, index, code, native) })
    }

    fn run_initializers(&self) -> Result<()> {
        let module = self.module.as_ref().expect("wasm instance");
        // Segments write our state (and imported state): we hold ourselves meanwhile.
        let _call = crate::exclusive::HostCall::new(self)?;
        for (i, seg) in module.elems.iter().enumerate() {
            match &seg.mode {
                ElemMode::Active { table, offset } => {
                    let at = eval_const(offset, &self.globals, &self.funcs) as u32;
                    let items = self.elem_items(i as u32);
                    // SAFETY: the segment's cells were evaluated in this instance: null,
                    // its own functions' slots, or references read from globals of its
                    // engine.
                    unsafe {
                        self.tables[*table as usize].init(
                            at,
                            &items,
                            0,
                            items.len() as u32,
                            crate::meter::Bulk::NONE,
                        )?
                    };
                    self.drop_elem(i as u32);
                }
                ElemMode::Declared => self.drop_elem(i as u32),
                ElemMode::Passive => {}
            }
        }
        // A module with an image of memory 0 (every active segment of it, laid out)
        // maps it instead of copying them, where memory 0 is its own.
        let imaged = match &module.memory_image {
            Some(image) if module.num_imported_memories == 0 && !self.memories.is_empty() => {
                self.memories[0].map_image(image)?
            }
            _ => false,
        };
        for (i, seg) in module.datas.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                if imaged && *memory == 0 {
                    self.drop_data(i as u32);
                    continue;
                }
                let at = eval_const(offset, &self.globals, &self.funcs) as u32;
                let bytes = &module.bytes()[seg.range.clone()];
                self.memories[*memory as usize].write(at as u64, bytes)?;
                self.drop_data(i as u32);
            }
        }
        if let Some(start) = module.start {
            let guard = crate::slot::pin();
            let entry = self.func_slot(start).entry(&guard);
            match &entry.code {
                // SAFETY: the entry's own code; the start function takes and returns
                // nothing, so no cells are needed.
                FuncCode::Wasm(code) => unsafe { code.call(entry, &mut [])? },
                FuncCode::Host(h) => h.call_cells(self, &mut [])?,
            }
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    /// The execution mode the instance's module was compiled for.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The context words compiled code runs with (see `vmctx.rs`).
    pub(crate) fn vmctx_ptr(&self) -> *const u64 {
        self.vmctx.as_ptr().cast()
    }
    /// Whether the instance reaches a memory, table or mutable global: then one thread
    /// at a time runs it (see `exclusive.rs`).
    #[inline]
    pub fn has_state(&self) -> bool {
        !self.entry_locks.is_empty()
    }
    /// The locks a thread takes to hold the instance.
    pub(crate) fn entry_locks(&self) -> &[Arc<EntryLock>] {
        &self.entry_locks
    }
    /// The owner word of an instance with state (see `vmctx.rs`).
    #[inline]
    pub(crate) fn owner_word(&self) -> &AtomicU64 {
        &self.vmctx[VmCtxLayout::OWNER_WORD]
    }
    /// Another counted reference to this instance.
    pub(crate) fn arc(&self) -> Arc<Instance> {
        let ptr: *const Instance = self;
        // SAFETY: instances only exist inside `Arc`s (`instantiate` and `new_host` make
        // them so), and `self` is alive, so one more strong count is sound.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }
    #[doc(hidden)]
    /// The instance whose context words start at `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the context of a live instance (as compiled code holds it).
    pub unsafe fn from_vmctx<'a>(vmctx: *const u64) -> &'a Instance {
        // SAFETY: word 0 of a vmctx is its instance (`vmctx.rs`), alive by the contract.
        unsafe { &*(*vmctx as *const Instance) }
    }
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
    /// The module, for wasm instances (`None` for host modules).
    pub fn module(&self) -> Option<&Arc<Module>> {
        self.module.as_ref()
    }

    /// Exported item `name`.
    pub fn export(&self, name: &str) -> Option<Extern> {
        let &(kind, index) = self.exports.get(name)?;
        Some(self.item(kind, index))
    }

    /// Every export, by name.
    pub fn exports(&self) -> impl Iterator<Item = (&str, Extern)> + '_ {
        self.exports
            .iter()
            .map(|(name, &(kind, index))| (name.as_str(), self.item(kind, index)))
    }

    /// Item `index` of the index space of `kind`.
    fn item(&self, kind: ExternKind, index: u32) -> Extern {
        let i = index as usize;
        match kind {
            ExternKind::Func => Extern::Func(self.func_handle(self.funcs[i])),
            ExternKind::Table => Extern::Table(self.tables[i].clone()),
            ExternKind::Memory => Extern::Memory(self.memories[i].clone()),
            ExternKind::Global => Extern::Global(self.globals[i].clone()),
        }
    }

    /// A handle to exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.exports.get(name)? {
            &(ExternKind::Func, i) => self.func_by_index(i),
            _ => None,
        }
    }

    /// Exported memory `name`, borrowed.
    pub fn exported_memory(&self, name: &str) -> Option<&Arc<Memory>> {
        match self.exports.get(name)? {
            &(ExternKind::Memory, i) => self.memories.get(i as usize),
            _ => None,
        }
    }

    /// A handle to function `index` of the function index space.
    pub fn func_by_index(&self, index: u32) -> Option<Func> {
        self.funcs.get(index as usize).map(|s| self.func_handle(*s))
    }

    fn func_handle(&self, slot: *const FuncSlot) -> Func {
        // SAFETY: `slot` is one of our own or our deps' slots, alive while `self` is; the
        // handle keeps the slot's owner alive from here on.
        unsafe { Func::from_cell(slot as u64) }.expect("slot pointers are never null")
    }

    #[doc(hidden)]
    /// The instances this one imports from.
    pub fn deps(&self) -> &[Arc<Instance>] {
        &self.deps
    }

    #[doc(hidden)]
    /// The slot of function `index` of the function index space.
    #[inline(always)]
    pub fn func_slot(&self, index: u32) -> &FuncSlot {
        // SAFETY: every pointer in `funcs` points into our own slots or those of an
        // instance in `deps`; both live as long as `self`.
        unsafe { &*self.funcs[index as usize] }
    }

    #[doc(hidden)]
    #[inline(always)]
    pub fn sig(&self, type_index: u32) -> SigId {
        self.sigs[type_index as usize]
    }
    #[inline(always)]
    pub fn memory(&self, index: u32) -> &Arc<Memory> {
        &self.memories[index as usize]
    }
    pub fn memories(&self) -> &[Arc<Memory>] {
        &self.memories
    }
    #[inline(always)]
    pub fn table(&self, index: u32) -> &Arc<Table> {
        &self.tables[index as usize]
    }
    #[inline(always)]
    pub fn global(&self, index: u32) -> &Arc<Global> {
        &self.globals[index as usize]
    }

    #[doc(hidden)]
    /// The cells of element segment `index` (empty once dropped).
    pub fn elem_items(&self, index: u32) -> Arc<[u64]> {
        self.elems[index as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    #[doc(hidden)]
    pub fn drop_elem(&self, index: u32) {
        *self.elems[index as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new([]);
    }

    #[doc(hidden)]
    /// The bytes of data segment `index` (empty once dropped).
    pub fn data(&self, index: u32) -> &[u8] {
        if self.data_dropped[index as usize].load(Ordering::Acquire) {
            return &[];
        }
        let module = self
            .module
            .as_ref()
            .expect("data segments exist only in wasm instances");
        &module.bytes()[module.datas[index as usize].range.clone()]
    }
    #[doc(hidden)]
    pub fn drop_data(&self, index: u32) {
        self.data_dropped[index as usize].store(true, Ordering::Release);
    }

    /// Whether function `index` of the index space is defined here (not imported).
    pub fn defines_func(&self, index: u32) -> bool {
        let owned = self.slots.as_ptr_range();
        self.funcs
            .get(index as usize)
            .is_some_and(|p| owned.contains(p))
    }

    /// Slots of older instances that run our functions.
    pub(crate) fn forwarding(&self) -> &Forwarding {
        &self.forwarding
    }

    /// The digest of the body defined function `index` runs now (see [`NewCode`]); none
    /// for an index the instance does not define.
    pub fn running_body(&self, index: u32) -> Option<u128> {
        let at = index.checked_sub(self.module.as_ref()?.num_imported_funcs)?;
        self.lock_bodies().get(at as usize).copied()
    }

    fn lock_bodies(&self) -> std::sync::MutexGuard<'_, Box<[u128]>> {
        self.bodies.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[doc(hidden)]
    /// Replaces the code of the defined functions `codes` name, in one step
    /// (`slot/update.rs`): in the instance's slots, in those of its program's other
    /// threads (`threads.rs`) and in the slots that forward to them (`forward.rs`).
    /// Nothing changes when it fails (a function not defined here, or no native stub).
    ///
    /// # Safety
    /// Each code was compiled for a function of the same type as the function it
    /// replaces, by a tier of this instance's engine, from a module laid out like this
    /// instance's wherever the code reaches (the types, functions, globals, tables,
    /// memories and segments it uses, at the same indices and of the same types, and the
    /// same vmctx layout for compiled code): the patch crate checks that before it
    /// compiles.
    pub unsafe fn install_code(&self, codes: &[NewCode]) -> Result<()> {
        let me = self.this.upgrade().ok_or_else(|| {
            Error::registry(format!("`{}` is a host module or being dropped", self.name))
        })?;
        // The threads' instances take the code in the same step, and no thread starts
        // meanwhile: a spawn copies its spawner's code under this lock.
        let mut members = self.group.get().map(|g| g.lock());
        let mut instances = vec![me];
        if let Some(members) = members.as_deref_mut() {
            instances.extend(threads::live_others(members, self));
        }
        let mut update = SlotUpdate::new();
        for inst in &instances {
            for c in codes {
                // SAFETY: the caller's contract; the other instances are of the same
                // module, laid out alike.
                unsafe { Instance::stage_code(inst, c.index, &c.code, &mut update) }?;
            }
        }
        update.commit();
        let first = self.module.as_ref().map_or(0, |m| m.num_imported_funcs);
        for inst in &instances {
            let mut bodies = inst.lock_bodies();
            for c in codes {
                bodies[(c.index - first) as usize] = c.body;
            }
        }
        drop(members);
        Ok(())
    }

    /// Stages `code` as the code of defined function `index` in `update`: for this
    /// instance's slot and the slots forwarding to it.
    ///
    /// # Safety
    /// As for [`Instance::install_code`].
    unsafe fn stage_code(
        me: &Arc<Instance>,
        index: u32,
        code: &WasmCodeRef,
        update: &mut SlotUpdate,
    ) -> Result<()> {
        // SAFETY: the caller's contract.
        let (slot, entry) = unsafe { me.entry_for(index, code) }?;
        let stub = me.engine.native_stub(&entry.ty)?;
        for (owner, alias) in me.forwarding.aliases_of(index) {
            // SAFETY: the alias slot forwards to this function, so it has its type, and
            // its owner keeps `me` alive (`forward.rs`); the slot lies in `owner`.
            unsafe { update.stage(&owner, &*alias, entry.duplicate(), stub) };
        }
        // SAFETY: our own slot, of the entry's type; `me` outlives it.
        unsafe { update.stage(me, slot, entry, stub) };
        Ok(())
    }

    #[doc(hidden)]
    /// A tier's install: replaces the code of defined function `index` only where the
    /// slot still runs the code `replaced` identifies ([`FuncEntry::code_ptr`]), in this
    /// instance, its program's other threads and the slots forwarding to them. The code
    /// is the same function of the same version (lazy compilation replacing its
    /// placeholder, a tier-up), so each slot may take it on its own; a patch installed
    /// meanwhile stays. Whether the instance's own slot took the code.
    ///
    /// # Safety
    /// As for [`Instance::install_code`].
    pub unsafe fn install_code_replacing(
        &self,
        index: u32,
        code: WasmCodeRef,
        replaced: *const (),
    ) -> Result<bool> {
        // SAFETY: the caller's contract.
        let installed = unsafe { self.install_here(index, code.clone(), replaced) }?;
        // The instances of the program's other threads run the same code (`threads.rs`).
        if let Some(group) = self.group.get() {
            for other in group.others(self) {
                // SAFETY: another instance of the same module, laid out alike.
                unsafe { other.install_here(index, code.clone(), replaced) }?;
            }
        }
        Ok(installed)
    }

    /// [`Instance::install_code_replacing`] in this instance alone.
    ///
    /// # Safety
    /// As for [`Instance::install_code`].
    unsafe fn install_here(
        &self,
        index: u32,
        code: WasmCodeRef,
        replaced: *const (),
    ) -> Result<bool> {
        // SAFETY: the caller's contract.
        let (slot, entry) = unsafe { self.entry_for(index, &code) }?;
        // SAFETY: the entry may go where it may (`entry_for`): into aliases of its slot.
        let make = || unsafe { entry.duplicate() };
        let installed = slot.install_if_code(replaced, make());
        self.forwarding.repeat_install(index, make, replaced);
        Ok(installed)
    }

    /// The slot of defined function `index` and an entry that runs `code` in it.
    ///
    /// # Safety
    /// As for [`Instance::install_code`] (the code fits the slot).
    unsafe fn entry_for(&self, index: u32, code: &WasmCodeRef) -> Result<(&FuncSlot, FuncEntry)> {
        if !self.defines_func(index) {
            return Err(Error::registry(format!(
                "function {index} of `{}` is not defined there (imported or out of range)",
                self.name
            )));
        }
        let slot = self.func_slot(index);
        let guard = crate::slot::pin();
        let old = slot.entry(&guard);
        let (sig, ty) = (old.sig, old.ty.clone());
        Ok((
            slot,
            self.new_entry(sig, ty, index, FuncCode::Wasm(code.clone()))?,
        ))
    }

    /// Name of function `index`, for backtraces and errors.
    pub fn func_name(&self, index: u32) -> String {
        match &self.module {
            Some(m) => m.func_name(index),
            None => format!("host[{index}]"),
        }
    }
}

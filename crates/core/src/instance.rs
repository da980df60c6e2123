//! Instances: a module's functions (as slots), memories, tables and globals, linked to
//! the instances it imports from. Host modules are instances too, made of host items.

use crate::engine::{CompiledModule, Engine, Mode};
use crate::error::{Error, Result};
use crate::func::Func;
use crate::global::Global;
use crate::host::{HostItem, HostModule};
use crate::memory::Memory;
use crate::module::{ConstExpr, ConstOp, DataMode, ElemMode, ExternKind, ImportKind, Module};
use crate::slot::{FuncCode, FuncEntry, FuncSlot};
use crate::table::Table;
use crate::types::{limits_match, SigId};
use crate::vmctx::VmCtxLayout;
use hashbrown::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An exported item.
#[derive(Clone)]
pub enum Extern {
    /// A function, as its slot.
    Func(*const FuncSlot),
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
    sigs: Box<[SigId]>,
    memories: Box<[Arc<Memory>]>,
    tables: Box<[Arc<Table>]>,
    globals: Box<[Arc<Global>]>,
    /// Element segments as cells; a dropped segment is empty.
    elems: Box<[Mutex<Arc<[u64]>>]>,
    data_dropped: Box<[AtomicBool]>,
    exports: HashMap<String, Extern>,
    /// Instances this one imports from, kept alive by it.
    deps: Vec<Arc<Instance>>,
    /// Slots of other (older) instances that forward to our functions after a `Fresh`
    /// module update, by function index: an install here is repeated there.
    aliases: Mutex<HashMap<u32, Vec<Alias>>>,
    /// Instances whose code runs in our slots (a newer version we forward to).
    keep_alive: Mutex<Vec<Arc<Instance>>>,
    /// The execution mode the module was compiled for (patches compile with it too).
    mode: Mode,
    /// Context words for compiled code (see `vmctx.rs`); empty for host instances.
    vmctx: Box<[u64]>,
}

/// A slot of another instance that forwards to one of ours. The owner is held weakly
/// (it keeps us alive, not the other way round); a dead owner's alias is skipped.
#[derive(Clone)]
struct Alias {
    owner: std::sync::Weak<Instance>,
    slot: *const FuncSlot,
}
// SAFETY: slots are Sync, and `slot` is only dereferenced while `owner` is upgraded.
unsafe impl Send for Alias {}
// SAFETY: as above.
unsafe impl Sync for Alias {}

impl Alias {
    /// Installs an entry built by `make` if the owner is still alive (and, with
    /// `replaced`, only over that code).
    fn install(&self, make: impl FnOnce() -> FuncEntry, replaced: Option<*const ()>) {
        if let Some(_owner) = self.owner.upgrade() {
            // SAFETY: the slot lives inside `owner`, which we hold for the duration.
            let slot = unsafe { &*self.slot };
            match replaced {
                None => slot.install(make()),
                Some(expected) => {
                    slot.install_if_code(expected, make());
                }
            }
        }
    }
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

fn incompatible(module: &str, name: &str, detail: String) -> Error {
    Error::link(format!(
        "incompatible import type for `{module}`.`{name}`: {detail}"
    ))
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
        let module = &compiled.module;
        if imports.len() != module.imports.len() {
            return Err(Error::link(format!(
                "module needs {} imports, {} were given",
                module.imports.len(),
                imports.len()
            )));
        }
        let sigs: Box<[SigId]> = module
            .types
            .iter()
            .map(|t| engine.types().intern(t))
            .collect();

        let mut funcs = Vec::with_capacity(module.funcs.len());
        let mut tables = Vec::with_capacity(module.tables.len());
        let mut memories = Vec::with_capacity(module.memories.len());
        let mut globals = Vec::with_capacity(module.globals.len());
        let mut deps: Vec<Arc<Instance>> = Vec::new();

        for (imp, resolved) in module.imports.iter().zip(imports) {
            let (m, n) = (imp.module.as_str(), imp.name.as_str());
            match (&imp.kind, &resolved.item) {
                (ImportKind::Func(t), Extern::Func(slot)) => {
                    let guard = crate::slot::pin();
                    // SAFETY: the slot belongs to `resolved.owner` (or one of its deps),
                    // which we keep alive in `deps`.
                    let entry = unsafe { &**slot }.entry(&guard);
                    if entry.sig != sigs[*t as usize] {
                        return Err(incompatible(
                            m,
                            n,
                            format!(
                                "expected function {}, found function {}",
                                module.types[*t as usize], entry.ty
                            ),
                        ));
                    }
                    funcs.push(*slot);
                }
                (ImportKind::Table(want), Extern::Table(t)) => {
                    let have = t.ty();
                    if have.elem != want.elem
                        || !limits_match(
                            (have.min as u64, have.max.map(u64::from)),
                            (want.min as u64, want.max.map(u64::from)),
                        )
                    {
                        return Err(incompatible(
                            m,
                            n,
                            format!("expected table {want:?}, found {have:?}"),
                        ));
                    }
                    tables.push(t.clone());
                }
                (ImportKind::Memory(want), Extern::Memory(mem)) => {
                    let have = mem.ty();
                    if !limits_match(
                        (have.min as u64, have.max.map(u64::from)),
                        (want.min as u64, want.max.map(u64::from)),
                    ) {
                        return Err(incompatible(
                            m,
                            n,
                            format!("expected memory {want:?}, found {have:?}"),
                        ));
                    }
                    memories.push(mem.clone());
                }
                (ImportKind::Global(want), Extern::Global(g)) => {
                    if g.ty() != *want {
                        return Err(incompatible(
                            m,
                            n,
                            format!("expected global {want:?}, found {:?}", g.ty()),
                        ));
                    }
                    globals.push(g.clone());
                }
                (want, have) => {
                    let want_kind = match want {
                        ImportKind::Func(_) => ExternKind::Func,
                        ImportKind::Table(_) => ExternKind::Table,
                        ImportKind::Memory(_) => ExternKind::Memory,
                        ImportKind::Global(_) => ExternKind::Global,
                    };
                    return Err(incompatible(
                        m,
                        n,
                        format!("expected a {want_kind}, found a {}", have.kind()),
                    ));
                }
            }
            if !deps.iter().any(|d| Arc::ptr_eq(d, &resolved.owner)) {
                deps.push(resolved.owner);
            }
        }

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
        for ty in &module.tables[module.num_imported_tables as usize..] {
            tables.push(Arc::new(Table::new(*ty, 0)?));
        }
        for ty in &module.memories[module.num_imported_memories as usize..] {
            memories.push(Arc::new(Memory::with_guard(
                *ty,
                engine.limits().memory_guard_bytes,
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

        let mut exports = HashMap::with_capacity(module.exports.len());
        for (name, (kind, idx)) in &module.exports {
            let i = *idx as usize;
            let item = match kind {
                ExternKind::Func => Extern::Func(funcs[i]),
                ExternKind::Table => Extern::Table(tables[i].clone()),
                ExternKind::Memory => Extern::Memory(memories[i].clone()),
                ExternKind::Global => Extern::Global(globals[i].clone()),
            };
            exports.insert(name.clone(), item);
        }

        for mem in &memories[..module.num_imported_memories as usize] {
            engine.check_imported_memory(mem)?;
        }
        let layout = VmCtxLayout::new(module);
        let mut vmctx = vec![0u64; layout.words()].into_boxed_slice();
        let word = |off: i32| off as usize / 8;
        for (i, m) in memories.iter().enumerate() {
            vmctx[word(layout.memory_base(i as u32))] = m.base_ptr() as u64;
            vmctx[word(layout.memory_len(i as u32))] = m.len_ptr() as u64;
        }
        for (i, g) in globals.iter().enumerate() {
            vmctx[word(layout.global(i as u32))] = g.value_ptr() as u64;
        }
        for (i, f) in funcs.iter().enumerate() {
            vmctx[word(layout.func_slot(i as u32))] = *f as u64;
        }
        for (i, t) in tables.iter().enumerate() {
            vmctx[word(layout.table(i as u32))] = Arc::as_ptr(t) as u64;
        }
        for (i, s) in sigs.iter().enumerate() {
            vmctx[word(layout.sig(i as u32))] = s.0 as u64;
        }
        let inst = Arc::new_cyclic(|me| {
            vmctx[word(layout.instance())] = me.as_ptr() as u64;
            Instance {
                mode: compiled.mode,
                vmctx,
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
                exports,
                deps,
                aliases: Mutex::new(HashMap::new()),
                keep_alive: Mutex::new(Vec::new()),
            }
        });
        let ptr = Arc::as_ptr(&inst);
        for (i, (slot, code)) in inst.slots.iter().zip(&compiled.code).enumerate() {
            let index = module.num_imported_funcs + i as u32;
            let t = module.funcs[index as usize] as usize;
            // SAFETY: the entry's instance is the slot's owner, alive as long as the slot.
            let entry = unsafe {
                FuncEntry::new(
                    inst.sigs[t],
                    module.types[t].clone(),
                    ptr,
                    index,
                    FuncCode::Wasm(code.clone()),
                )
            };
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

    fn run_initializers(&self) -> Result<()> {
        let module = self.module.as_ref().expect("wasm instance");
        for (i, seg) in module.elems.iter().enumerate() {
            match &seg.mode {
                ElemMode::Active { table, offset } => {
                    let at = eval_const(offset, &self.globals, &self.funcs) as u32;
                    let items = self.elem_items(i as u32);
                    self.tables[*table as usize].init(at, &items, 0, items.len() as u32)?;
                    self.drop_elem(i as u32);
                }
                ElemMode::Declared => self.drop_elem(i as u32),
                ElemMode::Passive => {}
            }
        }
        for (i, seg) in module.datas.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
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
                FuncCode::Wasm(code) => code.call(entry, &mut [])?,
                FuncCode::Host(h) => h.call_cells(self, &mut [])?,
            }
        }
        Ok(())
    }

    /// Creates the instance of a host module.
    pub fn new_host(engine: &Engine, name: &str, host: &HostModule) -> Result<Arc<Instance>> {
        host.check()?;
        let mut funcs_h = Vec::new();
        let mut memories = Vec::new();
        let mut tables = Vec::new();
        let mut globals = Vec::new();
        enum Pending {
            Func(usize),
            Memory(usize),
            Table(usize),
            Global(usize),
        }
        let mut pending = Vec::new();
        for (n, item) in &host.items {
            let p = match item {
                HostItem::Func(f) => {
                    funcs_h.push(f.clone());
                    Pending::Func(funcs_h.len() - 1)
                }
                HostItem::Memory(ty) => {
                    let guard = engine.limits().memory_guard_bytes;
                    memories.push(Arc::new(Memory::with_guard(*ty, guard)?));
                    Pending::Memory(memories.len() - 1)
                }
                HostItem::Table(ty, init) => {
                    tables.push(Arc::new(Table::new(*ty, init.to_cell())?));
                    Pending::Table(tables.len() - 1)
                }
                HostItem::Global(ty, v) => {
                    globals.push(Arc::new(Global::new(*ty, v.to_cell())));
                    Pending::Global(globals.len() - 1)
                }
            };
            pending.push((n.clone(), p));
        }
        let slots: Box<[FuncSlot]> = funcs_h.iter().map(|_| FuncSlot::empty()).collect();
        let funcs: Box<[*const FuncSlot]> = slots.iter().map(|s| s as *const FuncSlot).collect();
        let mut exports = HashMap::new();
        for (n, p) in pending {
            let item = match p {
                Pending::Func(i) => Extern::Func(funcs[i]),
                Pending::Memory(i) => Extern::Memory(memories[i].clone()),
                Pending::Table(i) => Extern::Table(tables[i].clone()),
                Pending::Global(i) => Extern::Global(globals[i].clone()),
            };
            exports.insert(n, item);
        }
        let inst = Arc::new(Instance {
            name: name.to_string(),
            engine: engine.clone(),
            module: None,
            funcs,
            slots,
            sigs: Box::new([]),
            memories: memories.into_boxed_slice(),
            tables: tables.into_boxed_slice(),
            globals: globals.into_boxed_slice(),
            elems: Box::new([]),
            data_dropped: Box::new([]),
            exports,
            deps: Vec::new(),
            aliases: Mutex::new(HashMap::new()),
            keep_alive: Mutex::new(Vec::new()),
            mode: engine.mode(),
            vmctx: Box::new([]),
        });
        let ptr = Arc::as_ptr(&inst);
        for t in inst.tables.iter() {
            t.set_owner(ptr);
        }
        for g in inst.globals.iter() {
            g.set_owner(ptr);
        }
        for (i, (slot, f)) in inst.slots.iter().zip(funcs_h).enumerate() {
            let sig = engine.types().intern(f.ty());
            // SAFETY: the entry's instance is the slot's owner, alive as long as the slot.
            let entry =
                unsafe { FuncEntry::new(sig, f.ty().clone(), ptr, i as u32, FuncCode::Host(f)) };
            slot.init(ptr, entry);
        }
        Ok(inst)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    /// The execution mode the instance's module was compiled for.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The context words compiled code runs with (see `vmctx.rs`).
    pub fn vmctx_ptr(&self) -> *const u64 {
        self.vmctx.as_ptr()
    }
    /// The instance whose context words start at `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be [`Instance::vmctx_ptr`] of a live instance.
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
    pub fn export(&self, name: &str) -> Option<&Extern> {
        self.exports.get(name)
    }
    pub fn exports(&self) -> impl Iterator<Item = (&str, &Extern)> {
        self.exports.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// A handle to exported function `name`.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        match self.exports.get(name)? {
            Extern::Func(slot) => Some(self.func_handle(*slot)),
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

    /// The instances this one imports from.
    pub fn deps(&self) -> &[Arc<Instance>] {
        &self.deps
    }

    /// The slot of function `index` of the function index space.
    #[inline(always)]
    pub fn func_slot(&self, index: u32) -> &FuncSlot {
        // SAFETY: every pointer in `funcs` points into our own slots or those of an
        // instance in `deps`; both live as long as `self`.
        unsafe { &*self.funcs[index as usize] }
    }

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

    /// The cells of element segment `index` (empty once dropped).
    pub fn elem_items(&self, index: u32) -> Arc<[u64]> {
        self.elems[index as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    pub fn drop_elem(&self, index: u32) {
        *self.elems[index as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new([]);
    }

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

    /// Replaces the code of defined function `index` (of the index space): one atomic
    /// store into its slot, and into every slot that forwards to it. The code runs in
    /// this instance's context and must have been compiled for a function of the same
    /// type laid out like this instance (the patch crate checks that).
    pub fn install_code(&self, index: u32, code: crate::slot::WasmCodeRef) -> Result<()> {
        self.install_code_replacing(index, code, None).map(|_| ())
    }

    /// Like [`Instance::install_code`], but only where the slot still runs the code
    /// `replaced` identifies ([`FuncEntry::code_ptr`]): a tier replacing its own
    /// placeholder (lazy compilation) must not undo a patch that came first. Whether
    /// the instance's own slot took the code.
    pub fn install_code_replacing(
        &self,
        index: u32,
        code: crate::slot::WasmCodeRef,
        replaced: Option<*const ()>,
    ) -> Result<bool> {
        if !self.defines_func(index) {
            return Err(Error::registry(format!(
                "function {index} of `{}` is not defined there (imported or out of range)",
                self.name
            )));
        }
        let slot = self.func_slot(index);
        let guard = crate::slot::pin();
        let old = slot.entry(&guard);
        let make = || {
            // SAFETY: the entry runs in `self`, which owns `slot` and outlives it; alias
            // slots' owners keep `self` alive (`forward_to`).
            unsafe {
                FuncEntry::new(
                    old.sig,
                    old.ty.clone(),
                    self as *const Instance,
                    index,
                    FuncCode::Wasm(code.clone()),
                )
            }
        };
        let installed = match replaced {
            None => {
                slot.install(make());
                true
            }
            Some(expected) => slot.install_if_code(expected, make()),
        };
        let mut aliases = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = aliases.get_mut(&index) {
            list.retain(|a| a.owner.strong_count() > 0);
            for a in list.iter() {
                a.install(make, replaced);
            }
        }
        Ok(installed)
    }

    /// Makes function `old_index` of `old` (a slot others import) run function
    /// `new_index` of `new` from now on, including after later patches of `new`'s
    /// function. `old` keeps `new` alive. Types must be equal (checked).
    pub fn forward_to(
        old: &Arc<Instance>,
        old_index: u32,
        new: &Arc<Instance>,
        new_index: u32,
    ) -> Result<()> {
        if !old.defines_func(old_index) || !new.defines_func(new_index) {
            return Err(Error::registry(
                "forwarding needs functions defined by both instances",
            ));
        }
        let old_slot = old.func_slot(old_index);
        let guard = crate::slot::pin();
        let new_entry = new.func_slot(new_index).entry(&guard);
        if old_slot.entry(&guard).sig != new_entry.sig {
            return Err(Error::registry(format!(
                "cannot forward a function of type {} to one of type {}",
                old_slot.entry(&guard).ty,
                new_entry.ty
            )));
        }
        {
            let mut keep = old.keep_alive.lock().unwrap_or_else(|e| e.into_inner());
            if !keep.iter().any(|k| Arc::ptr_eq(k, new)) {
                keep.push(new.clone());
            }
        }
        // Slots that forwarded to the old function now forward to the new one too.
        let mut moved = old
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
        let entry = || {
            // SAFETY: `new` is kept alive by `old` (just above), and transitively by the
            // owners of the moved aliases, which keep `old` alive.
            unsafe {
                FuncEntry::new(
                    new_entry.sig,
                    new_entry.ty.clone(),
                    Arc::as_ptr(new),
                    new_index,
                    new_entry.code.clone(),
                )
            }
        };
        for a in &moved {
            a.install(entry, None);
        }
        new.aliases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(new_index)
            .or_default()
            .extend(moved);
        Ok(())
    }

    /// Name of function `index`, for backtraces and errors.
    pub fn func_name(&self, index: u32) -> String {
        match &self.module {
            Some(m) => m.func_name(index),
            None => format!("host[{index}]"),
        }
    }
}

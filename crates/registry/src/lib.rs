//! The module registry: modules loaded under names, imports resolved by name (to
//! registered modules, then host modules), exports found by hash lookup, and the
//! dependency graph (who imports from whom) that guards `unload`, and hot patching of
//! loaded modules (`patch_function`, `update_module`; the mechanism is `rwamr-patch`).
#![forbid(unsafe_code)]

use hashbrown::{HashMap, HashSet};
use rwamr_core::instance::ResolvedImport;
use rwamr_core::module::shown_name;
use rwamr_core::{
    CompiledModule, Engine, Error, Extern, ExternKind, Func, GlobalRef, HostModule, Instance,
    Memory, Mode, Result, Table,
};
use std::sync::{Arc, Mutex, RwLock};

use rwamr_patch::NewVersion;
pub use rwamr_patch::{FuncSelector, PatchReport, UpdatePolicy, UpdateReport};

#[derive(Default)]
struct State {
    modules: HashMap<String, Arc<Instance>>,
    /// name -> names of the modules it imports from.
    imports_from: HashMap<String, HashSet<String>>,
    /// name -> names of the modules that import from it.
    dependents: HashMap<String, HashSet<String>>,
    /// name -> the host modules it was given to import from itself
    /// ([`Registry::load_with`]), which a `Fresh` update resolves against again.
    own_imports: HashMap<String, OwnImports>,
}

/// Instances of host modules one module imports from, ahead of the registry's names.
type OwnImports = Arc<HashMap<String, Arc<Instance>>>;

impl State {
    /// Registers `inst` as `name`, importing from the modules named in `from`.
    fn link(
        &mut self,
        name: &str,
        inst: Arc<Instance>,
        from: HashSet<String>,
        own: Option<OwnImports>,
    ) {
        if let Some(own) = own {
            self.own_imports.insert(name.to_string(), own);
        }
        for dep in &from {
            self.dependents
                .entry(dep.clone())
                .or_default()
                .insert(name.to_string());
        }
        self.imports_from.insert(name.to_string(), from);
        self.modules.insert(name.to_string(), inst);
    }

    /// Forgets the import edges of `name` (it no longer imports from anyone).
    fn unlink_imports(&mut self, name: &str) {
        if let Some(from) = self.imports_from.remove(name) {
            for dep in from {
                if let Some(ds) = self.dependents.get_mut(&dep) {
                    ds.remove(name);
                }
            }
        }
    }
}

/// Named module instances of one engine. `Send + Sync`: load, look up and call from any
/// thread; lookups take a read lock only for the hash lookup itself.
pub struct Registry {
    engine: Engine,
    state: RwLock<State>,
    /// Serializes patches and updates (calls never take it).
    patching: Mutex<()>,
}

impl Registry {
    pub fn new<E: AsRef<Engine>>(engine: &E) -> Registry {
        Registry {
            engine: engine.as_ref().clone(),
            state: RwLock::new(State::default()),
            patching: Mutex::new(()),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn name_free(&self, name: &str) -> Result<()> {
        if self.read().modules.contains_key(name) {
            return Err(Error::registry(format!(
                "a module named `{name}` is already loaded; unload it first or pick another name"
            )));
        }
        Ok(())
    }

    /// Decodes, validates, compiles and instantiates `bytes`, resolving its imports by
    /// module name, and registers the instance as `name`. On any error nothing is
    /// registered.
    pub fn load(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<Arc<Instance>> {
        let bytes = bytes.as_ref();
        self.load_in_mode(name, bytes, self.engine.mode())
    }

    /// Like [`Registry::load`], compiling for `mode` instead of the engine's default
    /// (any of [`Engine::modes`]): modules of different modes call each other through
    /// the same slots, and later patches of this module compile for `mode` too.
    pub fn load_in_mode(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]>,
        mode: Mode,
    ) -> Result<Arc<Instance>> {
        let bytes = bytes.as_ref();
        self.name_free(name)?;
        let compiled = CompiledModule::new_in(&self.engine, bytes, mode)
            .map_err(|e| e.context(format!("module `{name}`")))?;
        self.load_compiled(name, &compiled)
    }

    /// Decodes, validates and compiles `bytes` for this registry's engine without
    /// instantiating it; `load_compiled` instantiates the result (any number of times).
    pub fn compile(&self, bytes: impl AsRef<[u8]>) -> Result<CompiledModule> {
        let bytes = bytes.as_ref();
        CompiledModule::new(&self.engine, bytes)
    }

    /// Instantiates an already compiled module under `name`.
    pub fn load_compiled(&self, name: &str, compiled: &CompiledModule) -> Result<Arc<Instance>> {
        self.load_compiled_with(name, compiled, None)
    }

    /// Like [`Registry::load`], with host modules of the module's own: its imports from
    /// a module named in `own` resolve there, ahead of the registry's names, and no other
    /// module sees them. Each module can so have its own WASI context, for example:
    /// `load_with("app", &wasm, &[(wasi::MODULE_NAME, &wasi_ctx)])`. A `Fresh` update of
    /// the module keeps them.
    pub fn load_with(
        &self,
        name: &str,
        bytes: impl AsRef<[u8]>,
        own: &[(&str, &HostModule)],
    ) -> Result<Arc<Instance>> {
        let bytes = bytes.as_ref();
        self.name_free(name)?;
        let own = self.own_imports(own)?;
        let compiled = CompiledModule::new(&self.engine, bytes)
            .map_err(|e| e.context(format!("module `{name}`")))?;
        self.load_compiled_with(name, &compiled, Some(own))
    }

    fn own_imports(&self, own: &[(&str, &HostModule)]) -> Result<OwnImports> {
        let mut map = HashMap::new();
        for (name, host) in own {
            let inst = Instance::new_host(&self.engine, name, host)?;
            if map.insert(name.to_string(), inst).is_some() {
                return Err(Error::argument(format!(
                    "own imports name `{}` twice",
                    shown_name(name)
                )));
            }
        }
        Ok(Arc::new(map))
    }

    fn load_compiled_with(
        &self,
        name: &str,
        compiled: &CompiledModule,
        own: Option<OwnImports>,
    ) -> Result<Arc<Instance>> {
        self.name_free(name)?;
        let (imports, from) = self
            .resolve(compiled, own.as_deref())
            .map_err(|e| e.context(format!("module `{name}`")))?;
        let inst = Instance::instantiate(&self.engine, name, compiled, imports)
            .map_err(|e| e.context(format!("module `{name}`")))?;
        self.insert(name, inst.clone(), from, own)?;
        Ok(inst)
    }

    /// Instantiates `bytes` without registering it (its imports are still resolved by
    /// name). The instance lives as long as the returned handle.
    pub fn instantiate(&self, bytes: impl AsRef<[u8]>) -> Result<Arc<Instance>> {
        let bytes = bytes.as_ref();
        self.instantiate_with(bytes, &[])
    }

    /// Instantiates an already compiled module without registering it: the per-request
    /// instance of a module compiled once (see [`Registry::instantiate`]).
    pub fn instantiate_compiled(&self, compiled: &CompiledModule) -> Result<Arc<Instance>> {
        let (imports, _) = self.resolve(compiled, None)?;
        Instance::instantiate(&self.engine, "<anonymous>", compiled, imports)
    }

    /// [`Registry::instantiate`] with host modules of the instance's own (see
    /// [`Registry::load_with`]).
    pub fn instantiate_with(
        &self,
        bytes: impl AsRef<[u8]>,
        own: &[(&str, &HostModule)],
    ) -> Result<Arc<Instance>> {
        let bytes = bytes.as_ref();
        let own = self.own_imports(own)?;
        let compiled = CompiledModule::new(&self.engine, bytes)?;
        let (imports, _) = self.resolve(&compiled, Some(&own))?;
        Instance::instantiate(&self.engine, "<anonymous>", &compiled, imports)
    }

    /// [`Registry::instantiate_compiled`] with host modules of the instance's own (see
    /// [`Registry::load_with`]).
    pub fn instantiate_compiled_with(
        &self,
        compiled: &CompiledModule,
        own: &[(&str, &HostModule)],
    ) -> Result<Arc<Instance>> {
        let own = self.own_imports(own)?;
        let (imports, _) = self.resolve(compiled, Some(&own))?;
        Instance::instantiate(&self.engine, "<anonymous>", compiled, imports)
    }

    /// Registers a host module under `name`.
    pub fn define_host(&self, name: &str, host: &HostModule) -> Result<()> {
        self.name_free(name)?;
        let inst = Instance::new_host(&self.engine, name, host)?;
        self.insert(name, inst, HashSet::new(), None)
    }

    /// Registers an already loaded module under one more name (the spec scripts'
    /// `register`). The instance stays alive until every name is unloaded; a `Fresh`
    /// update of any of its names moves all of them to the new version.
    pub fn alias(&self, existing: &str, new_name: &str) -> Result<()> {
        let inst = self
            .find(existing)
            .ok_or_else(|| unknown_module(existing))?;
        self.name_free(new_name)?;
        self.insert(new_name, inst, HashSet::new(), None)
    }

    /// Registers `instance`, made elsewhere (by another registry of the same engine, or
    /// `Instance::instantiate`), under `name`: imports here resolve to its exports like
    /// to a module loaded here. For sharing an instance between registries, such as a
    /// shared memory's owner between the registries of several threads.
    pub fn register_instance(&self, name: &str, instance: &Arc<Instance>) -> Result<()> {
        if !instance.engine().same(&self.engine) {
            return Err(Error::registry(format!(
                "cannot register `{name}`: its instance belongs to another engine"
            )));
        }
        self.name_free(name)?;
        self.insert(name, instance.clone(), HashSet::new(), None)
    }

    fn insert(
        &self,
        name: &str,
        inst: Arc<Instance>,
        from: HashSet<String>,
        own: Option<OwnImports>,
    ) -> Result<()> {
        let mut st = self.write();
        if st.modules.contains_key(name) {
            return Err(Error::registry(format!(
                "a module named `{name}` was loaded concurrently; nothing was registered"
            )));
        }
        st.link(name, inst, from, own);
        Ok(())
    }

    /// The imports of `compiled`, from `own` first, then by registered name; with the
    /// registered names it imports from.
    fn resolve(
        &self,
        compiled: &CompiledModule,
        own: Option<&HashMap<String, Arc<Instance>>>,
    ) -> Result<(Vec<ResolvedImport>, HashSet<String>)> {
        let st = self.read();
        let mut out = Vec::with_capacity(compiled.module.imports.len());
        let mut from = HashSet::new();
        for imp in &compiled.module.imports {
            // Names from the module, as messages show them.
            let (m, n) = (shown_name(&imp.module), shown_name(&imp.name));
            let own_owner = own.and_then(|own| own.get(&imp.module));
            if own_owner.is_none() {
                from.insert(imp.module.clone());
            }
            let owner = own_owner
                .or_else(|| st.modules.get(&imp.module))
                .ok_or_else(|| {
                    Error::link(format!(
                        "unknown import `{m}`.`{n}`: no module named `{m}` is loaded"
                    ))
                })?;
            let item = owner.export(&imp.name).ok_or_else(|| {
                Error::link(format!(
                    "unknown import `{m}`.`{n}`: module `{m}` has no export named `{n}`"
                ))
            })?;
            out.push(ResolvedImport {
                item,
                owner: owner.clone(),
            });
        }
        Ok((out, from))
    }

    /// The instance registered as `name`.
    pub fn find(&self, name: &str) -> Option<Arc<Instance>> {
        self.read().modules.get(name).cloned()
    }

    /// Names of all registered modules.
    pub fn names(&self) -> Vec<String> {
        self.read().modules.keys().cloned().collect()
    }

    /// Names of the modules that import from `name`.
    pub fn dependents(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .read()
            .dependents
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    fn export(
        &self,
        module: &str,
        name: &str,
        want: ExternKind,
    ) -> Result<(Arc<Instance>, Extern)> {
        let inst = self.find(module).ok_or_else(|| unknown_module(module))?;
        let item = inst.export(name).ok_or_else(|| {
            Error::registry(format!("module `{module}` has no export named `{name}`"))
        })?;
        if item.kind() != want {
            return Err(Error::registry(format!(
                "export `{name}` of module `{module}` is a {}, not a {want}",
                item.kind()
            )));
        }
        Ok((inst, item))
    }

    /// The exported function `module`.`name`.
    pub fn func(&self, module: &str, name: &str) -> Result<Func> {
        let (inst, _) = self.export(module, name, ExternKind::Func)?;
        inst.get_func(name)
            .ok_or_else(|| Error::registry(format!("module `{module}` has no function `{name}`")))
    }

    /// The exported global `module`.`name`.
    pub fn global(&self, module: &str, name: &str) -> Result<GlobalRef> {
        match self.export(module, name, ExternKind::Global)? {
            (inst, Extern::Global(g)) => Ok(GlobalRef::new(g, inst)),
            _ => unreachable!("kind checked"),
        }
    }

    /// The exported memory `module`.`name`.
    pub fn memory(&self, module: &str, name: &str) -> Result<Arc<Memory>> {
        match self.export(module, name, ExternKind::Memory)? {
            (_, Extern::Memory(m)) => Ok(m),
            _ => unreachable!("kind checked"),
        }
    }

    /// The exported table `module`.`name`.
    pub fn table(&self, module: &str, name: &str) -> Result<Arc<Table>> {
        match self.export(module, name, ExternKind::Table)? {
            (_, Extern::Table(t)) => Ok(t),
            _ => unreachable!("kind checked"),
        }
    }

    /// Unloads `name`. Refused while other loaded modules import from it. Once no name
    /// refers to the instance, its functions trap with `TrapCode::Unloaded` from then
    /// on, through handles kept past the unload too (its memories, tables and globals
    /// stay usable through theirs), and it is freed when the last handle goes.
    pub fn unload(&self, name: &str) -> Result<()> {
        // (Not while an update forwards slots to what is being unloaded.)
        let _serial = self.patching.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = self.write();
        if !st.modules.contains_key(name) {
            return Err(unknown_module(name));
        }
        if let Some(d) = st.dependents.get(name).filter(|d| !d.is_empty()) {
            let mut d: Vec<&String> = d.iter().collect();
            d.sort();
            let list = d
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::registry(format!(
                "cannot unload `{name}`: {list} import(s) from it; unload them first or use unload_cascade"
            )));
        }
        Self::no_threads_running(&st, name)?;
        let gone = Self::remove(&mut st, name);
        drop(st);
        Self::unload_instances(gone);
        Ok(())
    }

    /// Unloads `name` and, first, every module that imports from it (transitively).
    /// Returns the names unloaded, dependents first.
    pub fn unload_cascade(&self, name: &str) -> Result<Vec<String>> {
        let _serial = self.patching.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = self.write();
        if !st.modules.contains_key(name) {
            return Err(unknown_module(name));
        }
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        fn visit(st: &State, n: &str, seen: &mut HashSet<String>, order: &mut Vec<String>) {
            if !seen.insert(n.to_string()) {
                return;
            }
            if let Some(ds) = st.dependents.get(n) {
                for d in ds {
                    visit(st, d, seen, order);
                }
            }
            order.push(n.to_string());
        }
        visit(&st, name, &mut seen, &mut order);
        for n in &order {
            Self::no_threads_running(&st, n)?;
        }
        let gone: Vec<Arc<Instance>> = order
            .iter()
            .filter_map(|n| Self::remove(&mut st, n))
            .collect();
        drop(st);
        Self::unload_instances(gone);
        Ok(order)
    }

    /// Refuses to unload `name` while threads of its program run (wasi-threads: the
    /// instances of its thread group, which would go on running its code).
    fn no_threads_running(st: &State, name: &str) -> Result<()> {
        let running = st
            .modules
            .get(name)
            .map_or(0, |i| i.thread_instances().len());
        if running > 0 {
            return Err(Error::registry(format!(
                "cannot unload `{name}`: {running} thread(s) of it are still running; \
                 unload it once they have finished"
            )));
        }
        Ok(())
    }

    /// Forgets `name`; returns its instance when no other name refers to it.
    fn remove(st: &mut State, name: &str) -> Option<Arc<Instance>> {
        let inst = st.modules.remove(name);
        st.dependents.remove(name);
        st.own_imports.remove(name);
        st.unlink_imports(name);
        inst.filter(|i| !st.modules.values().any(|o| Arc::ptr_eq(o, i)))
    }

    /// Unloads instances no name refers to any more (`Instance::unload`), and frees
    /// what no running call can reach.
    fn unload_instances(gone: impl IntoIterator<Item = Arc<Instance>>) {
        for inst in gone {
            // A failure (no native stub for a type) only leaves it running: it is then
            // freed with its last handle, as before.
            let _ = inst.unload();
        }
        rwamr_core::slot::collect();
    }
}

impl Registry {
    /// Replaces the code of one function of module `module` with its body in
    /// `new_version` (a new version of that module). `func` is an export name or a
    /// function index. The new body is compiled to run in the loaded instance's context
    /// (its memories, globals, tables and functions) and installed with one atomic slot
    /// swap: calls already running finish in the old code, every later call (from this
    /// module, its importers, `call_indirect`, `ref.func`, host handles) runs the new one.
    /// Refused, changing nothing, when the type differs or the body uses something the
    /// running instance does not have in the same form.
    pub fn patch_function(
        &self,
        module: &str,
        func: impl Into<FuncSelector>,
        new_version: impl AsRef<[u8]>,
    ) -> Result<PatchReport> {
        self.patch_function_with(module, func.into(), NewVersion::Wasm(new_version.as_ref()))
    }

    /// [`Registry::patch_function`] with the new version precompiled: a module loaded
    /// from an `.aot` file, whose function's code is installed as it is, with no
    /// compiler. The running module must be in Aot mode too, and laid out as the new
    /// version (the same imports, functions and their types, types, memories, tables,
    /// globals and segment counts), since the file's code was compiled for its own
    /// layout; where it is not, give the new version as wasm.
    pub fn patch_function_compiled(
        &self,
        module: &str,
        func: impl Into<FuncSelector>,
        new_version: &CompiledModule,
    ) -> Result<PatchReport> {
        self.patch_function_with(module, func.into(), NewVersion::Compiled(new_version))
    }

    fn patch_function_with(
        &self,
        module: &str,
        func: FuncSelector,
        new_version: NewVersion<'_>,
    ) -> Result<PatchReport> {
        let _serial = self.patching.lock().unwrap_or_else(|e| e.into_inner());
        let inst = self.find(module).ok_or_else(|| unknown_module(module))?;
        rwamr_patch::patch_function(&inst, &func, new_version)
    }

    /// Replaces the whole module `module` with `new_bytes`: see [`UpdatePolicy`]. Refused,
    /// changing nothing, when a dependent imports something the new version no longer
    /// provides in the same form (the error names the dependent and the import).
    pub fn update_module(
        &self,
        module: &str,
        new_bytes: impl AsRef<[u8]>,
        policy: UpdatePolicy,
    ) -> Result<UpdateReport> {
        self.update_module_with(module, NewVersion::Wasm(new_bytes.as_ref()), policy)
    }

    /// [`Registry::update_module`] with the new version precompiled (such as a module
    /// loaded from an `.aot` file). `Fresh` instantiates it as it is, in its own mode;
    /// `KeepState` installs its code of the changed functions, which needs the running
    /// module in Aot mode and laid out as the new version (see
    /// [`Registry::patch_function_compiled`]).
    pub fn update_module_compiled(
        &self,
        module: &str,
        new_version: &CompiledModule,
        policy: UpdatePolicy,
    ) -> Result<UpdateReport> {
        self.update_module_with(module, NewVersion::Compiled(new_version), policy)
    }

    fn update_module_with(
        &self,
        module: &str,
        new_version: NewVersion<'_>,
        policy: UpdatePolicy,
    ) -> Result<UpdateReport> {
        let _serial = self.patching.lock().unwrap_or_else(|e| e.into_inner());
        let old = self.find(module).ok_or_else(|| unknown_module(module))?;
        if policy == UpdatePolicy::KeepState {
            return rwamr_patch::update_keep_state(&old, new_version);
        }
        if old.module().is_none() {
            return Err(Error::registry(format!(
                "`{module}` is a host module; only wasm modules can be updated"
            )));
        }
        match new_version {
            NewVersion::Compiled(compiled) => self.update_fresh(module, &old, compiled),
            NewVersion::Wasm(bytes) => {
                let compiled = CompiledModule::new_in(&self.engine, bytes, old.mode())
                    .map_err(|e| e.context(format!("new version of `{module}`")))?;
                self.update_fresh(module, &old, &compiled)
            }
        }
    }

    /// `UpdatePolicy::Fresh` of wasm module `name` (running as `old`) to `compiled`.
    fn update_fresh(
        &self,
        name: &str,
        old: &Arc<Instance>,
        compiled: &CompiledModule,
    ) -> Result<UpdateReport> {
        // A fresh instance cannot take over running threads' state (their own globals
        // and tables): they would go on running the old version.
        let threads = old.thread_instances().len();
        if threads > 0 {
            return Err(Error::incompatible(format!(
                "cannot update `{name}` fresh while {threads} thread(s) of it run: they \
                 would keep running the old version; update it with KeepState, whose \
                 new code reaches every thread, or once they have finished"
            )));
        }
        // Dependents of every name the old instance is registered under.
        let other_names: Vec<String> = {
            let st = self.read();
            st.modules
                .iter()
                .filter(|(n, i)| n.as_str() != name && Arc::ptr_eq(i, old))
                .map(|(n, _)| n.clone())
                .collect()
        };
        let mut dependent_names: Vec<String> = std::iter::once(name)
            .chain(other_names.iter().map(String::as_str))
            .flat_map(|n| self.dependents(n))
            .collect();
        dependent_names.sort();
        dependent_names.dedup();
        let dependents: Vec<(String, Arc<Instance>)> = dependent_names
            .into_iter()
            .filter_map(|d| self.find(&d).map(|i| (d, i)))
            .collect();
        let deps: Vec<rwamr_patch::Dependent<'_>> = dependents
            .iter()
            .filter_map(|(d, i)| {
                i.module().map(|m| rwamr_patch::Dependent {
                    name: d.as_str(),
                    module: m,
                })
            })
            .collect();
        rwamr_patch::check_fresh(name, &other_names, old, &compiled.module, &deps)?;
        let own = self.read().own_imports.get(name).cloned();
        let (imports, from) = self.resolve(compiled, own.as_deref())?;
        if from.contains(name) {
            return Err(Error::registry(format!(
                "cannot update `{name}` fresh: the new version imports from `{name}` itself"
            )));
        }
        let new = Instance::instantiate(&self.engine, name, compiled, imports)
            .map_err(|e| e.context(format!("new version of `{name}`")))?;
        let report = rwamr_patch::forward_exports(old, &new)?;
        let mut st = self.write();
        st.unlink_imports(name);
        // Other names of the old instance (`alias`) now name the new one as well.
        for inst in st.modules.values_mut() {
            if Arc::ptr_eq(inst, old) {
                *inst = new.clone();
            }
        }
        st.link(name, new, from, own);
        Ok(report)
    }
}

fn unknown_module(name: &str) -> Error {
    Error::registry(format!("no module named `{name}` is loaded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rwamr_core::{ErrorKind, FuncType, Limits, TrapCode, Val, ValType};

    fn registry() -> Registry {
        let interp: Box<dyn rwamr_core::Compiler> = Box::new(rwamr_interp::InterpCompiler);
        let engine = Engine::new(
            Mode::Interp,
            Limits::default(),
            vec![(Mode::Interp, interp)],
            None,
        )
        .unwrap();
        Registry::new(&engine)
    }

    fn wasm(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("test module text")
    }

    /// Exports `f` (returns `v`), memory `mem`, global `g`, table `tab`.
    fn lib(v: i32) -> Vec<u8> {
        wasm(&format!(
            r#"(module (memory (export "mem") 1) (global (export "g") i32 (i32.const 7))
                (table (export "tab") 1 funcref)
                (func (export "f") (result i32) (i32.const {v})))"#
        ))
    }

    /// Imports `A.f`; `g` returns it plus 1000.
    fn user() -> Vec<u8> {
        wasm(
            r#"(module (import "A" "f" (func $f (result i32)))
                (func (export "g") (result i32) (i32.add (call $f) (i32.const 1000))))"#,
        )
    }

    fn call(reg: &Registry, m: &str, f: &str) -> Result<i32> {
        match reg.func(m, f)?.call(&[])?.as_slice() {
            [Val::I32(v)] => Ok(*v),
            other => panic!("{other:?}"),
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn exports_are_found_by_module_and_name() {
        let reg = registry();
        reg.load("A", lib(1)).unwrap();
        assert!(reg.find("A").is_some() && reg.find("Z").is_none());
        assert_eq!(call(&reg, "A", "f").unwrap(), 1);
        assert_eq!(reg.global("A", "g").unwrap().get(), Val::I32(7));
        assert_eq!(reg.memory("A", "mem").unwrap().size_pages(), 1);
        assert_eq!(reg.table("A", "tab").unwrap().size(), 1);
        let e = reg.func("Z", "f").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry);
        assert!(e.to_string().contains("no module named `Z`"), "{e}");
        let e = reg.func("A", "nope").unwrap_err();
        assert!(e.to_string().contains("no export named `nope`"), "{e}");
        let e = reg.memory("A", "f").unwrap_err();
        assert!(e.to_string().contains("is a function, not a memory"), "{e}");
    }

    #[test]
    fn imports_resolve_by_name_and_a_failed_load_registers_nothing() {
        let reg = registry();
        let e = reg.load("B", user()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Link);
        assert!(
            e.to_string().contains("no module named `A` is loaded"),
            "{e}"
        );
        reg.load("A", wasm("(module)")).unwrap();
        let e = reg.load("B", user()).unwrap_err();
        assert!(
            e.to_string().contains("module `A` has no export named `f`"),
            "{e}"
        );
        assert!(reg.load("C", b"\0asm junk").is_err());
        assert_eq!(
            reg.names(),
            vec!["A".to_string()],
            "nothing else registered"
        );
        reg.unload("A").unwrap();
        reg.load("A", lib(1)).unwrap();
        reg.load("B", user()).unwrap();
        assert_eq!(call(&reg, "B", "g").unwrap(), 1001);
        assert_eq!(reg.dependents("A"), vec!["B".to_string()]);
        let e = reg.load("A", lib(2)).unwrap_err();
        assert!(e.to_string().contains("already loaded"), "{e}");
    }

    #[test]
    fn unload_is_refused_while_importers_remain_and_cascade_takes_them() {
        let reg = registry();
        reg.load("A", lib(1)).unwrap();
        reg.load("B", user()).unwrap();
        let handle = reg.func("B", "g").unwrap();
        let e = reg.unload("A").unwrap_err();
        assert!(e.to_string().contains("`B` import(s) from it"), "{e}");
        assert_eq!(
            call(&reg, "B", "g").unwrap(),
            1001,
            "refused: nothing changed"
        );
        assert_eq!(
            reg.unload_cascade("A").unwrap(),
            vec!["B".to_string(), "A".to_string()]
        );
        assert!(reg.names().is_empty());
        let e = handle.call(&[]).unwrap_err();
        assert_eq!(e.trap().map(|t| t.code()), Some(TrapCode::Unloaded));
        assert_eq!(reg.unload("A").unwrap_err().kind(), ErrorKind::Registry);
    }

    #[test]
    fn aliases_and_host_modules_share_the_name_space() {
        let reg = registry();
        reg.load("A", lib(1)).unwrap();
        reg.alias("A", "A2").unwrap();
        assert!(Arc::ptr_eq(
            &reg.find("A").unwrap(),
            &reg.find("A2").unwrap()
        ));
        assert!(reg.alias("A", "A2").is_err(), "the name is taken");
        let host = HostModule::new().func("h", FuncType::new([], [ValType::I32]), |_, _, r| {
            r[0] = Val::I32(5);
            Ok(())
        });
        reg.define_host("H", &host).unwrap();
        assert_eq!(call(&reg, "H", "h").unwrap(), 5);
        assert!(reg.define_host("A", &host).is_err());
        // One name gone, the instance stays under the other.
        reg.unload("A").unwrap();
        assert_eq!(call(&reg, "A2", "f").unwrap(), 1);
        assert_eq!(sorted(reg.names()), vec!["A2".to_string(), "H".to_string()]);
    }

    #[test]
    fn own_imports_are_seen_by_their_module_alone() {
        let reg = registry();
        let host = HostModule::new().func("f", FuncType::new([], [ValType::I32]), |_, _, r| {
            r[0] = Val::I32(40);
            Ok(())
        });
        reg.load_with("B", user(), &[("A", &host)]).unwrap();
        assert_eq!(call(&reg, "B", "g").unwrap(), 1040);
        assert!(reg.find("A").is_none(), "not registered");
        assert!(reg.dependents("A").is_empty());
        assert!(reg.load("C", user()).is_err(), "not seen by others");
        let e = reg
            .load_with("D", user(), &[("A", &host), ("A", &host)])
            .unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn patches_and_updates_reach_importers_and_every_name() {
        let reg = registry();
        reg.load("A", lib(1)).unwrap();
        reg.alias("A", "A2").unwrap();
        reg.load("B", user()).unwrap();
        let e = reg.patch_function("Z", "f", lib(2)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Registry);
        let p = reg.patch_function("A", "f", lib(2)).unwrap();
        assert!(p.changed);
        assert_eq!(call(&reg, "B", "g").unwrap(), 1002);
        let r = reg
            .update_module("A", lib(1), UpdatePolicy::KeepState)
            .unwrap();
        assert_eq!(r.swapped, vec!["f".to_string()], "back to version 1");
        assert_eq!(call(&reg, "A2", "f").unwrap(), 1);
        // Fresh: every name moves to the new instance; importers reach it.
        let before = reg.find("A").unwrap();
        reg.update_module("A2", lib(3), UpdatePolicy::Fresh)
            .unwrap();
        let after = reg.find("A").unwrap();
        assert!(!Arc::ptr_eq(&before, &after));
        assert!(Arc::ptr_eq(&after, &reg.find("A2").unwrap()));
        assert_eq!(call(&reg, "B", "g").unwrap(), 1003);
        // A fresh version that imports from itself is refused.
        let own = wasm(
            r#"(module (import "A" "f" (func (result i32))) (func (export "f") (result i32) (i32.const 4)))"#,
        );
        let e = reg
            .update_module("A", own, UpdatePolicy::Fresh)
            .unwrap_err();
        assert!(e.to_string().contains("imports from `A` itself"), "{e}");
        assert_eq!(
            call(&reg, "B", "g").unwrap(),
            1003,
            "refused: nothing changed"
        );
    }

    #[test]
    fn instances_of_another_engine_are_not_registered() {
        let (a, b) = (registry(), registry());
        let inst = b.load("X", lib(1)).unwrap();
        let e = a.register_instance("X", &inst).unwrap_err();
        assert!(e.to_string().contains("another engine"), "{e}");
        let same = registry();
        let inst = same.instantiate(lib(1)).unwrap();
        same.register_instance("X", &inst).unwrap();
        assert_eq!(call(&same, "X", "f").unwrap(), 1);
    }
}

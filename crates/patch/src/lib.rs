//! Hot patching on top of the function-slot table: replace one function's code, or a
//! whole module, while the module is loaded and others depend on it.
//!
//! Every call goes through a slot, so installing new code is a store into slots: a call
//! already running finishes in the code it started in, every call that starts later runs
//! the new code, and importers (present and future) reach it through the same slot. All
//! the functions of one patch or update, in every thread's instance and every forwarding
//! slot, change in one step (core's `slot/update.rs`). Everything that can fail
//! (decoding, validation, compatibility checks, compilation) happens before the first
//! store, so a refused patch changes nothing.
//!
//! A patch or update compares with the code running now (`Instance::running_body`, the
//! digest of each function's body as loaded or as last patched): going back to an
//! earlier version is a change like any other.
//!
//! A replaced entry, and the code only it held, is freed by epoch reclamation once no
//! call can still be inside it (see core's `slot/`): calls hold an epoch guard for
//! their whole run, so nothing is freed under a running call, and a long-lived instance
//! patched many times does not accumulate old code.
//!
//! The new code is compiled for the running instance's layout (`Compiler::
//! compile_function`), after `check_compatible` found everything its body uses there in
//! the same form (`usage.rs`, which no operator escapes): that is what makes installing
//! it sound (`install`, the one `unsafe` call of this crate).
#![deny(unsafe_code)]

mod usage;

use rwamr_core::module::{shown_name, Import, ImportKind};
use rwamr_core::slot::WasmCodeRef;
use rwamr_core::{
    CompiledModule, Error, Extern, ExternKind, Instance, Mode, Module, NewCode, Result,
};
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use usage::{body_usage, check_compatible, Usage};

/// Which function to patch: an export name or an index of the function index space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuncSelector {
    Export(String),
    Index(u32),
}

impl From<&str> for FuncSelector {
    fn from(s: &str) -> Self {
        FuncSelector::Export(s.to_string())
    }
}
impl From<String> for FuncSelector {
    fn from(s: String) -> Self {
        FuncSelector::Export(s)
    }
}
impl From<u32> for FuncSelector {
    fn from(i: u32) -> Self {
        FuncSelector::Index(i)
    }
}

impl std::fmt::Display for FuncSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FuncSelector::Export(n) => write!(f, "`{n}`"),
            FuncSelector::Index(i) => write!(f, "function {i}"),
        }
    }
}

/// How `update_module` replaces a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdatePolicy {
    /// Keep linear memory, globals and tables; swap the slot of every function whose body
    /// changed. The new version must have the same layout (imports, function types,
    /// exports, memories, tables, globals, segments).
    KeepState,
    /// Instantiate the new version (fresh state, start function run) and re-point the
    /// function slots that dependents import to the new functions.
    Fresh,
}

/// What a `patch_function` did.
#[derive(Debug, Clone)]
pub struct PatchReport {
    pub function: String,
    /// Whether the function runs new code now: false when the new body is the one it
    /// ran already (then nothing was installed).
    pub changed: bool,
    /// Decoding, validating, checking and compiling the new body.
    pub prepare: Duration,
    /// Installing it: the slot swap (and any forwarding slots).
    pub swap: Duration,
}

/// What an `update_module` did, compared with the code that ran before it.
#[derive(Debug, Clone)]
pub struct UpdateReport {
    pub policy: UpdatePolicy,
    /// Functions now running new code, by name: with `KeepState`, those whose body
    /// differs from the one they ran (patches included); with `Fresh`, the exports
    /// re-pointed to the new instance.
    pub swapped: Vec<String>,
    /// Functions left as they were (the body they ran already, or not re-pointed).
    pub unchanged: usize,
}

/// A new version of a module: wasm, whose changed bodies are compiled at patch time
/// for the running instance, or a module precompiled from an `.aot` file, whose code is
/// installed as it is.
#[derive(Clone, Copy)]
pub enum NewVersion<'a> {
    Wasm(&'a [u8]),
    Compiled(&'a CompiledModule),
}

impl NewVersion<'_> {
    /// The new version's module, decoded if it is wasm.
    fn module(&self, name: &str) -> Result<Arc<Module>> {
        match self {
            NewVersion::Wasm(bytes) => {
                Ok(Arc::new(Module::new(bytes).map_err(|e| {
                    e.context(format!("new version of `{name}`"))
                })?))
            }
            NewVersion::Compiled(c) => Ok(c.module.clone()),
        }
    }

    /// Code for function `index` of `new` (this version's module) to run in `inst`:
    /// compiled now by `inst`'s tier, or taken from the precompiled module, which
    /// `precompiled_fits` accepted.
    fn code(&self, inst: &Instance, new: &Arc<Module>, index: u32) -> Result<WasmCodeRef> {
        match self {
            NewVersion::Wasm(_) => {
                let engine = inst.engine();
                let old = module_of(inst)?;
                engine
                    .compiler_for(inst.mode())?
                    .compile_function(engine, new, index, old)
            }
            NewVersion::Compiled(c) => {
                Ok(c.code[(index - new.num_imported_funcs) as usize].clone())
            }
        }
    }

    /// Why the new body of function `index` cannot run in the running module `old`, if
    /// it cannot. A precompiled version's bodies are not at hand (an `.aot` file holds
    /// code, not wasm): `unfit` checks its whole layout instead.
    fn body_unfit(&self, old: &Module, new: &Module, index: u32) -> Result<Option<String>> {
        match self {
            NewVersion::Wasm(_) => {
                let usage = body_usage(new, index)?;
                Ok(check_compatible(old, new, &usage).err())
            }
            NewVersion::Compiled(_) => Ok(None),
        }
    }

    /// For a precompiled version: why its code cannot run in `inst`, if it cannot.
    fn unfit(&self, inst: &Instance, old: &Module, new: &Module) -> Option<String> {
        let NewVersion::Compiled(c) = self else {
            return None;
        };
        precompiled_fits(inst, old, c, new).err()
    }
}

/// Whether code precompiled for `new` (in `compiled`) can run in `inst`: code from an
/// `.aot` file was compiled for its own module's layout, not the running one's, so it
/// fits only a module in Aot mode laid out the same way, with the same types.
fn precompiled_fits(
    inst: &Instance,
    old: &Module,
    compiled: &CompiledModule,
    new: &Module,
) -> std::result::Result<(), String> {
    if compiled.mode != Mode::Aot || inst.mode() != Mode::Aot {
        return Err(format!(
            "precompiled code replaces code of modules loaded from .aot files only (this \
             one runs in {} mode, the new code is {}); give the new version as wasm, to be \
             compiled for the running module",
            inst.mode(),
            compiled.mode
        ));
    }
    if !compiled.engine().same(inst.engine()) {
        return Err(
            "the new version was loaded for another engine; load it with the running \
             module's engine"
                .into(),
        );
    }
    let why = keep_state_layout(old, new)
        .or_else(|| (old.types != new.types).then(|| "its type section changed".to_string()));
    match why {
        Some(why) => Err(format!(
            "its .aot code was compiled for a different layout ({why}); give the new version \
             as wasm, to be compiled for the running module"
        )),
        None => Ok(()),
    }
}

fn refused(module: &str, what: impl std::fmt::Display, why: impl std::fmt::Display) -> Error {
    Error::incompatible(format!("cannot patch {what} of `{module}`: {why}"))
}

/// The module of a wasm instance (host modules cannot be patched).
fn module_of(inst: &Instance) -> Result<&Arc<Module>> {
    inst.module().ok_or_else(|| {
        Error::registry(format!(
            "`{}` is a host module; only wasm modules can be patched",
            inst.name()
        ))
    })
}

/// Index of `sel` in `m`'s function index space.
fn resolve(m: &Module, sel: &FuncSelector) -> Option<u32> {
    match sel {
        FuncSelector::Export(n) => match m.exports.get(n.as_str()) {
            Some((ExternKind::Func, i)) => Some(*i),
            _ => None,
        },
        FuncSelector::Index(i) => ((*i as usize) < m.funcs.len()).then_some(*i),
    }
}

/// Replaces the code of one function of `inst` with its body in `new_version` (a new
/// version of the same module), compiled by the engine's tier to run in `inst`'s
/// context.
pub fn patch_function(
    inst: &Instance,
    func: &FuncSelector,
    new_version: NewVersion<'_>,
) -> Result<PatchReport> {
    let t0 = Instant::now();
    let name = inst.name();
    let old = module_of(inst)?;
    let old_index = resolve(old, func)
        .ok_or_else(|| refused(name, func, "the running module has no such function"))?;
    if !inst.defines_func(old_index) {
        return Err(refused(
            name,
            func,
            "it is imported; patch it in the module that defines it",
        ));
    }
    let new = new_version.module(name)?;
    let new_index = resolve(&new, func)
        .ok_or_else(|| refused(name, func, "the new version has no such function"))?;
    if new_index < new.num_imported_funcs {
        return Err(refused(
            name,
            func,
            "the new version imports it instead of defining it",
        ));
    }
    if new_index != old_index {
        return Err(refused(
            name,
            func,
            format!("it moved from index {old_index} to {new_index}; function indices must stay the same"),
        ));
    }
    let (ot, nt) = (old.func_type(old_index), new.func_type(new_index));
    if ot != nt {
        return Err(refused(
            name,
            func,
            format!("its type changed from {ot} to {nt}; a patch must keep the type"),
        ));
    }
    if let Some(why) = new_version.unfit(inst, old, &new) {
        return Err(refused(name, func, why));
    }
    if let Some(why) = new_version.body_unfit(old, &new, new_index)? {
        return Err(refused(
            name,
            func,
            format!("the new body is incompatible: {why}"),
        ));
    }
    let body = new.body_digest(new_index);
    if inst.running_body(old_index) == Some(body) {
        return Ok(PatchReport {
            function: old.func_name(old_index),
            changed: false,
            prepare: t0.elapsed(),
            swap: Duration::ZERO,
        });
    }
    let code = new_version.code(inst, &new, new_index)?;
    let t1 = Instant::now();
    install(
        inst,
        &[NewCode {
            index: old_index,
            code,
            body,
        }],
    )?;
    let swap = t1.elapsed();
    Ok(PatchReport {
        function: old.func_name(old_index),
        changed: true,
        prepare: t1 - t0,
        swap,
    })
}

/// The layout differences that a `KeepState` update cannot absorb, if any.
fn keep_state_layout(old: &Module, new: &Module) -> Option<String> {
    let same = |a: &Import, b: &Import| {
        a.module == b.module
            && a.name == b.name
            && match (&a.kind, &b.kind) {
                (ImportKind::Func(x), ImportKind::Func(y)) => {
                    old.types[*x as usize] == new.types[*y as usize]
                }
                (x, y) => x == y,
            }
    };
    if old.imports.len() != new.imports.len()
        || old
            .imports
            .iter()
            .zip(&new.imports)
            .any(|(a, b)| !same(a, b))
    {
        return Some("its imports changed".into());
    }
    if old.funcs.len() != new.funcs.len() {
        return Some(format!(
            "it has {} functions where the running module has {}",
            new.funcs.len(),
            old.funcs.len()
        ));
    }
    if let Some(i) = (0..old.funcs.len() as u32).find(|i| old.func_type(*i) != new.func_type(*i)) {
        return Some(format!("function {} changed its type", old.func_name(i)));
    }
    if old.exports != new.exports {
        return Some("its exports changed".into());
    }
    if old.memories != new.memories || old.tables != new.tables || old.globals != new.globals {
        return Some("its memories, tables or globals changed".into());
    }
    if old.datas.len() != new.datas.len() || old.elems.len() != new.elems.len() {
        return Some("its data or element segments were added or removed".into());
    }
    None
}

/// `UpdatePolicy::KeepState`: swaps the code of every function whose body changed.
pub fn update_keep_state(inst: &Instance, new_version: NewVersion<'_>) -> Result<UpdateReport> {
    let name = inst.name();
    let old = module_of(inst)?;
    let new = new_version.module(name)?;
    if let Some(why) = keep_state_layout(old, &new) {
        return Err(Error::incompatible(format!(
            "cannot update `{name}` keeping its state: {why}; use UpdatePolicy::Fresh"
        )));
    }
    if let Some(why) = new_version.unfit(inst, old, &new) {
        return Err(Error::incompatible(format!(
            "cannot update `{name}` keeping its state: {why}"
        )));
    }
    // Compared with what runs now: earlier patches and updates count, so going back to
    // an earlier version is a change like any other.
    let first = old.num_imported_funcs;
    let mut compiled = Vec::new();
    for i in first..old.funcs.len() as u32 {
        let body = new.body_digest(i);
        if inst.running_body(i) == Some(body) {
            continue;
        }
        if let Some(why) = new_version.body_unfit(old, &new, i)? {
            return Err(Error::incompatible(format!(
                "cannot update `{name}`: the new body of {} is incompatible: {why}",
                old.func_name(i)
            )));
        }
        let code = new_version.code(inst, &new, i)?;
        compiled.push(NewCode {
            index: i,
            code,
            body,
        });
    }
    let unchanged = old.num_defined_funcs() as usize - compiled.len();
    let swapped = compiled.iter().map(|c| old.func_name(c.index)).collect();
    install(inst, &compiled)?;
    Ok(UpdateReport {
        policy: UpdatePolicy::KeepState,
        swapped,
        unchanged,
    })
}

/// A module that imports from the one being updated: its name and its module.
pub struct Dependent<'a> {
    pub name: &'a str,
    pub module: &'a Module,
}

/// Checks that a `Fresh` update of `module_name` (running as `old`, also registered as
/// `other_names`) to `new` keeps every import of every dependent satisfiable by
/// re-pointing function slots. The error names
/// the dependent and the import.
pub fn check_fresh(
    module_name: &str,
    other_names: &[String],
    old: &Instance,
    new: &Module,
    dependents: &[Dependent<'_>],
) -> Result<()> {
    let names_old = |m: &str| m == module_name || other_names.iter().any(|n| n == m);
    for d in dependents {
        for imp in d.module.imports.iter().filter(|i| names_old(&i.module)) {
            let what = format!(
                "`{}` imports `{}`.`{}`",
                d.name,
                shown_name(&imp.module),
                shown_name(&imp.name)
            );
            let ImportKind::Func(want) = imp.kind else {
                return Err(Error::incompatible(format!(
                    "cannot update `{module_name}` fresh: {what}, a {}; a fresh update re-points only functions (use KeepState, or reload `{}`)",
                    imp.extern_kind(),
                    d.name
                )));
            };
            let want = &d.module.types[want as usize];
            match new.exports.get(imp.name.as_str()) {
                Some((ExternKind::Func, i)) if new.func_type(*i) == want && *i >= new.num_imported_funcs => {}
                Some((ExternKind::Func, i)) if new.func_type(*i) == want => {
                    return Err(Error::incompatible(format!(
                        "cannot update `{module_name}` fresh: {what}, which the new version re-exports from another module instead of defining"
                    )))
                }
                Some((ExternKind::Func, i)) => {
                    return Err(Error::incompatible(format!(
                        "cannot update `{module_name}` fresh: {what} as {want}, but the new version exports it as {}",
                        new.func_type(*i)
                    )))
                }
                _ => {
                    return Err(Error::incompatible(format!(
                        "cannot update `{module_name}` fresh: {what}, which the new version does not export as a function"
                    )))
                }
            }
            match old.export(&imp.name) {
                Some(Extern::Func(_)) => {
                    let (_, idx) = old.module().expect("wasm").exports[imp.name.as_str()];
                    if !old.defines_func(idx) {
                        return Err(Error::incompatible(format!(
                            "cannot update `{module_name}` fresh: {what}, which the running version re-exports from another module; update that module instead"
                        )));
                    }
                }
                _ => unreachable!("a dependent's import resolved to this export"),
            }
        }
    }
    Ok(())
}

/// After a `Fresh` instantiation: makes every exported function of `old` that `new`
/// exports with the same type (and defines) run `new`'s function, all in one step.
/// Returns their names.
pub fn forward_exports(old: &Arc<Instance>, new: &Arc<Instance>) -> Result<UpdateReport> {
    let (om, nm) = (module_of(old)?, module_of(new)?);
    let mut swapped = Vec::new();
    let mut pairs = Vec::new();
    let mut unchanged = 0;
    for name in &om.export_order {
        let Some((ExternKind::Func, oi)) = om.exports.get(name.as_str()).copied() else {
            continue;
        };
        match nm.exports.get(name.as_str()).copied() {
            Some((ExternKind::Func, ni))
                if old.defines_func(oi)
                    && new.defines_func(ni)
                    && om.func_type(oi) == nm.func_type(ni) =>
            {
                pairs.push((oi, ni));
                swapped.push(name.clone());
            }
            _ => unchanged += 1,
        }
    }
    Instance::forward_to(old, new, &pairs)?;
    Ok(UpdateReport {
        policy: UpdatePolicy::Fresh,
        swapped,
        unchanged,
    })
}

/// Installs `codes`, compiled from a new version of `inst`'s module, in one step.
#[allow(unsafe_code)]
fn install(inst: &Instance, codes: &[NewCode]) -> Result<()> {
    // SAFETY: every caller compiled each code for its function of a new version whose
    // function has the same type, after `check_compatible` found everything the body
    // uses (functions, types, globals, tables, memories, segments, tags) at the same
    // indices and of the same types in `inst`'s module, with `inst`'s own tier and
    // layout; or took it from a precompiled module that `precompiled_fits` accepted.
    unsafe { inst.install_code(codes) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rwamr_core::{Engine, FuncType, HostModule, Limits, ResolvedImport, Val};

    fn engine() -> Engine {
        let interp: Box<dyn rwamr_core::Compiler> = Box::new(rwamr_interp::InterpCompiler);
        Engine::new(
            Mode::Interp,
            Limits::default(),
            vec![(Mode::Interp, interp)],
            None,
        )
        .unwrap()
    }

    fn wasm(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("test module text")
    }

    fn module(text: &str) -> Module {
        Module::new(&wasm(text)).expect("valid module")
    }

    fn instance(engine: &Engine, text: &str) -> Arc<Instance> {
        let compiled = CompiledModule::new(engine, &wasm(text)).unwrap();
        Instance::instantiate(engine, "A", &compiled, Vec::new()).unwrap()
    }

    fn call(inst: &Instance, name: &str) -> i32 {
        match inst.get_func(name).unwrap().call(&[]).unwrap().as_slice() {
            [Val::I32(v)] => *v,
            other => panic!("{other:?}"),
        }
    }

    /// Version `v`: `f` returns `v`, `g` returns 100.
    fn version(v: i32) -> String {
        format!(
            r#"(module (func (export "f") (result i32) (i32.const {v}))
                (func (export "g") (result i32) (i32.const 100)))"#
        )
    }

    #[test]
    fn keep_state_layout_names_each_change() {
        let base = r#"(module (import "m" "h" (func)) (memory 1) (global i32 (i32.const 0))
            (func (export "f")) (data "x"))"#;
        let cases = [
            (
                r#"(module (import "m" "k" (func)) (memory 1) (global i32 (i32.const 0)) (func (export "f")) (data "x"))"#,
                "imports changed",
            ),
            (
                r#"(module (import "m" "h" (func)) (memory 1) (global i32 (i32.const 0)) (func (export "f")) (func) (data "x"))"#,
                "3 functions where the running module has 2",
            ),
            (
                r#"(module (import "m" "h" (func)) (memory 1) (global i32 (i32.const 0)) (func (export "f") (param i32)) (data "x"))"#,
                "changed its type",
            ),
            (
                r#"(module (import "m" "h" (func)) (memory 1) (global i32 (i32.const 0)) (func (export "e")) (data "x"))"#,
                "exports changed",
            ),
            (
                r#"(module (import "m" "h" (func)) (memory 2) (global i32 (i32.const 0)) (func (export "f")) (data "x"))"#,
                "memories, tables or globals",
            ),
            (
                r#"(module (import "m" "h" (func)) (memory 1) (global i32 (i32.const 0)) (func (export "f")))"#,
                "segments were added or removed",
            ),
        ];
        let old = module(base);
        assert_eq!(keep_state_layout(&old, &module(base)), None);
        for (new, why) in cases {
            let got = keep_state_layout(&old, &module(new)).unwrap_or_default();
            assert!(got.contains(why), "{new}: {got}");
        }
    }

    #[test]
    fn patches_compare_with_the_body_running_now() {
        let engine = engine();
        let inst = instance(&engine, &version(1));
        let patch = |v: i32| {
            patch_function(&inst, &"f".into(), NewVersion::Wasm(&wasm(&version(v)))).unwrap()
        };
        assert!(patch(2).changed);
        assert_eq!(call(&inst, "f"), 2);
        assert_eq!(
            inst.running_body(0),
            Some(module(&version(2)).body_digest(0))
        );
        assert!(!patch(2).changed, "the body it runs already");
        assert!(patch(1).changed, "back to the first version");
        assert_eq!(call(&inst, "f"), 1);
        assert_eq!(
            inst.running_body(0),
            Some(module(&version(1)).body_digest(0))
        );
    }

    #[test]
    fn keep_state_updates_compare_with_the_code_running_now() {
        let engine = engine();
        let inst = instance(&engine, &version(1));
        let update =
            |v: i32| update_keep_state(&inst, NewVersion::Wasm(&wasm(&version(v)))).unwrap();
        let r = update(2);
        assert_eq!((r.swapped, r.unchanged), (vec!["f".to_string()], 1));
        let r = update(1);
        assert_eq!((r.swapped, r.unchanged), (vec!["f".to_string()], 1));
        assert_eq!(call(&inst, "f"), 1);
        let r = update(1);
        assert_eq!((r.swapped.len(), r.unchanged), (0, 2));
        // After a patch, the update reverts what the patch changed.
        patch_function(&inst, &"f".into(), NewVersion::Wasm(&wasm(&version(3)))).unwrap();
        let r = update(1);
        assert_eq!(r.swapped, vec!["f".to_string()]);
        assert_eq!(call(&inst, "f"), 1);
    }

    #[test]
    fn refused_patches_say_why_and_change_nothing() {
        let engine = engine();
        let host = HostModule::new().func("h", FuncType::new([], []), |_, _, _| Ok(()));
        let host = Instance::new_host(&engine, "m", &host).unwrap();
        let text = r#"(module (import "m" "h" (func $h)) (export "h" (func $h))
            (func (export "f") (result i32) (i32.const 1)))"#;
        let compiled = CompiledModule::new(&engine, &wasm(text)).unwrap();
        let imports = vec![ResolvedImport {
            item: host.export("h").unwrap(),
            owner: host.clone(),
        }];
        let inst = Instance::instantiate(&engine, "A", &compiled, imports).unwrap();
        let refused = |func: &str, new: &str| {
            patch_function(&inst, &func.into(), NewVersion::Wasm(&wasm(new)))
                .unwrap_err()
                .to_string()
        };
        let cases = [
            ("h", text, "it is imported"),
            ("g", text, "the running module has no such function"),
            ("f", "(module)", "the new version has no such function"),
            (
                "f",
                r#"(module (import "m" "h" (func)) (import "m" "f" (func $f (result i32))) (export "f" (func $f)))"#,
                "imports it instead of defining it",
            ),
            (
                "f",
                r#"(module (import "m" "h" (func)) (func) (func (export "f") (result i32) (i32.const 2)))"#,
                "moved from index 1 to 2",
            ),
            (
                "f",
                r#"(module (import "m" "h" (func)) (func (export "f") (result i64) (i64.const 2)))"#,
                "its type changed from",
            ),
            (
                "f",
                r#"(module (import "m" "h" (func)) (memory 1) (func (export "f") (result i32) (i32.atomic.load (i32.const 0))))"#,
                "linear memory 0, which the running instance does not have",
            ),
        ];
        for (func, new, why) in cases {
            let e = refused(func, new);
            assert!(e.contains(why), "{new}: {e}");
            assert_eq!(call(&inst, "f"), 1, "{new}: unchanged");
        }
    }

    #[test]
    fn fresh_forwarding_repoints_the_exports_the_new_version_defines_alike() {
        let engine = engine();
        let old = instance(&engine, &version(1));
        let new = instance(
            &engine,
            r#"(module (func (export "f") (result i32) (i32.const 2))
                (func (export "g") (result i64) (i64.const 0)))"#,
        );
        let r = forward_exports(&old, &new).unwrap();
        assert_eq!((r.swapped, r.unchanged), (vec!["f".to_string()], 1));
        assert_eq!(
            call(&old, "f"),
            2,
            "the old instance's slot runs the new `f`"
        );
        assert_eq!(call(&old, "g"), 100, "`g` changed its type: not re-pointed");
    }
}

//! Checking resolved imports against what a module declares: kinds, function types,
//! table and memory limits, global types. The linker (the registry) finds the items by
//! name; whether they fit is decided here, once, for every way of instantiating.

use super::{Extern, Instance, ResolvedImport};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::global::Global;
use crate::memory::Memory;
use crate::module::{shown_name, ImportKind, Module};
use crate::slot::FuncSlot;
use crate::table::Table;
use crate::types::{limits_match, SigId};
use std::sync::Arc;

/// The imported part of each index space, and the instances that own those items.
pub(super) struct Imported {
    pub funcs: Vec<*const FuncSlot>,
    pub tables: Vec<Arc<Table>>,
    pub memories: Vec<Arc<Memory>>,
    pub globals: Vec<Arc<Global>>,
    pub deps: Vec<Arc<Instance>>,
}

fn incompatible(module: &str, name: &str, detail: String) -> Error {
    let (module, name) = (shown_name(module), shown_name(name));
    Error::link(format!(
        "incompatible import type for `{module}`.`{name}`: {detail}"
    ))
}

/// Checks `imports` (in the module's import order) against `module`'s declarations;
/// `sigs` are the canonical ids of the module's types.
pub(super) fn check(
    engine: &Engine,
    module: &Module,
    sigs: &[SigId],
    imports: Vec<ResolvedImport>,
) -> Result<Imported> {
    if imports.len() != module.imports.len() {
        return Err(Error::link(format!(
            "module needs {} imports, {} were given",
            module.imports.len(),
            imports.len()
        )));
    }
    let mut out = Imported {
        funcs: Vec::with_capacity(module.funcs.len()),
        tables: Vec::with_capacity(module.tables.len()),
        memories: Vec::with_capacity(module.memories.len()),
        globals: Vec::with_capacity(module.globals.len()),
        deps: Vec::new(),
    };
    for (imp, resolved) in module.imports.iter().zip(imports) {
        let (m, n) = (imp.module.as_str(), imp.name.as_str());
        // Type ids, native entry points and the references in tables and globals are
        // per engine: nothing crosses engines.
        let foreign = match &resolved.item {
            Extern::Func(f) => !f.owner().engine().same(engine),
            _ => false,
        };
        if foreign || !resolved.owner.engine().same(engine) {
            return Err(incompatible(m, n, "it belongs to another engine".into()));
        }
        match (&imp.kind, &resolved.item) {
            (ImportKind::Func(t), Extern::Func(f)) => {
                let guard = crate::slot::pin();
                let entry = f.slot().entry(&guard);
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
                // The handle's owner keeps the slot alive; we keep the owner.
                if !out.deps.iter().any(|d| Arc::ptr_eq(d, f.owner())) {
                    out.deps.push(f.owner().clone());
                }
                out.funcs.push(f.slot() as *const FuncSlot);
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
                out.tables.push(t.clone());
            }
            (ImportKind::Memory(want), Extern::Memory(mem)) => {
                let have = mem.ty();
                if have.shared != want.shared {
                    let (w, h) = match want.shared {
                        true => ("a shared", "an unshared"),
                        false => ("an unshared", "a shared"),
                    };
                    return Err(incompatible(
                        m,
                        n,
                        format!("expected {w} memory, found {h} one"),
                    ));
                }
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
                engine.check_imported_memory(mem)?;
                out.memories.push(mem.clone());
            }
            (ImportKind::Global(want), Extern::Global(g)) => {
                if g.ty() != *want {
                    return Err(incompatible(
                        m,
                        n,
                        format!("expected global {want:?}, found {:?}", g.ty()),
                    ));
                }
                out.globals.push(g.clone());
            }
            (_, have) => {
                return Err(incompatible(
                    m,
                    n,
                    format!("expected a {}, found a {}", imp.extern_kind(), have.kind()),
                ));
            }
        }
        if !out.deps.iter().any(|d| Arc::ptr_eq(d, &resolved.owner)) {
            out.deps.push(resolved.owner);
        }
    }
    Ok(out)
}

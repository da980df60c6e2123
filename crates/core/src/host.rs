//! Host functions and host modules: Rust code that wasm modules import by name.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::memory::{Memory, MemoryView};
use crate::trap::Trap;
use crate::types::{FuncType, GlobalType, MemoryType, TableType};
use crate::val::Val;
use std::sync::Arc;

/// The signature of a host function's body: arguments in, results written to the
/// pre-sized `results` slice (filled with zero values of the result types).
pub type HostFnBody = dyn Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

/// A host function with its type.
pub struct HostFunc {
    ty: FuncType,
    body: Box<HostFnBody>,
}

impl HostFunc {
    pub fn new(
        ty: FuncType,
        body: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> HostFunc {
        HostFunc {
            ty,
            body: Box::new(body),
        }
    }

    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// Calls the body and checks that the results it wrote have the declared types.
    ///
    /// A panic in the body becomes a host trap: it must not unwind through wasm frames
    /// and out of the embedder's call.
    pub fn call(
        &self,
        caller: &mut Caller<'_>,
        args: &[Val],
        results: &mut [Val],
    ) -> Result<(), Trap> {
        let run = std::panic::AssertUnwindSafe(|| (self.body)(caller, args, results));
        match std::panic::catch_unwind(run) {
            Ok(r) => r?,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_string());
                return Err(Trap::host(format!("host function panicked: {msg}")));
            }
        }
        for (r, t) in results.iter().zip(self.ty.results()) {
            if r.ty() != *t {
                return Err(Trap::host(format!(
                    "host function of type {} returned a {} where a {t} was declared",
                    self.ty,
                    r.ty()
                )));
            }
        }
        Ok(())
    }

    /// Calls the body with arguments and results as cells (the form wasm code holds).
    pub fn call_cells(&self, caller: &Instance, cells: &mut [u64]) -> Result<(), Trap> {
        let args: Vec<Val> = self
            .ty
            .params()
            .iter()
            .zip(cells.iter())
            // SAFETY: argument cells of a call in progress; funcref cells among them are
            // slots kept alive by the calling instance.
            .map(|(t, c)| unsafe { Val::from_cell(*c, *t) })
            .collect();
        let mut results: Vec<Val> = self
            .ty
            .results()
            .iter()
            .map(|t| Val::default_for(*t))
            .collect();
        let mut caller = Caller::new(Some(caller));
        self.call(&mut caller, &args, &mut results)?;
        let engine = caller.instance().map(|i| i.engine());
        for (c, r) in cells.iter_mut().zip(&results) {
            if let Some(engine) = engine {
                r.check_engine(engine)
                    .map_err(|e| Trap::host(e.to_string()))?;
            }
            *c = r.to_cell();
        }
        Ok(())
    }
}

/// What a host function sees of its caller: the calling instance's exports (its memory,
/// for example), when it was called from wasm.
pub struct Caller<'a> {
    instance: Option<&'a Instance>,
}

impl<'a> Caller<'a> {
    pub(crate) fn new(instance: Option<&'a Instance>) -> Self {
        Caller { instance }
    }

    /// The calling instance, when called from wasm.
    pub fn instance(&self) -> Option<&'a Instance> {
        self.instance
    }

    /// The caller's exported memory named `name` (WASI uses "memory").
    pub fn exported_memory(&self, name: &str) -> Option<&'a Arc<Memory>> {
        self.instance?.exported_memory(name)
    }

    /// A view of the caller's exported memory `name`, for fast repeated access during
    /// the call (WASI's guest pointers). Refresh it after calling anything that may grow
    /// the memory.
    pub fn exported_memory_view(&self, name: &str) -> Option<MemoryView<'a>> {
        let m = self.exported_memory(name)?;
        // SAFETY: a `Caller` exists only during a host call from the caller's code, on
        // the thread that holds the caller (`exclusive.rs`), and the view (not `Send`)
        // cannot outlive the call: host function bodies get the caller for any lifetime.
        Some(unsafe { m.view() })
    }
}

/// One item a host module exports.
pub enum HostItem {
    Func(Arc<HostFunc>),
    Memory(MemoryType),
    Table(TableType, Val),
    Global(GlobalType, Val),
}

/// A module made of host items, registered under a name like any wasm module, so that
/// `(import "name" "item")` resolves to it.
#[derive(Default)]
pub struct HostModule {
    pub(crate) items: Vec<(String, HostItem)>,
}

impl HostModule {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a function `name` of type `ty`.
    pub fn func(
        mut self,
        name: &str,
        ty: FuncType,
        body: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Self {
        self.items.push((
            name.to_string(),
            HostItem::Func(Arc::new(HostFunc::new(ty, body))),
        ));
        self
    }

    pub fn memory(mut self, name: &str, ty: MemoryType) -> Self {
        self.items.push((name.to_string(), HostItem::Memory(ty)));
        self
    }

    pub fn table(mut self, name: &str, ty: TableType, init: Val) -> Self {
        self.items
            .push((name.to_string(), HostItem::Table(ty, init)));
        self
    }

    pub fn global(mut self, name: &str, ty: GlobalType, value: Val) -> Self {
        self.items
            .push((name.to_string(), HostItem::Global(ty, value)));
        self
    }

    /// Checks the items (duplicate names, values of the wrong type).
    pub fn check(&self) -> Result<()> {
        let mut seen = hashbrown::HashSet::new();
        for (name, item) in &self.items {
            if !seen.insert(name.as_str()) {
                return Err(Error::registry(format!(
                    "host module defines `{name}` twice"
                )));
            }
            match item {
                HostItem::Global(ty, v) if v.ty() != ty.ty => {
                    return Err(Error::argument(format!(
                        "host global `{name}` has type {} but its value is a {}",
                        ty.ty,
                        v.ty()
                    )))
                }
                HostItem::Table(ty, v) if v.ty() != ty.elem => {
                    return Err(Error::argument(format!(
                        "host table `{name}` holds {} but its initial value is a {}",
                        ty.elem,
                        v.ty()
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

//! Host functions and host modules: Rust code that wasm modules import by name.

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::memory::Memory;
use crate::trap::Trap;
use crate::types::{FuncType, GlobalType, MemoryType, TableType};
use crate::val::Val;
use std::sync::Arc;

mod caller;
mod state;
mod typed;

pub use caller::{Caller, CallerMemory};
pub use state::{HostState, StateGuard};
pub use typed::{HostReturn, IntoHostFunc, WithCaller};

/// The signature of a host function's body: arguments in, results written to the
/// pre-sized `results` slice (filled with zero values of the result types).
pub type HostFnBody = dyn Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync;

/// The body of a typed host function: arguments in cells, results written over them
/// (`max(params, results)` cells), with no allocation per call.
pub(crate) type CellsBody = dyn Fn(&mut Caller<'_>, &mut [u64]) -> Result<(), Trap> + Send + Sync;

enum Body {
    Vals(Box<HostFnBody>),
    Cells(Box<CellsBody>),
}

/// A host function with its type.
pub struct HostFunc {
    ty: FuncType,
    body: Body,
    /// Its host module's state, which the body reaches through its [`Caller`].
    state: Option<HostState>,
}

impl HostFunc {
    pub fn new(
        ty: FuncType,
        body: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> HostFunc {
        HostFunc {
            ty,
            body: Body::Vals(Box::new(body)),
            state: None,
        }
    }

    /// A host function from a Rust closure with typed parameters and results (see
    /// [`IntoHostFunc`]).
    pub fn wrap<Params, Results>(f: impl IntoHostFunc<Params, Results>) -> HostFunc {
        let (ty, body) = f.into_parts();
        HostFunc {
            ty,
            body: Body::Cells(body),
            state: None,
        }
    }

    fn with_state(mut self, state: Option<HostState>) -> HostFunc {
        self.state = state;
        self
    }

    pub fn ty(&self) -> &FuncType {
        &self.ty
    }

    /// Runs the body. A panic in it becomes a host trap: it must not unwind through
    /// wasm frames and out of the embedder's call.
    fn run<R>(&self, run: impl FnOnce() -> Result<R, Trap>) -> Result<R, Trap> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(no message)".to_string());
                Err(Trap::host(format!("host function panicked: {msg}")))
            }
        }
    }

    /// Calls the function from the host (no calling instance); the results of a
    /// dynamically typed body are checked against the declared types.
    pub fn call(&self, args: &[Val], results: &mut [Val]) -> Result<(), Trap> {
        let mut caller = Caller::new(None, self.state.as_ref());
        match &self.body {
            Body::Vals(body) => {
                self.run(|| body(&mut caller, args, results))?;
                self.check_results(results)
            }
            Body::Cells(body) => {
                let n = self.ty.params().len().max(self.ty.results().len());
                let mut cells = vec![0u64; n];
                for (c, a) in cells.iter_mut().zip(args) {
                    *c = a.to_cell();
                }
                self.run(|| body(&mut caller, &mut cells))?;
                for ((r, c), t) in results.iter_mut().zip(&cells).zip(self.ty.results()) {
                    // SAFETY: typed host functions take and return numbers only
                    // (`WasmTy` is sealed), never function references.
                    *r = unsafe { Val::from_cell(*c, *t) };
                }
                Ok(())
            }
        }
    }

    fn check_results(&self, results: &[Val]) -> Result<(), Trap> {
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

    #[doc(hidden)]
    /// Calls the body with arguments and results as cells (the form wasm code holds),
    /// from code of `caller`.
    pub fn call_cells(&self, caller: &Instance, cells: &mut [u64]) -> Result<(), Trap> {
        let mut cx = Caller::new(Some(caller), self.state.as_ref());
        let body = match &self.body {
            Body::Cells(body) => return self.run(|| body(&mut cx, cells)),
            Body::Vals(body) => body,
        };
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
        self.run(|| body(&mut cx, &args, &mut results))?;
        self.check_results(&results)?;
        let engine = caller.engine();
        for (c, r) in cells.iter_mut().zip(&results) {
            r.check_engine(engine)
                .map_err(|e| Trap::host(e.to_string()))?;
            *c = r.to_cell();
        }
        Ok(())
    }
}

/// One item a host module exports.
pub enum HostItem {
    Func(Arc<HostFunc>),
    Memory(MemoryType),
    /// A memory the host made, shared by every registry the module is defined in.
    Existing(Arc<Memory>),
    Table(TableType, Val),
    Global(GlobalType, Val),
}

/// A module made of host items, registered under a name like any wasm module, so that
/// `(import "name" "item")` resolves to it.
#[derive(Default)]
pub struct HostModule {
    pub(crate) items: Vec<(String, HostItem)>,
    state: Option<HostState>,
}

impl HostModule {
    pub fn new() -> Self {
        Self::default()
    }

    /// A host module whose functions reach `state` through [`Caller::state`] (and the
    /// host through [`HostModule::state`]). Every registry the module is defined in
    /// shares it.
    pub fn with_state<T: Send + 'static>(state: T) -> Self {
        HostModule {
            items: Vec::new(),
            state: Some(HostState::new(state)),
        }
    }

    /// Borrows the module's state as a `T` (see [`Caller::state`]).
    pub fn state<T: Send + 'static>(&self) -> Result<StateGuard<'_, T>> {
        match &self.state {
            Some(state) => state.borrow().map_err(Error::from),
            None => Err(Error::argument(
                "this host module has no state (see HostModule::with_state)",
            )),
        }
    }

    /// Adds a function `name` of type `ty`, with dynamically typed arguments and results.
    pub fn func(
        mut self,
        name: &str,
        ty: FuncType,
        body: impl Fn(&mut Caller<'_>, &[Val], &mut [Val]) -> Result<(), Trap> + Send + Sync + 'static,
    ) -> Self {
        let f = HostFunc::new(ty, body).with_state(self.state.clone());
        self.items
            .push((name.to_string(), HostItem::Func(Arc::new(f))));
        self
    }

    /// Adds a function `name` made from a Rust closure whose parameter and result types
    /// give its wasm type: `|a: i32, b: i32| a + b`, or with the caller first,
    /// `|caller: &mut Caller<'_>, ptr: u32| -> Result<(), Trap> { .. }` (see
    /// [`IntoHostFunc`]).
    pub fn func_wrap<Params, Results>(
        mut self,
        name: &str,
        f: impl IntoHostFunc<Params, Results>,
    ) -> Self {
        let f = HostFunc::wrap(f).with_state(self.state.clone());
        self.items
            .push((name.to_string(), HostItem::Func(Arc::new(f))));
        self
    }

    pub fn memory(mut self, name: &str, ty: MemoryType) -> Self {
        self.items.push((name.to_string(), HostItem::Memory(ty)));
        self
    }

    /// Exports `memory`, which the host made ([`Memory::new_in`]): every registry this
    /// module is defined in, and every instance importing it there, uses that one
    /// memory. Only shared memories, which have no owner (see `exclusive.rs`), can be
    /// exported so; a memory of the module's own is [`HostModule::memory`].
    pub fn export_memory(mut self, name: &str, memory: &Arc<Memory>) -> Self {
        self.items
            .push((name.to_string(), HostItem::Existing(memory.clone())));
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
                HostItem::Existing(m) if !m.is_shared() => {
                    return Err(Error::argument(format!(
                        "host memory `{name}` is not shared: only a shared memory can be \
                         exported by several instances; give the module its own with \
                         HostModule::memory"
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

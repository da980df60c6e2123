//! Host-side handles to functions: [`Func`] (dynamically typed) and [`TypedFunc`].

use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::meter::Budget;
use crate::slot::{FuncCode, FuncSlot};
use crate::types::{FuncType, ValType};
use crate::val::Val;
use std::marker::PhantomData;
use std::sync::Arc;

/// A function that the host can call: a reference to a function slot, which keeps the
/// instance owning the slot alive. Calls always go through the slot, so a handle taken
/// before a patch calls the patched function.
#[derive(Clone)]
pub struct Func {
    slot: *const FuncSlot,
    owner: Arc<Instance>,
}

// SAFETY: the slot lives inside `owner`, which this handle keeps alive; slots are Sync.
unsafe impl Send for Func {}
// SAFETY: as above.
unsafe impl Sync for Func {}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Func({:p}: {})", self.slot, self.ty())
    }
}

impl Func {
    #[doc(hidden)]
    /// A handle to a slot owned by (or reachable from) `owner`.
    ///
    /// # Safety
    /// `slot` must be alive as long as `owner` is.
    pub unsafe fn new(slot: *const FuncSlot, owner: Arc<Instance>) -> Func {
        Func { slot, owner }
    }

    #[doc(hidden)]
    /// The handle for a non-null funcref cell.
    ///
    /// # Safety
    /// `cell` must be 0 or the address of a live slot whose owning instance is alive.
    pub unsafe fn from_cell(cell: u64) -> Option<Func> {
        if cell == 0 {
            return None;
        }
        let slot = cell as *const FuncSlot;
        // SAFETY: the caller guarantees the slot is alive.
        let owner = unsafe { (*slot).owner() };
        // SAFETY: the owner is alive (caller's guarantee) and was created by `Arc`
        // (instances only exist in `Arc`s), so taking one more strong count is sound.
        let owner = unsafe {
            Arc::increment_strong_count(owner);
            Arc::from_raw(owner)
        };
        Some(Func { slot, owner })
    }

    #[doc(hidden)]
    #[inline]
    pub fn slot(&self) -> &FuncSlot {
        // SAFETY: the slot lives as long as `owner`, which we hold.
        unsafe { &*self.slot }
    }

    /// The instance that owns the slot.
    pub fn owner(&self) -> &Arc<Instance> {
        &self.owner
    }

    #[doc(hidden)]
    pub fn as_cell(&self) -> u64 {
        self.slot as u64
    }

    pub fn ty(&self) -> FuncType {
        let guard = crate::slot::pin();
        self.slot().entry(&guard).ty.clone()
    }

    /// Calls the function with `budget` as the fuel and deadline of this call alone
    /// (`meter.rs`): whatever the calling thread's budget for the engine is, the call
    /// draws on `budget`, which afterwards holds what the call left, and the thread's
    /// budget is as it was. For a server whose threads serve requests of any client,
    /// each with its own budget. Fuel (below `u64::MAX`) needs an engine that meters
    /// fuel, a deadline one that checks epochs.
    pub fn call_with_budget(&self, budget: &mut Budget, args: &[Val]) -> Result<Vec<Val>> {
        with_budget(self.owner.engine(), budget, || self.call(args))
    }

    /// Calls the function. Arguments are checked against its type.
    pub fn call(&self, args: &[Val]) -> Result<Vec<Val>> {
        // The guard keeps every entry this call reaches alive until it returns.
        let guard = crate::slot::pin();
        let entry = self.slot().entry(&guard);
        let ty = &entry.ty;
        if args.len() != ty.params().len() {
            return Err(Error::argument(format!(
                "function of type {ty} takes {} argument(s), {} given",
                ty.params().len(),
                args.len()
            )));
        }
        for (i, (a, t)) in args.iter().zip(ty.params()).enumerate() {
            if a.ty() != *t {
                return Err(Error::argument(format!(
                    "argument {i} of function of type {ty} must be {t}, {} given",
                    a.ty()
                )));
            }
            a.check_engine(entry.instance().engine())?;
        }
        match &entry.code {
            FuncCode::Host(h) => {
                let mut results: Vec<Val> =
                    ty.results().iter().map(|t| Val::default_for(*t)).collect();
                h.call(args, &mut results)?;
                Ok(results)
            }
            FuncCode::Wasm(code) => {
                let n = ty.params().len().max(ty.results().len());
                // Most signatures are small: their cells live on the stack.
                let mut small = [0u64; 8];
                let mut large = Vec::new();
                let cells: &mut [u64] = if n <= small.len() {
                    &mut small[..n]
                } else {
                    large.resize(n, 0);
                    &mut large
                };
                for (c, a) in cells.iter_mut().zip(args) {
                    *c = a.to_cell();
                }
                // The thread holds the instance for the call (`exclusive.rs`).
                let _call = crate::exclusive::HostCall::new(entry.instance())?;
                // SAFETY: the entry's own code; `cells` holds `max(params, results)`
                // cells, the arguments checked against the parameter types above (a
                // funcref argument's slot is kept alive by the `Func` in `args`).
                unsafe { code.call(entry, cells)? };
                Ok(ty
                    .results()
                    .iter()
                    .zip(cells.iter())
                    // SAFETY: result cells of a call that just returned: funcrefs among
                    // them point to slots kept alive by the instances involved.
                    .map(|(t, c)| unsafe { Val::from_cell(*c, *t) })
                    .collect())
            }
        }
    }

    /// A statically typed view of this function; fails if the types differ.
    pub fn typed<P: WasmParams, R: WasmResults>(&self) -> Result<TypedFunc<P, R>> {
        let ty = self.ty();
        let (want_p, want_r) = (P::types(), R::types());
        if ty.params() != want_p.as_slice() || ty.results() != want_r.as_slice() {
            return Err(Error::argument(format!(
                "function has type {ty}, not {}",
                FuncType::new(want_p, want_r)
            )));
        }
        Ok(TypedFunc {
            func: self.clone(),
            sig: self.slot().entry(&crate::slot::pin()).sig,
            _marker: PhantomData,
        })
    }
}

/// Runs `call` with `budget` as the thread's budget for `engine`, then puts the
/// thread's back and leaves what the call left in `budget`.
fn with_budget<T>(
    engine: &crate::Engine,
    budget: &mut Budget,
    call: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let metering = engine.metering();
    if budget.fuel < crate::meter::MAX_FUEL && !metering.fuel {
        return Err(Error::unsupported(
            "a budget with fuel needs an engine that meters it: Config::consume_fuel(true)",
        ));
    }
    if budget.deadline != u64::MAX && !metering.epoch {
        return Err(Error::unsupported(
            "a budget with a deadline needs an engine that checks epochs: \
             Config::epoch_interruption(true)",
        ));
    }
    let thread = crate::meter::replace_budget(engine, *budget);
    let r = call();
    *budget = crate::meter::restore_budget(engine, thread);
    r
}

/// A function with static parameter and result types, from [`Func::typed`].
pub struct TypedFunc<P, R> {
    func: Func,
    /// The type it was checked against (a slot's type can change only by a patch that
    /// the registry refuses, but the check is one compare).
    sig: crate::types::SigId,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    /// Calls the function: like [`Func::call`], with the values in cells rather than
    /// `Val`s (no allocation).
    pub fn call(&self, params: P) -> Result<R> {
        let guard = crate::slot::pin();
        let entry = self.func.slot().entry(&guard);
        let FuncCode::Wasm(code) = &entry.code else {
            // A host function: through the dynamic path.
            let results = self.func.call(&params.into_vals())?;
            return R::from_vals(&results)
                .ok_or_else(|| Error::argument("function returned values of unexpected types"));
        };
        if entry.sig != self.sig {
            return Err(Error::argument(format!(
                "function now has type {}, not the one it was typed with",
                entry.ty
            )));
        }
        // Tuples have at most 8 values.
        let mut cells = [0u64; 8];
        params.store_cells(&mut cells);
        // The thread holds the instance for the call (`exclusive.rs`).
        let _call = crate::exclusive::HostCall::new(entry.instance())?;
        // SAFETY: the entry's own code, of the type `P` and `R` were checked against;
        // `cells` holds more than `max(params, results)` cells, numbers only.
        unsafe { code.call(entry, &mut cells)? };
        Ok(R::load_cells(&cells))
    }
    /// [`TypedFunc::call`] with a budget of its own (see [`Func::call_with_budget`]).
    pub fn call_with_budget(&self, budget: &mut Budget, params: P) -> Result<R> {
        with_budget(self.func.owner.engine(), budget, || self.call(params))
    }

    pub fn func(&self) -> &Func {
        &self.func
    }
}

/// A Rust type that maps to one wasm number type: `i32`, `u32`, `i64`, `u64`, `f32`,
/// `f64`. (Sealed: code that takes one trusts its cell form.)
pub trait WasmTy: Sized + Send + 'static + sealed::Sealed {
    fn ty() -> ValType;
    fn into_val(self) -> Val;
    fn from_val(v: &Val) -> Option<Self>;
    /// The value's cell (see `val.rs`).
    fn to_cell(self) -> u64;
    /// The value in a cell of type [`WasmTy::ty`].
    fn from_cell(cell: u64) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! wasm_ty {
    ($($t:ty => $vt:ident, $val:ident, |$v:ident| $to_val:expr, |$c:ident| $from_cell:expr, |$x:ident| $to_cell:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl WasmTy for $t {
            fn ty() -> ValType {
                ValType::$vt
            }
            fn into_val(self) -> Val {
                let $v = self;
                $to_val
            }
            fn from_val(v: &Val) -> Option<Self> {
                v.$val().map(|x| x as $t)
            }
            #[inline]
            fn to_cell(self) -> u64 {
                let $x = self;
                $to_cell
            }
            #[inline]
            fn from_cell($c: u64) -> Self {
                $from_cell
            }
        }
    )*};
}
wasm_ty! {
    i32 => I32, i32, |v| Val::I32(v), |c| c as u32 as i32, |x| x as u32 as u64;
    u32 => I32, i32, |v| Val::I32(v as i32), |c| c as u32, |x| x as u64;
    i64 => I64, i64, |v| Val::I64(v), |c| c as i64, |x| x as u64;
    u64 => I64, i64, |v| Val::I64(v as i64), |c| c, |x| x;
    f32 => F32, f32, |v| Val::from_f32(v), |c| f32::from_bits(c as u32), |x| x.to_bits() as u64;
    f64 => F64, f64, |v| Val::from_f64(v), |c| f64::from_bits(c), |x| x.to_bits();
}

/// Parameter lists of [`TypedFunc`]: `()`, a single [`WasmTy`], or tuples of them.
pub trait WasmParams {
    fn types() -> Vec<ValType>;
    fn into_vals(self) -> Vec<Val>;
    /// Writes the values to the first cells.
    fn store_cells(self, cells: &mut [u64]);
}

/// Result lists of [`TypedFunc`]: `()`, a single [`WasmTy`], or tuples of them.
pub trait WasmResults: Sized {
    fn types() -> Vec<ValType>;
    fn from_vals(vals: &[Val]) -> Option<Self>;
    /// Writes the values to the first cells.
    fn store_cells(self, cells: &mut [u64]);
    /// The values in the first cells (of [`WasmResults::types`]).
    fn load_cells(cells: &[u64]) -> Self;
}

impl<T: WasmTy> WasmParams for T {
    fn types() -> Vec<ValType> {
        vec![T::ty()]
    }
    fn into_vals(self) -> Vec<Val> {
        vec![self.into_val()]
    }
    #[inline]
    fn store_cells(self, cells: &mut [u64]) {
        if let Some(c) = cells.first_mut() {
            *c = self.to_cell();
        }
    }
}
impl<T: WasmTy> WasmResults for T {
    fn types() -> Vec<ValType> {
        vec![T::ty()]
    }
    fn from_vals(vals: &[Val]) -> Option<Self> {
        match vals {
            [v] => T::from_val(v),
            _ => None,
        }
    }
    #[inline]
    fn store_cells(self, cells: &mut [u64]) {
        if let Some(c) = cells.first_mut() {
            *c = self.to_cell();
        }
    }
    #[inline]
    fn load_cells(cells: &[u64]) -> Self {
        T::from_cell(cells.first().copied().unwrap_or(0))
    }
}

macro_rules! tuple_impls {
    ($(($($t:ident $i:tt),*)),*) => {$(
        impl<$($t: WasmTy),*> WasmParams for ($($t,)*) {
            fn types() -> Vec<ValType> { vec![$($t::ty()),*] }
            #[allow(clippy::unused_unit)]
            fn into_vals(self) -> Vec<Val> { vec![$(self.$i.into_val()),*] }
            #[allow(unused_variables)]
            #[inline]
            fn store_cells(self, cells: &mut [u64]) {
                $(if let Some(c) = cells.get_mut($i) { *c = self.$i.to_cell(); })*
            }
        }
        impl<$($t: WasmTy),*> WasmResults for ($($t,)*) {
            fn types() -> Vec<ValType> { vec![$($t::ty()),*] }
            #[allow(unused_variables, unused_mut, clippy::unused_unit)]
            fn from_vals(vals: &[Val]) -> Option<Self> {
                let mut it = vals.iter();
                let r = ($($t::from_val(it.next()?)?,)*);
                if it.next().is_some() { return None; }
                Some(r)
            }
            #[allow(unused_variables)]
            #[inline]
            fn store_cells(self, cells: &mut [u64]) {
                $(if let Some(c) = cells.get_mut($i) { *c = self.$i.to_cell(); })*
            }
            #[allow(unused_variables, clippy::unused_unit)]
            #[inline]
            fn load_cells(cells: &[u64]) -> Self {
                ($($t::from_cell(cells.get($i).copied().unwrap_or(0)),)*)
            }
        }
    )*};
}
tuple_impls!(
    (),
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
);

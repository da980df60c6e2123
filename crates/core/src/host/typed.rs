//! Typed host functions: a Rust closure whose parameter and result types are its wasm
//! type, called with the wasm arguments' cells directly (no `Val`s, no allocation).

use super::{Caller, CellsBody};
use crate::func::{WasmResults, WasmTy};
use crate::trap::Trap;
use crate::types::FuncType;

/// What a typed host function returns: its results ([`WasmResults`]: `()`, a number, a
/// tuple of numbers), or a `Result` of them whose error traps.
pub trait HostReturn {
    type Results: WasmResults;
    fn into_results(self) -> Result<Self::Results, Trap>;
}

impl<R: WasmResults> HostReturn for R {
    type Results = R;
    #[inline]
    fn into_results(self) -> Result<R, Trap> {
        Ok(self)
    }
}

impl<R: WasmResults> HostReturn for Result<R, Trap> {
    type Results = R;
    #[inline]
    fn into_results(self) -> Result<R, Trap> {
        self
    }
}

/// The marker of closures that take the [`Caller`] first (a type parameter of
/// [`IntoHostFunc`] only).
pub enum WithCaller {}

/// A Rust closure that can be a host function: `Fn(A1, .., An) -> R` or
/// `Fn(&mut Caller<'_>, A1, .., An) -> R`, with up to 8 [`WasmTy`] parameters and `R` a
/// [`HostReturn`]. `Params` and `Results` only tell the two shapes apart.
pub trait IntoHostFunc<Params, Results>: Send + Sync + 'static {
    /// The function's type and its body over cells.
    fn into_parts(self) -> (FuncType, Box<CellsBody>);
}

/// Too few cells for the function's type: cannot happen through the runtime's calls,
/// which give `max(params, results)` cells.
fn short() -> Trap {
    Trap::host("a typed host function was given fewer cells than its type needs")
}

/// The body over cells of a typed function of type `ty`: `call` reads the arguments
/// from the cells and runs the closure; its results go back into the cells.
fn cells_body<R: HostReturn>(
    ty: &FuncType,
    call: impl Fn(&mut Caller<'_>, &[u64]) -> R + Send + Sync + 'static,
) -> Box<CellsBody> {
    let need = ty.params().len().max(ty.results().len());
    Box::new(move |caller: &mut Caller<'_>, cells: &mut [u64]| {
        if cells.len() < need {
            return Err(short());
        }
        call(caller, cells).into_results()?.store_cells(cells);
        Ok(())
    })
}

macro_rules! into_host_func {
    ($($a:ident $i:tt),*) => {
        impl<F, R, $($a,)*> IntoHostFunc<($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            $($a: WasmTy,)*
            R: HostReturn,
        {
            fn into_parts(self) -> (FuncType, Box<CellsBody>) {
                let ty = FuncType::new(vec![$($a::ty()),*], R::Results::types());
                #[allow(unused_variables)]
                let body = cells_body(&ty, move |_, cells| self($($a::from_cell(cells[$i])),*));
                (ty, body)
            }
        }

        impl<F, R, $($a,)*> IntoHostFunc<(WithCaller, $($a,)*), R> for F
        where
            F: Fn(&mut Caller<'_>, $($a),*) -> R + Send + Sync + 'static,
            $($a: WasmTy,)*
            R: HostReturn,
        {
            fn into_parts(self) -> (FuncType, Box<CellsBody>) {
                let ty = FuncType::new(vec![$($a::ty()),*], R::Results::types());
                #[allow(unused_variables)]
                let body = cells_body(&ty, move |caller, cells| {
                    self(caller, $($a::from_cell(cells[$i])),*)
                });
                (ty, body)
            }
        }
    };
}

into_host_func!();
into_host_func!(A 0);
into_host_func!(A 0, B 1);
into_host_func!(A 0, B 1, C 2);
into_host_func!(A 0, B 1, C 2, D 3);
into_host_func!(A 0, B 1, C 2, D 3, E 4);
into_host_func!(A 0, B 1, C 2, D 3, E 4, G 5);
into_host_func!(A 0, B 1, C 2, D 3, E 4, G 5, H 6);
into_host_func!(A 0, B 1, C 2, D 3, E 4, G 5, H 6, I 7);

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

macro_rules! into_host_func {
    ($n:expr; $($a:ident $v:ident $i:tt),*) => {
        impl<F, R, $($a,)*> IntoHostFunc<($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
            $($a: WasmTy,)*
            R: HostReturn,
        {
            fn into_parts(self) -> (FuncType, Box<CellsBody>) {
                let ty = FuncType::new(vec![$($a::ty()),*], R::Results::types());
                let need = ty.params().len().max(ty.results().len());
                let body = move |_: &mut Caller<'_>, cells: &mut [u64]| {
                    if cells.len() < need {
                        return Err(short());
                    }
                    $(let $v = $a::from_cell(cells[$i]);)*
                    self($($v),*).into_results()?.store_cells(cells);
                    Ok(())
                };
                (ty, Box::new(body))
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
                let need = ty.params().len().max(ty.results().len());
                let body = move |caller: &mut Caller<'_>, cells: &mut [u64]| {
                    if cells.len() < need {
                        return Err(short());
                    }
                    $(let $v = $a::from_cell(cells[$i]);)*
                    self(caller, $($v),*).into_results()?.store_cells(cells);
                    Ok(())
                };
                (ty, Box::new(body))
            }
        }
    };
}

into_host_func!(0;);
into_host_func!(1; A a 0);
into_host_func!(2; A a 0, B b 1);
into_host_func!(3; A a 0, B b 1, C c 2);
into_host_func!(4; A a 0, B b 1, C c 2, D d 3);
into_host_func!(5; A a 0, B b 1, C c 2, D d 3, E e 4);
into_host_func!(6; A a 0, B b 1, C c 2, D d 3, E e 4, G g 5);
into_host_func!(7; A a 0, B b 1, C c 2, D d 3, E e 4, G g 5, H h 6);
into_host_func!(8; A a 0, B b 1, C c 2, D d 3, E e 4, G g 5, H h 6, I i 7);

//! Value and function types, and the engine-wide canonical signature ids that let
//! `call_indirect` compare types across modules with one integer comparison.

use crate::error::{Error, Result};
use hashbrown::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// A wasm value type (Wasm 2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    FuncRef,
    ExternRef,
}

impl ValType {
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }

    /// Converts a wasmparser type; types of proposals this build does not run are refused
    /// with an error that names the proposal.
    pub fn from_wasmparser(ty: wasmparser::ValType) -> Result<ValType> {
        use wasmparser::ValType as W;
        match ty {
            W::I32 => Ok(ValType::I32),
            W::I64 => Ok(ValType::I64),
            W::F32 => Ok(ValType::F32),
            W::F64 => Ok(ValType::F64),
            W::V128 => Err(Error::unsupported(
                "the SIMD proposal (v128) is not supported yet",
            )),
            W::Ref(r) => Self::from_ref_type(r),
        }
    }

    pub fn from_ref_type(r: wasmparser::RefType) -> Result<ValType> {
        if r == wasmparser::RefType::FUNCREF {
            Ok(ValType::FuncRef)
        } else if r == wasmparser::RefType::EXTERNREF {
            Ok(ValType::ExternRef)
        } else {
            Err(Error::unsupported(format!(
                "reference type `{r}` (function-references / GC proposals) is not supported yet"
            )))
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// A function type: parameters and results.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params_results: Arc<[ValType]>,
    n_params: usize,
}

impl FuncType {
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        let mut all: Vec<ValType> = params.into_iter().collect();
        let n_params = all.len();
        all.extend(results);
        FuncType {
            params_results: all.into(),
            n_params,
        }
    }
    pub fn params(&self) -> &[ValType] {
        &self.params_results[..self.n_params]
    }
    pub fn results(&self) -> &[ValType] {
        &self.params_results[self.n_params..]
    }

    pub fn from_wasmparser(ty: &wasmparser::FuncType) -> Result<FuncType> {
        let params = ty
            .params()
            .iter()
            .map(|t| ValType::from_wasmparser(*t))
            .collect::<Result<Vec<_>>>()?;
        let results = ty
            .results()
            .iter()
            .map(|t| ValType::from_wasmparser(*t))
            .collect::<Result<Vec<_>>>()?;
        Ok(FuncType::new(params, results))
    }
}

impl fmt::Debug for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, tys: &[ValType]| -> fmt::Result {
            f.write_str("[")?;
            for (i, t) in tys.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{t}")?;
            }
            f.write_str("]")
        };
        list(f, self.params())?;
        f.write_str(" -> ")?;
        list(f, self.results())
    }
}

/// Engine-wide canonical id of a function type: two functions have the same `SigId`
/// exactly when their types are equal, whatever module declared them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct SigId(pub u32);

/// Interns function types into [`SigId`]s. Shared by every module of an engine.
#[derive(Default)]
pub struct TypeRegistry {
    inner: Mutex<TypeTable>,
}

#[derive(Default)]
struct TypeTable {
    ids: HashMap<FuncType, SigId>,
    types: Vec<FuncType>,
}

impl TypeRegistry {
    pub fn intern(&self, ty: &FuncType) -> SigId {
        let mut t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = t.ids.get(ty) {
            return *id;
        }
        let id = SigId(t.types.len() as u32);
        t.types.push(ty.clone());
        t.ids.insert(ty.clone(), id);
        id
    }

    pub fn get(&self, id: SigId) -> FuncType {
        let t = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        t.types[id.0 as usize].clone()
    }
}

/// Limits of a memory, in 64 KiB pages, and whether threads share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    pub min: u32,
    pub max: Option<u32>,
    /// A shared memory (threads proposal): it has a maximum, its whole maximum is
    /// reserved up front, and any number of threads run code over it at once.
    pub shared: bool,
}

impl MemoryType {
    /// An unshared memory of `min` pages that may grow to `max`.
    pub const fn new(min: u32, max: Option<u32>) -> MemoryType {
        MemoryType {
            min,
            max,
            shared: false,
        }
    }

    /// A shared memory of `min` pages that may grow to `max` (a shared memory must have
    /// a maximum).
    pub const fn shared(min: u32, max: u32) -> MemoryType {
        MemoryType {
            min,
            max: Some(max),
            shared: true,
        }
    }
}

/// A table's element type and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableType {
    pub elem: ValType,
    pub min: u32,
    pub max: Option<u32>,
}

/// A global's value type and mutability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalType {
    pub ty: ValType,
    pub mutable: bool,
}

/// Whether limits `(min, max)` of an export match the limits an import asks for
/// (the spec's "import subtyping" of limits).
pub fn limits_match(actual: (u64, Option<u64>), wanted: (u64, Option<u64>)) -> bool {
    if actual.0 < wanted.0 {
        return false;
    }
    match (actual.1, wanted.1) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(a), Some(w)) => a <= w,
    }
}

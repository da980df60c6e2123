//! Values. Inside the runtime every value is one 64-bit *cell*: integers zero-extended,
//! floats as their bit patterns, a function reference as the address of its
//! [`crate::slot::FuncSlot`] (0 = null), an extern reference as its handle + 1 (0 = null).
//! [`Val`] is the typed form the host sees.

use crate::func::Func;
use crate::types::ValType;

/// A wasm value as the host sees it. Floats keep their exact bit patterns.
#[derive(Clone, Debug)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// An f32, as its bits (`f32::from_bits`).
    F32(u32),
    /// An f64, as its bits (`f64::from_bits`).
    F64(u64),
    FuncRef(Option<Func>),
    /// An opaque host reference (`None` is null).
    ExternRef(Option<u32>),
}

impl Val {
    /// Refuses a function reference of another engine than `engine`: type ids, native
    /// entry points and layouts are per engine, so such a reference must never reach
    /// that engine's code.
    pub fn check_engine(&self, engine: &crate::Engine) -> crate::Result<()> {
        match self {
            Val::FuncRef(Some(f)) if !f.owner().engine().same(engine) => {
                Err(crate::Error::argument(
                    "a function reference of another engine cannot be passed here; \
                     load the modules that share references in one engine",
                ))
            }
            _ => Ok(()),
        }
    }

    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The zero value of a type (null for references).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    /// The value of a Rust float (its exact bits).
    pub fn from_f32(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
    pub fn from_f64(v: f64) -> Val {
        Val::F64(v.to_bits())
    }

    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// The cell form of this value.
    pub fn to_cell(&self) -> u64 {
        match self {
            Val::I32(v) => *v as u32 as u64,
            Val::I64(v) => *v as u64,
            Val::F32(v) => *v as u64,
            Val::F64(v) => *v,
            Val::FuncRef(None) => 0,
            Val::FuncRef(Some(f)) => f.as_cell(),
            Val::ExternRef(None) => 0,
            Val::ExternRef(Some(h)) => *h as u64 + 1,
        }
    }

    /// The value of type `ty` held in `cell`.
    ///
    /// # Safety
    /// For `FuncRef`, a non-zero `cell` must be the address of a live function slot whose
    /// owning instance is alive (true of any cell read from a live table, global, or from
    /// the arguments or results of a call in progress).
    pub unsafe fn from_cell(cell: u64, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(cell as u32 as i32),
            ValType::I64 => Val::I64(cell as i64),
            ValType::F32 => Val::F32(cell as u32),
            ValType::F64 => Val::F64(cell),
            ValType::ExternRef => Val::ExternRef(cell.checked_sub(1).map(|h| h as u32)),
            // SAFETY: forwarded to the caller.
            ValType::FuncRef => Val::FuncRef(unsafe { Func::from_cell(cell) }),
        }
    }
}

/// Equality of values: floats by bits, function references by identity.
impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        self.ty() == other.ty() && self.to_cell() == other.to_cell()
    }
}

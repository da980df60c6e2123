//! rwamr's compiled tiers: wasm -> Cranelift IR (`translate/`) -> machine code in
//! executable memory (`code.rs`), called through function slots like every tier.
//!
//! - [`Tier::Baseline`] stands in for WAMR's fast JIT: Cranelift without optimizations
//!   and with its single-pass register allocator (fast compile).
//! - [`Tier::Optimized`] stands in for WAMR's LLVM JIT: Cranelift at `speed`.
//!
//! A module's functions compile when it loads (on every core for large modules), or
//! each on its first call ([`JitCompiler::lazy`]), into blocks of code memory with the
//! array-call trampolines of their types. The machine code depends on the module alone
//! (see `translate/mod.rs`), so it needs no relocations and an AOT file could hold it
//! as it is. Calling conventions: `abi.rs`; traps: `traps.rs`; native stubs for the
//! engine's other code: `stubs.rs`.

pub mod abi;
pub mod code;
#[cfg(feature = "cranelift")]
mod compiler;
pub mod helpers;
pub mod image;
#[cfg(not(feature = "cranelift"))]
mod resolver;
pub mod stubs;
#[cfg(feature = "cranelift")]
mod tiered;
#[cfg(feature = "cranelift")]
pub mod trampolines;
#[cfg(feature = "cranelift")]
pub mod translate;
pub mod traps;

#[cfg(feature = "cranelift")]
pub use compiler::JitCompiler;
pub use image::CodeImage;
pub use stubs::StubLibrary;
#[cfg(feature = "cranelift")]
pub use tiered::{TierCounters, TierPolicy, TierStats, TieredCompiler};

use rwamr_core::{FuncEntry, Trap, WasmCode};
use std::sync::Arc;

/// How much Cranelift optimizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Baseline,
    Optimized,
}

/// Whether compiled code runs on the machine this build is for (x86_64 Linux: the trap
/// handler and the stack switch are written for it).
pub fn supported() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
}

/// One compiled function: its native entry point and its type's array-call trampoline,
/// in code memory it keeps alive.
pub struct JitFunc {
    pub(crate) native: *const u8,
    pub(crate) trampoline: *const u8,
    pub(crate) _memory: Arc<code::CodeMemory>,
    /// Where the trampoline lies when not in `_memory` (a lazy function's, shared by
    /// the functions of its type).
    pub(crate) _trampoline_memory: Option<Arc<code::CodeMemory>>,
}

// SAFETY: the pointers point into `_memory`, immutable executable code owned by it.
unsafe impl Send for JitFunc {}
// SAFETY: as above.
unsafe impl Sync for JitFunc {}

// SAFETY: `native` is this function's machine code, made by the translator with the
// native convention for the function's type, in code memory this value keeps alive.
unsafe impl WasmCode for JitFunc {
    unsafe fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> std::result::Result<(), Trap> {
        // SAFETY: `native` is this function's code and `trampoline` the array-call
        // trampoline of its type (the entry's: every entry holding this code, or a
        // placeholder of it, has this function's type), in code memory this value keeps
        // alive; `cells` has room for arguments and results (`WasmCode::call`'s contract).
        unsafe { traps::enter(self.trampoline, self.native, entry, cells) }
    }

    fn native_entry(&self) -> *const u8 {
        self.native
    }
}

//! rwamr's fast interpreter: each wasm function is translated once, at load time, into
//! register/slot bytecode (`bytecode.rs` documents it) that the executor (`exec.rs`) runs.
//! The translator (`translate/`) is a visitor with one method per operator, by
//! instruction family, as the handlers (`handlers/`) are.

mod bytecode;
mod dispatch;
mod exec;
mod handlers;
mod stack;
#[cfg(test)]
mod tail_calls_test;
mod translate;
#[cfg(test)]
mod translate_tests;
mod verify;

pub use bytecode::{Instr, InterpFunc, Slot};

use rwamr_core::{compile_each, Compiler, Engine, FuncEntry, Module, Result, Trap, WasmCode};
use std::sync::Arc;

/// Below this many functions per thread, translating in parallel is not worth a thread.
const MIN_FUNCS_PER_THREAD: usize = 64;

/// The interpreter tier, as the engine's [`Compiler`].
pub struct InterpCompiler;

impl Compiler for InterpCompiler {
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let first = module.num_imported_funcs;
        let indices: Vec<u32> = (first..first + module.num_defined_funcs()).collect();
        compile_each(
            &indices,
            MIN_FUNCS_PER_THREAD,
            || (),
            |_, i| self.compile_function(engine, module, i, module),
        )
    }

    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        // The bytecode names what it uses by index; the instance resolves them.
        _running: &Module,
    ) -> Result<Arc<dyn WasmCode>> {
        let f = translate::translate(module, index, engine.metering())
            .map_err(|e| e.context(format!("function {}", module.func_name(index))))?;
        Ok(Arc::new(f))
    }
}

// SAFETY: interpreted code has no native entry point.
unsafe impl WasmCode for InterpFunc {
    unsafe fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> Result<(), Trap> {
        exec::execute(entry, self, cells)
    }
}

/// Translates one function, for tests and tools that show the bytecode.
pub fn translate_function(module: &Module, index: u32) -> Result<InterpFunc> {
    translate::translate(module, index, rwamr_core::Metering::default())
}

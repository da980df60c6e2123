//! rwamr's fast interpreter: each wasm function is translated once, at load time, into
//! register/slot bytecode (`bytecode.rs` documents it) that the executor (`exec.rs`) runs.
//! The translator (`translate.rs`) is one `wasmparser::VisitOperator` implementation.

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

use rwamr_core::{Compiler, Engine, FuncEntry, Module, Result, Trap, WasmCode};
use std::sync::Arc;

/// Below this many functions per thread, translating in parallel is not worth a thread.
const MIN_FUNCS_PER_THREAD: usize = 64;

/// The interpreter tier, as the engine's [`Compiler`].
pub struct InterpCompiler;

impl Compiler for InterpCompiler {
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let first = module.num_imported_funcs;
        let n = module.num_defined_funcs() as usize;
        let threads = std::thread::available_parallelism()
            .map_or(1, |p| p.get())
            .min(n / MIN_FUNCS_PER_THREAD)
            .max(1);
        if threads == 1 {
            return (first..first + n as u32)
                .map(|i| self.compile_function(engine, module, i))
                .collect();
        }
        // Functions translate independently: large modules use every core. Each thread
        // takes every `threads`-th function, which balances big and small functions.
        // Each worker stops at its first error; the error reported is the one of the
        // lowest function index, as a sequential translation would report.
        type Part = Vec<(u32, Result<Arc<dyn WasmCode>>)>;
        let parts: Vec<Part> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for i in (first + t as u32..first + n as u32).step_by(threads) {
                            let r = self.compile_function(engine, module, i);
                            let failed = r.is_err();
                            out.push((i, r));
                            if failed {
                                break;
                            }
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        let e = rwamr_core::Error::invalid("the interpreter's translator panicked");
                        vec![(first, Err(e))]
                    })
                })
                .collect()
        });
        let mut code: Vec<Option<Arc<dyn WasmCode>>> = vec![None; n];
        let mut first_error: Option<(u32, rwamr_core::Error)> = None;
        for (i, r) in parts.into_iter().flatten() {
            match r {
                Ok(c) => code[(i - first) as usize] = Some(c),
                Err(e) if first_error.as_ref().is_none_or(|(j, _)| i < *j) => {
                    first_error = Some((i, e))
                }
                Err(_) => {}
            }
        }
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        Ok(code
            .into_iter()
            .map(|c| c.expect("every function translated"))
            .collect())
    }

    fn compile_function(
        &self,
        _engine: &Engine,
        module: &Arc<Module>,
        index: u32,
    ) -> Result<Arc<dyn WasmCode>> {
        let f = translate::translate(module, index)
            .map_err(|e| e.context(format!("function {}", module.func_name(index))))?;
        Ok(Arc::new(f))
    }
}

impl WasmCode for InterpFunc {
    fn call(&self, entry: &FuncEntry, cells: &mut [u64]) -> Result<(), Trap> {
        exec::execute(entry, self, cells)
    }
}

/// Translates one function, for tests and tools that show the bytecode.
pub fn translate_function(module: &Module, index: u32) -> Result<InterpFunc> {
    translate::translate(module, index)
}

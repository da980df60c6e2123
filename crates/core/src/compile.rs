//! How execution tiers plug in: a [`Compiler`] turns a module's function bodies into
//! [`WasmCode`], and [`compile_each`] is the one parallel loop every tier compiles
//! large modules with.

use crate::engine::{Engine, Mode};
use crate::error::{Error, Result};
use crate::module::Module;
use crate::slot::{FuncCode, WasmCode};
use crate::types::SigId;
use std::sync::Arc;

/// Turns a module's function bodies into runnable code (one execution tier).
pub trait Compiler: Send + Sync {
    /// Compiles every defined function; the result is indexed by defined-function index.
    fn compile(&self, engine: &Engine, module: &Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>>;

    /// Compiles function `index` (of the function index space, a defined one) of
    /// `module` to run in instances of `running`, for hot patching: the code must use the
    /// running instance's layout (its vmctx, which depends on how many memories,
    /// globals, functions, tables and types `running` has), not the new version's. The
    /// patch crate has checked that everything the body uses is the same in both.
    fn compile_function(
        &self,
        engine: &Engine,
        module: &Arc<Module>,
        index: u32,
        running: &Module,
    ) -> Result<Arc<dyn WasmCode>>;

    /// Whether the code this tier makes is machine code that calls other functions
    /// through their native entry points (then the engine must have native stubs for
    /// the functions that have none; see `NativeStubs`).
    fn emits_native_code(&self) -> bool {
        false
    }

    /// Decodes, validates and compiles `bytes` for `mode` (this compiler's). The
    /// default decodes the module and calls [`Compiler::compile`]; a tier whose modules
    /// take another form first overrides it (the AOT mode goes through its file format).
    fn compile_module(&self, engine: &Engine, bytes: &[u8], mode: Mode) -> Result<CompiledModule> {
        let module = Arc::new(Module::new(bytes)?);
        let code = self.compile(engine, &module)?;
        CompiledModule::from_parts(engine, module, code, mode)
    }

    /// Compiles `bytes` into a file that loads without compiling (an `.aot` file), if
    /// this tier writes such files.
    fn precompile(&self, _engine: &Engine, _bytes: &[u8]) -> Result<Vec<u8>> {
        Err(Error::unsupported(
            "this execution mode does not write precompiled files; use the aot mode",
        ))
    }
}

/// A module compiled for an engine, ready to instantiate any number of times.
pub struct CompiledModule {
    pub module: Arc<Module>,
    pub code: Vec<Arc<dyn WasmCode>>,
    /// The mode the code was compiled for.
    pub mode: Mode,
    /// What every instance would otherwise look up again: the engine's canonical id of
    /// each type, and each defined function's native entry point.
    pub(crate) prepared: Prepared,
}

/// Per-engine facts about a compiled module that instantiation needs.
pub(crate) struct Prepared {
    /// The engine they hold for (instantiating elsewhere looks them up again).
    pub engine: Engine,
    pub sigs: Arc<[SigId]>,
    /// Native entry point of each defined function's code, as `Engine::native_entry`
    /// chose it (kept alive by the code or by the engine).
    pub natives: Box<[NativeEntry]>,
}

/// A native entry point address (see [`crate::FuncEntry`]).
#[derive(Clone, Copy)]
pub(crate) struct NativeEntry(pub *const u8);
// SAFETY: an address of immutable machine code, only called, never written.
unsafe impl Send for NativeEntry {}
// SAFETY: as above.
unsafe impl Sync for NativeEntry {}

impl std::fmt::Debug for CompiledModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledModule")
            .field("mode", &self.mode)
            .field("functions", &self.code.len())
            .finish_non_exhaustive()
    }
}

impl CompiledModule {
    /// Decodes, validates and compiles `bytes` with the engine's tier.
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<CompiledModule> {
        Self::new_in(engine, bytes, engine.mode())
    }

    /// Decodes, validates and compiles `bytes` for `mode` (one of the engine's modes).
    pub fn new_in(engine: &Engine, bytes: &[u8], mode: Mode) -> Result<CompiledModule> {
        engine
            .compiler_for(mode)?
            .compile_module(engine, bytes, mode)
    }

    /// The engine it was compiled (or loaded) for.
    pub fn engine(&self) -> &Engine {
        &self.prepared.engine
    }

    /// A compiled module from its parts: `code` is `module`'s defined functions'
    /// code, made for `engine` in `mode`.
    pub fn from_parts(
        engine: &Engine,
        module: Arc<Module>,
        code: Vec<Arc<dyn WasmCode>>,
        mode: Mode,
    ) -> Result<CompiledModule> {
        if code.len() != module.num_defined_funcs() as usize {
            return Err(Error::invalid(format!(
                "{} functions of code for a module that defines {}",
                code.len(),
                module.num_defined_funcs()
            )));
        }
        let sigs: Arc<[SigId]> = module
            .types
            .iter()
            .map(|t| engine.types().intern(t))
            .collect();
        let natives = code
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let index = module.num_imported_funcs as usize + i;
                let ty = &module.types[module.funcs[index] as usize];
                engine
                    .native_entry(&FuncCode::Wasm(c.clone()), ty)
                    .map(NativeEntry)
            })
            .collect::<Result<_>>()?;
        Ok(CompiledModule {
            module,
            code,
            mode,
            prepared: Prepared {
                engine: engine.clone(),
                sigs,
                natives,
            },
        })
    }
}

/// Compiles `indices` with `compile`, on every core once there are at least
/// `min_per_thread` functions per thread. Each thread takes every n-th function, which
/// balances big and small ones, and has its own scratch state from `scratch` (a tier's
/// reusable contexts). Each thread stops at its first error; the error returned is the
/// one of the lowest index, as a sequential loop would report. Results come back in the
/// order of `indices`.
pub fn compile_each<S, T: Send>(
    indices: &[u32],
    min_per_thread: usize,
    scratch: impl Fn() -> S + Sync,
    compile: impl Fn(&mut S, u32) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(indices.len() / min_per_thread.max(1))
        .max(1);
    let run = |t: usize| {
        let mut s = scratch();
        let mut out = Vec::new();
        for at in (t..indices.len()).step_by(threads) {
            let r = compile(&mut s, indices[at]);
            let failed = r.is_err();
            out.push((at, r));
            if failed {
                break;
            }
        }
        out
    };
    let parts: Vec<Vec<(usize, Result<T>)>> = if threads == 1 {
        vec![run(0)]
    } else {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads).map(|t| s.spawn(move || run(t))).collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| vec![(0, Err(Error::invalid("a compiler panicked")))])
                })
                .collect()
        })
    };
    let mut out: Vec<Option<T>> = (0..indices.len()).map(|_| None).collect();
    let mut first_error: Option<(usize, Error)> = None;
    for (at, r) in parts.into_iter().flatten() {
        match r {
            Ok(v) => out[at] = Some(v),
            Err(e) if first_error.as_ref().is_none_or(|(j, _)| at < *j) => {
                first_error = Some((at, e))
            }
            Err(_) => {}
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    Ok(out
        .into_iter()
        .map(|v| v.expect("every function compiled or an error returned"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_order_and_the_lowest_error_wins() {
        let indices: Vec<u32> = (0..1000).collect();
        let out = compile_each(
            &indices,
            1,
            || 0u32,
            |n, i| {
                *n += 1;
                Ok(i * 2)
            },
        )
        .unwrap();
        assert_eq!(out, indices.iter().map(|i| i * 2).collect::<Vec<_>>());
        let err = compile_each(
            &indices,
            1,
            || (),
            |_, i| {
                if i % 300 == 299 {
                    Err(Error::invalid(format!("bad {i}")))
                } else {
                    Ok(i)
                }
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad 299"), "{err}");
    }
}

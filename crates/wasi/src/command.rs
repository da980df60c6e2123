//! Running a WASI command in one call: load it with a WASI context of its own (and, for
//! a program built for threads, its shared memory and `thread-spawn`), call its
//! `_start`, and turn `proc_exit` into an exit status.

use crate::threads::{self, shared_memory_imports};
use crate::{WasiConfig, MODULE_NAME};
use rwamr_core::{Error, HostModule, Result};
use rwamr_registry::Registry;

impl WasiConfig {
    /// Runs the WASI command `wasm`: instantiates it in `registry` (its other imports
    /// resolve to the registry's modules by name) with this configuration as its own
    /// `wasi_snapshot_preview1`, calls `_start`, and returns its exit status: 0 when
    /// `_start` returns, `n` after `proc_exit(n)`. A trap, or a module that cannot be
    /// loaded, is an error. The instance is dropped when the run ends; nothing is left
    /// registered, so any number of commands can run in one registry, at once too.
    ///
    /// ```
    /// use rwamr_wasi::{OutputPipe, WasiConfig};
    /// # let engine = rwamr::Engine::new(rwamr::Config::default())?;
    /// # let registry = rwamr::Registry::new(&engine);
    /// # let wasm = wat::parse_str(r#"(module
    /// #   (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    /// #   (memory (export "memory") 1)
    /// #   (func (export "_start") (call $exit (i32.const 3))))"#).unwrap();
    /// let stdout = OutputPipe::new(1 << 20);
    /// let status = WasiConfig::new().stdout(stdout.clone()).run(&registry, &wasm)?;
    /// assert_eq!(status, 3);
    /// # Ok::<(), rwamr::Error>(())
    /// ```
    pub fn run(self, registry: &Registry, wasm: impl AsRef<[u8]>) -> Result<i32> {
        let wasm = wasm.as_ref();
        let wasi = self.host();
        let run = || -> Result<()> {
            let compiled = registry.compile(wasm)?;
            // A program built for threads imports its shared memory (from `env`).
            let memories = shared_memory_imports(registry.engine(), &compiled.module)?;
            let mut own: Vec<(&str, &HostModule)> = vec![
                (MODULE_NAME, &wasi.preview1),
                (threads::MODULE_NAME, &wasi.threads),
            ];
            own.extend(memories.iter().map(|(name, host)| (name.as_str(), host)));
            let instance = registry.instantiate_compiled_with(&compiled, &own)?;
            let start = instance.get_func("_start").ok_or_else(|| {
                Error::link("the module exports no `_start` function: it is not a WASI command")
            })?;
            start.call(&[])?;
            Ok(())
        };
        // Another thread may have ended the program first.
        wasi.end_with(run())
    }
}

//! WASI preview1 (`wasi_snapshot_preview1`) for rwamr: every function of the interface
//! as host functions, with file system access confined to preopened directories.
//!
//! ```no_run
//! use rwamr_wasi::{WasiConfig, MODULE_NAME};
//!
//! let wasi = WasiConfig::new()
//!     .args(["prog", "--verbose"])
//!     .env("HOME", "/data")
//!     .preopen_dir("./data", "/data")?
//!     .host_module();
//! // registry.define_host(MODULE_NAME, &wasi)?; then call the program's `_start`;
//! // a `proc_exit(n)` comes back as an error whose trap has `exit_status() == Some(n)`.
//! # let _ = (wasi, MODULE_NAME);
//! # Ok::<(), rwamr_core::Error>(())
//! ```
//!
//! Behaviour worth knowing:
//! - Paths resolve only beneath the directory fd they are given (see [`sandbox`]); `..`
//!   above it, absolute paths and symlinks leading out fail with `notcapable` (76).
//! - A guest pointer or length outside its memory gives `fault` (21), never a trap.
//! - Rights are reported and enforced: an fd's rights only shrink, a file opened
//!   beneath a directory gets at most the directory's inheriting rights, reading or
//!   writing an fd not opened for it is `badf`, other missing rights `notcapable`.
//! - `fd_advise` checks its arguments and otherwise ignores the hint; `fd_allocate`
//!   grows the file to cover the range; the `dsync`/`rsync`/`sync` fdflags are
//!   `notsup`; `path_link` with `symlink_follow` on a symlink is `notsup`.
//! - `poll_oneoff`: files, directories and embedder-supplied streams are always ready;
//!   the host's own stdio is polled for real; clocks sleep.
//! - There are no sockets: `sock_*` is `badf` or `notsock`; `proc_raise` is `nosys`.
//!
//! Layout: [`errno`] maps host errors to WASI errnos, [`memory`] reads and writes guest
//! pointers, [`fd`] is the descriptor table, [`sandbox`] resolves paths beneath a
//! directory, and `funcs/` holds the functions by family.
#![forbid(unsafe_code)]

pub mod abi;
mod command;
pub mod errno;
pub mod fd;
mod funcs;
pub mod memory;
mod pipe;
pub mod sandbox;
pub mod threads;

#[cfg(test)]
mod escape_tests;

pub use errno::Errno;
pub use pipe::OutputPipe;
pub use threads::{shared_memory_imports, ProgramEnd};

use fd::{Entry, FdTable, Stream};
use rwamr_core::{Error, HostModule, Result};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The import module name WASI programs use.
pub const MODULE_NAME: &str = "wasi_snapshot_preview1";

/// What a WASI program gets: arguments, environment, stdio and preopened directories.
pub struct WasiConfig {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Stream,
    stdout: Stream,
    stderr: Stream,
    preopens: Vec<Preopen>,
    random_seed: Option<u64>,
    on_thread_end: Option<threads::OnThreadEnd>,
}

impl Default for WasiConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiConfig {
    /// Inherited stdio, no arguments, no environment, no preopened directories.
    pub fn new() -> Self {
        WasiConfig {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Stream::HostStdin,
            stdout: Stream::HostStdout,
            stderr: Stream::HostStderr,
            preopens: Vec::new(),
            random_seed: None,
            on_thread_end: None,
        }
    }

    /// The program's arguments, `argv[0]` included.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds (or replaces) an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Gives the program the host directory `host` under the name `guest`. The directory
    /// is opened now (an error if it cannot be); the program reaches nothing outside it.
    pub fn preopen_dir(self, host: impl AsRef<Path>, guest: &str) -> Result<Self> {
        self.preopen(host.as_ref(), guest, false)
    }

    /// Like [`WasiConfig::preopen_dir`], but the program can only read: it cannot
    /// create, change, rename or remove anything beneath the directory (`notcapable`,
    /// or `badf` for a write to a file it opened).
    pub fn preopen_dir_read_only(self, host: impl AsRef<Path>, guest: &str) -> Result<Self> {
        self.preopen(host.as_ref(), guest, true)
    }

    fn preopen(mut self, host: &Path, guest: &str, read_only: bool) -> Result<Self> {
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority()).map_err(
            |e| Error::resource(format!("cannot preopen directory {}: {e}", host.display())),
        )?;
        self.preopens.push(Preopen {
            dir,
            name: guest.to_string(),
            read_only,
        });
        Ok(self)
    }

    /// Reads the program's stdin from `r` (default: the host's stdin).
    pub fn stdin(mut self, r: impl Read + Send + 'static) -> Self {
        self.stdin = Stream::Reader(Mutex::new(Box::new(r)));
        self
    }

    /// Sends the program's stdout to `w` (default: the host's stdout).
    pub fn stdout(mut self, w: impl Write + Send + 'static) -> Self {
        self.stdout = Stream::Writer(Mutex::new(Box::new(w)));
        self
    }

    /// Sends the program's stderr to `w` (default: the host's stderr).
    pub fn stderr(mut self, w: impl Write + Send + 'static) -> Self {
        self.stderr = Stream::Writer(Mutex::new(Box::new(w)));
        self
    }

    /// Makes `random_get` give a fixed stream of bytes from `seed` instead of the host's
    /// secure random bytes: for reproducible runs (tests, fuel counts), never for
    /// programs that need secrets.
    pub fn deterministic_random(mut self, seed: u64) -> Self {
        self.random_seed = Some(seed);
        self
    }

    /// Calls `f` when a thread the program spawned (wasi-threads) ends the program,
    /// by `proc_exit` or a trap, with how the program ended; it runs on that thread.
    /// Without it, the program's other threads end at their next WASI call or wait
    /// (see [`threads`]); a host that must stop at once (the CLI exits the process)
    /// does so here.
    pub fn on_thread_end(mut self, f: impl Fn(&ProgramEnd) + Send + Sync + 'static) -> Self {
        self.on_thread_end = Some(Arc::new(f));
        self
    }

    /// The `wasi_snapshot_preview1` host module: every function of the interface,
    /// sharing this configuration's state (its fd table lives as long as the module).
    /// A program that spawns threads needs [`WasiConfig::host`]'s `wasi` module too.
    pub fn host_module(self) -> HostModule {
        self.host().preview1
    }

    /// The host modules of one WASI program, sharing its state: `wasi_snapshot_preview1`
    /// and wasi-threads' `wasi` (`thread-spawn`).
    pub fn host(self) -> WasiHost {
        let ctx = Arc::new(self.into_ctx());
        WasiHost {
            threads: threads::host_module(ctx.program.clone()),
            program: ctx.program.clone(),
            preview1: funcs::host_module(ctx),
        }
    }

    fn into_ctx(self) -> WasiCtx {
        let program = Arc::new(threads::Program::new(self.on_thread_end));
        let fds = FdTable::default();
        fds.insert_at(0, Entry::stdin(self.stdin));
        fds.insert_at(1, Entry::stdout(self.stdout));
        fds.insert_at(2, Entry::stdout(self.stderr));
        for (i, p) in self.preopens.into_iter().enumerate() {
            let (base, inheriting) = if p.read_only {
                (
                    abi::rights::DIR_READ_ONLY,
                    abi::rights::DIR_READ_ONLY_INHERITING,
                )
            } else {
                (abi::rights::DIR, abi::rights::DIR_INHERITING)
            };
            fds.insert_at(
                3 + i as u32,
                Entry::dir(p.dir, Some(p.name), base, inheriting),
            );
        }
        WasiCtx {
            args: self.args,
            env: self
                .env
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            fds,
            random: self.random_seed.map(Mutex::new),
            program,
        }
    }
}

/// The host modules of one WASI program (see [`WasiConfig::host`]).
pub struct WasiHost {
    /// `wasi_snapshot_preview1` ([`MODULE_NAME`]).
    pub preview1: HostModule,
    /// wasi-threads' `wasi` ([`threads::MODULE_NAME`]).
    pub threads: HostModule,
    program: Arc<threads::Program>,
}

impl WasiHost {
    /// Ends the program as its main thread ended (`_start` returned: `Exit(0)`, or
    /// `proc_exit`, or a trap), unless another thread ended it first; returns how it
    /// ended. Its other threads stop at their next WASI call or wait.
    pub fn end(&self, how: ProgramEnd) -> ProgramEnd {
        self.program.end(how)
    }

    /// [`WasiHost::end`] with the result of the main thread's run: the program's exit
    /// status, or the error of the trap that ended it (another thread's, when one ended
    /// the program first).
    pub fn end_with(&self, run: Result<(), rwamr_core::Error>) -> Result<i32, rwamr_core::Error> {
        let main_end = match run {
            Ok(()) => ProgramEnd::Exit(0),
            Err(e) => match e.trap().and_then(|t| t.exit_status()) {
                Some(status) => ProgramEnd::Exit(status),
                None => ProgramEnd::Trap(e),
            },
        };
        match self.end(main_end) {
            ProgramEnd::Exit(status) => Ok(status),
            ProgramEnd::Trap(e) => Err(e),
        }
    }
}

struct Preopen {
    dir: cap_std::fs::Dir,
    name: String,
    read_only: bool,
}

/// The state every WASI function of one host module shares.
pub(crate) struct WasiCtx {
    pub args: Vec<String>,
    /// `KEY=VALUE` strings.
    pub env: Vec<String>,
    pub fds: FdTable,
    /// The state of the deterministic `random_get` stream, when configured.
    pub random: Option<Mutex<u64>>,
    /// The program's threads and how it ended (`threads.rs`).
    pub program: Arc<threads::Program>,
}

#[cfg(test)]
pub(crate) fn test_ctx(config: WasiConfig) -> WasiCtx {
    config.into_ctx()
}

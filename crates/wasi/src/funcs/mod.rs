//! The `wasi_snapshot_preview1` functions, one file per family, and their registration
//! as host functions. Each body takes the shared context, the caller's memory and the
//! arguments, and returns an errno; the wrapper here stores it as the i32 result.

mod args;
mod clock;
mod fd;
mod path;
mod poll;
mod proc;
mod random;
mod sock;

use crate::errno::WasiResult;
use crate::memory::GuestMemory;
use crate::WasiCtx;
use rwamr_core::{FuncType, HostModule, Trap, Val, ValType};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The arguments of a call, read as the unsigned integers WASI declares them as.
pub(crate) struct Args<'a>(pub &'a [Val]);

impl Args<'_> {
    pub fn u32(&self, i: usize) -> u32 {
        match self.0.get(i) {
            Some(Val::I32(v)) => *v as u32,
            _ => 0,
        }
    }
    pub fn u64(&self, i: usize) -> u64 {
        match self.0.get(i) {
            Some(Val::I64(v)) => *v as u64,
            _ => 0,
        }
    }
}

type Body = fn(&WasiCtx, &GuestMemory<'_>, &Args<'_>) -> WasiResult;

/// Every errno-returning function: name, parameter types (`i` = i32, `I` = i64), body.
const FUNCS: &[(&str, &str, Body)] = &[
    ("args_get", "ii", args::args_get),
    ("args_sizes_get", "ii", args::args_sizes_get),
    ("environ_get", "ii", args::environ_get),
    ("environ_sizes_get", "ii", args::environ_sizes_get),
    ("clock_res_get", "ii", clock::clock_res_get),
    ("clock_time_get", "iIi", clock::clock_time_get),
    ("fd_advise", "iIIi", fd::fd_advise),
    ("fd_allocate", "iII", fd::fd_allocate),
    ("fd_close", "i", fd::fd_close),
    ("fd_datasync", "i", fd::fd_datasync),
    ("fd_fdstat_get", "ii", fd::fd_fdstat_get),
    ("fd_fdstat_set_flags", "ii", fd::fd_fdstat_set_flags),
    ("fd_fdstat_set_rights", "iII", fd::fd_fdstat_set_rights),
    ("fd_filestat_get", "ii", fd::fd_filestat_get),
    ("fd_filestat_set_size", "iI", fd::fd_filestat_set_size),
    ("fd_filestat_set_times", "iIIi", fd::fd_filestat_set_times),
    ("fd_pread", "iiiIi", fd::fd_pread),
    ("fd_prestat_get", "ii", fd::fd_prestat_get),
    ("fd_prestat_dir_name", "iii", fd::fd_prestat_dir_name),
    ("fd_pwrite", "iiiIi", fd::fd_pwrite),
    ("fd_read", "iiii", fd::fd_read),
    ("fd_readdir", "iiiIi", fd::fd_readdir),
    ("fd_renumber", "ii", fd::fd_renumber),
    ("fd_seek", "iIii", fd::fd_seek),
    ("fd_sync", "i", fd::fd_sync),
    ("fd_tell", "ii", fd::fd_tell),
    ("fd_write", "iiii", fd::fd_write),
    ("path_create_directory", "iii", path::path_create_directory),
    ("path_filestat_get", "iiiii", path::path_filestat_get),
    (
        "path_filestat_set_times",
        "iiiiIIi",
        path::path_filestat_set_times,
    ),
    ("path_link", "iiiiiii", path::path_link),
    ("path_open", "iiiiiIIii", path::path_open),
    ("path_readlink", "iiiiii", path::path_readlink),
    ("path_remove_directory", "iii", path::path_remove_directory),
    ("path_rename", "iiiiii", path::path_rename),
    ("path_symlink", "iiiii", path::path_symlink),
    ("path_unlink_file", "iii", path::path_unlink_file),
    ("poll_oneoff", "iiii", poll::poll_oneoff),
    ("proc_raise", "i", proc::proc_raise),
    ("sched_yield", "", proc::sched_yield),
    ("random_get", "ii", random::random_get),
    ("sock_accept", "iii", sock::sock_accept),
    ("sock_recv", "iiiiii", sock::sock_recv),
    ("sock_send", "iiiii", sock::sock_send),
    ("sock_shutdown", "ii", sock::sock_shutdown),
];

fn param_types(spec: &str) -> Vec<ValType> {
    spec.chars()
        .map(|c| if c == 'I' { ValType::I64 } else { ValType::I32 })
        .collect()
}

/// Runs a body; a panic (a bug here, never a guest's doing) becomes a host trap
/// instead of unwinding through the wasm frames.
fn guarded<T>(name: &str, f: impl FnOnce() -> T) -> Result<T, Trap> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| Trap::host(format!("WASI function `{name}` failed internally")))
}

/// Calls one errno-returning function without wasm (tests of the bodies).
#[cfg(test)]
pub(crate) fn call(ctx: &WasiCtx, mem: &GuestMemory<'_>, name: &str, args: &[Val]) -> i32 {
    let (_, _, body) = FUNCS
        .iter()
        .find(|(n, _, _)| *n == name)
        .expect("no such WASI function");
    match body(ctx, mem, &Args(args)) {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

pub(crate) fn host_module(ctx: Arc<WasiCtx>) -> HostModule {
    let mut m = HostModule::new();
    for &(name, params, body) in FUNCS {
        let ctx = ctx.clone();
        m = m.func(
            name,
            FuncType::new(param_types(params), [ValType::I32]),
            move |caller, args, results| {
                // Once the program has ended, every thread of it ends at its next call.
                if let Some(end) = ctx.program.ended() {
                    return Err(end);
                }
                let mem = GuestMemory::of(caller);
                let r = guarded(name, || body(&ctx, &mem, &Args(args)))?;
                results[0] = Val::I32(match r {
                    Ok(()) => 0,
                    Err(e) => e.code(),
                });
                Ok(())
            },
        );
    }
    m.func(
        "proc_exit",
        FuncType::new([ValType::I32], []),
        move |_caller, args, _results| Err(proc::proc_exit(&ctx, &Args(args))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{test_ctx, WasiConfig};
    use rwamr_core::MemoryView;

    #[test]
    fn every_preview1_function_is_defined_once() {
        let mut names: Vec<&str> = FUNCS.iter().map(|(n, _, _)| *n).collect();
        names.push("proc_exit");
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a function is listed twice");
        // wasi_snapshot_preview1 has 46 functions.
        assert_eq!(n, 46);
        assert!(host_module(Arc::new(test_ctx(WasiConfig::new())))
            .check()
            .is_ok());
    }

    #[test]
    fn without_memory_every_pointer_faults() {
        let ctx = test_ctx(WasiConfig::new().stdout(std::io::sink()));
        let mem = GuestMemory::from_view(MemoryView::empty());
        let i = |v: i32| Val::I32(v);
        assert_eq!(call(&ctx, &mem, "fd_write", &[i(1), i(0), i(1), i(0)]), 21);
        assert_eq!(call(&ctx, &mem, "args_sizes_get", &[i(0), i(4)]), 21);
        assert_eq!(call(&ctx, &mem, "random_get", &[i(0), i(0)]), 0);
        assert_eq!(call(&ctx, &mem, "fd_close", &[i(9)]), 8);
        assert_eq!(call(&ctx, &mem, "sched_yield", &[]), 0);
    }
}

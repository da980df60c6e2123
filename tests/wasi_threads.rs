//! Rust programs built for wasm32-wasip1-threads (`tests/threads-programs`) in every
//! mode, through `WasiConfig::run`: std::thread, Mutex, Condvar, channels, barriers,
//! atomics and thread-locals give the right answers, and a spawned thread that exits or
//! traps ends the whole program while its main thread waits.

use rwamr::wasi::{OutputPipe, WasiConfig};
use rwamr::{Config, Engine, Registry};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TARGET: &str = "wasm32-wasip1-threads";

/// Builds the programs once per test run; returns the directory of the .wasm files.
fn programs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target_dir = root.join("target/threads-programs");
        let installed = || {
            Command::new("rustup")
                .args(["target", "list", "--installed"])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l == TARGET)
                })
                .unwrap_or(true)
        };
        // A fresh machine lacks the target: install it, so that the README's test
        // command works there as it is.
        if !installed() {
            eprintln!("installing the {TARGET} target for the threads test programs");
            let _ = Command::new("rustup")
                .args(["target", "add", TARGET])
                .status();
        }
        assert!(
            installed(),
            "the {TARGET} target is not installed and `rustup target add {TARGET}` failed"
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--release", "--target", TARGET, "--manifest-path"])
            .arg(root.join("tests/threads-programs/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .output()
            .expect("cannot run cargo to build tests/threads-programs");
        assert!(
            out.status.success(),
            "building tests/threads-programs failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir.join(TARGET).join("release")
    })
}

fn program(name: &str) -> Vec<u8> {
    std::fs::read(programs().join(format!("{name}.wasm"))).expect("built program")
}

/// Runs program `name` with `args` in every built mode: its exit status (or error) and
/// stdout, per mode.
fn each_mode(
    name: &str,
    args: &[&str],
    mut check: impl FnMut(rwamr::Mode, rwamr::Result<i32>, String),
) {
    let wasm = program(name);
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).unwrap();
        let registry = Registry::new(&engine);
        let stdout = OutputPipe::new(1 << 20);
        let argv = std::iter::once(name).chain(args.iter().copied());
        let status = WasiConfig::new()
            .args(argv)
            .stdout(stdout.clone())
            .stderr(std::io::sink())
            .run(&registry, &wasm);
        check(mode, status, stdout.contents_string());
    }
}

#[test]
fn std_threads_mutexes_condvars_channels_and_atomics_work() {
    each_mode("threads", &[], |mode, status, out| {
        assert_eq!(status.unwrap(), 0, "{mode}:\n{out}");
        let failed: Vec<&str> = out.lines().filter(|l| !l.ends_with(" ok")).collect();
        assert!(failed.is_empty(), "{mode}: {failed:?}\n{out}");
        assert_eq!(out.lines().count(), 9, "{mode}:\n{out}");
    });
}

#[test]
fn a_spawned_thread_that_exits_ends_the_program_with_its_status() {
    each_mode("threads", &["exit", "7"], |mode, status, out| {
        assert_eq!(status.unwrap(), 7, "{mode}:\n{out}");
    });
}

#[test]
fn a_spawned_thread_that_traps_ends_the_program_with_its_trap() {
    each_mode("threads", &["trap"], |mode, status, _| {
        let e = status.unwrap_err();
        let trap = e
            .trap()
            .unwrap_or_else(|| panic!("{mode}: not a trap: {e}"));
        assert_eq!(trap.code(), rwamr::TrapCode::Unreachable, "{mode}: {e}");
        assert!(
            trap.backtrace()
                .iter()
                .any(|f| f.func_name.as_deref() == Some("wasi_thread_start")),
            "{mode}: the trap is the spawned thread's: {e:#}"
        );
    });
}

#[test]
fn a_parallel_program_gives_the_same_answer_on_one_and_two_threads() {
    for threads in ["1", "2", "3"] {
        each_mode("parallel", &["200000", threads], |mode, status, out| {
            assert_eq!(status.unwrap(), 0, "{mode}");
            // The primes below 200,000.
            assert_eq!(out.trim(), "17984", "{mode}, {threads} threads");
        });
    }
}

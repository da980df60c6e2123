//! The `rwamr` binary end to end: arguments, results, errors, exit codes, --preload,
//! --watch.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rwamr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rwamr"))
}

/// A scratch directory, removed when the test ends.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("rwamr-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

fn write_wat(dir: &Path, file: &str, text: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, wat::parse_str(text).unwrap()).unwrap();
    p
}

#[test]
fn invoke_parses_arguments_and_prints_results() {
    let dir = temp_dir("invoke");
    let m = write_wat(
        &dir,
        "m.wasm",
        r#"(module (func (export "f") (param i32 i64 f64) (result i32 i64 f64)
            local.get 0 local.get 1 local.get 2))"#,
    );
    let out = rwamr()
        .args(["run", "--invoke", "f"])
        .arg(&m)
        .args(["-7", "0x10", "2.5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-7\n16\n2.5\n");
}

#[test]
fn errors_exit_nonzero_with_one_line_and_traps_have_their_own_status() {
    let dir = temp_dir("errors");
    let m = write_wat(
        &dir,
        "m.wasm",
        r#"(module (func (export "boom") unreachable) (func (export "id") (param i32) (result i32) local.get 0))"#,
    );
    let trap = rwamr()
        .args(["run", "--invoke", "boom"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(trap.status.code(), Some(134));
    let err = String::from_utf8_lossy(&trap.stderr);
    assert!(err.contains("wasm trap: unreachable"), "{err}");

    let bad_arg = rwamr()
        .args(["run", "--invoke", "id"])
        .arg(&m)
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(bad_arg.status.code(), Some(126));
    let err = String::from_utf8_lossy(&bad_arg.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a valid i32"), "{err}");

    let missing = rwamr()
        .args(["run", "--invoke", "nope"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no export named `nope`"));

    let no_file = rwamr().args(["run", "/nonexistent.wasm"]).output().unwrap();
    assert_eq!(no_file.status.code(), Some(126));

    let mode = rwamr()
        .args(["run", "--mode", "fastest"])
        .arg(&m)
        .output()
        .unwrap();
    assert_eq!(mode.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&mode.stderr).contains("unknown mode `fastest`"));
}

#[test]
fn preload_resolves_imports() {
    let dir = temp_dir("preload");
    let a = write_wat(
        &dir,
        "a.wasm",
        r#"(module (func (export "f") (result i32) i32.const 41))"#,
    );
    let main = write_wat(
        &dir,
        "main.wasm",
        r#"(module (import "A" "f" (func $f (result i32)))
            (func (export "run") (result i32) (i32.add (call $f) (i32.const 1))))"#,
    );
    let out = rwamr()
        .arg("run")
        .arg(format!("--preload=A={}", a.display()))
        .args(["--invoke", "run"])
        .arg(&main)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
}

#[test]
fn watch_swaps_a_changed_preload_and_runs_again() {
    let dir = temp_dir("watch");
    let plugin = |v: i32| format!(r#"(module (func (export "f") (result i32) i32.const {v}))"#);
    let a = write_wat(&dir, "a.wasm", &plugin(1));
    let main = write_wat(
        &dir,
        "main.wasm",
        r#"(module (import "A" "f" (func $f (result i32))) (func (export "run") (result i32) (call $f)))"#,
    );
    let mut child = rwamr()
        .arg("run")
        .arg("--watch")
        .arg(format!("--preload=A={}", a.display()))
        .args(["--invoke", "run"])
        .arg(&main)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let stderr = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .take_while(|l| !l.contains("swapped"))
            .last()
    });
    assert_eq!(stdout.next().unwrap().unwrap(), "1");
    // Let the watcher take its first timestamp, then change the file.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&a, wat::parse_str(plugin(2)).unwrap()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = stdout.next().unwrap().unwrap();
    assert!(Instant::now() < deadline);
    assert_eq!(line, "2");
    // Undoing the edit is a change like any other: the update compares with what runs.
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(&a, wat::parse_str(plugin(1)).unwrap()).unwrap();
    assert_eq!(stdout.next().unwrap().unwrap(), "1", "the edit was undone");
    assert!(Instant::now() < deadline);
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = log.join();
}

#[test]
fn runs_a_wasi_command_and_exits_with_its_status() {
    let dir = temp_dir("wasi");
    let prog = write_wat(
        &dir,
        "hello.wasm",
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello from wasi\n")
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 16))   ;; iovec.buf
                (i32.store (i32.const 4) (i32.const 16))   ;; iovec.len
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (call $proc_exit (i32.const 3))))"#,
    );
    let out = rwamr().arg("run").arg(&prog).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from wasi\n");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_trap_prints_a_backtrace_with_function_names() {
    let dir = temp_dir("backtrace");
    let prog = write_wat(
        &dir,
        "t.wasm",
        r#"(module
            (func $deep (unreachable))
            (func $middle (call $deep))
            (func (export "_start") (call $middle)))"#,
    );
    let out = rwamr().arg("run").arg(&prog).output().unwrap();
    assert_eq!(out.status.code(), Some(134));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wasm trap: unreachable"), "{err}");
    let deep = err.find("main!deep").expect("innermost frame named");
    let middle = err.find("main!middle").expect("caller named");
    assert!(deep < middle, "innermost first: {err}");
}

#[test]
fn dir_and_env_arguments_are_checked() {
    let dir = temp_dir("dirargs");
    let prog = write_wat(&dir, "p.wasm", r#"(module (func (export "_start")))"#);
    let missing = rwamr()
        .args(["run", "--dir", "/nonexistent-dir-for-rwamr"])
        .arg(&prog)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(126));
    let bad_env = rwamr()
        .args(["run", "--env", "NOEQUALS"])
        .arg(&prog)
        .output()
        .unwrap();
    assert_eq!(bad_env.status.code(), Some(2), "clap rejects the argument");
    let ok = rwamr()
        .arg("run")
        .arg(format!("--dir={}::/data", dir.display()))
        .args(["--env", "A=B"])
        .arg(&prog)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
}

#[test]
fn every_mode_runs_and_reports_timings() {
    let fib = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fib.wat");
    for mode in [
        &["--mode", "interp"][..],
        &["--mode", "baseline"],
        &["--mode", "baseline", "--eager"],
        &["--mode", "optimized"],
        &["--mode", "aot"],
        &["--mode", "tiered"],
    ] {
        let out = rwamr()
            .arg("run")
            .args(mode)
            .args(["--timings", "--invoke", "fib", fib, "20"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode:?}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "6765",
            "{mode:?}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("rwamr: mode={} ", mode[1])) && err.contains("compile_us="),
            "{mode:?}: {err}"
        );
    }
}

/// A reader that goes away (`rwamr run ... | head -1`) or a broken stderr is not a
/// crash: results stop printing, the run ends with its own status, nothing panics.
#[test]
fn closed_stdout_or_stderr_is_not_a_crash() {
    let dir = temp_dir("closed-pipe");
    let m = write_wat(
        &dir,
        "m.wasm",
        r#"(module (func (export "f") (result i32 i32) (i32.const 1) (i32.const 2))
                   (func (export "t") unreachable))"#,
    );
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        writer
    };
    let out = rwamr()
        .args(["run", "--invoke", "f"])
        .arg(&m)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
    // A trap reported to a broken stderr keeps the trap's status.
    let out = rwamr()
        .args(["run", "--invoke", "t"])
        .arg(&m)
        .stderr(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(134), "{out:?}");
}

/// A hostile module's names (control bytes, a 1 MiB name) and a trap 5,000 calls deep
/// give a short, printable report, the same in every mode: 32 frames shown, and the
/// true number of the others.
#[test]
fn hostile_names_and_deep_traps_give_short_printable_reports() {
    let dir = temp_dir("hostile-names");
    let long = "x".repeat(1 << 20);
    let m = write_wat(
        &dir,
        "m.wasm",
        &format!(
            r#"(module (func $f (@name "evil\1b[2J\0a{long}") (export "f") (param i32) (result i32)
                 (if (result i32) (i32.eqz (local.get 0))
                   (then unreachable)
                   (else (call $f (i32.sub (local.get 0) (i32.const 1)))))))"#
        ),
    );
    for mode in ["interp", "baseline", "optimized"] {
        let out = rwamr()
            .args(["run", "--mode", mode, "--invoke", "f"])
            .arg(&m)
            .arg("5000")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(134), "{mode}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.len() < 16 * 1024,
            "{mode}: {} bytes of report",
            err.len()
        );
        assert!(
            !err.chars().any(|c| c.is_control() && c != '\n'),
            "{mode}: control characters in {err:?}"
        );
        // 5,001 frames: the 64 recorded shown.
        assert_eq!(
            err.lines().filter(|l| l.contains("main!evil")).count(),
            64,
            "{mode}"
        );
        assert!(err.contains("... 4937 more frames"), "{mode}: {err}");
    }
}

/// What is neither a wasm binary nor text is refused in one line; text errors are one
/// line too.
#[test]
fn files_that_are_not_modules_get_one_line() {
    let dir = temp_dir("not-modules");
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("short", b"ab\0"),
        ("bad.wat", b"(module (func $a\n"),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = rwamr().arg("run").arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(126), "{name}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(!err.contains('\0'), "{name}: {err:?}");
    }
}

/// Program statuses 0 to 125 pass through; the ones above are rwamr's (126: could not
/// run, 134: trap), so a status out of range is refused, never taken mod 256.
#[test]
fn program_statuses_pass_through_up_to_125() {
    let dir = temp_dir("statuses");
    for (status, want) in [
        (0, 0),
        (1, 1),
        (125, 125),
        (126, 126),
        (134, 126),
        (256, 126),
        (300, 126),
        (-1, 126),
    ] {
        let prog = write_wat(
            &dir,
            &format!("exit{status}.wasm"),
            &format!(
                r#"(module
                     (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                     (memory (export "memory") 1)
                     (func (export "_start") (call $exit (i32.const {status}))))"#
            ),
        );
        let out = rwamr().arg("run").arg(&prog).output().unwrap();
        assert_eq!(out.status.code(), Some(want), "status {status}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        if want == 126 {
            assert!(err.contains(&format!("status {status}")), "{err}");
        } else {
            assert!(err.is_empty(), "{err}");
        }
    }
}

/// Under an address-space limit, tables the host cannot allocate are an error (status
/// 126, one line), never an abort that looks like a trap.
#[test]
fn tables_the_host_cannot_allocate_are_an_error() {
    let dir = temp_dir("table-oom");
    let tables = "(table 9999990 funcref)".repeat(100);
    let m = write_wat(
        &dir,
        "m.wasm",
        &format!(r#"(module {tables} (func (export "_start")))"#),
    );
    for mode in ["interp", "baseline", "optimized"] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v 3000000 && exec \"$0\" run --mode {mode} \"$1\""
            ))
            .arg(env!("CARGO_BIN_EXE_rwamr"))
            .arg(&m)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(126), "{mode}: {err}");
        assert!(err.contains("cannot allocate a table"), "{mode}: {err}");
        assert_eq!(err.lines().count(), 1, "{mode}: {err}");
    }
}

/// `--timeout` ends an endless WASI program within about its duration, in every mode,
/// with status 142; one blocked outside wasm (reading a stdin that never ends) too.
/// `--fuel` ends it with 152, and a program within its fuel runs as without.
#[test]
fn timeout_and_fuel_stop_endless_programs() {
    let dir = temp_dir("stop");
    let spin = write_wat(
        &dir,
        "spin.wasm",
        r#"(module (memory (export "memory") 1)
             (func (export "_start") (loop $l (br $l))))"#,
    );
    let read = write_wat(
        &dir,
        "read.wasm",
        r#"(module
             (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (func (export "_start")
               (i32.store (i32.const 0) (i32.const 16))
               (i32.store (i32.const 4) (i32.const 16))
               (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
    );
    let short = write_wat(
        &dir,
        "short.wasm",
        r#"(module (func (export "f") (param i32) (result i32)
             (local.get 0) (i32.const 1) (i32.add)))"#,
    );
    for mode in ["interp", "baseline", "optimized"] {
        let t = std::time::Instant::now();
        let out = rwamr()
            .args(["run", "--mode", mode, "--timeout", "300ms"])
            .arg(&spin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(142), "{mode}: {out:?}");
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{mode}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--timeout"), "{mode}: {err}");

        let out = rwamr()
            .args(["run", "--mode", mode, "--fuel", "100000"])
            .arg(&spin)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(152), "{mode}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--fuel"),
            "{out:?}"
        );

        // add costs 3 units: exactly enough runs, one less does not.
        for (fuel, code) in [("3", 0), ("2", 152)] {
            let out = rwamr()
                .args(["run", "--mode", mode, "--fuel", fuel, "--invoke", "f"])
                .arg(&short)
                .arg("41")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(code), "{mode} fuel {fuel}: {out:?}");
        }
    }
    // stdin stays open (a pipe nobody writes): the read blocks outside wasm.
    let mut child = rwamr()
        .args(["run", "--timeout", "200ms"])
        .arg(&read)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // (`wait` would close the child's stdin first: keep it open.)
    let _stdin = child.stdin.take();
    let t = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(142));
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
}

/// `rwamr compile` writes an .aot file; `rwamr run` knows it by its magic, runs it only
/// with --allow-precompiled, in aot mode only, and as a --preload too; settings the code
/// depends on must match.
#[test]
fn compile_writes_an_aot_file_that_run_maps_with_permission() {
    let dir = temp_dir("aot");
    let fib = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fib.wat");
    let aot = dir.join("fib.aot");
    let out = rwamr()
        .args(["compile", fib, "-o"])
        .arg(&aot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let run = |extra: &[&str]| {
        rwamr()
            .arg("run")
            .args(extra)
            .args(["--invoke", "fib"])
            .arg(&aot)
            .arg("20")
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(126));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--allow-precompiled"), "{err}");
    assert!(refused.stdout.is_empty());

    let ran = run(&["--allow-precompiled", "--timings"]);
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "6765\n");
    assert!(String::from_utf8_lossy(&ran.stderr).contains("mode=aot"));

    let other_mode = run(&["--allow-precompiled", "--mode", "interp"]);
    assert_eq!(other_mode.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&other_mode.stderr).contains("aot mode only"));

    // Compiled without fuel metering: a run with --fuel needs another file.
    let fuel = run(&["--allow-precompiled", "--fuel", "1000"]);
    assert_eq!(fuel.status.code(), Some(126));
    let err = String::from_utf8_lossy(&fuel.stderr);
    assert!(err.contains("--consume-fuel"), "{err}");
    let metered = dir.join("fib-fuel.aot");
    let out = rwamr()
        .args(["compile", "--consume-fuel", fib, "-o"])
        .arg(&metered)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = rwamr()
        .args([
            "run",
            "--allow-precompiled",
            "--fuel",
            "1000",
            "--invoke",
            "fib",
        ])
        .arg(&metered)
        .arg("20")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(152), "{out:?}");

    // An .aot preload beside a main module in the interpreter.
    let lib = write_wat(
        &dir,
        "lib.wasm",
        r#"(module (func (export "f") (result i32) i32.const 41))"#,
    );
    let lib_aot = dir.join("lib.aot");
    assert!(rwamr()
        .arg("compile")
        .arg(&lib)
        .arg("-o")
        .arg(&lib_aot)
        .status()
        .unwrap()
        .success());
    let main = write_wat(
        &dir,
        "main.wasm",
        r#"(module (import "A" "f" (func $f (result i32)))
            (func (export "run") (result i32) (i32.add (call $f) (i32.const 1))))"#,
    );
    let out = rwamr()
        .args(["run", "--allow-precompiled", "--invoke", "run"])
        .arg(format!("--preload=A={}", lib_aot.display()))
        .arg(&main)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");

    // A damaged file: one line, nothing runs.
    let mut bytes = std::fs::read(&aot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let bad = dir.join("bad.aot");
    std::fs::write(&bad, &bytes).unwrap();
    let out = rwamr()
        .args(["run", "--allow-precompiled", "--invoke", "fib"])
        .arg(&bad)
        .arg("20")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("checksum"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// `compile -o` renames the new file over OUT: never over a device, pipe or directory
/// (`-o /dev/null` run as root would turn the device into a file).
#[test]
fn compile_writes_over_regular_files_only() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = temp_dir("compile-out");
    let m = write_wat(&dir, "m.wasm", "(module)");
    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    for not_a_file in [&fifo, &sub] {
        let out = rwamr()
            .arg("compile")
            .arg(&m)
            .arg("-o")
            .arg(not_a_file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(126), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is not a regular file"), "{err}");
    }
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe is still a pipe");
    // A regular file is replaced.
    let aot = dir.join("m.aot");
    std::fs::write(&aot, b"old").unwrap();
    let out = rwamr()
        .arg("compile")
        .arg(&m)
        .arg("-o")
        .arg(&aot)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(std::fs::read(&aot).unwrap().starts_with(b"\0rwamr-aot"));
}

/// Results that cannot be written (a full disk) are an error, not a silent success; a
/// reader that went away (`| head -1`) is not.
#[test]
fn results_that_cannot_be_written_are_an_error() {
    let dir = temp_dir("full");
    let m = write_wat(
        &dir,
        "m.wasm",
        r#"(module (func (export "f") (result i32) i32.const 1))"#,
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = rwamr()
        .args(["run", "--invoke", "f"])
        .arg(&m)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write the results to stdout"), "{err}");
}

/// A spawned thread that ends the program while `_start` waits: the process exits with
/// that thread's status and message, never with the main thread's interruption that
/// follows (a race: each case runs many times in every mode).
#[test]
fn a_thread_that_ends_the_program_decides_its_status() {
    let dir = temp_dir("thread-end");
    let program = |thread_body: &str| {
        format!(
            r#"(module
            (import "env" "memory" (memory 1 1 shared))
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (func (export "wasi_thread_start") (param i32 i32) {thread_body})
            (func (export "_start")
                (drop (call $spawn (i32.const 0)))
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))"#
        )
    };
    let exits = write_wat(&dir, "exits.wasm", &program("(call $exit (i32.const 7))"));
    let traps = write_wat(&dir, "traps.wasm", &program("unreachable"));
    for mode in ["interp", "baseline", "optimized", "aot", "tiered"] {
        for _ in 0..15 {
            let out = rwamr()
                .args(["run", "--mode", mode])
                .arg(&exits)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(7), "{mode}: {err}");
            assert!(err.is_empty(), "{mode}: {err}");
            let out = rwamr()
                .args(["run", "--mode", mode])
                .arg(&traps)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(134), "{mode}: {err}");
            assert!(err.contains("unreachable"), "{mode}: {err}");
            assert!(!err.contains("interrupted"), "{mode}: {err}");
            assert_eq!(
                err.matches("error:").count(),
                1,
                "{mode}: one report: {err}"
            );
        }
    }
}

/// Threads are bounded per program: a spawn past `--max-threads` (1024 by default)
/// fails with EAGAIN in the guest, and a thread bomb ends with the program's own status.
#[test]
fn spawns_past_the_thread_limit_fail_cleanly() {
    let dir = temp_dir("thread-limit");
    let imports = r#"
        (import "env" "memory" (memory 1 1 shared))
        (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))"#;
    let park = "(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))";
    // `spawns` spawns of threads that stay; exits with how many started, less `minus`.
    let flat = |name: &str, spawns: u32, minus: u32| {
        write_wat(
            &dir,
            name,
            &format!(
                r#"(module {imports}
                (func (export "wasi_thread_start") (param i32 i32) {park})
                (func (export "_start") (local $i i32) (local $ok i32)
                    (loop $l
                        (if (i32.gt_s (call $spawn (i32.const 0)) (i32.const 0))
                            (then (local.set $ok (i32.add (local.get $ok) (i32.const 1)))))
                        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                            (i32.const {spawns}))))
                    (call $exit (i32.sub (local.get $ok) (i32.const {minus})))))"#
            ),
        )
    };
    let flat_100 = flat("flat.wasm", 100, 0);
    // Every thread spawns two more; the main one waits 300 ms, then exits with 3.
    let bomb = write_wat(
        &dir,
        "bomb.wasm",
        &format!(
            r#"(module {imports}
            (func (export "wasi_thread_start") (param i32 i32)
                (drop (call $spawn (i32.const 0)))
                (drop (call $spawn (i32.const 0)))
                {park})
            (func (export "_start")
                (drop (call $spawn (i32.const 0)))
                (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 300000000)))
                (call $exit (i32.const 3))))"#
        ),
    );
    for mode in ["interp", "baseline", "optimized", "aot", "tiered"] {
        let run = |file: &Path, limit: Option<&str>| {
            let mut cmd = rwamr();
            cmd.args(["run", "--mode", mode]);
            if let Some(n) = limit {
                cmd.args(["--max-threads", n]);
            }
            cmd.arg(file).output().unwrap()
        };
        let out = run(&flat_100, Some("8"));
        assert_eq!(out.status.code(), Some(7), "{mode}: {out:?}");
        let out = run(&bomb, Some("64"));
        assert_eq!(out.status.code(), Some(3), "{mode}: {out:?}");
        assert!(out.stderr.is_empty(), "{mode}: {out:?}");
    }
    // The default bounds them too: 1024 alive, the main thread included.
    let out = run_default(&flat("flat-1100.wasm", 1100, 1000));
    assert_eq!(out.status.code(), Some(23), "{out:?}");
    let out = run_default(&bomb);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

fn run_default(file: &Path) -> std::process::Output {
    rwamr()
        .args(["run", "--mode", "interp"])
        .arg(file)
        .output()
        .unwrap()
}

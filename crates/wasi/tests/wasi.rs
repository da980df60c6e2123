//! End-to-end WASI tests: the programs of `tests/wasi-programs` (built here for
//! wasm32-wasip1) run in the interpreter with captured stdio and temporary preopened
//! directories; their output, exit status and the files they leave are checked, and
//! every way out of the sandbox is tried. The programs of `../shared/bench` run too, when
//! that corpus is beside the workspace (CI has it; a lone clone skips them, saying so).

use rwamr::wasi::{WasiConfig, MODULE_NAME};
use rwamr::{Config, Engine, Mode, Registry};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the programs once per test run; returns the directory holding the .wasm files.
fn programs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_root();
        let target = root.join("target/wasi-programs");
        let installed = || {
            Command::new("rustup")
                .args(["target", "list", "--installed"])
                .output()
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .any(|l| l == "wasm32-wasip1")
                })
                // Without rustup, let cargo say whether the target is there.
                .unwrap_or(true)
        };
        // A fresh machine lacks the target: install it, so the README's test command
        // works there as it is.
        if !installed() {
            eprintln!("installing the wasm32-wasip1 target for the WASI test programs");
            let _ = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip1"])
                .status();
        }
        assert!(
            installed(),
            "the wasm32-wasip1 target is not installed and `rustup target add wasm32-wasip1` failed"
        );
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip1",
                "--manifest-path",
            ])
            .arg(root.join("tests/wasi-programs/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .output()
            .expect("cannot run cargo to build tests/wasi-programs");
        assert!(
            out.status.success(),
            "building tests/wasi-programs failed (is the target installed? \
             `rustup target add wasm32-wasip1`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip1/release")
    })
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Outcome {
    status: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Every `NAME ok` / `NAME FAILED` line the program printed must be ok.
    fn assert_all_ok(&self, at_least: usize) {
        let failed: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.contains("FAILED"))
            .collect();
        assert!(
            failed.is_empty(),
            "failed checks:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
            failed.join("\n"),
            self.stdout,
            self.stderr
        );
        let ok = self.stdout.lines().filter(|l| l.ends_with(" ok")).count();
        assert!(
            ok >= at_least,
            "only {ok} checks passed:\n{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `wasm` with `config` (stdout and stderr captured here); the status is 0 when
/// `_start` returned, else what `proc_exit` said. A trap fails the test.
fn run_bytes(wasm: &[u8], config: WasiConfig) -> Outcome {
    run_bytes_in(Mode::Interp, wasm, config)
}

/// [`run_bytes`] in execution mode `mode`.
fn run_bytes_in(mode: Mode, wasm: &[u8], config: WasiConfig) -> Outcome {
    run_with(Config::default().mode(mode), wasm, config)
}

fn run_with(engine_config: Config, wasm: &[u8], config: WasiConfig) -> Outcome {
    run_in(&Engine::new(engine_config).unwrap(), wasm, config)
}

/// [`run_with`] in `engine` (whose budgets the caller may set and read).
fn run_in(engine: &Engine, wasm: &[u8], config: WasiConfig) -> Outcome {
    let (out, err) = (Captured::default(), Captured::default());
    let host = config.stdout(out.clone()).stderr(err.clone()).host_module();
    let registry = Registry::new(engine);
    registry.define_host(MODULE_NAME, &host).unwrap();
    registry.load("main", wasm).unwrap();
    let status = match registry.func("main", "_start").unwrap().call(&[]) {
        Ok(_) => 0,
        Err(e) => match e.trap().and_then(|t| t.exit_status()) {
            Some(s) => s,
            None => panic!(
                "program trapped: {e}\n--- stdout:\n{}\n--- stderr:\n{}",
                out.text(),
                err.text()
            ),
        },
    };
    Outcome {
        status,
        stdout: out.text(),
        stderr: err.text(),
    }
}

fn run(program: &str, args: &[&str], config: WasiConfig) -> Outcome {
    let wasm = std::fs::read(programs().join(format!("{program}.wasm"))).unwrap();
    let argv: Vec<String> = std::iter::once(program)
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    run_bytes(&wasm, config.args(argv))
}

#[test]
fn args_environment_and_exit_status() {
    let o = run(
        "args_env",
        &["hello", "wörld with spaces", ""],
        WasiConfig::new()
            .env("FOO", "bar")
            .env("EMPTY", "")
            .env("FOO", "baz"),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    let want = "argc=4\narg[0]=args_env\narg[1]=hello\narg[2]=wörld with spaces\narg[3]=\n\
                env EMPTY=\nenv FOO=baz\nHOME=None\n";
    assert_eq!(o.stdout, want);

    let o = run("args_env", &["--exit", "3"], WasiConfig::new());
    assert_eq!(o.status, 3);
    assert!(o.stdout.ends_with("exiting with 3\n"), "{}", o.stdout);

    // No arguments at all (not even argv[0]), no environment.
    let wasm = std::fs::read(programs().join("args_env.wasm")).unwrap();
    let o = run_bytes(&wasm, WasiConfig::new());
    assert_eq!(o.stdout, "argc=0\nHOME=None\n");
}

#[test]
fn exit_codes() {
    for code in [0, 1, 42, 255] {
        let o = run("exit_code", &[&code.to_string()], WasiConfig::new());
        assert_eq!(o.status, code);
        assert_eq!(o.stdout, format!("bye {code}\n"));
    }
}

#[test]
fn stdin_stdout_stderr() {
    let input = b"hello\nwasi world\n".to_vec();
    let o = run(
        "stdio",
        &[],
        WasiConfig::new().stdin(std::io::Cursor::new(input)),
    );
    assert_eq!(o.status, 0);
    assert_eq!(
        o.stdout,
        "stdin bytes=17 lines=2\n> HELLO\n> WASI WORLD\npartial line without newline"
    );
    assert_eq!(o.stderr, "this goes to stderr\n");

    // An empty stdin is an immediate end of file.
    let o = run("stdio", &[], WasiConfig::new().stdin(std::io::empty()));
    assert!(
        o.stdout.starts_with("stdin bytes=0 lines=0\n"),
        "{}",
        o.stdout
    );
}

#[test]
fn clocks_sleep_and_random() {
    let o = run("clocks", &[], WasiConfig::new());
    assert_eq!(o.status, 0, "{}", o.stderr);
    o.assert_all_ok(12);
}

#[test]
fn files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        "fs",
        &[],
        WasiConfig::new()
            .preopen_dir(dir.path(), "/sandbox")
            .unwrap(),
    );
    assert_eq!(o.status, 0, "{}\n{}", o.stdout, o.stderr);
    o.assert_all_ok(60);
    assert!(o.stdout.ends_with("done\n"));
    // What the program left on the host.
    let d = dir.path();
    assert_eq!(
        std::fs::read_to_string(d.join("result.txt")).unwrap(),
        "written by fs.wasm\n"
    );
    assert_eq!(std::fs::read_dir(d.join("many")).unwrap().count(), 300);
    assert_eq!(std::fs::read(d.join("hard")).unwrap(), b"x");
    assert!(!d.join("d").exists());
    assert_eq!(std::fs::metadata(d.join("a.txt")).unwrap().len(), 0);
}

#[test]
fn poll_sched_sock_and_bad_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        "poll",
        &[],
        WasiConfig::new()
            .preopen_dir(dir.path(), "/sandbox")
            .unwrap()
            .stdin(std::io::Cursor::new(b"x".to_vec())),
    );
    assert_eq!(o.status, 0, "{}", o.stderr);
    o.assert_all_ok(20);
    assert!(o.stdout.ends_with("poll done\n"));
}

#[test]
fn preopen_of_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = WasiConfig::new()
        .preopen_dir(dir.path().join("nope"), "/x")
        .err()
        .expect("preopening a missing directory must fail");
    assert!(e.to_string().contains("nope"), "{e}");
}

/// The layout the sandbox program expects: `root/sandbox` (the preopen) and
/// `root/outside` with the secret.
struct Layout {
    root: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("sandbox/sub")).unwrap();
        std::fs::create_dir_all(r.join("outside/dir")).unwrap();
        std::fs::write(r.join("sandbox/inside.txt"), "inside").unwrap();
        std::fs::write(r.join("outside/secret.txt"), "SECRET").unwrap();
        use std::os::unix::fs::symlink;
        symlink("../outside/secret.txt", r.join("sandbox/link_out")).unwrap();
        symlink(r.join("outside/secret.txt"), r.join("sandbox/link_abs")).unwrap();
        symlink("../outside", r.join("sandbox/link_dir")).unwrap();
        symlink("inside.txt", r.join("sandbox/swap")).unwrap();
        Layout { root }
    }
    fn sandbox(&self) -> PathBuf {
        self.root.path().join("sandbox")
    }
    fn outside(&self) -> PathBuf {
        self.root.path().join("outside")
    }
    /// Everything outside the sandbox, as (path, contents or link target).
    fn outside_snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(p: &Path, out: &mut Vec<(PathBuf, String)>) {
            let mut entries: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for e in entries {
                let m = std::fs::symlink_metadata(&e).unwrap();
                if m.is_dir() {
                    out.push((e.clone(), "dir".into()));
                    walk(&e, out);
                } else if m.is_symlink() {
                    out.push((
                        e.clone(),
                        format!("-> {}", std::fs::read_link(&e).unwrap().display()),
                    ));
                } else {
                    let mtime = m.modified().unwrap();
                    out.push((
                        e.clone(),
                        format!("{} {mtime:?}", std::fs::read_to_string(&e).unwrap()),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.outside(), &mut out);
        out
    }
}

#[test]
fn every_sandbox_escape_is_refused() {
    let l = Layout::new();
    let before = l.outside_snapshot();
    let o = run(
        "sandbox",
        &[],
        WasiConfig::new()
            .preopen_dir(l.sandbox(), "/sandbox")
            .unwrap(),
    );
    assert_eq!(o.status, 0, "{}\n{}", o.stdout, o.stderr);
    eprintln!("{}", o.stdout);
    assert!(o.stdout.ends_with("escapes done\n"), "{}", o.stdout);
    assert!(
        !o.stdout.contains("SECRET"),
        "the secret leaked:\n{}",
        o.stdout
    );
    let results: std::collections::HashMap<&str, i32> = o
        .stdout
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(" errno=")?;
            Some((name, rest.split(' ').next()?.parse().ok()?))
        })
        .collect();
    const NOTCAPABLE: i32 = 76;
    for name in [
        "dotdot",
        "dotdot_deep",
        "dotdot_dir",
        "absolute",
        "absolute_outside",
        "symlink_out",
        "symlink_abs",
        "symlink_dir",
        "symlink_dir_nofollow",
        "create_outside",
        "create_through_link",
        "mkdir_outside",
        "unlink_outside",
        "rmdir_outside",
        "stat_outside",
        "stat_through_link",
        "set_times_outside",
        "rename_out",
        "rename_in",
        "link_out",
        "link_in",
        "symlink_placed_outside",
        "symlink_absolute_target",
        "readlink_absolute",
        "follow_own_symlink",
        "dotdot_from_subdir_fd",
    ] {
        assert_eq!(
            results.get(name),
            Some(&NOTCAPABLE),
            "{name}:\n{}",
            o.stdout
        );
    }
    // Through wasi-libc's own path handling: refused, whichever layer refuses it.
    for name in ["std_dotdot", "std_symlink"] {
        assert!(
            matches!(results.get(name), Some(e) if *e != 0),
            "{name}:\n{}",
            o.stdout
        );
    }
    // What stays inside is allowed.
    assert!(
        o.stdout.contains("inside_ok errno=0 read=\"inside\""),
        "{}",
        o.stdout
    );
    assert_eq!(results.get("make_climbing_symlink"), Some(&0));
    // Nothing outside was created, changed, moved or removed.
    assert_eq!(l.outside_snapshot(), before);
    assert_eq!(
        std::fs::read_to_string(l.sandbox().join("inside.txt")).unwrap(),
        "inside"
    );
    assert!(
        !l.sandbox().join("stolen.txt").exists() && !l.sandbox().join("hardlinked.txt").exists()
    );
}

#[test]
fn symlink_swapped_during_the_calls_never_leads_out() {
    let l = Layout::new();
    let sandbox = l.sandbox();
    let stop = Arc::new(AtomicBool::new(false));
    let outside_abs = l.outside().join("secret.txt");
    let swapper = {
        let (stop, sandbox) = (stop.clone(), sandbox.clone());
        std::thread::spawn(move || {
            let targets = [
                PathBuf::from("inside.txt"),
                PathBuf::from("../outside/secret.txt"),
                outside_abs,
                PathBuf::from("sub/../../outside/secret.txt"),
            ];
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let tmp = sandbox.join("swap.tmp");
                let _ = std::fs::remove_file(&tmp);
                std::os::unix::fs::symlink(&targets[swaps as usize % targets.len()], &tmp).unwrap();
                // rename(2) replaces the link atomically: the guest always sees one.
                std::fs::rename(&tmp, sandbox.join("swap")).unwrap();
                swaps += 1;
            }
            swaps
        })
    };
    // Rounds until both outcomes were seen (on a loaded machine one round may run
    // entirely while the link points one way); the secret must never be read.
    let (mut inside, mut refused) = (0, 0);
    for _round in 0..20 {
        let o = run(
            "sandbox",
            &["swap", "2000"],
            WasiConfig::new().preopen_dir(&sandbox, "/sandbox").unwrap(),
        );
        assert_eq!(o.status, 0, "{}", o.stderr);
        let line = o.stdout.lines().find(|l| l.starts_with("swap ")).unwrap();
        let n = |key: &str| -> u64 {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
                .unwrap()
        };
        assert_eq!(
            n("secret"),
            0,
            "the secret was read through a swapped symlink: {line}"
        );
        assert_eq!(n("inside") + n("errors"), 2000, "{line}");
        inside += n("inside");
        refused += n("errors");
        if inside > 0 && refused > 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    assert!(swaps > 10, "the swapper hardly ran ({swaps} swaps)");
    // The race was real: some opens saw the inside target, some were refused.
    assert!(
        inside > 0 && refused > 0,
        "inside={inside} refused={refused} ({swaps} swaps)"
    );
}

/// A row of `EXPECTED.tsv`: name, arguments, expected line.
type BenchRow = (String, String, String);

/// Rows of `../shared/bench/EXPECTED.tsv` for the programs: name -> (args, line). The
/// corpus is not part of the repository: without it (a clone on its own) the tests that
/// use it say so on one line and pass.
fn bench_expected(test: &str) -> Option<(PathBuf, Vec<BenchRow>)> {
    let dir = workspace_root().join("../shared/bench");
    let tsv = match std::fs::read_to_string(dir.join("EXPECTED.tsv")) {
        Ok(tsv) => tsv,
        Err(e) => {
            // Straight to stderr: the test harness would swallow `eprintln!` of a test
            // that passes.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: the benchmark corpus is not at {} ({e}); it is the shared \
                 folder beside the workspace that CI provides",
                dir.display()
            );
            return None;
        }
    };
    let rows = tsv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .filter(|(name, _, _)| !name.starts_with("wat/"))
        .collect();
    Some((dir, rows))
}

fn run_bench(mode: Mode, dir: &Path, name: &str, scale: &str) -> (Outcome, Duration) {
    let wasm = std::fs::read(dir.join(format!("wasm/{name}.wasm"))).unwrap();
    let mut args = vec![name.to_string()];
    if !scale.is_empty() {
        args.push(scale.to_string());
    }
    let t = Instant::now();
    let o = run_bytes_in(mode, &wasm, WasiConfig::new().args(args));
    (o, t.elapsed())
}

/// Every benchmark program starts, reads its arguments and environment, and prints its
/// line at scale 0 (no work: the WASI surface the corpus uses, quickly), in every mode.
#[test]
fn bench_programs_run_at_scale_zero() {
    let Some((dir, rows)) = bench_expected("bench_programs_run_at_scale_zero") else {
        return;
    };
    let mut names: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
    names.dedup();
    assert!(names.len() >= 8, "{names:?}");
    for &mode in rwamr::built_modes() {
        for name in &names {
            let (o, dt) = run_bench(mode, &dir, name, "0");
            assert_eq!(o.status, 0, "{mode} {name}: {}", o.stderr);
            let line = o.stdout.trim_end();
            assert!(
                line.starts_with(&format!("{name} ")),
                "{mode} {name} printed {line:?}"
            );
            eprintln!("{mode} {name} scale 0: {dt:?}: {line}");
        }
    }
}

/// The programs at scale 1 print exactly their expected line: the fastest three in the
/// interpreter, all of them in the compiled modes. Slow in a debug build, so release
/// only.
#[test]
#[cfg_attr(debug_assertions, ignore = "run with --release")]
fn bench_programs_print_their_expected_lines() {
    let Some((dir, rows)) = bench_expected("bench_programs_print_their_expected_lines") else {
        return;
    };
    for &mode in rwamr::built_modes() {
        let mut names: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
        names.dedup();
        if mode == Mode::Interp {
            // About 8 s together (all eight match; the rest take 30 s more).
            names = vec!["fib", "sieve", "matmul"];
        }
        for name in names {
            let (_, _, want) = rows
                .iter()
                .find(|(n, args, _)| n == name && args.is_empty())
                .unwrap_or_else(|| panic!("no EXPECTED.tsv row for {name}"));
            let (o, dt) = run_bench(mode, &dir, name, "");
            assert_eq!(o.status, 0, "{mode} {name}: {}", o.stderr);
            assert_eq!(o.stdout.trim_end(), want, "{mode} {name}");
            eprintln!("{mode} {name} scale 1: {dt:?}");
        }
    }
}

/// Every benchmark program, and every WAT microbenchmark, consumes exactly the same fuel
/// in every mode (at scale 1; the microbenchmarks with their small argument). Release
/// only: about a minute, most of it interpreted.
#[test]
#[cfg_attr(debug_assertions, ignore = "run with --release")]
fn bench_programs_consume_the_same_fuel_in_every_mode() {
    const FUEL: u64 = u64::MAX >> 1;
    let Some((dir, rows)) = bench_expected("bench_programs_consume_the_same_fuel_in_every_mode")
    else {
        return;
    };
    let mut names: Vec<&str> = rows.iter().map(|(n, _, _)| n.as_str()).collect();
    names.dedup();
    for name in names {
        let wasm = std::fs::read(dir.join(format!("wasm/{name}.wasm"))).unwrap();
        let mut seen: Vec<(Mode, u64)> = Vec::new();
        for &mode in rwamr::built_modes() {
            let config = Config::default().mode(mode).consume_fuel(true);
            // The thread's fuel for this engine.
            let engine = Engine::new(config).unwrap();
            engine.set_fuel(FUEL).unwrap();
            let t = Instant::now();
            // Reproducible: hash tables seeded from random_get (regex's) take the same
            // paths in every run.
            let wasi = WasiConfig::new()
                .args(vec![name.to_string()])
                .deterministic_random(1);
            let o = run_in(&engine, &wasm, wasi);
            assert_eq!(o.status, 0, "{mode} {name}: {}", o.stderr);
            let used = FUEL - engine.get_fuel().unwrap();
            eprintln!("{mode} {name}: {used} fuel in {:?}", t.elapsed());
            seen.push((mode, used));
        }
        assert!(
            seen.iter().all(|(_, f)| *f == seen[0].1),
            "{name}: fuel differs between modes: {seen:?}"
        );
        assert!(seen[0].1 > 1_000_000, "{name}: {seen:?}");
    }
    let wat_rows = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    for line in wat_rows.lines().filter(|l| l.starts_with("wat/")) {
        let mut f = line.split('\t');
        let (name, arg, want) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        if arg != "1000" {
            continue;
        }
        let wasm = std::fs::read(dir.join(format!("{name}.wasm"))).unwrap();
        let mut seen: Vec<(Mode, u64)> = Vec::new();
        for &mode in rwamr::built_modes() {
            let engine = Engine::new(Config::default().mode(mode).consume_fuel(true)).unwrap();
            let registry = Registry::new(&engine);
            engine.set_fuel(FUEL).unwrap();
            registry.load("m", &wasm).unwrap();
            let r = registry
                .func("m", "run")
                .unwrap()
                .call(&[rwamr::Val::I32(1000)])
                .unwrap();
            assert_eq!(
                r,
                vec![rwamr::Val::I32(want.parse().unwrap())],
                "{mode} {name}"
            );
            seen.push((mode, FUEL - engine.get_fuel().unwrap()));
        }
        eprintln!("{name} 1000: {seen:?}");
        assert!(
            seen.iter().all(|(_, f)| *f == seen[0].1),
            "{name}: fuel differs between modes: {seen:?}"
        );
    }
}

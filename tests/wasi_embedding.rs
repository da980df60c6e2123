//! WASI for embedders, in every mode: a command run in one call with its output
//! captured, several WASI contexts in one registry, read-only preopened directories.

mod common;
use common::{each_mode, wat};
use rwamr::wasi::{OutputPipe, WasiConfig, MODULE_NAME};
use rwamr::UpdatePolicy;

/// Copies stdin to stdout (one read), then exits with status 7.
const ECHO: &str = r#"(module
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func (export "_start")
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 256))
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (i32.store (i32.const 4) (i32.load (i32.const 8)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $exit (i32.const 7))))"#;

fn echo_config(input: &str) -> (WasiConfig, OutputPipe) {
    let out = OutputPipe::new(4096);
    let config = WasiConfig::new()
        .stdin(std::io::Cursor::new(input.as_bytes().to_vec()))
        .stdout(out.clone());
    (config, out)
}

#[test]
fn a_command_runs_in_one_call_with_its_output_captured() {
    each_mode(|mode, reg| {
        let (config, out) = echo_config("hello\n");
        assert_eq!(config.run(&reg, wat(ECHO)).unwrap(), 7, "{mode}");
        assert_eq!(out.contents_string(), "hello\n", "{mode}");
        // A command returning from `_start` exits with 0; a trap is an error.
        let ok = wat(r#"(module (func (export "_start")))"#);
        assert_eq!(WasiConfig::new().run(&reg, &ok).unwrap(), 0);
        let trap = wat(r#"(module (func (export "_start") unreachable))"#);
        let e = WasiConfig::new().run(&reg, &trap).unwrap_err();
        assert!(e.to_string().contains("unreachable"), "{e}");
        let lib = wat(r#"(module (func (export "f")))"#);
        let e = WasiConfig::new().run(&reg, &lib).unwrap_err();
        assert!(e.to_string().contains("not a WASI command"), "{e}");
        // Nothing stays registered.
        assert!(reg.names().is_empty(), "{:?}", reg.names());
    });
}

#[test]
fn several_wasi_contexts_live_in_one_registry() {
    each_mode(|mode, reg| {
        // The registry's own WASI, which ordinary loads import...
        let (shared, shared_out) = echo_config("shared\n");
        reg.define_host(MODULE_NAME, &shared.host_module()).unwrap();
        // ...and two modules with contexts of their own, under the same import name.
        let (a, a_out) = echo_config("first\n");
        let (b, b_out) = echo_config("second\n");
        let echo = wat(ECHO);
        reg.load_with("a", &echo, &[(MODULE_NAME, &a.host_module())])
            .unwrap();
        reg.load_with("b", &echo, &[(MODULE_NAME, &b.host_module())])
            .unwrap();
        reg.load("c", &echo).unwrap();
        for name in ["a", "b", "c"] {
            let e = reg.func(name, "_start").unwrap().call(&[]).unwrap_err();
            assert_eq!(e.trap().and_then(|t| t.exit_status()), Some(7), "{mode}");
        }
        assert_eq!(a_out.contents_string(), "first\n", "{mode}");
        assert_eq!(b_out.contents_string(), "second\n", "{mode}");
        assert_eq!(shared_out.contents_string(), "shared\n", "{mode}");
        // Own imports are nobody's dependency edge: only `c` depends on the shared one.
        assert_eq!(reg.dependents(MODULE_NAME), ["c"]);
        // A fresh update keeps the module's own context.
        reg.update_module("a", &echo, UpdatePolicy::Fresh).unwrap();
        let e = reg.func("a", "_start").unwrap().call(&[]).unwrap_err();
        assert_eq!(e.trap().and_then(|t| t.exit_status()), Some(7));
        // (Its stdin is used up: nothing more to echo.)
        assert_eq!(a_out.contents_string(), "first\n", "{mode}");
        assert_eq!(shared_out.contents_string(), "shared\n", "{mode}");
    });
}

#[test]
fn commands_run_on_many_threads_at_once_each_with_its_own_context() {
    each_mode(|mode, reg| {
        let echo = wat(ECHO);
        std::thread::scope(|s| {
            for i in 0..4 {
                let (reg, echo) = (&reg, &echo);
                s.spawn(move || {
                    let (config, out) = echo_config(&format!("thread {i}\n"));
                    assert_eq!(config.run(reg, echo).unwrap(), 7, "{mode}");
                    assert_eq!(out.contents_string(), format!("thread {i}\n"));
                });
            }
        });
    });
}

/// Opens files beneath fd 3 and reports WASI errnos.
const FILES: &str = r#"(module
    (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 100) "new.txt")
    (data (i32.const 120) "old.txt")
    (func $open_at (param $path i32) (param $oflags i32) (result i32)
        (call $open (i32.const 3) (i32.const 0) (local.get $path) (i32.const 7)
            (local.get $oflags) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 200)))
    ;; errno of creating new.txt
    (func (export "create") (result i32) (call $open_at (i32.const 100) (i32.const 1)))
    ;; errno of removing old.txt
    (func (export "unlink") (result i32)
        (call $unlink (i32.const 3) (i32.const 120) (i32.const 7)))
    ;; bytes read from old.txt, or 1000 + errno
    (func (export "read") (result i32) (local $e i32)
        (local.set $e (call $open_at (i32.const 120) (i32.const 0)))
        (if (local.get $e) (then (return (i32.add (i32.const 1000) (local.get $e)))))
        (i32.store (i32.const 0) (i32.const 300)) (i32.store (i32.const 4) (i32.const 64))
        (local.set $e (call $read (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 204)))
        (if (local.get $e) (then (return (i32.add (i32.const 1000) (local.get $e)))))
        (i32.load (i32.const 204)))
    ;; errno of writing to old.txt, opened as for writing
    (func (export "write") (result i32) (local $e i32)
        (local.set $e (call $open_at (i32.const 120) (i32.const 0)))
        (if (local.get $e) (then (return (i32.add (i32.const 1000) (local.get $e)))))
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))
        (call $write (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 204))))"#;

#[test]
fn a_read_only_preopen_can_be_read_and_not_changed() {
    const NOTCAPABLE: i32 = 76;
    const BADF: i32 = 8;
    each_mode(|mode, reg| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("old.txt"), "twelve bytes").unwrap();
        let read_only = WasiConfig::new()
            .preopen_dir_read_only(dir.path(), "/data")
            .unwrap()
            .host_module();
        let writable = WasiConfig::new()
            .preopen_dir(dir.path(), "/data")
            .unwrap()
            .host_module();
        let files = wat(FILES);
        reg.load_with("ro", &files, &[(MODULE_NAME, &read_only)])
            .unwrap();
        reg.load_with("rw", &files, &[(MODULE_NAME, &writable)])
            .unwrap();
        let call = |m: &str, f: &str| {
            let f = reg.func(m, f).unwrap().typed::<(), i32>().unwrap();
            f.call(()).unwrap()
        };
        assert_eq!(call("ro", "read"), 12, "{mode}");
        assert_eq!(call("ro", "create"), NOTCAPABLE, "{mode}");
        assert_eq!(call("ro", "unlink"), NOTCAPABLE, "{mode}");
        assert_eq!(call("ro", "write"), BADF, "{mode}");
        assert!(!dir.path().join("new.txt").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("old.txt")).unwrap(),
            "twelve bytes"
        );
        // The same program with a writable preopen changes the directory.
        assert_eq!(call("rw", "create"), 0, "{mode}");
        assert_eq!(call("rw", "write"), 0, "{mode}");
        assert!(dir.path().join("new.txt").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("old.txt")).unwrap(),
            "newlve bytes"
        );
    });
}

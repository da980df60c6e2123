//! AOT mode end to end: `.aot` files written by `Engine::precompile`, loaded from files
//! (mapped) and from bytes, linked by name with each other and with modules of every
//! mode, patched with new `.aot` files or wasm, and refused with a clear error when a
//! file is damaged or made for other settings.
#![allow(unsafe_code)]

mod common;
use common::{call_i32, calls_while_patching, module_a, module_b, wat};
use rwamr::{CompiledModule, Config, Engine, ErrorKind, Mode, Registry, UpdatePolicy, Val};
use std::path::{Path, PathBuf};

/// A scratch directory, removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("rwamr-aot-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn aot_engine(others: Mode) -> Option<Engine> {
    if !rwamr::built_modes().contains(&Mode::Aot) {
        println!("skipped: this build has no AOT mode (no compiler for this host)");
        return None;
    }
    Some(Engine::new(Config::default().mode(others)).unwrap())
}

/// Precompiles `wasm` into `dir/name.aot` and loads it from there.
fn from_file(engine: &Engine, dir: &Path, name: &str, wasm: &[u8]) -> CompiledModule {
    let path = dir.join(format!("{name}.aot"));
    std::fs::write(&path, engine.precompile(wasm).unwrap()).unwrap();
    // SAFETY: written just now by this engine.
    unsafe { rwamr::aot::load_file(engine, &path) }.unwrap()
}

/// Precompiles `wasm` and loads it from the bytes.
fn from_bytes(engine: &Engine, wasm: &[u8]) -> CompiledModule {
    let bytes = engine.precompile(wasm).unwrap();
    // SAFETY: made just now by this engine.
    unsafe { rwamr::aot::load_bytes(engine, &bytes) }.unwrap()
}

/// A loaded from an .aot file and patched with new .aot files (no compiler at patch
/// time), its importer B in every mode: importers, tables, `ref.func` and handles
/// taken before a patch all reach the new code; KeepState keeps memory and globals,
/// Fresh starts over; a module loaded later sees the latest version.
#[test]
fn patches_and_updates_given_as_aot_files_reach_every_caller() {
    let dir = TempDir::new("patch");
    for &others in rwamr::built_modes() {
        let Some(engine) = aot_engine(others) else {
            return;
        };
        let reg = Registry::new(&engine);
        let v: Vec<CompiledModule> = (0..6).map(|i| from_bytes(&engine, &module_a(i))).collect();
        reg.load_compiled("A", &from_file(&engine, &dir.0, "a1", &module_a(1)))
            .unwrap();
        reg.load_in_mode("B", module_b(), others).unwrap();
        reg.func("B", "store_ref").unwrap().call(&[]).unwrap();
        let handle = reg.func("A", "f").unwrap();
        let r = match reg.func("A", "ref").unwrap().call(&[]).unwrap().pop() {
            Some(Val::FuncRef(Some(f))) => f,
            other => panic!("{other:?}"),
        };
        reg.func("A", "bump").unwrap().call(&[Val::I32(7)]).unwrap();

        let report = reg.patch_function_compiled("A", "f", &v[2]).unwrap();
        assert_eq!(report.function, "f");
        for (m, f, want) in [
            ("A", "f", 201),
            ("B", "g", 1201),
            ("A", "via_table", 201),
            ("B", "call_ref", 201),
            ("A", "get", 14),
        ] {
            assert_eq!(call_i32(&reg, m, f), want, "{others}: {m}.{f}");
        }
        assert_eq!(handle.call(&[]).unwrap(), vec![Val::I32(201)], "{others}");
        assert_eq!(r.call(&[]).unwrap(), vec![Val::I32(201)], "{others}");

        let report = reg
            .update_module_compiled("A", &v[3], UpdatePolicy::KeepState)
            .unwrap();
        assert_eq!(report.swapped, vec!["f"], "{others}: only f's body changed");
        assert_eq!(call_i32(&reg, "B", "g"), 1301, "{others}");
        assert_eq!(call_i32(&reg, "A", "get"), 14, "{others}: state kept");
        // Back to the first version, from its file: compared with what runs now.
        let report = reg
            .update_module_compiled("A", &v[1], UpdatePolicy::KeepState)
            .unwrap();
        assert_eq!(report.swapped, vec!["f"], "{others}: rolled back");
        assert_eq!(call_i32(&reg, "B", "g"), 1101, "{others}");
        let report = reg.patch_function_compiled("A", "f", &v[3]).unwrap();
        assert!(report.changed, "{others}");
        assert_eq!(call_i32(&reg, "B", "g"), 1301, "{others}");

        reg.update_module_compiled("A", &v[4], UpdatePolicy::Fresh)
            .unwrap();
        assert_eq!(call_i32(&reg, "A", "get"), 0, "{others}: fresh state");
        assert_eq!(call_i32(&reg, "B", "g"), 1401, "{others}");
        reg.load_in_mode("C", module_b(), others).unwrap();
        assert_eq!(call_i32(&reg, "C", "g"), 1401, "{others}: a late importer");
        // The fresh version is patched with wasm, compiled at patch time.
        reg.patch_function("A", "f", module_a(5)).unwrap();
        assert_eq!(call_i32(&reg, "C", "g"), 1501, "{others}");
        assert_eq!(call_i32(&reg, "B", "g"), 1501, "{others}");
    }
}

/// Four threads call A.f (from an .aot file) and B.g while A.f is patched 10,000
/// times with two precompiled versions: every call returns one version's whole result.
#[test]
fn concurrent_calls_while_patching_with_aot_files() {
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let reg = Registry::new(&engine);
    let (v1, v2) = (
        from_bytes(&engine, &module_a(1)),
        from_bytes(&engine, &module_a(2)),
    );
    reg.load_compiled("A", &v1).unwrap();
    reg.load_compiled("B", &from_bytes(&engine, &module_b()))
        .unwrap();
    let calls = calls_while_patching(&reg, |n| {
        let v = if n % 2 == 0 { &v2 } else { &v1 };
        reg.patch_function_compiled("A", "f", v).unwrap();
    });
    assert!(calls > 0);
    assert_eq!(call_i32(&reg, "A", "f"), 101);
}

/// A precompiled replacement whose code was made for another layout, or for a module
/// not in Aot mode, is refused and changes nothing; wasm then does the job.
#[test]
fn precompiled_replacements_that_do_not_fit_are_refused() {
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let reg = Registry::new(&engine);
    reg.load_compiled("A", &from_bytes(&engine, &module_a(1)))
        .unwrap();
    // One more global: every later vmctx offset moves.
    let wider = wat(r#"(module
        (memory (export "mem") 1)
        (global $g (export "g") (mut i32) (i32.const 0))
        (global $h i32 (i32.const 0))
        (table (export "tab") 2 funcref)
        (elem (i32.const 0) $f)
        (func $f (export "f") (result i32) (i32.const 901)))"#);
    let e = reg
        .patch_function_compiled("A", "f", &from_bytes(&engine, &wider))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Incompatible);
    assert!(
        e.to_string().contains("give the new version as wasm"),
        "{e}"
    );
    assert_eq!(call_i32(&reg, "A", "f"), 101, "unchanged");
    reg.patch_function("A", "f", &wider).unwrap();
    assert_eq!(
        call_i32(&reg, "A", "f"),
        901,
        "wasm fits where the file did not"
    );

    // A module in another mode takes wasm, not another tier's code.
    reg.load_in_mode("I", module_a(1), Mode::Interp).unwrap();
    let e = reg
        .patch_function_compiled("I", "f", &from_bytes(&engine, &module_a(2)))
        .unwrap_err();
    assert!(e.to_string().contains("interp mode"), "{e}");
    assert_eq!(call_i32(&reg, "I", "f"), 101, "unchanged");
    let e = reg
        .update_module_compiled(
            "I",
            &from_bytes(&engine, &module_a(2)),
            UpdatePolicy::KeepState,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Incompatible, "{e}");
    assert_eq!(call_i32(&reg, "I", "f"), 101, "unchanged");

    // Code of another engine (whose settings it depends on) is not instantiated.
    let metered = Engine::new(Config::default().mode(Mode::Aot).consume_fuel(true)).unwrap();
    let foreign = from_bytes(&metered, &module_a(7));
    let e = reg.load_compiled("F", &foreign).unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    let e = reg
        .update_module_compiled("A", &foreign, UpdatePolicy::Fresh)
        .unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    let e = reg.patch_function_compiled("A", "f", &foreign).unwrap_err();
    assert!(e.to_string().contains("another engine"), "{e}");
    assert_eq!(call_i32(&reg, "A", "f"), 901, "unchanged");
}

/// Modules that import each other's functions, memory, global and table, each loaded
/// under a name from its own .aot file (what WAMR users ask for in its issue #1908).
#[test]
fn modules_each_from_its_own_aot_file_link_by_name() {
    let dir = TempDir::new("link");
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let lib = wat(r#"(module
        (memory (export "mem") 1)
        (global (export "base") (mut i32) (i32.const 5))
        (table (export "tab") 2 funcref)
        (elem (i32.const 0) $double)
        (func $double (export "double") (param i32) (result i32)
            (i32.mul (local.get 0) (i32.const 2))))"#);
    let app = wat(r#"(module
        (import "lib" "mem" (memory 1))
        (import "lib" "base" (global $base (mut i32)))
        (import "lib" "tab" (table 2 funcref))
        (import "lib" "double" (func $double (param i32) (result i32)))
        (type $t (func (param i32) (result i32)))
        (func (export "run") (param i32) (result i32)
            (i32.store (i32.const 16) (local.get 0))
            (global.set $base (i32.add (global.get $base) (i32.const 1)))
            (i32.add
                (call $double (i32.load (i32.const 16)))
                (i32.add (global.get $base)
                    (call_indirect (type $t) (i32.const 100) (i32.const 0))))))"#);
    let top = wat(r#"(module
        (import "app" "run" (func $run (param i32) (result i32)))
        (import "lib" "double" (func $double (param i32) (result i32)))
        (import "lib" "mem" (memory 1))
        (func (export "main") (result i32)
            (i32.add (call $run (i32.const 10)) (call $double (i32.load (i32.const 16))))))"#);
    let reg = Registry::new(&engine);
    for (name, wasm) in [("lib", &lib), ("app", &app), ("top", &top)] {
        let compiled = from_file(&engine, &dir.0, name, wasm);
        assert_eq!(compiled.mode, Mode::Aot);
        reg.load_compiled(name, &compiled).unwrap();
    }
    // run(10): 20 + (6 + 200) = 226; then double(10) = 20.
    assert_eq!(call_i32(&reg, "top", "main"), 246);
    assert_eq!(reg.global("lib", "base").unwrap().get(), Val::I32(6));
    assert_eq!(reg.dependents("lib"), vec!["app", "top"]);
    // lib patched from a new file: app and top follow.
    let lib2 = wat(r#"(module
        (memory (export "mem") 1)
        (global (export "base") (mut i32) (i32.const 5))
        (table (export "tab") 2 funcref)
        (elem (i32.const 0) $double)
        (func $double (export "double") (param i32) (result i32)
            (i32.mul (local.get 0) (i32.const 3))))"#);
    let lib2 = from_file(&engine, &dir.0, "lib2", &lib2);
    reg.update_module_compiled("lib", &lib2, UpdatePolicy::KeepState)
        .unwrap();
    // run(10): 30 + (7 + 300) = 337; then triple(10) = 30.
    assert_eq!(call_i32(&reg, "top", "main"), 367);
    assert!(reg.unload("lib").is_err(), "app and top import it");
    assert_eq!(
        reg.unload_cascade("lib").unwrap(),
        vec!["top", "app", "lib"]
    );
}

/// Damaged files, files for other settings and things that are not .aot files get a
/// clear error, and nothing from them runs.
#[test]
fn damaged_and_mismatched_files_are_refused_clearly() {
    let dir = TempDir::new("bad");
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let good = engine.precompile(module_a(1)).unwrap();
    let load = |bytes: &[u8]| {
        let path = dir.0.join("x.aot");
        std::fs::write(&path, bytes).unwrap();
        // SAFETY: the loader's checks are what is tested: nothing of these runs.
        let from_file = unsafe { rwamr::aot::load_file(&engine, &path) };
        // SAFETY: as above.
        let from_bytes = unsafe { rwamr::aot::load_bytes(&engine, bytes) };
        match (from_file, from_bytes) {
            (Err(a), Err(b)) => {
                assert_eq!(a.kind(), b.kind());
                b.to_string()
            }
            other => panic!("a bad file loaded: {:?}", other.0.is_ok()),
        }
    };
    let msg = load(&module_a(1));
    assert!(msg.contains("not an .aot file"), "{msg}");
    let msg = load(&good[..good.len() / 2]);
    assert!(
        msg.contains("truncated") || msg.contains("checksum"),
        "{msg}"
    );
    let msg = load(&good[..20]);
    assert!(msg.contains("truncated"), "{msg}");
    for at in [40, good.len() / 3, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 1;
        let msg = load(&bad);
        assert!(msg.contains("checksum"), "byte {at}: {msg}");
    }
    let mut version = good.clone();
    version[16] = 99;
    let msg = load(&version);
    assert!(msg.contains("format version is 99"), "{msg}");
    // The reserved header word must be 0.
    let mut reserved = good.clone();
    reserved[21] = 1;
    let msg = load(&reserved);
    assert!(msg.contains("reserved header word"), "{msg}");

    // Engines whose settings the code does not fit.
    let fuel = Engine::new(Config::default().mode(Mode::Aot).consume_fuel(true)).unwrap();
    // SAFETY: refused before anything runs.
    let e = unsafe { rwamr::aot::load_bytes(&fuel, &good) }.unwrap_err();
    assert!(e.to_string().contains("fuel metering off"), "{e}");
    let bounded = Engine::new(
        Config::default()
            .mode(Mode::Aot)
            .memory_reservation(1 << 20),
    )
    .unwrap();
    // SAFETY: refused before anything runs.
    let e = unsafe { rwamr::aot::load_bytes(&bounded, &good) }.unwrap_err();
    assert!(e.to_string().contains("memory bounds"), "{e}");
    let interp_only = Engine::new(Config::default().mode(Mode::Interp).mixed_modes(false)).unwrap();
    // SAFETY: refused before anything runs.
    let e = unsafe { rwamr::aot::load_bytes(&interp_only, &good) }.unwrap_err();
    assert!(e.to_string().contains("runs no native code"), "{e}");
    // Precompiled bytes are not wasm: the safe loaders say where they go.
    let reg = Registry::new(&engine);
    let e = reg.load("A", &good).unwrap_err();
    assert!(e.to_string().contains("rwamr::aot::load_file"), "{e}");
    assert!(reg.find("A").is_none());
}

/// A file compiled for a baseline x86-64 CPU runs here; the code of a loaded file is
/// mapped from it, not copied.
#[test]
fn files_for_a_lower_cpu_load_and_code_is_mapped_from_the_file() {
    let dir = TempDir::new("cpu");
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let cpu = if cfg!(target_arch = "x86_64") {
        "x86-64"
    } else {
        "native"
    };
    let baseline = Engine::new(Config::default().mode(Mode::Aot).target_cpu(cpu)).unwrap();
    let path = dir.0.join("base.aot");
    std::fs::write(&path, baseline.precompile(module_a(1)).unwrap()).unwrap();
    // SAFETY: written just now by an engine with the same settings.
    let compiled = unsafe { rwamr::aot::load_file(&engine, &path) }.unwrap();
    let reg = Registry::new(&engine);
    reg.load_compiled("A", &compiled).unwrap();
    assert_eq!(call_i32(&reg, "A", "f"), 101);
    if cfg!(target_os = "linux") {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let shown = path.display().to_string();
        assert!(
            maps.lines().any(|l| l.ends_with(&shown)
                && l.split_whitespace()
                    .nth(1)
                    .is_some_and(|p| p.starts_with("r-x"))),
            "no executable mapping of {shown}:\n{maps}"
        );
    }
    let e = Engine::new(Config::default().mode(Mode::Aot).target_cpu("no-such-cpu")).unwrap_err();
    assert!(e.to_string().contains("no-such-cpu"), "{e}");
}

/// A module with enough active data gets memory 0's image in its file, mapped
/// copy-on-write into each instance's memory: the contents are what copying the
/// segments gives (in order, overlaps included), each instance's writes stay its own
/// and never reach the file, growth adds zero pages, and a pooled memory (which cannot
/// take a mapping) gets the same contents by copying.
#[test]
fn memory_images_are_mapped_copy_on_write() {
    let dir = TempDir::new("image");
    let Some(engine) = aot_engine(Mode::Aot) else {
        return;
    };
    let big: String = (0..70_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let wasm = wat(&format!(
        r#"(module
            (memory (export "mem") 3)
            (data (i32.const 65636) "{big}")
            (data (i32.const 65640) "OVER")
            (data "passive")
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
            (func (export "grow") (result i32) (memory.grow (i32.const 1)))
            (func (export "init") (memory.init 2 (i32.const 0) (i32.const 0) (i32.const 7))))"#
    ));
    let path = dir.0.join("image.aot");
    let file_bytes = engine.precompile(&wasm).unwrap();
    std::fs::write(&path, &file_bytes).unwrap();
    // SAFETY: written just now by this engine.
    let compiled = unsafe { rwamr::aot::load_file(&engine, &path) }.unwrap();
    let reg = Registry::new(&engine);
    reg.load_compiled("a", &compiled).unwrap();
    reg.load_compiled("b", &compiled).unwrap();
    reg.load_in_mode("reference", &wasm, Mode::Interp).unwrap();
    if cfg!(target_os = "linux") {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let shown = path.display().to_string();
        assert!(
            maps.lines()
                .any(|l| l.ends_with(&shown) && l.split_whitespace().nth(1) == Some("rw-p")),
            "no copy-on-write mapping of {shown}:\n{maps}"
        );
    }
    let read = |reg: &Registry, m: &str, at: u64, len: usize| {
        let mut buf = vec![0u8; len];
        reg.memory(m, "mem").unwrap().read(at, &mut buf).unwrap();
        buf
    };
    let contents = |m: &str| read(&reg, m, 0, 3 * 65536);
    let reference = contents("reference");
    assert_eq!(
        contents("a"),
        reference,
        "the image is the segments, in order"
    );
    assert_eq!(&reference[65640..65644], b"OVER");
    let (store, load) = (
        reg.func("a", "store").unwrap(),
        reg.func("b", "load").unwrap(),
    );
    store
        .call(&[Val::I32(65636), Val::I32(b'Z' as i32)])
        .unwrap();
    assert_eq!(
        load.call(&[Val::I32(65636)]).unwrap(),
        vec![Val::I32(b'a' as i32)]
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        file_bytes,
        "the file is untouched"
    );
    assert_eq!(
        reg.func("a", "grow").unwrap().call(&[]).unwrap(),
        vec![Val::I32(3)]
    );
    assert!(read(&reg, "a", 3 * 65536, 65536).iter().all(|b| *b == 0));
    reg.func("b", "init").unwrap().call(&[]).unwrap();
    assert_eq!(&contents("b")[..7], b"passive");

    let pooled = Engine::new(Config::default().mode(Mode::Aot).memory_pooling(true)).unwrap();
    let path2 = dir.0.join("pooled.aot");
    std::fs::write(&path2, pooled.precompile(&wasm).unwrap()).unwrap();
    // SAFETY: written just now by this engine.
    let compiled = unsafe { rwamr::aot::load_file(&pooled, &path2) }.unwrap();
    let reg2 = Registry::new(&pooled);
    reg2.load_compiled("p", &compiled).unwrap();
    assert_eq!(read(&reg2, "p", 0, 3 * 65536), reference);
}

//! The trap handler only turns faults of compiled wasm code into traps. A fault
//! anywhere else — in a host function called from wasm, or outside any wasm call —
//! still kills the process as it would without rwamr. Each case runs in a child
//! process (this test binary, re-run with an environment variable).

use rwamr_core::{
    CompiledModule, Engine, FuncType, HostModule, Instance, Limits, Mode, ResolvedImport, Trap,
    TrapCode, Val,
};
use rwamr_jit::{JitCompiler, StubLibrary, Tier};
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::sync::Arc;

const CHILD: &str = "RWAMR_FAULT_CHILD";

fn engine() -> Engine {
    Engine::new(
        Mode::Optimized,
        Limits::default(),
        vec![(
            Mode::Optimized,
            Box::new(JitCompiler::new(Tier::Optimized)) as _,
        )],
        Some(Arc::new(StubLibrary::new())),
    )
    .expect("engine")
}

/// Reads a byte of an inaccessible page: a real SIGSEGV at a pc outside wasm code.
fn fault() -> u8 {
    use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
    // SAFETY: a fresh private mapping with no access rights.
    let page = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            4096,
            ProtFlags::empty(),
            MapFlags::PRIVATE,
        )
    }
    .expect("mmap");
    // SAFETY: deliberately faults: the page is mapped PROT_NONE. The test checks that
    // the process dies of it.
    unsafe { std::ptr::read_volatile(page.cast::<u8>()) }
}

/// An instance whose `go` calls host function `env.f`, which runs `body`.
fn module_calling_host(engine: &Engine, body: fn()) -> Arc<Instance> {
    let host = HostModule::new().func("f", FuncType::new([], []), move |_, _, _| {
        body();
        Ok(())
    });
    let env = Instance::new_host(engine, "env", &host).expect("host");
    let wasm = wat::parse_str(
        r#"(module (import "env" "f" (func $f)) (func (export "go") call $f)
                   (func (export "oob") (result i32) (i32.load (i32.const -4)))
                   (memory 1))"#,
    )
    .unwrap();
    let compiled = CompiledModule::new(engine, &wasm).expect("compiles");
    let item = env.export("f").expect("host export");
    let imports = vec![ResolvedImport { item, owner: env }];
    Instance::instantiate(engine, "m", &compiled, imports).expect("instantiates")
}

fn run_child(case: &str) -> std::process::ExitStatus {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, case)
        .output()
        .expect("child runs")
        .status
}

/// The child side: does what `RWAMR_FAULT_CHILD` says; the parent checks how it ended.
#[test]
fn child() {
    let Ok(case) = std::env::var(CHILD) else {
        return; // run by the parent test only
    };
    let engine = engine();
    let inst = module_calling_host(&engine, || {
        fault();
    });
    // A wasm fault is a trap, and installs the handler.
    let e = inst.get_func("oob").unwrap().call(&[]).unwrap_err();
    assert_eq!(e.trap().map(Trap::code), Some(TrapCode::MemoryOutOfBounds));
    match case.as_str() {
        "host" => {
            let _ = inst.get_func("go").unwrap().call(&[]);
        }
        "outside" => {
            fault();
        }
        _ => {}
    }
    // Reaching here means the fault was swallowed.
    std::process::exit(0);
}

#[test]
fn faults_outside_wasm_code_still_crash() {
    for case in ["host", "outside"] {
        let status = run_child(case);
        assert_eq!(
            status.signal(),
            Some(libc::SIGSEGV),
            "{case}: the child should die of SIGSEGV, it ended with {status:?}"
        );
    }
    // The control: without a fault the child exits normally.
    assert!(run_child("none").success());
}

#[test]
fn wasm_traps_do_not_disturb_other_threads() {
    let engine = engine();
    let inst = module_calling_host(&engine, || {});
    let wasm = wat::parse_str(
        r#"(module (func (export "sum") (param i32) (result i32) (local i32)
             (loop (local.set 1 (i32.add (local.get 1) (local.get 0)))
                   (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
             (local.get 1)))"#,
    )
    .unwrap();
    let compiled = CompiledModule::new(&engine, &wasm).unwrap();
    let sum_inst = Instance::instantiate(&engine, "s", &compiled, vec![]).unwrap();
    std::thread::scope(|s| {
        let oob = inst.get_func("oob").unwrap();
        s.spawn(move || {
            for _ in 0..5_000 {
                let e = oob.call(&[]).unwrap_err();
                assert_eq!(e.trap().map(Trap::code), Some(TrapCode::MemoryOutOfBounds));
            }
        });
        let sum = sum_inst.get_func("sum").unwrap();
        s.spawn(move || {
            for _ in 0..5_000 {
                assert_eq!(
                    sum.call(&[Val::I32(1000)]).unwrap(),
                    vec![Val::I32(500_500)]
                );
            }
        });
    });
}

//! Modules built to make the host pay: each case runs in every mode and must cost the
//! host no more than what it uses, or be refused with a clear error.

mod common;
use common::{each_mode, wat};
use rwamr::Val;

/// Resident memory of this process, in bytes (Linux), for "costs nothing" checks.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// 100 tables of nearly 10 million null funcrefs (8 GB if they were written out) cost the host
/// next to nothing until their elements are written; growing one works the same way.
#[test]
fn large_tables_cost_nothing_until_used() {
    let tables = "(table 9999990 funcref)".repeat(100);
    let module = wat(&format!(
        r#"(module {tables}
             (func (export "size") (result i32) (table.size 99))
             (func (export "set_last") (result i32)
               (table.set 42 (i32.const 9999989) (ref.func 0))
               (table.grow 7 (ref.null func) (i32.const 10))))"#
    ));
    each_mode(|mode, reg| {
        let before = resident_bytes();
        reg.load("m", &module).unwrap();
        let call = |f: &str| reg.func("m", f).unwrap().call(&[]).unwrap();
        assert_eq!(call("size"), vec![Val::I32(9_999_990)], "{mode}");
        assert_eq!(call("set_last"), vec![Val::I32(9_999_990)], "{mode}");
        if let (Some(b), Some(a)) = (before, resident_bytes()) {
            // Other tests share the process: allow them 1 GB.
            let grew = a.saturating_sub(b);
            assert!(
                grew < 1 << 30,
                "{mode}: resident memory grew by {grew} bytes"
            );
        } else {
            eprintln!("resident memory not measured here (no /proc/self/status)");
        }
        reg.unload("m").unwrap();
    });
}

/// Functions far beyond 65,535 frame cells (70,000 distinct constants; an operand stack
/// 70,000 deep) run in every mode with the same result: no mode has a size limit of its
/// own below the validator's. Their frames need more than the default stack budget.
#[test]
fn functions_with_huge_frames_run_in_every_mode() {
    const N: u32 = 70_000;
    let want = (1..=N).fold(0u32, |s, k| s.wrapping_add(k)) as i32;
    let mut many_constants =
        String::from("(func (export \"many_constants\") (result i32) i32.const 0\n");
    let mut deep_stack = String::from("(func (export \"deep_stack\") (result i32)\n");
    for k in 1..=N {
        many_constants += &format!("i32.const {k} i32.add\n");
        deep_stack += &format!("i32.const {k}\n");
    }
    for _ in 1..N {
        deep_stack += "i32.add\n";
    }
    let module = wat(&format!("(module {many_constants}) {deep_stack}))"));
    for &mode in rwamr::built_modes() {
        let config = rwamr::Config::default().mode(mode).max_wasm_stack(16 << 20);
        let reg = rwamr::Registry::new(&rwamr::Engine::new(config).unwrap());
        reg.load("m", &module).unwrap();
        for f in ["many_constants", "deep_stack"] {
            let r = reg.func("m", f).unwrap().call(&[]).unwrap();
            assert_eq!(r, vec![Val::I32(want)], "{mode} {f}");
        }
    }
}

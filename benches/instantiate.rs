//! Instantiation cost per mode and memory setting (not a test):
//! `cargo bench --bench instantiate [-- N [OUT.wasm]]`.
//!
//! A small module with a one-page memory, a mutable global, a data segment and a few
//! functions, compiled once and instantiated N times (default 20,000), each instance
//! dropped before the next, as a per-request server does. Prints microseconds per
//! instance. With OUT.wasm it also writes the module, for wasmtime's figures on the same
//! bytes: `peer-run --engine wasmtime --instances N OUT.wasm` (and `--instances-pooling`);
//! `benches/instantiate.sh` runs both.

use rwamr::{Config, Engine, Registry};
use std::time::Instant;

pub const MODULE: &str = r#"(module
    (memory (export "memory") 1 1)
    (global $count (mut i32) (i32.const 0))
    (data (i32.const 16) "hello, instance")
    (func $bump (result i32)
        (global.set $count (i32.add (global.get $count) (i32.const 1)))
        (global.get $count))
    (func (export "run") (result i32)
        (i32.add (call $bump) (i32.load8_u (i32.const 16))))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))"#;

/// A memory setting applied to a mode's config.
type Setting = fn(Config) -> Config;

fn per_instance(config: Config, n: u32, bytes: &[u8]) -> f64 {
    let engine = Engine::new(config).unwrap();
    let reg = Registry::new(&engine);
    let compiled = reg.compile(bytes).unwrap();
    drop(reg.instantiate_compiled(&compiled).unwrap());
    let t = Instant::now();
    for _ in 0..n {
        drop(reg.instantiate_compiled(&compiled).unwrap());
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let n: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let bytes = wat::parse_str(MODULE).unwrap();
    if let Some(out) = args.next() {
        std::fs::write(&out, &bytes).unwrap();
    }
    let settings: [(&str, Setting); 3] = [
        ("default", |c| c),
        ("small", |c| {
            c.memory_reservation(1 << 20).memory_guard_size(0)
        }),
        ("pooled", |c| {
            c.memory_reservation(1 << 20)
                .memory_guard_size(0)
                .memory_pooling(true)
        }),
    ];
    println!("| mode | memory setting | us per instance |");
    println!("|---|---|---|");
    // RWAMR_BENCH_SETTING=pooled (or MODE=interp) narrows the run, for profiling.
    let only = |var: &str, name: &str| std::env::var(var).map_or(true, |v| v == name);
    for &mode in rwamr::built_modes() {
        if !only("RWAMR_BENCH_MODE", mode.name()) {
            continue;
        }
        for (name, setting) in settings {
            if !only("RWAMR_BENCH_SETTING", name) {
                continue;
            }
            let us = per_instance(setting(Config::default().mode(mode)), n, &bytes);
            println!("| {mode} | {name} | {us:.2} |");
        }
    }
}

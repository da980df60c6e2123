//! Call cost per mode (not a test): `cargo bench --bench call`.
//!
//! `Func::call` and `TypedFunc::call` of a function that returns a constant (a module
//! without state, which any number of threads may run at once) and of one that bumps a
//! counter in linear memory and a mutable global (a module with state, which one thread
//! at a time enters); and a wasm -> wasm call through a slot (`call` of a function
//! returning its argument plus one, in a loop). Medians of batches, in ns per call.

use rwamr::{Config, Engine, Registry};
use std::hint::black_box;
use std::time::Instant;

const STATELESS: &str = r#"(module (func (export "f") (result i32) i32.const 1))"#;
const STATEFUL: &str = r#"(module
    (memory 1) (global $g (mut i32) (i32.const 0))
    (func (export "f") (result i32)
        (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (global.get $g)))"#;

/// `run(n)` calls `$f` `n` times from wasm.
const WASM_CALLS: &str = r#"(module
    (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
    (func (export "run") (param $n i32) (result i32) (local $acc i32)
        (loop $l
            (local.set $acc (call $f (local.get $acc)))
            (br_if $l (i32.lt_u (local.get $acc) (local.get $n))))
        (local.get $acc)))"#;

fn per_call(f: impl FnMut()) -> f64 {
    median_ns(200, 1000, f)
}

/// Median ns per run of `f`, over `batches` batches of `batch` runs.
fn median_ns(batches: usize, batch: usize, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::new();
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    samples[samples.len() / 2]
}

fn main() {
    println!("| mode | module | Func::call ns | TypedFunc::call ns | wasm -> wasm call ns |");
    println!("|---|---|---|---|---|");
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(Config::default().mode(mode)).unwrap();
        let reg = Registry::new(&engine);
        for (name, wat) in [("stateless", STATELESS), ("stateful", STATEFUL)] {
            reg.load(name, wat::parse_str(wat).unwrap()).unwrap();
            let f = reg.func(name, "f").unwrap();
            let typed = f.typed::<(), i32>().unwrap();
            let dynamic = per_call(|| {
                black_box(f.call(&[]).unwrap());
            });
            let typed = per_call(|| {
                black_box(typed.call(()).unwrap());
            });
            println!("| {mode} | {name} | {dynamic:.1} | {typed:.1} | |");
        }
        reg.load("calls", wat::parse_str(WASM_CALLS).unwrap())
            .unwrap();
        let run = reg
            .func("calls", "run")
            .unwrap()
            .typed::<i32, i32>()
            .unwrap();
        const N: i32 = 1_000_000;
        let inner = median_ns(30, 1, || {
            black_box(run.call(black_box(N)).unwrap());
        }) / f64::from(N);
        println!("| {mode} | calls | | | {inner:.2} |");
    }
}

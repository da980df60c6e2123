//! Registry and patching micro-benchmarks (not tests): `cargo bench --bench registry`.
//!
//! - lookup of a module (`find`) and of an export (`func`) among 100,000 loaded modules,
//!   against the same lookups among 10 (the ratio should be about 1: hash lookups);
//! - one `patch_function` slot swap, excluding compilation (`PatchReport::swap`);
//! - one host -> wasm call through a slot of a function that returns a constant.
//!
//! Medians of batches; set RWAMR_BENCH_MODULES to change the large count.

use rwamr::{Config, Engine, Mode, Registry, Val};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn module(v: i32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (func (export "f") (result i32) i32.const {v}) (func (export "g")))"#
    ))
    .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median nanoseconds per call of `f`, over batches of `batch` calls.
fn per_call(batches: usize, batch: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples = Vec::with_capacity(batches);
    let mut i = 0usize;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..batch {
            f(i);
            i = i.wrapping_add(7919);
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    median(samples)
}

fn loaded(n: usize) -> (Registry, Vec<String>, Duration) {
    let engine = Engine::new(Config::default().mode(Mode::Interp)).unwrap();
    let reg = Registry::new(&engine);
    let bytes = module(1);
    let names: Vec<String> = (0..n).map(|i| format!("module-{i}")).collect();
    let t = Instant::now();
    for name in &names {
        reg.load(name, &bytes).unwrap();
    }
    (reg, names, t.elapsed())
}

/// Median ns of `find` and `func` for names drawn from `queried` (a count of the first
/// loaded names; all of them for the "any module" case).
fn lookups(reg: &Registry, names: &[String], queried: usize) -> (f64, f64) {
    let names = &names[..queried];
    let find = per_call(200, 1000, |i| {
        black_box(reg.find(&names[i % names.len()]));
    });
    let func = per_call(200, 1000, |i| {
        black_box(reg.func(&names[i % names.len()], "f").unwrap());
    });
    (find, func)
}

fn main() {
    let large: usize = std::env::var("RWAMR_BENCH_MODULES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let (small_reg, small_names, _) = loaded(10);
    let (find10, func10) = lookups(&small_reg, &small_names, 10);
    let (reg, names, load_n) = loaded(large);
    // The same 10 names among `large` modules: the cost of the lookup structure itself.
    let (find_same, func_same) = lookups(&reg, &names, 10);
    // Any of the `large` names: adds the cache misses of touching cold modules.
    let (find_any, func_any) = lookups(&reg, &names, large);
    println!("| measure (median ns) | 10 loaded | {large} loaded, same 10 queried | ratio | {large} loaded, any queried | ratio |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| find(module) | {find10:.1} | {find_same:.1} | {:.2} | {find_any:.1} | {:.2} |",
        find_same / find10,
        find_any / find10
    );
    println!(
        "| func(module, export) | {func10:.1} | {func_same:.1} | {:.2} | {func_any:.1} | {:.2} |",
        func_same / func10,
        func_any / func10
    );
    println!(
        "(loading {large} modules took {:.2} s, {:.1} us each)",
        load_n.as_secs_f64(),
        load_n.as_secs_f64() * 1e6 / large as f64
    );

    drop(reg);
    let (reg, _, _) = loaded(1);
    let (v1, v2) = (module(1), module(2));
    let mut swaps = Vec::new();
    let mut prepares = Vec::new();
    for i in 0..2000 {
        let r = reg
            .patch_function("module-0", "f", if i % 2 == 0 { &v2 } else { &v1 })
            .unwrap();
        swaps.push(r.swap.as_nanos() as f64);
        prepares.push(r.prepare.as_nanos() as f64);
    }
    println!(
        "patch_function: slot swap median {:.0} ns; decode+check+compile median {:.1} us",
        median(swaps),
        median(prepares) / 1000.0
    );

    let f = reg.func("module-0", "f").unwrap();
    let call = per_call(200, 1000, |_| {
        black_box(f.call(&[]).unwrap());
    });
    let typed = f.typed::<(), i32>().unwrap();
    let typed_call = per_call(200, 1000, |_| {
        black_box(typed.call(()).unwrap());
    });
    assert_eq!(f.call(&[]).unwrap(), vec![Val::I32(1)]);
    println!(
        "host -> wasm call through a slot: Func::call median {call:.0} ns, TypedFunc::call {typed_call:.0} ns"
    );
}

//! Resource limits and the limiter callback, in every mode: exceeding a limit is a clear
//! instantiation error or a failed grow (-1), and a refused instantiation leaves nothing
//! counted.

mod common;
use common::wat;
use rwamr::{Config, Engine, Mode, Registry, ResourceLimiter, ResourceLimits, Val};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const PAGE: usize = 65536;

fn each_mode(config: impl Fn(Config) -> Config, mut f: impl FnMut(Mode, Registry)) {
    for &mode in rwamr::built_modes() {
        let engine = Engine::new(config(Config::default().mode(mode))).expect("engine");
        f(mode, Registry::new(&engine));
    }
}

fn limits(l: ResourceLimits) -> impl Fn(Config) -> Config {
    move |c| c.resource_limits(l.clone())
}

/// What `module`'s export `f` (a `memory.grow` or `table.grow` by `n`) returns.
fn grow(reg: &Registry, module: &str, f: &str, n: i32) -> i32 {
    let r = reg.func(module, f).unwrap().call(&[Val::I32(n)]).unwrap();
    r[0].i32().expect("an i32 result")
}

const GROWER: &str = r#"(module
    (memory 1)
    (table 1 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "grow_table") (param i32) (result i32)
      (table.grow (ref.null func) (local.get 0))))"#;

#[test]
fn a_memory_over_its_limit_is_refused_and_cannot_grow_past_it() {
    each_mode(
        limits(ResourceLimits {
            memory_bytes: Some(3 * PAGE),
            ..Default::default()
        }),
        |mode, reg| {
            let e = reg.load("big", wat("(module (memory 4))")).unwrap_err();
            assert!(e.to_string().contains("over the limit"), "{mode}: {e}");
            assert!(reg.func("big", "x").is_err(), "{mode}: nothing was loaded");
            reg.load("m", wat(GROWER)).unwrap();
            assert_eq!(grow(&reg, "m", "grow", 2), 1, "{mode}");
            assert_eq!(grow(&reg, "m", "grow", 1), -1, "{mode}");
            assert_eq!(grow(&reg, "m", "grow", 0), 3, "{mode}");
        },
    );
}

#[test]
fn the_engines_memories_share_a_total() {
    let three = wat("(module (memory 3))");
    each_mode(
        limits(ResourceLimits {
            total_memory_bytes: Some(5 * PAGE),
            ..Default::default()
        }),
        |mode, reg| {
            reg.load("a", &three).unwrap();
            let e = reg.load("b", &three).unwrap_err();
            assert!(e.to_string().contains("over its limit"), "{mode}: {e}");
            reg.load("m", wat(GROWER)).unwrap();
            // 3 + 1 pages held: one more fits, two do not.
            assert_eq!(grow(&reg, "m", "grow", 2), -1, "{mode}");
            assert_eq!(grow(&reg, "m", "grow", 1), 1, "{mode}");
            // Unloading gives the bytes back.
            reg.unload("a").unwrap();
            reg.load("b", &three).unwrap();
        },
    );
}

#[test]
fn tables_and_instances_have_limits() {
    each_mode(
        limits(ResourceLimits {
            table_elements: Some(5),
            instances: Some(2),
            tables_per_module: Some(1),
            memories_per_module: Some(0),
            ..Default::default()
        }),
        |mode, reg| {
            let e = reg
                .load("t", wat("(module (table 6 funcref))"))
                .unwrap_err();
            assert!(e.to_string().contains("elements per table"), "{mode}: {e}");
            let e = reg
                .load("t", wat("(module (table 1 funcref) (table 1 funcref))"))
                .unwrap_err();
            assert!(e.to_string().contains("2 tables"), "{mode}: {e}");
            let e = reg.load("t", wat("(module (memory 0))")).unwrap_err();
            assert!(e.to_string().contains("1 memories"), "{mode}: {e}");

            let tables = wat(r#"(module (table 1 funcref)
                     (func (export "grow_table") (param i32) (result i32)
                       (table.grow (ref.null func) (local.get 0))))"#);
            reg.load("a", &tables).unwrap();
            assert_eq!(grow(&reg, "a", "grow_table", 5), -1, "{mode}");
            assert_eq!(grow(&reg, "a", "grow_table", 4), 1, "{mode}");
            reg.load("b", wat("(module)")).unwrap();
            let e = reg.load("c", wat("(module)")).unwrap_err();
            assert!(e.to_string().contains("instances"), "{mode}: {e}");
            reg.unload("b").unwrap();
            reg.load("c", wat("(module)")).unwrap();
        },
    );
}

/// Refuses memories above `pages` pages and counts what it is asked.
struct AtMost {
    pages: usize,
    asked: Arc<AtomicUsize>,
}

impl ResourceLimiter for AtMost {
    fn memory_growing(&self, _current: usize, desired: usize, _max: Option<usize>) -> bool {
        self.asked.fetch_add(1, Ordering::Relaxed);
        desired <= self.pages * PAGE
    }
    fn table_growing(&self, _current: u32, desired: u32, _max: Option<u32>) -> bool {
        self.asked.fetch_add(1, Ordering::Relaxed);
        desired <= 3
    }
}

#[test]
fn the_limiter_decides_each_request() {
    for &mode in rwamr::built_modes() {
        let asked = Arc::new(AtomicUsize::new(0));
        let limiter = AtMost {
            pages: 2,
            asked: asked.clone(),
        };
        let config = Config::default().mode(mode).resource_limiter(limiter);
        let reg = Registry::new(&Engine::new(config).unwrap());
        reg.load("m", wat(GROWER)).unwrap();
        assert_eq!(
            asked.load(Ordering::Relaxed),
            2,
            "{mode}: a memory and a table"
        );
        assert_eq!(grow(&reg, "m", "grow", 2), -1, "{mode}");
        assert_eq!(grow(&reg, "m", "grow", 1), 1, "{mode}");
        assert_eq!(grow(&reg, "m", "grow_table", 3), -1, "{mode}");
        assert_eq!(grow(&reg, "m", "grow_table", 2), 1, "{mode}");
        assert_eq!(asked.load(Ordering::Relaxed), 6, "{mode}");
        let e = reg.load("big", wat("(module (memory 3))")).unwrap_err();
        assert!(e.to_string().contains("limiter refused"), "{mode}: {e}");
    }
}

/// By default a module defines at most 1,000 tables (wasmparser admits 100,000: a small
/// file could make the host allocate gigabytes), and `ResourceLimits::unlimited` lifts it.
#[test]
fn tables_per_module_have_a_default_limit() {
    let tables = |n: usize| {
        let mut text = String::from("(module");
        for _ in 0..n {
            text += " (table 10 funcref)";
        }
        wat(&(text + ")"))
    };
    let (most, over) = (tables(1000), tables(1001));
    each_mode(
        |c| c,
        |mode, reg| {
            reg.load("most", &most).unwrap();
            let e = reg.load("over", &over).unwrap_err();
            assert!(
                e.to_string()
                    .contains("1001 tables, over the limit of 1000"),
                "{mode}: {e}"
            );
        },
    );
    each_mode(limits(ResourceLimits::unlimited()), |mode, reg| {
        reg.load("over", &over)
            .unwrap_or_else(|e| panic!("{mode}: {e}"));
    });
}

/// The instances of a program's threads count against the engine's limits like any
/// other: a thread's instance past `instances` is refused (wasi-threads' spawn then
/// returns EAGAIN to the guest), and an ended thread's instance frees its place.
#[test]
fn thread_instances_count_against_the_limits() {
    let m = wat(r#"(module (table 4 funcref) (func (export "f")))"#);
    each_mode(
        limits(ResourceLimits {
            instances: Some(2),
            ..Default::default()
        }),
        |mode, reg| {
            let main = reg.load("m", &m).unwrap();
            let first = main.instantiate_thread().unwrap();
            let e = main.instantiate_thread().unwrap_err();
            assert!(e.to_string().contains("instances"), "{mode}: {e}");
            drop(first);
            main.instantiate_thread()
                .unwrap_or_else(|e| panic!("{mode}: a place was freed: {e}"));
        },
    );
}

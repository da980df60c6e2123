//! A module update is one step: once any call runs a function of the new version, every
//! call that starts later runs new functions only (a call already running may reach the
//! new version at its next call). Host threads call `ab` (a calls b) and `dc` (d calls
//! c) while the host updates the module through hundreds of versions, each function of
//! version k returning k; no call may show a caller newer than its callee, nor any
//! function older than a version some earlier call already showed.

mod common;
use common::{each_mode, wat};
use rwamr::{Func, Registry, UpdatePolicy, Val};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// Version `k`: `ab` returns `(a's version << 32) | b's`, `dc` likewise with `c`.
fn version(k: u32) -> Vec<u8> {
    wat(&format!(
        r#"(module
            (func $b (export "b") (result i32) (i32.const {k}))
            (func $c (export "c") (result i32) (i32.const {k}))
            (func (export "ab") (result i64)
                (i64.or (i64.shl (i64.const {k}) (i64.const 32)) (i64.extend_i32_u (call $b))))
            (func (export "dc") (result i64)
                (i64.or (i64.shl (i64.const {k}) (i64.const 32)) (i64.extend_i32_u (call $c)))))"#
    ))
}

/// How many versions a run goes through (set RWAMR_UPDATE_VERSIONS for longer runs).
fn versions() -> u32 {
    common::cases("RWAMR_UPDATE_VERSIONS", 400)
}

/// What the callers saw.
#[derive(Default)]
struct Seen {
    calls: AtomicU64,
    /// Calls whose caller was newer than its callee, or older than a version an earlier
    /// call had shown.
    torn: AtomicU64,
    /// The newest version any call has shown.
    newest: AtomicU32,
    first_torn: std::sync::Mutex<Option<String>>,
}

impl Seen {
    /// Calls `f` until `done`, checking every result.
    fn call_until(&self, f: &Func, done: &AtomicBool) {
        while !done.load(Ordering::Acquire) {
            let floor = self.newest.load(Ordering::SeqCst);
            let r = match f.call(&[]).unwrap().as_slice() {
                [Val::I64(r)] => *r as u64,
                other => panic!("{other:?}"),
            };
            let (caller, callee) = ((r >> 32) as u32, r as u32);
            if callee < caller || caller < floor {
                self.torn.fetch_add(1, Ordering::Relaxed);
                self.first_torn.lock().unwrap().get_or_insert_with(|| {
                    format!(
                        "a call that began once version {floor} was seen ran a caller of \
                         version {caller} and a callee of version {callee}"
                    )
                });
            }
            self.newest.fetch_max(callee.max(caller), Ordering::SeqCst);
            self.calls.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn check(&self, what: &str) {
        let (calls, torn) = (
            self.calls.load(Ordering::Relaxed),
            self.torn.load(Ordering::Relaxed),
        );
        assert!(calls > 0, "{what}: no calls made");
        assert_eq!(
            torn,
            0,
            "{what}: {torn} of {calls} calls saw half an update; the first: {}",
            self.first_torn.lock().unwrap().clone().unwrap_or_default()
        );
    }
}

/// Two host threads call `ab` and `dc` (handles from `callers`) while the module `A` of
/// `reg` is updated to versions 2, 3, ... with `policy`.
fn updates_under_load(reg: &Registry, policy: UpdatePolicy, callers: [Func; 2], what: &str) {
    let seen = Seen::default();
    let done = AtomicBool::new(false);
    let n = versions();
    std::thread::scope(|s| {
        for f in &callers {
            let (seen, done) = (&seen, &done);
            s.spawn(move || seen.call_until(f, done));
        }
        for k in 2..=n + 1 {
            let report = reg.update_module("A", version(k), policy).unwrap();
            assert_eq!(report.swapped.len(), 4, "{what}: {report:?}");
        }
        done.store(true, Ordering::Release);
    });
    seen.check(what);
    let last = u64::from(n + 1);
    let ab = reg.func("A", "ab").unwrap().call(&[]).unwrap();
    assert_eq!(ab, vec![Val::I64(((last << 32) | last) as i64)], "{what}");
}

#[test]
fn keep_state_updates_are_seen_whole() {
    each_mode(|mode, reg| {
        reg.load("A", version(1)).unwrap();
        let callers = ["ab", "dc"].map(|n| reg.func("A", n).unwrap());
        updates_under_load(
            &reg,
            UpdatePolicy::KeepState,
            callers,
            &format!("{mode} KeepState"),
        );
    });
}

#[test]
fn fresh_updates_are_seen_whole() {
    each_mode(|mode, reg| {
        reg.load("A", version(1)).unwrap();
        // Handles of the first instance: its slots forward to each newer one.
        let callers = ["ab", "dc"].map(|n| reg.func("A", n).unwrap());
        updates_under_load(&reg, UpdatePolicy::Fresh, callers, &format!("{mode} Fresh"));
    });
}

/// The instances of a program's threads (wasi-threads) take an update in the same step
/// as the module's own: one caller runs `ab` in the module's instance, the other `dc`
/// in a thread's instance.
#[test]
fn updates_reach_every_thread_in_the_same_step() {
    each_mode(|mode, reg| {
        let main = reg.load("A", version(1)).unwrap();
        let thread = main.instantiate_thread().unwrap();
        let callers = [reg.func("A", "ab").unwrap(), thread.get_func("dc").unwrap()];
        updates_under_load(
            &reg,
            UpdatePolicy::KeepState,
            callers,
            &format!("{mode} threads"),
        );
        let last = u64::from(versions() + 1);
        assert_eq!(
            thread.get_func("dc").unwrap().call(&[]).unwrap(),
            vec![Val::I64(((last << 32) | last) as i64)],
            "{mode}: the thread's instance runs the last version"
        );
    });
}

//! `memory.atomic.wait32/64` and `memory.atomic.notify`: threads parked per address.
//!
//! **The rule.** A waiter checks the value and joins its address's queue under the lock
//! of the address's bucket, and a notify takes waiters off that queue under the same
//! lock, oldest first, so a notify that follows a store either finds the waiter queued or
//! the waiter finds the new value. A waiter is woken by a notify (result 0), its timeout
//! (2), or an interruption: its thread's epoch deadline or [`super::Memory::interrupt_waits`]
//! (a trap). The host thread may wake spuriously; the waiter then checks why and parks
//! again, so spurious wakeups are never visible to wasm.
//!
//! Addresses are host addresses (a memory never moves), so waiters of every memory share
//! the process's buckets without mixing.

use crate::meter::Epoch;
use crate::trap::TrapCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// What a wait returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitResult {
    /// Woken by a notify (0).
    Ok = 0,
    /// The value was not the expected one (1).
    NotEqual = 1,
    /// The timeout passed (2).
    TimedOut = 2,
}

struct Waiter {
    /// The host address it waits on.
    addr: usize,
    /// The memory it waits in (its address), for [`interrupt_memory`].
    memory: usize,
    /// Set (under the bucket lock) by the notify that takes it off the queue.
    notified: AtomicBool,
    /// Whether it wakes for epoch increments (it has a deadline to check).
    has_deadline: bool,
    thread: Thread,
}

const BUCKETS: usize = 64;

/// Waiters by address, in the order they came, spread over buckets by address.
static QUEUES: [Mutex<Vec<Arc<Waiter>>>; BUCKETS] = [const { Mutex::new(Vec::new()) }; BUCKETS];

/// Waiters that check an epoch deadline, so that epoch increments can skip the walk.
static WITH_DEADLINE: AtomicUsize = AtomicUsize::new(0);

fn bucket(addr: usize) -> MutexGuard<'static, Vec<Arc<Waiter>>> {
    // Neighbouring words share cache lines, not buckets.
    let i = (addr >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (usize::BITS - 6);
    QUEUES[i % BUCKETS]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Waits at `addr` (in memory `memory`) while `still_expected()` says the value there
/// is the expected one: the check runs under the bucket lock. `timeout` is in
/// nanoseconds, negative for none. `interrupted` says whether the memory's waits were
/// interrupted; `epoch` is the engine's, when the thread has a deadline to keep.
pub(super) fn wait(
    addr: usize,
    memory: usize,
    still_expected: impl FnOnce() -> bool,
    timeout: i64,
    interrupted: &AtomicBool,
    epoch: Option<&Epoch>,
) -> Result<WaitResult, TrapCode> {
    let until = u64::try_from(timeout)
        .ok()
        .and_then(|ns| Instant::now().checked_add(Duration::from_nanos(ns)));
    let check_interrupt = || {
        if interrupted.load(Ordering::Acquire) || epoch.is_some_and(Epoch::reached) {
            Err(TrapCode::Interrupted)
        } else {
            Ok(())
        }
    };
    check_interrupt()?;
    let me = Arc::new(Waiter {
        addr,
        memory,
        notified: AtomicBool::new(false),
        has_deadline: epoch.is_some(),
        thread: std::thread::current(),
    });
    {
        let mut q = bucket(addr);
        if !still_expected() {
            return Ok(WaitResult::NotEqual);
        }
        q.push(me.clone());
    }
    if me.has_deadline {
        WITH_DEADLINE.fetch_add(1, Ordering::Relaxed);
    }
    let outcome = loop {
        if me.notified.load(Ordering::Acquire) {
            break Ok(WaitResult::Ok);
        }
        if let Err(trap) = check_interrupt() {
            break Err(trap);
        }
        match until {
            None => std::thread::park(),
            Some(t) => match t.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => std::thread::park_timeout(left),
                _ => break Ok(WaitResult::TimedOut),
            },
        }
    };
    if me.has_deadline {
        WITH_DEADLINE.fetch_sub(1, Ordering::Relaxed);
    }
    if outcome.is_ok_and(|r| r == WaitResult::Ok) {
        return outcome;
    }
    // Timed out or interrupted, unless a notify took us off the queue meanwhile: then
    // it counted us, and we report the wakeup it gave.
    let mut q = bucket(addr);
    if me.notified.load(Ordering::Acquire) {
        return Ok(WaitResult::Ok);
    }
    q.retain(|w| !Arc::ptr_eq(w, &me));
    outcome
}

/// Wakes up to `count` waiters at `addr`, oldest first; returns how many it woke.
pub(super) fn notify(addr: usize, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let mut q = bucket(addr);
    let mut woken = 0u32;
    q.retain(|w| {
        if woken == count || w.addr != addr {
            return true;
        }
        woken += 1;
        w.notified.store(true, Ordering::Release);
        w.thread.unpark();
        false
    });
    woken
}

/// Wakes every waiter in `memory` to check [`super::Memory::interrupt_waits`]'s flag.
pub(super) fn interrupt_memory(memory: usize) {
    wake_where(|w| w.memory == memory);
}

/// Wakes every waiter with a deadline to check it (after an epoch increment).
pub fn wake_for_epoch() {
    if WITH_DEADLINE.load(Ordering::Relaxed) > 0 {
        wake_where(|w| w.has_deadline);
    }
}

fn wake_where(pick: impl Fn(&Waiter) -> bool) {
    for q in &QUEUES {
        let q = q.lock().unwrap_or_else(PoisonError::into_inner);
        q.iter().filter(|w| pick(w)).for_each(|w| w.thread.unpark());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NO: AtomicBool = AtomicBool::new(false);

    #[test]
    fn a_wait_sees_a_changed_value_and_times_out() {
        let x = 0u64;
        let at = &x as *const u64 as usize;
        assert_eq!(
            wait(at, 1, || false, -1, &NO, None),
            Ok(WaitResult::NotEqual)
        );
        let t = Instant::now();
        assert_eq!(
            wait(at, 1, || true, 20_000_000, &NO, None),
            Ok(WaitResult::TimedOut)
        );
        assert!(t.elapsed() >= Duration::from_millis(20));
        assert_eq!(notify(at, 5), 0, "the timed-out waiter left the queue");
    }

    #[test]
    fn notify_wakes_the_oldest_first_and_counts_them() {
        let word = Box::new(0u64);
        let at = &*word as *const u64 as usize;
        let (tx, rx) = std::sync::mpsc::channel();
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let tx = tx.clone();
                let t = std::thread::spawn(move || {
                    let r = wait(at, 1, || true, -1, &NO, None);
                    tx.send(i).unwrap();
                    r
                });
                // Queue them in order.
                while queued(at) < i + 1 {
                    std::thread::yield_now();
                }
                t
            })
            .collect();
        assert_eq!(notify(at, 2), 2);
        let mut first: Vec<_> = (0..2).map(|_| rx.recv().unwrap()).collect();
        first.sort();
        assert_eq!(first, [0, 1]);
        assert_eq!(notify(at, u32::MAX), 1);
        assert_eq!(rx.recv().unwrap(), 2);
        for w in waiters {
            assert_eq!(w.join().unwrap(), Ok(WaitResult::Ok));
        }
        assert_eq!(notify(at + 8, 1), 0, "another address has none");
    }

    #[test]
    fn an_interrupt_ends_a_wait_with_a_trap() {
        static FLAG: AtomicBool = AtomicBool::new(false);
        let word = Box::new(0u64);
        let at = &*word as *const u64 as usize;
        let t = std::thread::spawn(move || wait(at, 77, || true, -1, &FLAG, None));
        while queued(at) == 0 {
            std::thread::yield_now();
        }
        FLAG.store(true, Ordering::Release);
        interrupt_memory(77);
        assert_eq!(t.join().unwrap(), Err(TrapCode::Interrupted));
        assert_eq!(queued(at), 0);
    }

    fn queued(addr: usize) -> usize {
        bucket(addr).iter().filter(|w| w.addr == addr).count()
    }
}

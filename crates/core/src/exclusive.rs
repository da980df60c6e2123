//! One thread at a time in an instance with state: the rule that keeps the safe API free
//! of data races, stated once.
//!
//! **The rule.** An instance *has state* when it can reach a linear memory, a table or a
//! mutable global, its own or imported (shared memories of the threads proposal do not
//! count: wasm synchronizes those itself). Such an instance is run by one thread at a
//! time. A thread *holds* it from the moment it first enters its code (a call from the
//! host, or from another instance's code) until the host entry during which it entered
//! returns ([`crate::Meter::enter`]); until then it may enter it again freely (nested
//! host calls, recursion through other instances). Holding an instance means holding the
//! [`EntryLock`] of every owner of state it reaches: its own lock, which covers all it
//! defines, and those of the instances whose memories, tables and mutable globals it
//! imports. The host's own accesses to a memory, table or global take the owner's lock
//! for the length of the access. Instances without state take no lock and run on any
//! number of threads at once.
//!
//! **Borrows.** A host function may borrow its module's state or a slice of its caller's
//! memory ([`crate::Caller::state`], [`crate::Caller::memory`]). While it does, its thread
//! enters no wasm (a call fails with [`TrapCode::Busy`]), and, while it holds a slice,
//! the host's other accesses to memories fail the same way: nothing can change or read
//! the borrowed bytes behind the borrow's back. (Other threads are kept out by the rule
//! above: the caller's memory belongs to an instance this thread holds.)
//!
//! **Contention.** A thread that finds a lock held by another waits for it
//! ([`Contention::Wait`], the default) or fails at once with [`TrapCode::Busy`]
//! ([`Contention::Fail`]). A thread that already holds locks and would wait for one held
//! by a thread that (through a chain of waits) waits for one of its own fails with
//! [`TrapCode::Busy`] instead of deadlocking.
//!
//! **The fast path.** Each instance with state has an owner word in its context
//! ([`crate::VmCtxLayout::owner`]): the token of the thread that holds it, written only by
//! that thread while it holds every lock of the instance. Code entering the instance
//! compares the word with its thread's token (the address of the thread's
//! [`crate::Meter`]) and calls [`enter_slow`] only when they differ: one load and one
//! compare per entry while a thread keeps running the same instances.

use crate::instance::Instance;
use crate::trap::{Trap, TrapCode};
use hashbrown::HashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// What a thread does when an instance it enters is held by another thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Contention {
    /// Wait until the other thread's host call returns (or fail with
    /// [`TrapCode::Busy`] where waiting would deadlock).
    #[default]
    Wait,
    /// Fail at once with [`TrapCode::Busy`].
    Fail,
}

/// The lock of an owner of state (an instance, for everything it defines).
#[derive(Debug)]
pub struct EntryLock {
    /// The token of the thread holding it, 0 when free; [`WAITED`] is set while some
    /// thread may be waiting for it (its holder then wakes them on release).
    word: AtomicU64,
    /// What a thread that finds it held does (the owner's engine's setting).
    contention: Contention,
}

/// The bit of an [`EntryLock`]'s word that says a thread may wait for it (tokens are
/// addresses of 8-aligned meters, so bit 0 is free).
const WAITED: u64 = 1;

/// Something a thread took during a host entry, to give back when the entry returns.
enum Held {
    Lock(Arc<EntryLock>),
    /// An instance whose owner word this thread wrote.
    Owner(Arc<Instance>),
}

thread_local! {
    /// What the thread holds beyond its host calls' own (see [`enter_slow`]).
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// Threads waiting for a lock, by token, for finding deadlocks; with the condition
/// variable every waiter sleeps on.
static WAITING: Mutex<Option<HashMap<u64, Arc<EntryLock>>>> = Mutex::new(None);
static WAKE: Condvar = Condvar::new();

fn waiting() -> MutexGuard<'static, Option<HashMap<u64, Arc<EntryLock>>>> {
    WAITING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This thread's token: the address of its meter, which compiled code has at hand.
#[inline]
pub fn token() -> u64 {
    crate::meter::meter_ptr() as u64
}

impl EntryLock {
    pub fn new(contention: Contention) -> Arc<EntryLock> {
        Arc::new(EntryLock {
            word: AtomicU64::new(0),
            contention,
        })
    }

    /// The token of the thread holding the lock (0: none).
    #[inline]
    fn holder(&self) -> u64 {
        self.word.load(Ordering::Relaxed) & !WAITED
    }

    /// Whether the calling thread holds the lock.
    #[inline]
    pub fn held_by_me(&self) -> bool {
        self.holder() == token()
    }

    /// Takes the lock for thread `me` if it is free.
    #[inline]
    fn try_acquire(&self, me: u64) -> bool {
        self.word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock for thread `me` (free, or once its holder lets go), or fails.
    #[inline]
    fn acquire(self: &Arc<Self>, me: u64) -> Result<(), Trap> {
        if self.try_acquire(me) {
            return Ok(());
        }
        self.acquire_contended(me)
    }

    #[cold]
    fn acquire_contended(self: &Arc<Self>, me: u64) -> Result<(), Trap> {
        if self.contention == Contention::Fail {
            return Err(busy("another thread is running it"));
        }
        let mut w = waiting();
        loop {
            let word = self.word.load(Ordering::Acquire);
            if word == 0 {
                // Others may still wait: the waited bit makes our release wake them.
                if self
                    .word
                    .compare_exchange(0, me | WAITED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(());
                }
                continue;
            }
            let map = w.get_or_insert_with(HashMap::new);
            if closes_cycle(map, self, me) {
                return Err(busy(
                    "waiting for it would deadlock: the thread running it waits for an \
                     instance this thread runs",
                ));
            }
            if word & WAITED == 0
                && self
                    .word
                    .compare_exchange(word, word | WAITED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            // The holder's release takes the mutex before it wakes us, so it cannot
            // happen between the check above and the wait.
            map.insert(me, self.clone());
            w = WAKE.wait(w).unwrap_or_else(PoisonError::into_inner);
            if let Some(map) = w.as_mut() {
                map.remove(&me);
            }
        }
    }

    /// Gives the lock back (the caller holds it).
    #[inline]
    fn release(&self, me: u64) {
        if self
            .word
            .compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // Waited for: free it and wake the waiters, under the mutex they sleep on.
            let _w = waiting();
            self.word.store(0, Ordering::Release);
            WAKE.notify_all();
        }
    }
}

/// Whether thread `me` waiting for `lock` would wait for itself: the chain lock ->
/// holder -> the lock that holder waits for -> ... reaches `me`.
fn closes_cycle(map: &HashMap<u64, Arc<EntryLock>>, lock: &EntryLock, me: u64) -> bool {
    let mut holder = lock.holder();
    for _ in 0..=map.len() {
        if holder == me {
            return true;
        }
        match map.get(&holder) {
            Some(next) => holder = next.holder(),
            None => return false,
        }
    }
    false
}

fn busy(why: &str) -> Trap {
    Trap::with_detail(TrapCode::Busy, why)
}

fn borrowed() -> Trap {
    busy(
        "a host function on this thread borrows its state or a memory slice; \
         drop the borrow before calling wasm",
    )
}

/// A host function's borrow of its state or of a memory slice (see the module docs):
/// the thread enters no wasm until it drops.
pub(crate) struct HostBorrow {
    slice: bool,
}

impl HostBorrow {
    /// A borrow of host state (`slice`: false) or of a memory slice.
    pub(crate) fn new(slice: bool) -> HostBorrow {
        crate::meter::with_meter(|m| {
            m.borrows.set(m.borrows.get() + 1);
            if slice {
                m.lends.set(m.lends.get() + 1);
            }
        });
        HostBorrow { slice }
    }
}

impl Drop for HostBorrow {
    fn drop(&mut self) {
        crate::meter::with_meter(|m| {
            m.borrows.set(m.borrows.get() - 1);
            if self.slice {
                m.lends.set(m.lends.get() - 1);
            }
        });
    }
}

/// Whether the calling thread may run `inst` as it is: it has no state, or the thread
/// holds it.
#[inline]
pub fn holds(inst: &Instance) -> bool {
    held_by(inst, token())
}

/// Whether thread `me` may run `inst` as it is (see [`holds`]).
#[inline]
fn held_by(inst: &Instance, me: u64) -> bool {
    !inst.has_state() || inst.owner_word().load(Ordering::Relaxed) == me
}

/// Makes the calling thread hold `inst` if it has state, until the current host entry
/// ends.
#[inline]
pub fn enter(inst: &Instance) -> Result<(), Trap> {
    if holds(inst) {
        return Ok(());
    }
    enter_slow(inst)
}

/// Makes the calling thread hold `inst` until the current host entry ends (see the
/// module docs): the path of code that enters an instance whose owner word is not the
/// thread's token.
#[cold]
pub fn enter_slow(inst: &Instance) -> Result<(), Trap> {
    let me = token();
    if held_by(inst, me) {
        return Ok(());
    }
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        for lock in inst.entry_locks() {
            if lock.holder() != me {
                lock.acquire(me)?;
                held.push(Held::Lock(lock.clone()));
            }
        }
        inst.owner_word().store(me, Ordering::Relaxed);
        held.push(Held::Owner(inst.arc()));
        Ok(())
    })
}

/// How many things the thread holds (a host entry's starting point).
#[inline]
pub(crate) fn depth() -> usize {
    HELD.with(|h| h.borrow().len())
}

/// Gives back what the thread took since it held `depth` things (see
/// [`crate::Meter::enter`]): owner words first, then the locks, latest first.
#[inline]
pub(crate) fn release_to(depth: usize) {
    if self::depth() > depth {
        release_slow(depth);
    }
}

#[cold]
fn release_slow(depth: usize) {
    let me = token();
    loop {
        // (Dropping an instance must happen outside the borrow.)
        let Some(held) = HELD.with(|h| {
            let mut h = h.borrow_mut();
            (h.len() > depth).then(|| h.pop()).flatten()
        }) else {
            return;
        };
        match held {
            Held::Owner(inst) => inst.owner_word().store(0, Ordering::Relaxed),
            Held::Lock(lock) => lock.release(me),
        }
    }
}

/// A host call into an instance (`Func::call`, instantiation): holds the instance for
/// the length of the call when the thread did not hold it already. The common case of
/// the rule, without the bookkeeping of [`enter_slow`]: the locks it took are a bit set
/// over the instance's locks, given back when it drops.
pub struct HostCall<'a> {
    inst: Option<&'a Instance>,
    taken: u64,
    me: u64,
}

impl<'a> HostCall<'a> {
    #[inline]
    pub fn new(inst: &'a Instance) -> Result<HostCall<'a>, Trap> {
        let me = crate::meter::with_meter(|m| {
            if m.borrows.get() != 0 {
                return Err(borrowed());
            }
            Ok(m as *const _ as u64)
        })?;
        let idle = HostCall {
            inst: None,
            taken: 0,
            me,
        };
        if held_by(inst, me) {
            return Ok(idle);
        }
        let locks = inst.entry_locks();
        if locks.len() > 64 {
            // More owners than bits: the general path (held until the entry ends).
            enter_slow(inst)?;
            return Ok(idle);
        }
        let mut call = HostCall {
            inst: Some(inst),
            taken: 0,
            me,
        };
        for (i, lock) in locks.iter().enumerate() {
            if lock.holder() != me {
                // On failure, dropping `call` gives back what it took.
                lock.acquire(me)?;
                call.taken |= 1 << i;
            }
        }
        inst.owner_word().store(me, Ordering::Relaxed);
        Ok(call)
    }
}

impl Drop for HostCall<'_> {
    #[inline]
    fn drop(&mut self) {
        let Some(inst) = self.inst else { return };
        inst.owner_word().store(0, Ordering::Relaxed);
        for (i, lock) in inst.entry_locks().iter().enumerate().rev() {
            if self.taken & (1 << i) != 0 {
                lock.release(self.me);
            }
        }
    }
}

/// The host's access to an owner's state: holds `lock` (taking it if this thread does
/// not hold it already) until dropped.
pub struct HostAccess {
    taken: Option<Arc<EntryLock>>,
    me: u64,
}

impl HostAccess {
    /// Holds `lock`, or fails as its contention setting says.
    pub fn new(lock: &Arc<EntryLock>) -> Result<HostAccess, Trap> {
        let (me, borrowing) = crate::meter::with_meter(|m| {
            if m.lends.get() != 0 {
                return Err(busy(
                    "a host function on this thread holds a slice of a memory: use that",
                ));
            }
            Ok((m as *const _ as u64, m.borrows.get() != 0))
        })?;
        if lock.holder() == me {
            return Ok(HostAccess { taken: None, me });
        }
        if borrowing {
            // Waiting while borrowing host state could deadlock with the lock's holder
            // waiting for that state, unseen by the cycle check.
            if !lock.try_acquire(me) {
                return Err(busy("another thread is running it"));
            }
        } else {
            lock.acquire(me)?;
        }
        Ok(HostAccess {
            taken: Some(lock.clone()),
            me,
        })
    }
}

impl Drop for HostAccess {
    fn drop(&mut self) {
        if let Some(lock) = self.taken.take() {
            lock.release(self.me);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;
    use std::time::Duration;

    #[test]
    fn a_held_lock_is_reentrant_for_its_thread_and_busy_for_others() {
        let lock = EntryLock::new(Contention::Fail);
        let a = HostAccess::new(&lock).unwrap();
        // Again on this thread: nothing more to take.
        let again = HostAccess::new(&lock).unwrap();
        assert!(again.taken.is_none());
        let other = lock.clone();
        let busy = std::thread::spawn(move || HostAccess::new(&other).err().map(|t| t.code()))
            .join()
            .unwrap();
        assert_eq!(busy, Some(TrapCode::Busy));
        drop(again);
        assert!(lock.held_by_me());
        drop(a);
        assert_eq!(lock.word.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_waiter_gets_the_lock_when_its_holder_lets_go() {
        let lock = EntryLock::new(Contention::Wait);
        let held = HostAccess::new(&lock).unwrap();
        let other = lock.clone();
        let waiter = std::thread::spawn(move || {
            let _a = HostAccess::new(&other).unwrap();
            other.held_by_me()
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(lock.held_by_me());
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn waiting_that_would_deadlock_fails_instead() {
        let (x, y) = (
            EntryLock::new(Contention::Wait),
            EntryLock::new(Contention::Wait),
        );
        let barrier = Arc::new(Barrier::new(2));
        // Each thread holds one lock through a host entry and then wants the other.
        let run = |mine: Arc<EntryLock>, theirs: Arc<EntryLock>, barrier: Arc<Barrier>| {
            move || {
                let held = HostAccess::new(&mine).unwrap();
                barrier.wait();
                let r = HostAccess::new(&theirs).map(|_| ());
                drop(held);
                r.err().map(|t| t.code())
            }
        };
        let t1 = std::thread::spawn(run(x.clone(), y.clone(), barrier.clone()));
        let t2 = std::thread::spawn(run(y.clone(), x.clone(), barrier));
        let (r1, r2) = (t1.join().unwrap(), t2.join().unwrap());
        // At least one of them sees the cycle; the other then gets its lock.
        assert!(
            r1 == Some(TrapCode::Busy) || r2 == Some(TrapCode::Busy),
            "{r1:?} {r2:?}"
        );
        assert_eq!(x.word.load(Ordering::SeqCst), 0);
        assert_eq!(y.word.load(Ordering::SeqCst), 0);
    }
}

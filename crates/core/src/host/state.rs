//! Host state: a value of the embedder's type that a host module's functions reach
//! through their [`Caller`](super::Caller), so closures need not capture `Arc`s.
//!
//! The state sits behind a mutex: host functions on several threads (instances without
//! state run on many) take turns. A borrow is one host call's: while it lives the thread
//! enters no wasm (`exclusive.rs`), so a host function cannot, through wasm, reach its
//! own state a second time; a second borrow on the same thread is an error rather than
//! a deadlock.

use crate::exclusive::{token, HostBorrow};
use crate::trap::{Trap, TrapCode};
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The state of a host module, shared by its functions (and by every registry the
/// module is defined in).
#[derive(Clone)]
pub struct HostState(Arc<dyn Any + Send + Sync>);

struct StateCell<T> {
    value: Mutex<T>,
    /// The token of the thread borrowing it (0: none), to refuse a second borrow on
    /// that thread instead of deadlocking.
    holder: AtomicU64,
}

impl HostState {
    pub fn new<T: Send + 'static>(value: T) -> HostState {
        HostState(Arc::new(StateCell {
            value: Mutex::new(value),
            holder: AtomicU64::new(0),
        }))
    }

    /// Borrows the state as a `T`; waits while another thread borrows it.
    pub fn borrow<T: Send + 'static>(&self) -> Result<StateGuard<'_, T>, Trap> {
        let Some(cell) = self.0.downcast_ref::<StateCell<T>>() else {
            return Err(Trap::host(format!(
                "the host state is not a `{}`",
                std::any::type_name::<T>()
            )));
        };
        let me = token();
        if cell.holder.load(Ordering::Relaxed) == me {
            return Err(Trap::with_detail(
                TrapCode::Busy,
                "the host state is already borrowed on this thread",
            ));
        }
        let borrow = HostBorrow::new(false);
        // A host function that panicked while holding the state poisons the mutex; the
        // panic became a trap, and the state is handed on as the function left it.
        let guard = cell.value.lock().unwrap_or_else(PoisonError::into_inner);
        cell.holder.store(me, Ordering::Relaxed);
        Ok(StateGuard {
            guard,
            holder: &cell.holder,
            _borrow: borrow,
        })
    }
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostState")
    }
}

/// A borrow of host state (see [`HostState::borrow`]); derefs to the state.
pub struct StateGuard<'a, T> {
    guard: MutexGuard<'a, T>,
    holder: &'a AtomicU64,
    _borrow: HostBorrow,
}

impl<T> std::ops::Deref for StateGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for StateGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for StateGuard<'_, T> {
    fn drop(&mut self) {
        // (The mutex is released after this, when the fields drop.)
        self.holder.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_borrow_on_one_thread_fails_and_other_threads_wait() {
        let state = HostState::new(0u32);
        let mut a = state.borrow::<u32>().unwrap();
        *a += 1;
        assert_eq!(
            state.borrow::<u32>().err().map(|t| t.code()),
            Some(TrapCode::Busy)
        );
        assert!(state.borrow::<u64>().is_err(), "wrong type");
        let other = state.clone();
        let t = std::thread::spawn(move || {
            let mut b = other.borrow::<u32>().unwrap();
            *b += 1;
            *b
        });
        std::thread::sleep(std::time::Duration::from_millis(30));
        drop(a);
        assert_eq!(t.join().unwrap(), 2);
        assert_eq!(*state.borrow::<u32>().unwrap(), 2);
    }
}

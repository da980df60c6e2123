//! `--timeout`: a timer thread that advances the engine's epoch when a run's time is up,
//! so the run's wasm traps at its next function entry or loop iteration.

use crate::say;
use rwamr::Engine;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a run may go on after its deadline before the process ends anyway: a
/// program blocked in the host (reading stdin, sleeping) reaches no check.
const GRACE: Duration = Duration::from_millis(500);

pub struct Timer {
    engine: Engine,
    limit: Duration,
}

/// A bounded run; dropping it (the run ended) stops its timer.
pub struct Running {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Timer {
    pub fn new(engine: &Engine, limit: Duration) -> Timer {
        Timer {
            engine: engine.clone(),
            limit,
        }
    }

    /// Bounds the calling thread's wasm until the returned value drops: it traps once
    /// `limit` has passed since `since`.
    pub fn start(&self, since: Instant) -> rwamr::Result<Running> {
        self.engine.set_epoch_deadline(1)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = self.engine.clone();
        let until = since + self.limit;
        let thread = std::thread::spawn(move || {
            let left = until.saturating_duration_since(Instant::now());
            if stopped.recv_timeout(left) != Err(RecvTimeoutError::Timeout) {
                return;
            }
            engine.increment_epoch();
            if stopped.recv_timeout(GRACE) == Err(RecvTimeoutError::Timeout) {
                say!("error: the program ran longer than --timeout allowed, blocked outside wasm");
                std::process::exit(crate::TIMEOUT_EXIT.into());
            }
        });
        Ok(Running {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Disconnecting wakes the timer, which then ends.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

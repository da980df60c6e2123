//! Threads in every form std offers, each check printing `NAME ok` or `NAME FAILED`.
//! With an argument, it ends the program from a spawned thread instead:
//! `exit N` (std::process::exit from a thread while main waits) or `trap` (a thread
//! traps while main waits).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn check(name: &str, ok: bool) {
    println!("{name} {}", if ok { "ok" } else { "FAILED" });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("exit") => end_by_exit(args[2].parse().unwrap()),
        Some("trap") => end_by_trap(),
        _ => {}
    }

    // Spawn and join, with results.
    let handles: Vec<_> = (0..4u64).map(|i| thread::spawn(move || i * i)).collect();
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    check("spawn_join", sum == 14);

    // A contended mutex.
    let counter = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || {
                for _ in 0..10_000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    check("mutex", *counter.lock().unwrap() == 40_000);

    // Atomics.
    let hits = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let h = hits.clone();
            thread::spawn(move || {
                for _ in 0..50_000 {
                    h.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    hs.into_iter().for_each(|h| h.join().unwrap());
    check("atomics", hits.load(Ordering::SeqCst) == 200_000);

    // A condition variable: a producer hands over items one at a time.
    let slot = Arc::new((Mutex::new(None::<u32>), Condvar::new()));
    let s2 = slot.clone();
    let consumer = thread::spawn(move || {
        let (m, cv) = &*s2;
        let mut got = Vec::new();
        while got.len() < 100 {
            let mut g = m.lock().unwrap();
            while g.is_none() {
                g = cv.wait(g).unwrap();
            }
            got.push(g.take().unwrap());
            cv.notify_all();
        }
        got
    });
    {
        let (m, cv) = &*slot;
        for i in 0..100 {
            let mut g = m.lock().unwrap();
            while g.is_some() {
                g = cv.wait(g).unwrap();
            }
            *g = Some(i);
            cv.notify_all();
        }
    }
    let got = consumer.join().unwrap();
    check("condvar", got == (0..100).collect::<Vec<_>>());

    // Channels: many producers, one consumer.
    let (tx, rx) = mpsc::channel();
    for p in 0..4u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..1000u32 {
                tx.send(p * 1000 + i).unwrap();
            }
        });
    }
    drop(tx);
    let mut all: Vec<u32> = rx.iter().collect();
    all.sort();
    check("channels", all == (0..4000).collect::<Vec<_>>());

    // A barrier and a read-write lock.
    let barrier = Arc::new(Barrier::new(3));
    let table = Arc::new(RwLock::new(vec![0u32; 3]));
    let arrived = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..3)
        .map(|i| {
            let (b, t, a) = (barrier.clone(), table.clone(), arrived.clone());
            thread::spawn(move || {
                t.write().unwrap()[i] = i as u32 + 1;
                a.fetch_add(1, Ordering::SeqCst);
                b.wait();
                // Everyone wrote before anyone passed the barrier.
                let seen = a.load(Ordering::SeqCst);
                (seen, t.read().unwrap().iter().sum::<u32>())
            })
        })
        .collect();
    let results: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    check("barrier_rwlock", results.iter().all(|&(seen, sum)| seen == 3 && sum == 6));

    // Sleeping (poll_oneoff) and parking with a timeout (memory.atomic.wait with a
    // timeout). A park may return at once for a token an earlier unpark left, so it
    // parks again until the deadline: a wait that timed out early would spin here.
    let t = Instant::now();
    thread::sleep(Duration::from_millis(20));
    let slept = t.elapsed() >= Duration::from_millis(20);
    let deadline = Instant::now() + Duration::from_millis(20);
    let mut parks = 0;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        thread::park_timeout(left);
        parks += 1;
    }
    check("timeouts", slept && parks <= 3);

    // Thread-local storage is per thread.
    thread_local!(static MINE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    MINE.with(|m| m.set(5));
    let other = thread::spawn(|| MINE.with(|m| m.get())).join().unwrap();
    check("thread_local", other == 0 && MINE.with(|m| m.get()) == 5);

    // Scoped threads borrowing the stack.
    let data = vec![1u64, 2, 3, 4, 5, 6, 7, 8];
    let total: u64 = thread::scope(|s| {
        let (a, b) = data.split_at(4);
        let x = s.spawn(|| a.iter().sum::<u64>());
        let y = s.spawn(|| b.iter().sum::<u64>());
        x.join().unwrap() + y.join().unwrap()
    });
    check("scoped", total == 36);
}

/// A spawned thread exits the process while the main thread waits for ever.
fn end_by_exit(status: i32) -> ! {
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        std::process::exit(status)
    });
    let (_tx, rx) = mpsc::channel::<()>();
    let _ = rx.recv();
    unreachable!("the main thread is never woken")
}

/// A spawned thread traps while the main thread waits for ever.
fn end_by_trap() -> ! {
    thread::spawn(|| {
        thread::sleep(Duration::from_millis(10));
        std::process::abort()
    });
    let (_tx, rx) = mpsc::channel::<()>();
    let _ = rx.recv();
    unreachable!("the main thread is never woken")
}

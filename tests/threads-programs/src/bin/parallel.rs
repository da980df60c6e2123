//! A parallel benchmark: counts the primes below N by trial division, split over T
//! threads in interleaved blocks (so each thread gets a fair share of the expensive
//! large numbers). `parallel N T` prints the count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n % 2 == 0 {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

const BLOCK: u64 = 1024;

/// Thread `t` of `threads`: blocks t, t + threads, t + 2 threads, ... of 0..n.
fn work(t: u64, n: u64, threads: u64, count: &AtomicU64) {
    let mut local = 0;
    let mut start = t * BLOCK;
    while start < n {
        for k in start..(start + BLOCK).min(n) {
            local += is_prime(k) as u64;
        }
        start += threads * BLOCK;
    }
    count.fetch_add(local, Ordering::Relaxed);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(2_000_000, |a| a.parse().unwrap());
    let threads: u64 = args.get(2).map_or(2, |a| a.parse().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    if threads <= 1 {
        work(0, n, 1, &count);
    } else {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let c = count.clone();
                std::thread::spawn(move || work(t, n, threads, &c))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    }
    println!("{}", count.load(Ordering::Relaxed));
}

//! Clocks, sleeping (poll_oneoff on a clock) and random bytes.
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use wasi_programs::{check, p, raw};

fn main() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    check("realtime after 2020", now.as_secs() > 1_577_836_800, now);

    let t0 = Instant::now();
    let t1 = Instant::now();
    check("monotonic does not go back", t1 >= t0, (t0, t1));

    std::thread::sleep(Duration::from_millis(30));
    let slept = t0.elapsed();
    check(
        "sleep 30ms",
        slept >= Duration::from_millis(30) && slept < Duration::from_secs(5),
        slept,
    );

    for id in 0..4 {
        let mut res = 0u64;
        let mut t = 0u64;
        let e1 = unsafe { raw::clock_res_get(id, p(&mut res)) };
        let e2 = unsafe { raw::clock_time_get(id, 1, p(&mut t)) };
        check(
            &format!("clock {id}"),
            e1 == 0 && e2 == 0 && res > 0 && t > 0,
            (e1, e2, res, t),
        );
    }
    let mut t = 0u64;
    let e = unsafe { raw::clock_time_get(99, 1, p(&mut t)) };
    check("unknown clock is EINVAL", e == 28, e);

    // CPU time moves when the program works.
    let mut c0 = 0u64;
    let mut c1 = 0u64;
    unsafe { raw::clock_time_get(2, 1, p(&mut c0)) };
    let mut x = 0u64;
    for i in 0..2_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    unsafe { raw::clock_time_get(2, 1, p(&mut c1)) };
    check("process cputime advances", c1 > c0, (c0, c1));

    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    let ea = unsafe { raw::random_get(p(a.as_mut_ptr()), 64) };
    let eb = unsafe { raw::random_get(p(b.as_mut_ptr()), 64) };
    check(
        "random_get",
        ea == 0 && eb == 0 && a != b && a != [0; 64],
        (ea, eb),
    );
    let mut big = vec![0u8; 200_000];
    let e = unsafe { raw::random_get(p(big.as_mut_ptr()), big.len() as i32) };
    check(
        "random_get large",
        e == 0 && big[150_000..].iter().any(|&x| x != 0),
        e,
    );
    // std's HashMap seeds itself with random_get.
    let m: std::collections::HashMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    check("hashmap", m.len() == 10, m.len());
}

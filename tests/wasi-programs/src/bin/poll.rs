//! poll_oneoff over clocks and fds, sched_yield, proc_raise, sock_*, and guest
//! pointers out of bounds (which must give EFAULT, not a trap).
use std::time::{Duration, Instant};
use wasi_programs::*;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sub {
    userdata: u64,
    tag: u8,
    _pad: [u8; 7],
    // clock: id u32, pad, timeout u64, precision u64, flags u16; fd: fd u32
    a: u32,
    _pad2: u32,
    timeout: u64,
    precision: u64,
    flags: u16,
    _pad3: [u8; 6],
}

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct Event {
    userdata: u64,
    error: u16,
    kind: u8,
    _pad: [u8; 5],
    nbytes: u64,
    flags: u16,
    _pad2: [u8; 6],
}

fn clock(userdata: u64, id: u32, timeout: u64, abs: bool) -> Sub {
    Sub {
        userdata,
        tag: 0,
        a: id,
        timeout,
        flags: abs as u16,
        ..Sub::default()
    }
}

fn fd_sub(userdata: u64, tag: u8, fd: u32) -> Sub {
    Sub {
        userdata,
        tag,
        a: fd,
        ..Sub::default()
    }
}

fn poll(subs: &[Sub]) -> (i32, Vec<Event>) {
    assert_eq!(std::mem::size_of::<Sub>(), 48);
    assert_eq!(std::mem::size_of::<Event>(), 32);
    let mut events = vec![Event::default(); subs.len()];
    let mut n = 0i32;
    let e = unsafe {
        raw::poll_oneoff(
            p(subs.as_ptr()),
            p(events.as_mut_ptr()),
            subs.len() as i32,
            p(&mut n),
        )
    };
    events.truncate(n.max(0) as usize);
    (e, events)
}

fn main() {
    let t = Instant::now();
    let (e, ev) = poll(&[clock(7, 1, 20_000_000, false)]);
    let dt = t.elapsed();
    check(
        "relative clock",
        e == 0
            && ev.len() == 1
            && ev[0].userdata == 7
            && ev[0].kind == 0
            && dt >= Duration::from_millis(20),
        (e, &ev, dt),
    );

    let mut now = 0u64;
    unsafe { raw::clock_time_get(1, 1, p(&mut now)) };
    let t = Instant::now();
    let (e, ev) = poll(&[
        clock(8, 1, now + 15_000_000, true),
        clock(9, 1, 5_000_000_000, false),
    ]);
    let dt = t.elapsed();
    check(
        "absolute clock fires first",
        e == 0
            && ev.len() == 1
            && ev[0].userdata == 8
            && dt >= Duration::from_millis(10)
            && dt < Duration::from_secs(4),
        (e, &ev, dt),
    );

    std::fs::write("/sandbox/ten", b"0123456789").unwrap();
    let f = std::fs::File::open("/sandbox/ten").unwrap();
    use std::os::fd::AsRawFd;
    let fd = f.as_raw_fd() as u32;
    let t = Instant::now();
    let (e, ev) = poll(&[
        fd_sub(1, 1, fd),
        clock(2, 1, 10_000_000_000, false),
        fd_sub(3, 2, 1),
    ]);
    check(
        "fd readiness",
        e == 0
            && ev.len() == 2
            && ev[0].userdata == 1
            && ev[0].kind == 1
            && ev[0].nbytes == 10
            && ev[1].userdata == 3
            && ev[1].kind == 2
            && t.elapsed() < Duration::from_secs(5),
        (e, &ev),
    );
    let (e, ev) = poll(&[fd_sub(4, 1, 0)]);
    check(
        "stdin readable",
        e == 0 && ev.len() == 1 && ev[0].error == 0,
        (e, &ev),
    );
    let (e, ev) = poll(&[fd_sub(5, 1, 99)]);
    check(
        "bad fd event",
        e == 0 && ev.len() == 1 && ev[0].error == 8,
        (e, &ev),
    );
    let (e, ev) = poll(&[clock(6, 42, 0, false)]);
    check(
        "bad clock event",
        e == 0 && ev.len() == 1 && ev[0].error == 28,
        (e, &ev),
    );
    let (e, _) = poll(&[]);
    check("no subscriptions is EINVAL", e == 28, e);

    check("sched_yield", unsafe { raw::sched_yield() } == 0, ());
    check(
        "proc_raise is ENOSYS",
        unsafe { raw::proc_raise(9) } == 52,
        (),
    );
    let mut x = 0i32;
    check(
        "sock_accept on a file is ENOTSOCK",
        unsafe { raw::sock_accept(fd as i32, 0, p(&mut x)) } == 57,
        (),
    );
    check(
        "sock_recv on stdin is ENOTSOCK",
        unsafe { raw::sock_recv(0, 0, 0, 0, p(&mut x), p(&mut x)) } == 57,
        (),
    );
    check(
        "sock_send on a closed fd is EBADF",
        unsafe { raw::sock_send(99, 0, 0, 0, p(&mut x)) } == 8,
        (),
    );
    check(
        "sock_shutdown on stdout is ENOTSOCK",
        unsafe { raw::sock_shutdown(1, 2) } == 57,
        (),
    );

    // Out-of-bounds guest pointers: errno FAULT, and the program goes on.
    let bad = -16i32; // 0xffff_fff0, beyond any memory this program has
    let iov = [bad, 100];
    check(
        "fd_write bad buffer is EFAULT",
        unsafe { raw::fd_write(1, p(iov.as_ptr()), 1, p(&mut x)) } == 21,
        (),
    );
    check(
        "fd_write bad iovs is EFAULT",
        unsafe { raw::fd_write(1, bad, 1, p(&mut x)) } == 21,
        (),
    );
    check(
        "args_get bad pointer is EFAULT",
        unsafe { raw::args_get(bad, bad) } == 21,
        (),
    );
    check(
        "random_get bad buffer is EFAULT",
        unsafe { raw::random_get(bad, 100) } == 21,
        (),
    );
    check(
        "clock_time_get bad out is EFAULT",
        unsafe { raw::clock_time_get(0, 0, bad) } == 21,
        (),
    );
    check(
        "path_open bad path is EFAULT",
        unsafe { raw::path_open(PREOPEN, 0, bad, 10, 0, 0, 0, 0, p(&mut x)) } == 21,
        (),
    );
    let invalid = [0xffu8, 0xfe];
    check(
        "path_open non-UTF-8 path is EILSEQ",
        unsafe { raw::path_open(PREOPEN, 0, p(invalid.as_ptr()), 2, 0, 0, 0, 0, p(&mut x)) } == 25,
        (),
    );
    println!("poll done");
}

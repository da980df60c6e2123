//! poll_oneoff: wait for clocks and for fds to become readable or writable.
//!
//! Regular files, directories and streams the embedder supplied are always ready (as
//! poll(2) says of regular files); the host's own stdin, stdout and stderr are polled
//! for real, so a program waiting on a terminal or pipe sleeps until input comes or
//! its clock runs out.

use super::clock;
use super::Args;
use crate::abi::{
    eventtype, rights, Event, EVENT_SIZE, SUBSCRIPTION_CLOCK_ABSTIME, SUBSCRIPTION_SIZE,
};
use crate::errno::{Errno, WasiResult};
use crate::fd::{Kind, Stream};
use crate::memory::GuestMemory;
use crate::WasiCtx;
use rustix::event::{PollFd, PollFlags};
use rustix::fd::AsFd;
use std::io::Seek;
use std::time::{Duration, Instant};

/// A host stdio fd to poll for a subscription.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HostFd {
    Stdin,
    Stdout,
    Stderr,
}

enum Sub {
    /// Fires at this instant.
    Clock(Instant),
    /// Ready now (or failed): its event is complete.
    Ready(Event),
    /// Waits on a host fd.
    Host(HostFd, u8),
}

/// Reads subscription `i` and decides what it waits for.
fn subscription(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    ptr: u64,
    start: Instant,
) -> WasiResult<(u64, Sub)> {
    let userdata = mem.load::<u64>(ptr)?;
    let tag = mem.load::<u8>(ptr + 8)?;
    let event = |kind: u8, error: Errno| Event {
        userdata,
        error: error as u16,
        kind,
        nbytes: 0,
        flags: 0,
    };
    let ok = |kind: u8, nbytes: u64| Event {
        userdata,
        error: 0,
        kind,
        nbytes,
        flags: 0,
    };
    let sub = match tag {
        eventtype::CLOCK => {
            let id = mem.load::<u32>(ptr + 16)?;
            let timeout = mem.load::<u64>(ptr + 24)?;
            let flags = mem.load::<u16>(ptr + 40)?;
            let relative = if flags & SUBSCRIPTION_CLOCK_ABSTIME != 0 {
                match clock::now(id) {
                    Ok(now) => Ok(timeout.saturating_sub(now)),
                    Err(e) => Err(e),
                }
            } else {
                clock::host_clock(id).map(|_| timeout)
            };
            match relative {
                Ok(ns) => Sub::Clock(
                    start
                        .checked_add(Duration::from_nanos(ns))
                        // Further off than an Instant reaches: as good as never.
                        .unwrap_or(start + Duration::from_secs(1 << 40)),
                ),
                Err(e) => Sub::Ready(event(tag, e)),
            }
        }
        eventtype::FD_READ | eventtype::FD_WRITE => {
            let fd = mem.load::<u32>(ptr + 16)?;
            let reading = tag == eventtype::FD_READ;
            match ctx.fds.get(fd) {
                Err(e) => Sub::Ready(event(tag, e)),
                Ok(e) if e.require(rights::POLL_FD_READWRITE).is_err() => {
                    Sub::Ready(event(tag, Errno::NotCapable))
                }
                Ok(e) => match &e.kind {
                    Kind::File(f) if reading => {
                        // Bytes left to read from the current position.
                        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                        let pos = (&*f).stream_position().unwrap_or(len);
                        Sub::Ready(ok(tag, len.saturating_sub(pos)))
                    }
                    Kind::File(_) => Sub::Ready(ok(tag, 0)),
                    Kind::Dir(_) => Sub::Ready(event(tag, Errno::Badf)),
                    Kind::Stream(s) if s.is_reader() != reading => {
                        Sub::Ready(event(tag, Errno::Badf))
                    }
                    Kind::Stream(Stream::HostStdin) => Sub::Host(HostFd::Stdin, tag),
                    Kind::Stream(Stream::HostStdout) => Sub::Host(HostFd::Stdout, tag),
                    Kind::Stream(Stream::HostStderr) => Sub::Host(HostFd::Stderr, tag),
                    Kind::Stream(_) => Sub::Ready(ok(tag, 0)),
                },
            }
        }
        _ => return Err(Errno::Inval),
    };
    Ok((userdata, sub))
}

/// Polls the host stdio fds of `subs` for at most `timeout`; returns which are ready.
fn poll_host(subs: &[(usize, HostFd, u8)], timeout: Option<Duration>) -> WasiResult<Vec<usize>> {
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let mut fds: Vec<PollFd<'_>> = subs
        .iter()
        .map(|&(_, h, tag)| {
            let fd = match h {
                HostFd::Stdin => stdin.as_fd(),
                HostFd::Stdout => stdout.as_fd(),
                HostFd::Stderr => stderr.as_fd(),
            };
            let flags = if tag == eventtype::FD_READ {
                PollFlags::IN
            } else {
                PollFlags::OUT
            };
            PollFd::from_borrowed_fd(fd, flags)
        })
        .collect();
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let ts = left.map(|d| rustix::time::Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => break,
        }
    }
    Ok(subs
        .iter()
        .zip(&fds)
        .filter(|(_, p)| !p.revents().is_empty())
        .map(|(&(i, _, _), _)| i)
        .collect())
}

pub fn poll_oneoff(ctx: &WasiCtx, mem: &GuestMemory<'_>, a: &Args<'_>) -> WasiResult {
    let (input, output, n, nevents) = (a.u32(0), a.u32(1), a.u32(2), a.u32(3));
    if n == 0 {
        return Err(Errno::Inval);
    }
    mem.check(input, n.checked_mul(SUBSCRIPTION_SIZE).ok_or(Errno::Fault)?)?;
    mem.check(output, n.checked_mul(EVENT_SIZE).ok_or(Errno::Fault)?)?;
    mem.check(nevents, 4)?;
    let start = Instant::now();
    let mut subs = Vec::with_capacity(n as usize);
    for i in 0..n {
        subs.push(subscription(
            ctx,
            mem,
            u64::from(input + i * SUBSCRIPTION_SIZE),
            start,
        )?);
    }
    let host: Vec<(usize, HostFd, u8)> = subs
        .iter()
        .enumerate()
        .filter_map(|(i, (_, s))| match s {
            Sub::Host(h, tag) => Some((i, *h, *tag)),
            _ => None,
        })
        .collect();
    let ready_now = subs.iter().any(|(_, s)| matches!(s, Sub::Ready(_)));
    let first_clock = subs
        .iter()
        .filter_map(|(_, s)| match s {
            Sub::Clock(t) => Some(*t),
            _ => None,
        })
        .min();
    // Wait only when nothing is ready yet: until the first clock, or a host fd.
    let wait = if ready_now {
        Some(Duration::ZERO)
    } else {
        first_clock.map(|t| t.saturating_duration_since(Instant::now()))
    };
    let host_ready = if host.is_empty() {
        if let Some(w) = wait {
            std::thread::sleep(w);
        }
        Vec::new()
    } else {
        poll_host(&host, wait)?
    };
    let now = Instant::now();
    let mut events = Vec::new();
    for (i, (userdata, s)) in subs.iter().enumerate() {
        match s {
            Sub::Ready(ev) => events.push(*ev),
            Sub::Clock(t) if *t <= now => events.push(Event {
                userdata: *userdata,
                error: 0,
                kind: eventtype::CLOCK,
                nbytes: 0,
                flags: 0,
            }),
            Sub::Host(_, tag) if host_ready.contains(&i) => events.push(Event {
                userdata: *userdata,
                error: 0,
                kind: *tag,
                nbytes: 1,
                flags: 0,
            }),
            _ => {}
        }
    }
    for (k, ev) in events.iter().enumerate() {
        ev.write(mem, output + k as u32 * EVENT_SIZE)?;
    }
    mem.set_u32(nevents, events.len() as u32)
}

//! Loads and stores (plain and indexed) and the memory instructions, on memory 0.

use super::*;
use rwamr_core::RmwOp;

macro_rules! load {
    ($($name:ident: $t:ty => |$v:ident| $e:expr;)*) => {$(
        handler!($name { dst, addr, offset } (ip, fp, cx, acc) {
            let $v = tr_mem!(cx, ip, fp, acc, cx.mem.load::<$t>(u32_of(acc.get(fp, addr)) as u64 + offset as u64));
            acc = Acc::set(fp, dst, $e);
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! load_indexed {
    ($($name:ident: $t:ty => |$v:ident| $e:expr;)*) => {$(
        handler!($name { dst, base, index, offset } (ip, fp, cx, acc) {
            let addr = u32_of(acc.get(fp, base)).wrapping_add(u32_of(acc.get(fp, index)));
            let $v = tr_mem!(cx, ip, fp, acc, cx.mem.load::<$t>(addr as u64 + offset as u64));
            acc = Acc::set(fp, dst, $e);
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! store_indexed {
    ($($name:ident: $t:ty;)*) => {$(
        handler!($name { base, index, src, offset } (ip, fp, cx, acc) {
            let addr = u32_of(acc.get(fp, base)).wrapping_add(u32_of(acc.get(fp, index)));
            tr_mem!(cx, ip, fp, acc, cx.mem.store::<$t>(addr as u64 + offset as u64, acc.get(fp, src) as $t));
            next!(ip.next(), fp, acc)
        });
    )*};
}

macro_rules! store {
    ($($name:ident: $t:ty;)*) => {$(
        handler!($name { addr, src, offset } (ip, fp, cx, acc) {
            let ea = u32_of(acc.get(fp, addr)) as u64 + offset as u64;
            tr_mem!(cx, ip, fp, acc, cx.mem.store::<$t>(ea, acc.get(fp, src) as $t));
            next!(ip.next(), fp, acc)
        });
    )*};
}

load! {
    Load8S: i8 => |v| v as i64 as u64;
    Load8U: u8 => |v| v as u64;
    Load16S: i16 => |v| v as i64 as u64;
    Load16U: u16 => |v| v as u64;
    Load32S: i32 => |v| v as i64 as u64;
    Load32U: u32 => |v| v as u64;
    Load64: u64 => |v| v;
}
load_indexed! {
    Load8SIdx: i8 => |v| v as i64 as u64;
    Load8UIdx: u8 => |v| v as u64;
    Load16SIdx: i16 => |v| v as i64 as u64;
    Load16UIdx: u16 => |v| v as u64;
    Load32SIdx: i32 => |v| v as i64 as u64;
    Load32UIdx: u32 => |v| v as u64;
    Load64Idx: u64 => |v| v;
}
store_indexed! {
    Store8Idx: u8;
    Store16Idx: u16;
    Store32Idx: u32;
    Store64Idx: u64;
}
store! {
    Store8: u8;
    Store16: u16;
    Store32: u32;
    Store64: u64;
}
slow_handler!(MemorySize { dst } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, of_u32(cx.inst.memory(0).size_pages()));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryGrow { dst, delta } (ip, fp, cx, acc) {
    let old = cx.inst.memory(0).grow(u32_of(acc.get(fp, delta)));
    acc = Acc::set(fp, dst, of_u32(old.unwrap_or(u32::MAX)));
    cx.mem = memory_of(cx.inst);
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryFill { at, val, len } (ip, fp, cx, acc) {
    refresh_shared(cx);
    let (at, len) = (u32_of(acc.get(fp, at)) as u64, u32_of(acc.get(fp, len)) as u64);
    tr!(cx, cx.mem.fill(at, acc.get(fp, val) as u8, len, bulk(cx)));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryCopy { to, from, len } (ip, fp, cx, acc) {
    refresh_shared(cx);
    let (to, from) = (u32_of(acc.get(fp, to)) as u64, u32_of(acc.get(fp, from)) as u64);
    tr!(cx, cx.mem.copy_within(to, from, u32_of(acc.get(fp, len)) as u64, bulk(cx)));
    next!(ip.next(), fp, acc)
});
slow_handler!(MemoryInit { data, args } (ip, fp, cx, acc) {
    refresh_shared(cx);
    let bytes = cx.inst.data(data);
    let (to, from, len) = args3(fp, acc, args);
    let (from, len) = (from as usize, len as usize);
    let src = tr!(
        cx,
        bytes
            .get(from..from.saturating_add(len))
            .ok_or(TrapCode::MemoryOutOfBounds)
    );
    tr!(cx, cx.mem.init(to as u64, src, bulk(cx)));
    next!(ip.next(), fp, acc)
});
slow_handler!(DataDrop { data } (ip, fp, cx, acc) {
    cx.inst.drop_data(data);
    next!(ip.next(), fp, acc)
});

// Atomics (core's `memory/atomic.rs`): the address is `addr + offset` as for plain
// accesses; memory 0's view checks alignment and bounds.
handler!(AtomicLoad { dst, addr, offset, width } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, addr)) as u64 + offset as u64;
    let v = tr_mem!(cx, ip, fp, acc, cx.mem.atomic_load(ea, width));
    acc = Acc::set(fp, dst, v);
    next!(ip.next(), fp, acc)
});
handler!(AtomicStore { addr, src, offset, width } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, addr)) as u64 + offset as u64;
    tr_mem!(cx, ip, fp, acc, cx.mem.atomic_store(ea, width, acc.get(fp, src)));
    next!(ip.next(), fp, acc)
});
handler!(AtomicRmw { dst, args, offset, op, width } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, args)) as u64 + offset as u64;
    // The verifier checked `op` is an `RmwOp`.
    let op = RmwOp::from_u8(op).unwrap_or(RmwOp::Xchg);
    let old = tr_mem!(cx, ip, fp, acc, cx.mem.atomic_rmw(ea, width, op, acc.get(fp, args + 1)));
    acc = Acc::set(fp, dst, old);
    next!(ip.next(), fp, acc)
});
handler!(AtomicCmpxchg { dst, args, offset, width } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, args)) as u64 + offset as u64;
    let (expected, replacement) = (acc.get(fp, args + 1), acc.get(fp, args + 2));
    let old = tr_mem!(cx, ip, fp, acc, cx.mem.atomic_cmpxchg(ea, width, expected, replacement));
    acc = Acc::set(fp, dst, old);
    next!(ip.next(), fp, acc)
});
slow_handler!(AtomicWait { dst, args, offset, width } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, args)) as u64 + offset as u64;
    let (expected, timeout) = (acc.get(fp, args + 1), acc.get(fp, args + 2) as i64);
    let memory = cx.inst.memory(0);
    let r = tr!(cx, memory.atomic_wait(ea, width, expected, timeout, bulk(cx).interrupt));
    // Another thread may have grown the memory meanwhile.
    cx.mem = memory_of(cx.inst);
    acc = Acc::set(fp, dst, r as u64);
    next!(ip.next(), fp, acc)
});
slow_handler!(AtomicNotify { dst, args, offset } (ip, fp, cx, acc) {
    let ea = u32_of(acc.get(fp, args)) as u64 + offset as u64;
    let count = u32_of(acc.get(fp, args + 1));
    let woken = tr!(cx, cx.inst.memory(0).atomic_notify(ea, count));
    acc = Acc::set(fp, dst, of_u32(woken));
    next!(ip.next(), fp, acc)
});
handler!(AtomicFence (ip, fp, cx, acc) {
    std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    next!(ip.next(), fp, acc)
});

impl Cx<'_> {
    /// See `tr_mem!`.
    #[cold]
    #[inline(never)]
    pub(super) fn fail_or_retry(&mut self, trap: TrapCode, ip: Ip, fp: Regs) -> SlowStep {
        if trap == TrapCode::MemoryOutOfBounds {
            let now = memory_of(self.inst);
            if now.len() > self.mem.len() {
                self.mem = now;
                return Some((ip, fp));
            }
        }
        self.fail(trap)
    }
}

/// Takes a new view of a shared memory 0, which another thread may have grown (bulk
/// operations check their ranges once, before they start).
fn refresh_shared(cx: &mut Cx<'_>) {
    if cx.inst.memories().first().is_some_and(|m| m.is_shared()) {
        cx.mem = memory_of(cx.inst);
    }
}

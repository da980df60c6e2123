//! Branches, `unreachable`, `select`, and the fuel and deadline checks.

use super::*;

macro_rules! branch_cmp {
    ($($name:ident: $get:ident, $op:tt;)*) => {$(
        handler!($name { lhs, rhs, offset } (ip, fp, cx, acc) {
            if $get(acc.get(fp, lhs)) $op $get(acc.get(fp, rhs)) {
                next!(ip.offset(offset), fp, acc)
            }
            next!(ip.next(), fp, acc)
        });
    )*};
}

handler!(Unreachable(_ip, _fp, cx, acc) {
    cx.fail(TrapCode::Unreachable)
});
handler!(ConsumeFuel { fuel } (ip, fp, cx, acc) {
    cx.meter.charge(fuel as u64);
    next!(ip.next(), fp, acc)
});
handler!(ConsumeFuelCheck { fuel } (ip, fp, cx, acc) {
    if cx.meter.charge(fuel as u64) < 0 {
        return cx.fail(TrapCode::OutOfFuel);
    }
    next!(ip.next(), fp, acc)
});
handler!(CheckDeadline(ip, fp, cx, acc) {
    if cx.epoch.current() >= cx.meter.deadline() {
        return cx.fail(TrapCode::Interrupted);
    }
    next!(ip.next(), fp, acc)
});
handler!(Br { offset } (ip, fp, cx, acc) {
    next!(ip.offset(offset), fp, acc)
});
handler!(BrIfNez { cond, offset } (ip, fp, cx, acc) {
    if u32_of(acc.get(fp, cond)) != 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrIfEqz { cond, offset } (ip, fp, cx, acc) {
    if u32_of(acc.get(fp, cond)) == 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrI64Eqz { cond, offset } (ip, fp, cx, acc) {
    if acc.get(fp, cond) == 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
handler!(BrI64Nez { cond, offset } (ip, fp, cx, acc) {
    if acc.get(fp, cond) != 0 {
        next!(ip.offset(offset), fp, acc)
    }
    next!(ip.next(), fp, acc)
});
branch_cmp! {
    BrI32Eq: u32_of, ==; BrI32Ne: u32_of, !=;
    BrI32LtS: i32_of, <; BrI32LtU: u32_of, <; BrI32GtS: i32_of, >; BrI32GtU: u32_of, >;
    BrI32LeS: i32_of, <=; BrI32LeU: u32_of, <=; BrI32GeS: i32_of, >=; BrI32GeU: u32_of, >=;
    BrI64Eq: u64_of, ==; BrI64Ne: u64_of, !=;
    BrI64LtS: i64_of, <; BrI64LtU: u64_of, <; BrI64GtS: i64_of, >; BrI64GtU: u64_of, >;
    BrI64LeS: i64_of, <=; BrI64LeU: u64_of, <=; BrI64GeS: i64_of, >=; BrI64GeU: u64_of, >=;
}
handler!(BrTable { index, len } (ip, fp, cx, acc) {
    // The table's entries are the `len + 1` `Br`s after this op.
    let i = u32_of(acc.get(fp, index)).min(len);
    next!(ip.offset(1 + i as i32), fp, acc)
});
handler!(Select { out, cond, other } (ip, fp, cx, acc) {
    if u32_of(acc.get(fp, cond)) == 0 {
        acc = Acc::set(fp, out, acc.get(fp, other));
    }
    next!(ip.next(), fp, acc)
});

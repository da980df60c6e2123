//! Copies between slots, and globals.

use super::*;

handler!(Copy { dst, src } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, acc.get(fp, src));
    next!(ip.next(), fp, acc)
});
handler!(Copy2 { to, a, b } (ip, fp, cx, acc) {
    acc = Acc::set(fp, to, acc.get(fp, a));
    acc = Acc::set(fp, to + 1, acc.get(fp, b));
    next!(ip.next(), fp, acc)
});
handler!(GlobalGet { dst, global } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, cx.inst.global(global).get());
    next!(ip.next(), fp, acc)
});
handler!(GlobalSet { src, global } (ip, fp, cx, acc) {
    // SAFETY: a cell the code computed, typed by validation as the global's type (see
    // `table.rs`).
    unsafe { cx.inst.global(global).set(acc.get(fp, src)) };
    next!(ip.next(), fp, acc)
});

//! Table instructions and function references.
//!
//! Writes take cells the running code computed; validation typed them as the table's
//! element type, so a funcref is 0 or a slot of the instance's engine: the contract of
//! core's cell-level table writes.

use super::*;

slow_handler!(TableGet { dst, index, table } (ip, fp, cx, acc) {
    let v = tr!(cx, cx.inst.table(table).get(u32_of(acc.get(fp, index))));
    acc = Acc::set(fp, dst, v);
    next!(ip.next(), fp, acc)
});
slow_handler!(TableSet { index, value, table } (ip, fp, cx, acc) {
    // SAFETY: a cell the code computed (see the module docs).
    tr!(cx, unsafe { cx.inst.table(table).set(u32_of(acc.get(fp, index)), acc.get(fp, value)) });
    next!(ip.next(), fp, acc)
});
slow_handler!(TableSize { dst, table } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, of_u32(cx.inst.table(table).size()));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableGrow { dst, init, delta, table } (ip, fp, cx, acc) {
    // SAFETY: a cell the code computed (see the module docs).
    let old = unsafe { cx.inst.table(table.into()).grow(u32_of(acc.get(fp, delta)), acc.get(fp, init)) };
    acc = Acc::set(fp, dst, of_u32(old.unwrap_or(u32::MAX)));
    next!(ip.next(), fp, acc)
});
slow_handler!(TableFill { at, value, len, table } (ip, fp, cx, acc) {
    let t = cx.inst.table(table.into());
    let bulk = bulk(cx);
    // SAFETY: a cell the code computed (see the module docs).
    tr!(cx, unsafe { t.fill(u32_of(acc.get(fp, at)), acc.get(fp, value), u32_of(acc.get(fp, len)), bulk) });
    next!(ip.next(), fp, acc)
});
slow_handler!(TableCopy { args, dst_table, src_table } (ip, fp, cx, acc) {
    let (d, s) = (cx.inst.table(dst_table.into()), cx.inst.table(src_table.into()));
    let (to, from, len) = args3(fp, acc, args);
    // SAFETY: both tables are the instance's, of its engine.
    tr!(cx, unsafe { d.copy_from(to, s, from, len, bulk(cx)) });
    next!(ip.next(), fp, acc)
});
slow_handler!(TableInit { args, elem, table } (ip, fp, cx, acc) {
    let items = cx.inst.elem_items(elem);
    let (to, from, len) = args3(fp, acc, args);
    // SAFETY: the segment's cells were evaluated in this instance.
    tr!(cx, unsafe { cx.inst.table(table.into()).init(to, &items, from, len, bulk(cx)) });
    next!(ip.next(), fp, acc)
});
slow_handler!(ElemDrop { elem } (ip, fp, cx, acc) {
    cx.inst.drop_elem(elem);
    next!(ip.next(), fp, acc)
});
handler!(RefFunc { dst, func } (ip, fp, cx, acc) {
    acc = Acc::set(fp, dst, cx.inst.func_slot(func).as_cell());
    next!(ip.next(), fp, acc)
});

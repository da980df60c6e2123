//! Calls and returns, and the frames they enter and leave.

use super::*;

/// Zeroes the declared locals and copies the constants in, in blocks of four cells (the
/// translator leaves room after the constants and pads them). Up to 16 of each are set by
/// straight-line code: a loop here becomes a memset/memcpy call, which costs more than
/// the copying on the call path.
#[inline(always)]
pub fn enter_frame(fp: Regs, f: &InterpFunc) {
    let (np, nl) = (f.num_params as usize, f.num_locals as usize);
    let block = |at: usize, cells: &[u64]| fp.cells(at, 4).copy_from_slice(&cells[..4]);
    let zeros = [0u64; 4];
    let n = nl - np;
    if n <= 16 {
        for k in [0, 4, 8, 12] {
            if n > k {
                block(np + k, &zeros);
            }
        }
    } else {
        fp.cells(np, n).fill(0);
    }
    let c = &f.consts;
    if c.len() <= 16 {
        for k in [0, 4, 8, 12] {
            if c.len() > k {
                block(nl + k, &c[k..]);
            }
        }
    } else {
        fp.cells(nl, c.len()).copy_from_slice(c);
    }
}

/// Calls the function of `entry` with its arguments at slot `base` of `fp`.
#[inline(always)]
fn call<'x>(entry: &'x FuncEntry, base: Slot, ip: Ip, fp: Regs, cx: &mut Cx<'x>) -> Step {
    if let Some(callee) = entry.code_as::<InterpFunc>() {
        let inst = entry.instance();
        // Another instance: this thread must hold it (core's `exclusive.rs`).
        if !std::ptr::eq(inst, cx.inst) && !rwamr_core::exclusive::holds(inst) && !hold(inst, cx) {
            return None;
        }
        // The stack budget (core's `meter.rs`) first: it decides in every mode alike.
        // The value stack holds more than the budget allows; its own check is the
        // backstop the unchecked frame accesses rely on.
        if !cx.meter.push_frame(callee.frame_bytes) {
            return cx.fail(TrapCode::StackOverflow);
        }
        let Some(callee_fp) = cx.stack.frame(fp, base, callee.frame_size) else {
            return cx.fail(TrapCode::StackOverflow);
        };
        cx.frames.push(Activation {
            func: cx.func,
            inst: cx.inst,
            fp,
            ret: ip.next(),
        });
        enter_frame(callee_fp, callee);
        cx.func = callee;
        if !std::ptr::eq(inst, cx.inst) {
            cx.inst = inst;
            cx.mem = memory_of(inst);
        }
        next!(Ip::start(&callee.ops), callee_fp, Acc::NONE)
    }
    call_out(entry, base, ip, fp, cx).into_step()
}

/// Makes the thread hold `inst`, which it enters; false (with the trap set) when it
/// cannot. Out of line, like `call_out`.
#[cold]
#[inline(never)]
fn hold(inst: &Instance, cx: &mut Cx<'_>) -> bool {
    match rwamr_core::exclusive::enter_slow(inst) {
        Ok(()) => true,
        Err(t) => {
            cx.fail::<()>(t);
            false
        }
    }
}

/// Calls a host function or another tier's code. Out of line: its result temporaries
/// must not sit in the frame of a handler (see `handler!`). They run on the native stack
/// and may re-enter the interpreter, which continues from the stack budget left here.
#[inline(never)]
fn call_out<'x>(entry: &'x FuncEntry, base: Slot, ip: Ip, fp: Regs, cx: &mut Cx<'x>) -> SlowStep {
    let ty = &entry.ty;
    let n = ty.params().len().max(ty.results().len());
    let cells = fp.cells(base as usize, n);
    let result = match &entry.code {
        // SAFETY: the entry's own code; `cells` are the callee's `max(params, results)`
        // cells of this frame (the translator reserved them), holding validated
        // arguments.
        FuncCode::Wasm(code) => unsafe { code.call(entry, cells) },
        FuncCode::Host(h) => h.call_cells(cx.inst, cells),
    };
    tr!(cx, result);
    cx.mem = memory_of(cx.inst);
    next!(ip.next(), fp, Acc::NONE)
}

/// Returns to the caller, or ends the run when this is the outermost function.
#[inline(always)]
fn ret(cx: &mut Cx<'_>) -> Step {
    match cx.frames.pop() {
        // (The outermost frame's budget comes back when the entry ends.)
        None => cx.finish(),
        Some(a) => {
            cx.meter.pop_frame(cx.func.frame_bytes);
            cx.func = a.func;
            cx.inst = a.inst;
            // The callee may have grown the memory.
            cx.mem = memory_of(cx.inst);
            next!(a.ret, a.fp, Acc::NONE)
        }
    }
}

handler!(Return(_ip, _fp, cx, acc) {
    ret(cx)
});
handler!(ReturnSlot { src } (_ip, fp, cx, acc) {
    fp.set(0, acc.get(fp, src));
    ret(cx)
});
handler!(ReturnMany { src, len } (_ip, fp, cx, acc) {
    for i in 0..len as Slot {
        fp.set(i, acc.get(fp, src + i));
    }
    ret(cx)
});
handler!(Call { func, base } (ip, fp, cx, acc) {
    let inst = cx.inst;
    let entry = inst.func_slot(func).entry(cx.guard);
    call(entry, base, ip, fp, cx)
});
handler!(CallIndirect { sig, table, index, base } (ip, fp, cx, acc) {
    let inst = cx.inst;
    // SAFETY: `inst` is running, and it owns or imports the table, which keeps the
    // table's owner alive.
    let slot = tr!(cx, unsafe { inst.table(table.into()).func_at(u32_of(acc.get(fp, index)), cx.guard) });
    let entry = slot.entry(cx.guard);
    if entry.sig != inst.sig(sig) {
        return cx.fail(TrapCode::BadSignature);
    }
    call(entry, base, ip, fp, cx)
});

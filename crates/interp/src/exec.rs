//! The entry into the interpreter from outside (the host, another tier): sets up a value
//! stack and the root frame, runs the handlers (`dispatch.rs`, `handlers/`) and, on a
//! trap, records the wasm frames. Calls between interpreted functions never come back
//! here (no Rust recursion), so deep wasm recursion ends in the deterministic "call
//! stack exhausted" trap, never a host stack overflow.

use crate::bytecode::{InterpFunc, Slot};
use crate::dispatch::{run, Cx, Done};
use crate::handlers::{enter_frame, memory_of};
use crate::stack::{self, Ip, Stack};
use rwamr_core::{FuncEntry, Meter, Trap, TrapCode};

/// Native stack an entry leaves for what runs after it (host functions, nested entries):
/// wasm -> host -> wasm recursion nests entries on the native stack, and must end in
/// "call stack exhausted" before the thread's stack runs out.
const NATIVE_STACK_RESERVE: usize = 256 * 1024;

/// The cells of a value stack for a stack budget of `budget` bytes: twice what the
/// budget's frames can need (a frame's cells cost 8 bytes each of the budget, plus its
/// overhead), so the budget decides, not the value stack.
fn value_stack_cells(budget: usize) -> usize {
    budget / 4 + 4096
}

/// Runs `func` (the code of `entry`) with arguments in `cells`; leaves the results there.
pub fn execute(entry: &FuncEntry, func: &InterpFunc, cells: &mut [u64]) -> Result<(), Trap> {
    let inst = entry.instance();
    let budget = inst.engine().limits().max_wasm_stack;
    if stacker::remaining_stack().is_some_and(|r| r < NATIVE_STACK_RESERVE) {
        return Err(Trap::new(TrapCode::StackOverflow));
    }
    let mut run_on = |meter: &Meter, cells_of_stack: &mut [u64]| {
        // The stack budget as it is now comes back however the run ends.
        let _entry = meter.enter(inst.engine());
        // Held until the entry ends (core's `exclusive.rs`).
        rwamr_core::exclusive::enter(inst)?;
        if !meter.push_frame(func.frame_bytes) {
            return Err(Trap::new(TrapCode::StackOverflow));
        }
        let stack = Stack::new(cells_of_stack);
        let Some(fp) = stack.root(func.frame_size) else {
            return Err(Trap::new(TrapCode::StackOverflow));
        };
        let np = func.num_params as usize;
        fp.cells(0, np).copy_from_slice(&cells[..np]);
        enter_frame(fp, func);
        // Every entry this run reads stays alive until the guard drops (see core's slot).
        let guard = rwamr_core::slot::pin();
        let mut cx = Cx {
            inst,
            func,
            mem: memory_of(inst),
            frames: Vec::new(),
            stack,
            guard: &guard,
            meter,
            epoch: inst.engine().epoch(),
            trap: None,
            done: Done::Trap,
            resume: None,
        };
        match run(Ip::start(&func.ops), fp, &mut cx) {
            Done::Return => {}
            _ => return Err(backtrace(&mut cx)),
        }
        let nr = entry.ty.results().len();
        for (i, c) in cells[..nr].iter_mut().enumerate() {
            *c = fp.get(i as Slot);
        }
        Ok(())
    };
    rwamr_core::meter::with_meter(|meter| {
        stack::with_stack(value_stack_cells(budget), |s| run_on(meter, s))
    })
}

/// The trap of a run, with the wasm frames that were active, innermost first.
fn backtrace(cx: &mut Cx<'_>) -> Trap {
    let mut trap = cx
        .trap
        .take()
        .unwrap_or_else(|| Trap::host("interpreter stopped without a trap"));
    if trap.code() != TrapCode::Exit {
        let callers = cx.frames.iter().rev().map(|a| (a.inst, a.func));
        for (inst, func) in std::iter::once((cx.inst, cx.func))
            .chain(callers)
            .take(Trap::MAX_FRAMES)
        {
            let name = inst
                .module()
                .and_then(|m| m.known_func_name(func.func_index));
            trap.push_frame(inst.name(), func.func_index, name);
        }
        trap.note_omitted_frames((cx.frames.len() + 1).saturating_sub(Trap::MAX_FRAMES));
    }
    trap
}

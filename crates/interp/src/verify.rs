//! Checks a translated function before it may run: every slot inside the frame, every
//! branch inside the code, atomic accesses of the widths wasm has, the code ending in a
//! jump or return. The executor's unchecked frame accesses rely on this (see
//! `stack.rs`).

use crate::bytecode::Instr;
use rwamr_core::{Error, Module, Result};

pub fn verify(code: &[Instr], frame_size: u32, module: &Module) -> Result<()> {
    let n = code.len();
    let bug = |pc: usize, what: &str| {
        Err(Error::invalid(format!(
            "interpreter translation error at instruction {pc}: {what} (please report)"
        )))
    };
    for (pc, ins) in code.iter().enumerate() {
        let mut i = *ins;
        let mut slots_ok = true;
        i.for_each_slot(|s| slots_ok &= *s < frame_size);
        if !slots_ok {
            return bug(pc, "slot outside the frame");
        }
        let target_ok = |offset: i32| {
            let t = pc as i64 + offset as i64;
            t >= 0 && (t as usize) < n
        };
        if let Some(offset) = i.offset_mut() {
            if !target_ok(*offset) {
                return bug(pc, "branch outside the code");
            }
        }
        match *ins {
            Instr::BrTable { len, .. } => {
                let end = pc + 1 + len as usize;
                if end >= n
                    || !code[pc + 1..=end]
                        .iter()
                        .all(|e| matches!(e, Instr::Br { .. }))
                {
                    return bug(pc, "malformed branch table");
                }
            }
            Instr::Copy2 { to, .. } if to as u64 + 1 >= frame_size as u64 => {
                return bug(pc, "copy outside the frame");
            }
            Instr::MemoryInit { args, .. }
            | Instr::TableCopy { args, .. }
            | Instr::TableInit { args, .. }
                if args as u64 + 2 >= frame_size as u64 =>
            {
                return bug(pc, "operands outside the frame");
            }
            Instr::AtomicLoad { width, .. }
            | Instr::AtomicStore { width, .. }
            | Instr::AtomicCmpxchg { width, .. }
                if !matches!(width, 1 | 2 | 4 | 8) =>
            {
                return bug(pc, "atomic access of a width wasm has not");
            }
            Instr::AtomicRmw { op, width, .. }
                if !matches!(width, 1 | 2 | 4 | 8) || rwamr_core::RmwOp::from_u8(op).is_none() =>
            {
                return bug(pc, "atomic read-modify-write wasm has not");
            }
            Instr::AtomicWait { width, .. } if !matches!(width, 4 | 8) => {
                return bug(pc, "wait of a width wasm has not");
            }
            Instr::AtomicRmw { args, .. } | Instr::AtomicNotify { args, .. }
                if args as u64 + 1 >= frame_size as u64 =>
            {
                return bug(pc, "operands outside the frame");
            }
            Instr::AtomicCmpxchg { args, .. } | Instr::AtomicWait { args, .. }
                if args as u64 + 2 >= frame_size as u64 =>
            {
                return bug(pc, "operands outside the frame");
            }
            Instr::ReturnMany { src, len } if src as u64 + len as u64 > frame_size as u64 => {
                return bug(pc, "results outside the frame");
            }
            Instr::Call { func, .. } if func as usize >= module.funcs.len() => {
                return bug(pc, "call of an unknown function");
            }
            _ => {}
        }
    }
    match code.last() {
        Some(
            Instr::Br { .. }
            | Instr::Return
            | Instr::ReturnSlot { .. }
            | Instr::ReturnMany { .. }
            | Instr::Unreachable,
        ) => Ok(()),
        _ => bug(n, "code does not end in a jump or return"),
    }
}

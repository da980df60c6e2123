//! What a function body refers to by index, and whether a running instance has the
//! same things at those indices: the condition for running a body from a new version
//! of a module in an old instance's context.

use rwamr_core::module::shown_name;
use rwamr_core::{Error, Module, Result};
use std::collections::BTreeSet;
use wasmparser::{BlockType, Operator as O};

/// The indices a body uses.
#[derive(Debug, Default)]
pub struct Usage {
    pub funcs: BTreeSet<u32>,
    pub types: BTreeSet<u32>,
    pub globals: BTreeSet<u32>,
    pub tables: BTreeSet<u32>,
    pub memory: bool,
    pub datas: BTreeSet<u32>,
    pub elems: BTreeSet<u32>,
}

/// Scans the body of function `index` of `module`.
pub fn body_usage(module: &Module, index: u32) -> Result<Usage> {
    let mut u = Usage::default();
    let body = module.func_body(index);
    let mut ops = body
        .get_operators_reader()
        .map_err(|e| Error::malformed(e.message().to_string()))?;
    while !ops.eof() {
        let op = ops
            .read()
            .map_err(|e| Error::malformed(e.message().to_string()))?;
        match op {
            O::Call { function_index } | O::RefFunc { function_index } => {
                u.funcs.insert(function_index);
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                u.types.insert(type_index);
                u.tables.insert(table_index);
            }
            O::Block { blockty } | O::Loop { blockty } | O::If { blockty } => {
                if let BlockType::FuncType(t) = blockty {
                    u.types.insert(t);
                }
            }
            O::GlobalGet { global_index } | O::GlobalSet { global_index } => {
                u.globals.insert(global_index);
            }
            O::TableGet { table }
            | O::TableSet { table }
            | O::TableSize { table }
            | O::TableGrow { table }
            | O::TableFill { table } => {
                u.tables.insert(table);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                u.tables.insert(dst_table);
                u.tables.insert(src_table);
            }
            O::TableInit { elem_index, table } => {
                u.tables.insert(table);
                u.elems.insert(elem_index);
            }
            O::ElemDrop { elem_index } => {
                u.elems.insert(elem_index);
            }
            O::MemoryInit { data_index, .. } => {
                u.memory = true;
                u.datas.insert(data_index);
            }
            O::DataDrop { data_index } => {
                u.datas.insert(data_index);
            }
            O::MemorySize { .. }
            | O::MemoryGrow { .. }
            | O::MemoryFill { .. }
            | O::MemoryCopy { .. }
            | O::I32Load { .. }
            | O::I64Load { .. }
            | O::F32Load { .. }
            | O::F64Load { .. }
            | O::I32Load8S { .. }
            | O::I32Load8U { .. }
            | O::I32Load16S { .. }
            | O::I32Load16U { .. }
            | O::I64Load8S { .. }
            | O::I64Load8U { .. }
            | O::I64Load16S { .. }
            | O::I64Load16U { .. }
            | O::I64Load32S { .. }
            | O::I64Load32U { .. }
            | O::I32Store { .. }
            | O::I64Store { .. }
            | O::F32Store { .. }
            | O::F64Store { .. }
            | O::I32Store8 { .. }
            | O::I32Store16 { .. }
            | O::I64Store8 { .. }
            | O::I64Store16 { .. }
            | O::I64Store32 { .. } => u.memory = true,
            _ => {}
        }
    }
    Ok(u)
}

/// Checks that everything `u` refers to in `new` is the same in `old` (the running
/// instance's module). The error says what differs.
pub fn check_compatible(old: &Module, new: &Module, u: &Usage) -> Result<(), String> {
    for &f in &u.funcs {
        if f as usize >= old.funcs.len() {
            return Err(format!(
                "it calls or references function {f}, which the running instance does not have"
            ));
        }
        let (ot, nt) = (old.func_type(f), new.func_type(f));
        if ot != nt {
            return Err(format!(
                "it calls function {f}, which has type {ot} in the running instance but {nt} in the new version"
            ));
        }
        if let (Some(a), Some(b)) = (old.known_func_name(f), new.known_func_name(f)) {
            if a != b {
                let (a, b) = (shown_name(a), shown_name(b));
                return Err(format!(
                    "it calls function {f}, which is `{a}` in the running instance but `{b}` in the new version (functions were reordered)"
                ));
            }
        }
    }
    for &t in &u.types {
        match old.types.get(t as usize) {
            Some(ot) if *ot == new.types[t as usize] => {}
            _ => {
                return Err(format!(
                    "it uses type {t} ({}), which the running instance defines differently",
                    new.types[t as usize]
                ))
            }
        }
    }
    for &g in &u.globals {
        match old.globals.get(g as usize) {
            Some(og) if *og == new.globals[g as usize] => {}
            Some(og) => {
                return Err(format!(
                    "it uses global {g}, which is {og:?} in the running instance but {:?} in the new version",
                    new.globals[g as usize]
                ))
            }
            None => {
                return Err(format!(
                    "it uses global {g}, which the running instance does not have"
                ))
            }
        }
    }
    for &t in &u.tables {
        match old.tables.get(t as usize) {
            Some(ot) if ot.elem == new.tables[t as usize].elem => {}
            _ => {
                return Err(format!(
                    "it uses table {t}, which the running instance does not have with that element type"
                ))
            }
        }
    }
    if u.memory && old.memories.is_empty() {
        return Err("it uses linear memory, which the running instance does not have".into());
    }
    for &d in &u.datas {
        if d as usize >= old.datas.len() {
            return Err(format!(
                "it uses data segment {d}, which the running instance does not have"
            ));
        }
    }
    for &e in &u.elems {
        match old.elems.get(e as usize) {
            Some(oe) if oe.ty == new.elems[e as usize].ty => {}
            _ => {
                return Err(format!(
                    "it uses element segment {e}, which the running instance does not have with that type"
                ))
            }
        }
    }
    Ok(())
}

//! What a function body refers to by index, and whether a running instance has the
//! same things at those indices: the condition for running a body from a new version
//! of a module in an old instance's context.
//!
//! **The rule.** An operator reaches instance state only through its immediates, so the
//! scan is derived from wasmparser's list of every operator with its immediates (the
//! list the translators' visitor comes from, see core's `translate.rs`): each immediate
//! is recorded by its name in [`uses!`], and an immediate name the macro does not know
//! does not compile. An operator of any proposal, atomics, SIMD or exceptions alike,
//! therefore cannot be missed: a new one either names a known immediate, and is
//! recorded, or breaks the build here. (SIMD operators arrive through wasmparser's
//! separate SIMD visitor, which this scan does not offer: with wasmparser's `simd`
//! feature on, reading one is an error, so such a body is refused, never let through.)

use rwamr_core::module::shown_name;
use rwamr_core::{Error, Module, Result};
use std::collections::BTreeSet;
use wasmparser::{
    BlockType, BrTable, Catch, Handle, HeapType, MemArg, MemArgTarget, Ordering, RefType,
    ResumeTable, TryTable, UnpackedIndex, ValType, VisitOperator,
};

/// The indices a body uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub funcs: BTreeSet<u32>,
    pub types: BTreeSet<u32>,
    pub globals: BTreeSet<u32>,
    pub tables: BTreeSet<u32>,
    pub memories: BTreeSet<u32>,
    pub datas: BTreeSet<u32>,
    pub elems: BTreeSet<u32>,
    pub tags: BTreeSet<u32>,
}

impl Usage {
    fn memarg(&mut self, m: &MemArg) {
        match m.target {
            MemArgTarget::Memory(i) => self.memories.insert(i),
            MemArgTarget::Array(t) => self.types.insert(t),
        };
    }

    fn heap_type(&mut self, h: HeapType) {
        match h {
            HeapType::Concrete(i) | HeapType::Exact(i) => self.type_index(i),
            HeapType::Abstract { .. } => {}
        }
    }

    fn type_index(&mut self, i: UnpackedIndex) {
        if let UnpackedIndex::Module(t) = i {
            self.types.insert(t);
        }
    }

    fn ref_type(&mut self, r: RefType) {
        self.heap_type(r.heap_type());
    }

    fn val_type(&mut self, v: ValType) {
        if let ValType::Ref(r) = v {
            self.ref_type(r);
        }
    }

    fn block_type(&mut self, b: BlockType) {
        match b {
            BlockType::Empty => {}
            BlockType::Type(v) => self.val_type(v),
            BlockType::FuncType(t) => {
                self.types.insert(t);
            }
        }
    }

    fn try_table(&mut self, t: &TryTable) {
        self.block_type(t.ty);
        for c in &t.catches {
            match *c {
                Catch::One { tag, .. } | Catch::OneRef { tag, .. } => {
                    self.tags.insert(tag);
                }
                Catch::All { .. } | Catch::AllRef { .. } => {}
            }
        }
    }

    fn resume_table(&mut self, t: &ResumeTable) {
        for h in &t.handlers {
            match *h {
                Handle::OnLabel { tag, .. } | Handle::OnSwitch { tag } => self.tags.insert(tag),
            };
        }
    }
}

/// Records immediate `$arg` (named `$name` in wasmparser's list) in usage `$u`. Every
/// name of the list is here; one that is not does not compile (see the module docs).
macro_rules! uses {
    ($u:ident, memarg, $v:ident) => {
        $u.memarg(&$v)
    };
    ($u:ident, mem, $v:ident) => {
        $u.memories.insert($v)
    };
    ($u:ident, dst_mem, $v:ident) => {
        $u.memories.insert($v)
    };
    ($u:ident, src_mem, $v:ident) => {
        $u.memories.insert($v)
    };
    ($u:ident, function_index, $v:ident) => {
        $u.funcs.insert($v)
    };
    ($u:ident, global_index, $v:ident) => {
        $u.globals.insert($v)
    };
    ($u:ident, table, $v:ident) => {
        $u.tables.insert($v)
    };
    ($u:ident, table_index, $v:ident) => {
        $u.tables.insert($v)
    };
    ($u:ident, dst_table, $v:ident) => {
        $u.tables.insert($v)
    };
    ($u:ident, src_table, $v:ident) => {
        $u.tables.insert($v)
    };
    ($u:ident, data_index, $v:ident) => {
        $u.datas.insert($v)
    };
    ($u:ident, array_data_index, $v:ident) => {
        $u.datas.insert($v)
    };
    ($u:ident, elem_index, $v:ident) => {
        $u.elems.insert($v)
    };
    ($u:ident, array_elem_index, $v:ident) => {
        $u.elems.insert($v)
    };
    ($u:ident, tag_index, $v:ident) => {
        $u.tags.insert($v)
    };
    ($u:ident, type_index, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, struct_type_index, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, array_type_index, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, array_type_index_dst, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, array_type_index_src, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, cont_type_index, $v:ident) => {
        $u.types.insert($v)
    };
    ($u:ident, blockty, $v:ident) => {
        $u.block_type($v)
    };
    ($u:ident, hty, $v:ident) => {
        $u.heap_type($v)
    };
    ($u:ident, from_ref_type, $v:ident) => {
        $u.ref_type($v)
    };
    ($u:ident, to_ref_type, $v:ident) => {
        $u.ref_type($v)
    };
    ($u:ident, ty, $v:ident) => {
        $u.val_type($v)
    };
    ($u:ident, tys, $v:ident) => {
        $v.into_iter().for_each(|t| $u.val_type(t))
    };
    ($u:ident, try_table, $v:ident) => {
        $u.try_table(&$v)
    };
    ($u:ident, resume_table, $v:ident) => {
        $u.resume_table(&$v)
    };
    // Immediates that index nothing of the instance: locals, labels, lanes, constants,
    // orderings, fields of a type recorded with them, counts.
    ($u:ident, local_index, $v:ident) => {
        let _: u32 = $v;
    };
    ($u:ident, relative_depth, $v:ident) => {
        let _: u32 = $v;
    };
    ($u:ident, targets, $v:ident) => {
        let _: BrTable<'_> = $v;
    };
    ($u:ident, lane, $v:ident) => {
        let _: u8 = $v;
    };
    ($u:ident, lanes, $v:ident) => {
        let _ = $v;
    };
    ($u:ident, value, $v:ident) => {
        let _ = $v;
    };
    ($u:ident, ordering, $v:ident) => {
        let _: Ordering = $v;
    };
    ($u:ident, field_index, $v:ident) => {
        let _: u32 = $v;
    };
    ($u:ident, array_size, $v:ident) => {
        let _: u32 = $v;
    };
    ($u:ident, result_index, $v:ident) => {
        let _: u32 = $v;
    };
    ($u:ident, argument_index, $v:ident) => {
        let _: u32 = $v;
    };
}

/// The scan's visitor: one method per operator of wasmparser's list, recording each
/// immediate with [`uses!`].
struct Scan(Usage);

macro_rules! scan_methods {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                let _u = &mut self.0;
                $($( uses!(_u, $arg, $arg); )*)?
            }
        )*
    };
}

impl<'a> VisitOperator<'a> for Scan {
    type Output = ();
    wasmparser::for_each_visit_operator!(scan_methods);
}

/// Scans the body of function `index` of `module`: its locals' types and every
/// operator's immediates.
pub fn body_usage(module: &Module, index: u32) -> Result<Usage> {
    let malformed = |e: wasmparser::BinaryReaderError| Error::malformed(e.message().to_string());
    let body = module.func_body(index);
    let mut scan = Scan(Usage::default());
    for local in body.get_locals_reader().map_err(malformed)? {
        let (_, ty) = local.map_err(malformed)?;
        scan.0.val_type(ty);
    }
    let mut ops = body.get_operators_reader().map_err(malformed)?;
    while !ops.eof() {
        ops.visit_operator(&mut scan).map_err(malformed)?;
    }
    Ok(scan.0)
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
    for &m in &u.memories {
        let Some(om) = old.memories.get(m as usize) else {
            return Err(format!(
                "it uses linear memory {m}, which the running instance does not have"
            ));
        };
        if om.shared != new.memories[m as usize].shared {
            let shared = |s: bool| if s { "shared" } else { "not shared" };
            return Err(format!(
                "it uses linear memory {m}, which is {} in the running instance but {} in the new version",
                shared(om.shared),
                shared(new.memories[m as usize].shared)
            ));
        }
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
    // No supported proposal defines tags yet: a body that names one cannot run here.
    if let Some(t) = u.tags.first() {
        return Err(format!(
            "it uses tag {t}, which the running instance does not have"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(text: &str) -> Module {
        Module::new(&wat::parse_str(text).expect("test module text")).expect("valid module")
    }

    fn set(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    /// The usage of the last function of `m`.
    fn last_usage(m: &Module) -> Usage {
        body_usage(m, m.funcs.len() as u32 - 1).unwrap()
    }

    #[test]
    fn every_kind_of_index_is_recorded() {
        let m = module(
            r#"(module
            (type $t (func (param i32) (result i32)))
            (type $v (func))
            (import "m" "f" (func $imp))
            (memory 1)
            (global $g0 (mut i32) (i32.const 0))
            (global $g1 (mut i32) (i32.const 0))
            (table $t0 1 funcref) (table $t1 1 funcref) (table $t2 1 externref)
            (data $d0 "a") (data $d1 "b")
            (elem $e0 func $imp) (elem $e1 funcref (ref.null func))
            (elem declare func $other)
            (func $other)
            (func
                (call $imp)
                (drop (ref.func $other))
                (drop (call_indirect $t1 (type $t) (i32.const 0) (i32.const 0)))
                (block (type $v))
                (global.set $g1 (global.get $g1))
                (table.copy $t0 $t1 (i32.const 0) (i32.const 0) (i32.const 0))
                (table.init $t0 $e1 (i32.const 0) (i32.const 0) (i32.const 0))
                (elem.drop $e0)
                (drop (table.size $t2))
                (memory.init $d1 (i32.const 0) (i32.const 0) (i32.const 0))
                (data.drop $d0)))"#,
        );
        assert_eq!(
            last_usage(&m),
            Usage {
                funcs: set(&[0, 1]),
                types: set(&[0, 1]),
                globals: set(&[1]),
                tables: set(&[0, 1, 2]),
                memories: set(&[0]),
                datas: set(&[0, 1]),
                elems: set(&[0, 1]),
                tags: set(&[]),
            }
        );
    }

    #[test]
    fn atomic_operators_use_memory_and_a_fence_does_not() {
        for op in [
            "(drop (i32.atomic.load (i32.const 0)))",
            "(i64.atomic.store32 (i32.const 0) (i64.const 1))",
            "(drop (i32.atomic.rmw8.xchg_u (i32.const 0) (i32.const 1)))",
            "(drop (i64.atomic.rmw.cmpxchg (i32.const 0) (i64.const 1) (i64.const 2)))",
            "(drop (memory.atomic.notify (i32.const 0) (i32.const 1)))",
            "(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))",
        ] {
            let m = module(&format!("(module (memory 1 1 shared) (func {op}))"));
            assert_eq!(last_usage(&m).memories, set(&[0]), "{op}");
        }
        let m = module("(module (memory 1) (func (atomic.fence) (drop (i32.add (i32.const 1) (i32.const 2)))))");
        assert_eq!(last_usage(&m), Usage::default());
    }

    /// Whether the last function of `new` can run in an instance of `old`.
    fn compatible(old: &str, new: &str) -> Result<(), String> {
        let (old, new) = (module(old), module(new));
        check_compatible(&old, &new, &last_usage(&new))
    }

    #[test]
    fn what_differs_is_named() {
        let cases = [
            (
                "(module (func))",
                "(module (func $g (result i32) (i32.const 0)) (func (drop (call $g))))",
                "function 0, which has type",
            ),
            (
                "(module (func))",
                "(module (func) (func $g) (func (call $g)))",
                "function 1, which the running instance does not have",
            ),
            (
                "(module (func $a) (func $b))",
                "(module (func $b) (func $a) (func (call $a)))",
                "`b` in the running instance but `a` in the new version",
            ),
            (
                "(module (type (func)) (table 1 funcref) (func))",
                "(module (type (func (result i32))) (table 1 funcref)
                    (func (drop (call_indirect (type 0) (i32.const 0)))))",
                "it uses type 0",
            ),
            (
                "(module (global i32 (i32.const 0)) (func))",
                "(module (global i64 (i64.const 0)) (func (drop (global.get 0))))",
                "it uses global 0",
            ),
            (
                "(module (func))",
                "(module (global i64 (i64.const 0)) (func (drop (global.get 0))))",
                "global 0, which the running instance does not have",
            ),
            (
                "(module (table 1 externref) (func))",
                "(module (table 1 funcref) (func (drop (table.size 0))))",
                "table 0, which the running instance does not have with that element type",
            ),
            (
                "(module (func))",
                "(module (memory 1) (func (drop (memory.size))))",
                "linear memory 0, which the running instance does not have",
            ),
            (
                "(module (memory 1 1 shared) (func))",
                "(module (memory 1 1) (func (drop (memory.size))))",
                "shared in the running instance but not shared in the new version",
            ),
            (
                "(module (memory 1) (func))",
                r#"(module (memory 1) (data "x") (func (data.drop 0)))"#,
                "data segment 0",
            ),
            (
                "(module (elem externref) (func))",
                "(module (elem funcref) (func (elem.drop 0)))",
                "element segment 0",
            ),
        ];
        for (old, new, why) in cases {
            let e = compatible(old, new).unwrap_err();
            assert!(e.contains(why), "{new}: {e}");
        }
        // The same items, more of them in the new version: compatible.
        compatible(
            "(module (memory 1) (global (mut i32) (i32.const 0)) (func $a))",
            "(module (memory 2) (global (mut i32) (i32.const 5)) (global i64 (i64.const 0))
                (func $a) (func (call $a) (global.set 0 (i32.load (i32.const 0)))))",
        )
        .unwrap();
    }
}

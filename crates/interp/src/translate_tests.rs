//! Per-construct translation tests: the bytecode a small function turns into.

use crate::bytecode::Instr::{self, *};
use rwamr_core::Module;

/// Translates the last function of `wat` (params first, so slot numbers are readable).
fn code(wat: &str) -> Vec<Instr> {
    let module = Module::new(&wat::parse_str(wat).unwrap()).unwrap();
    let last = module.funcs.len() as u32 - 1;
    crate::translate::translate(&module, last, rwamr_core::Metering::default())
        .unwrap()
        .code()
        .copied()
        .collect()
}

#[test]
fn operands_name_locals_and_constants_directly() {
    // slot 0 = param, slot 1 = the constant 7, temporaries from 2.
    let c = code("(module (func (param i32) (result i32) local.get 0 i32.const 7 i32.add))");
    assert_eq!(
        c,
        vec![
            I32Add {
                dst: 2,
                lhs: 0,
                rhs: 1
            },
            ReturnSlot { src: 2 }
        ]
    );
}

#[test]
fn local_set_retargets_the_computing_instruction() {
    let c = code(
        "(module (func (param i32) (local i32)
            local.get 0 i32.const 1 i32.add local.set 1))",
    );
    assert_eq!(
        c,
        vec![
            I32Add {
                dst: 1,
                lhs: 0,
                rhs: 2
            },
            Return
        ]
    );
}

#[test]
fn stacked_local_is_preserved_before_it_is_overwritten() {
    // local.get 0 stays on the stack while local 0 is set: it must keep the old value.
    let c = code(
        "(module (func (param i32) (result i32)
            local.get 0 i32.const 5 local.set 0 local.get 0 i32.add))",
    );
    assert_eq!(
        c,
        vec![
            Copy { dst: 2, src: 0 },
            Copy { dst: 0, src: 1 },
            I32Add {
                dst: 2,
                lhs: 2,
                rhs: 0
            },
            ReturnSlot { src: 2 },
        ]
    );
}

#[test]
fn compare_fuses_with_br_if_and_if() {
    let c = code(
        "(module (func (param i32 i32)
            (block (br_if 0 (i32.lt_s (local.get 0) (local.get 1))))
            (if (i32.eqz (local.get 0)) (then nop))))",
    );
    assert_eq!(
        c,
        vec![
            BrI32LtS {
                lhs: 0,
                rhs: 1,
                offset: 1
            },
            BrIfNez { cond: 0, offset: 1 },
            Return,
        ]
    );
}

#[test]
fn block_results_go_to_the_label_slots() {
    let c = code(
        "(module (func (param i32) (result i32)
            (block (result i32) (br_if 0 (i32.const 3) (local.get 0)) drop (i32.const 4))))",
    );
    assert_eq!(
        c,
        vec![
            BrIfEqz { cond: 0, offset: 3 },
            Copy { dst: 3, src: 1 },
            Br { offset: 2 },
            Copy { dst: 3, src: 2 },
            ReturnSlot { src: 3 },
        ]
    );
}

#[test]
fn call_arguments_are_consecutive_temporaries_copied_pairwise() {
    let c = code(
        "(module
            (func $f (param i32 i32) (result i32) local.get 0)
            (func (param i32) (result i32) (call $f (local.get 0) (i32.const 9))))",
    );
    assert_eq!(
        c,
        vec![
            Copy2 { to: 2, a: 0, b: 1 },
            Call { func: 0, base: 2 },
            ReturnSlot { src: 2 },
        ]
    );
}

#[test]
fn several_results_return_from_temporaries() {
    let c = code("(module (func (param i64 i64) (result i64 i64) local.get 1 local.get 0))");
    assert_eq!(
        c,
        vec![Copy2 { to: 2, a: 1, b: 0 }, ReturnMany { src: 2, len: 2 }]
    );
}

#[test]
fn address_add_fuses_into_indexed_loads_and_stores() {
    let c = code(
        "(module (memory 1) (func (param i32 i32) (result i32)
            (i32.store8 offset=3 (i32.add (local.get 0) (local.get 1)) (i32.const 7))
            (i32.load (i32.add (local.get 0) (local.get 1)))))",
    );
    assert_eq!(
        c,
        vec![
            Store8Idx {
                base: 0,
                index: 1,
                src: 2,
                offset: 3
            },
            Load32UIdx {
                dst: 3,
                base: 0,
                index: 1,
                offset: 0
            },
            ReturnSlot { src: 3 },
        ]
    );
}

#[test]
fn copies_do_not_merge_across_a_branch_target() {
    // The loop header is a branch target between the two copies of the argument pair.
    let c = code(
        "(module
            (func $f (param i32 i32))
            (func (param i32 i32)
                local.get 0
                (loop (param i32) local.get 1 call $f (br 0 (i32.const 1)))))",
    );
    assert!(
        !c.iter().any(|i| matches!(i, Copy2 { .. })),
        "merged across the loop header: {c:?}"
    );
}

#[test]
fn offsets_beyond_16_bits_stay_unfused() {
    let c = code(
        "(module (memory 1) (func (param i32 i32) (result i32)
            (i32.load offset=70000 (i32.add (local.get 0) (local.get 1)))))",
    );
    assert!(
        c.iter().any(|i| matches!(i, Load32U { offset: 70000, .. })),
        "{c:?}"
    );
}

#[test]
fn select_picks_into_its_first_operands_temporary() {
    // The first operand is a local: it is copied to the result's temporary first.
    let c = code(
        "(module (func (param i32 i32 i32) (result i32)
            (select (local.get 0) (local.get 1) (local.get 2))))",
    );
    assert_eq!(
        c,
        vec![
            Copy { dst: 3, src: 0 },
            Select {
                out: 3,
                cond: 2,
                other: 1
            },
            ReturnSlot { src: 3 },
        ]
    );
}

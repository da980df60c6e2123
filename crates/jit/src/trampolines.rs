//! Trampolines between compiled code and the rest, one per function type of a module:
//! - array-call trampolines, how the host (and other tiers) call compiled code:
//!   `(native, entry, tctx, cells)` loads the arguments from `cells`, calls `native`,
//!   and stores the results back as whole cells;
//! - native stubs, how compiled code calls code that is not compiled (interpreted,
//!   host): with the native signature, they spill the arguments to cells, call the
//!   `call_cells` helper with the caller's vmctx and reload the results (or trap with
//!   the helper's trap).

use crate::abi::{self, clif_type, PTR};
use crate::helpers::Helper;
use crate::translate::{call_helper, start_function, trusted, widen};
use cranelift_codegen::ir::{self, Function, InstBuilder, UserFuncName};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use rwamr_core::FuncType;

/// Builds the trampoline for functions of type `ty` into `func`.
pub fn array_trampoline(ty: &FuncType, func: &mut Function, fctx: &mut FunctionBuilderContext) {
    func.signature = abi::array_signature();
    func.name = UserFuncName::user(1, 0);
    let mut b = FunctionBuilder::new(func, fctx);
    let p = start_function(&mut b);
    let (native, entry, tctx, cells) = (p[0], p[1], p[2], p[3]);
    // Called by the host, there is no calling instance.
    let no_caller = b.ins().iconst(PTR, 0);
    b.ins().store(
        trusted(),
        no_caller,
        tctx,
        abi::ThreadCtx::CALLER_VMCTX_OFFSET,
    );
    // The budget the entry from the host set (core's `Meter::enter`).
    let stack_left = crate::translate::load_stack_left(&mut b, tctx);
    let mut args = vec![entry, tctx, stack_left];
    for (i, t) in ty.params().iter().enumerate() {
        args.push(b.ins().load(clif_type(*t), trusted(), cells, 8 * i as i32));
    }
    let sig = b.import_signature(abi::native_signature(ty));
    let call = b.ins().call_indirect(sig, native, &args);
    let results = b.inst_results(call).to_vec();
    for (i, v) in results.into_iter().enumerate() {
        let wide = widen(&mut b, v);
        b.ins().store(trusted(), wide, cells, 8 * i as i32);
    }
    b.ins().return_(&[]);
    b.finalize(abi::frontend_config());
}

/// Builds the native stub for functions of type `ty` into `func`: the native entry
/// point of entries whose code is not compiled (see `stubs.rs`).
pub fn native_stub(ty: &FuncType, func: &mut Function, fctx: &mut FunctionBuilderContext) {
    func.signature = abi::native_signature(ty);
    func.name = UserFuncName::user(1, 1);
    let mut b = FunctionBuilder::new(func, fctx);
    let p = start_function(&mut b);
    let (entry, tctx, stack_left) = (p[0], p[1], p[2]);
    let args = &p[abi::FIRST_PARAM..];
    let vmctx = b
        .ins()
        .load(PTR, trusted(), tctx, abi::ThreadCtx::CALLER_VMCTX_OFFSET);
    // What the caller left of the stack budget, for the code this stub calls.
    crate::translate::store_stack_left(&mut b, tctx, stack_left);
    let n = args.len().max(ty.results().len()).max(1) as u32;
    let area = b.create_sized_stack_slot(ir::StackSlotData::new(
        ir::StackSlotKind::ExplicitSlot,
        8 * n,
        3,
    ));
    for (i, v) in args.iter().enumerate() {
        let wide = widen(&mut b, *v);
        b.ins().stack_store(PTR, wide, area, 8 * i as i32);
    }
    let cells = b.ins().stack_addr(PTR, area, 0);
    let sig = b.import_signature(Helper::CallCells.signature());
    call_helper(&mut b, sig, tctx, vmctx, Helper::CallCells, &[entry, cells]);
    let results: Vec<_> = ty
        .results()
        .iter()
        .enumerate()
        .map(|(i, t)| b.ins().stack_load(PTR, clif_type(*t), area, 8 * i as i32))
        .collect();
    b.ins().return_(&results);
    b.finalize(abi::frontend_config());
}

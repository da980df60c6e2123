//! Array-call trampolines: how the host (and other tiers) call compiled code. One per
//! function type of a module: `(entry, tctx, cells)` loads the arguments from `cells`,
//! calls the entry's native code, and stores the results back as whole cells.

use crate::abi::{self, clif_type, PTR};
use crate::translate::{trusted, trusted_readonly, widen};
use cranelift_codegen::ir::{Function, InstBuilder, UserFuncName};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use rwamr_core::{FuncEntry, FuncType};

/// Builds the trampoline for functions of type `ty` into `func`.
pub fn array_trampoline(ty: &FuncType, func: &mut Function, fctx: &mut FunctionBuilderContext) {
    func.signature = abi::array_signature();
    func.name = UserFuncName::user(1, 0);
    let mut b = FunctionBuilder::new(func, fctx);
    let start = b.create_block();
    b.append_block_params_for_function_params(start);
    b.switch_to_block(start);
    b.seal_block(start);
    let p = b.block_params(start).to_vec();
    let (entry, tctx, cells) = (p[0], p[1], p[2]);
    let mut args = vec![entry, tctx];
    for (i, t) in ty.params().iter().enumerate() {
        args.push(b.ins().load(clif_type(*t), trusted(), cells, 8 * i as i32));
    }
    let native = b
        .ins()
        .load(PTR, trusted_readonly(), entry, FuncEntry::NATIVE_OFFSET);
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

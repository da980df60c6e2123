//! The `spectest` host module every script may import from (see the spec
//! interpreter's `host/spectest.ml`). The print functions print nothing: their output is
//! not checked and would only clutter the report.

use rwamr::{FuncType, GlobalType, HostModule, MemoryType, TableType, Val, ValType};

pub fn host_module() -> HostModule {
    use ValType::{F32, F64, I32, I64};
    let mut m = HostModule::new();
    let funcs: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in funcs {
        m = m.func(
            name,
            FuncType::new(params.iter().copied(), []),
            |_, _, _| Ok(()),
        );
    }
    let global = |ty| GlobalType { ty, mutable: false };
    m.global("global_i32", global(I32), Val::I32(666))
        .global("global_i64", global(I64), Val::I64(666))
        .global("global_f32", global(F32), Val::from_f32(666.6))
        .global("global_f64", global(F64), Val::from_f64(666.6))
        .table(
            "table",
            TableType {
                elem: ValType::FuncRef,
                min: 10,
                max: Some(20),
            },
            Val::FuncRef(None),
        )
        .memory("memory", MemoryType::new(1, Some(2)))
        .memory("shared_memory", MemoryType::shared(1, 2))
}

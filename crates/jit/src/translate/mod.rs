//! wasm -> Cranelift IR, one function at a time. The IR depends on the module alone
//! (vmctx offsets from core's `VmCtxLayout`, everything else through the entry and
//! thread-context arguments), so the machine code runs in any instance of the module and
//! needs no relocations: an ahead-of-time compiler (the planned AOT mode) can store it
//! in a file as it is.
//!
//! The translator keeps wasm's operand stack as SSA values and its locals as frontend
//! variables (or stack slots, in the baseline tier); control frames map to Cranelift
//! blocks. Core's `translate_operators` skips unreachable code (after `br`, `return`,
//! `unreachable`) until the frame that makes it reachable again.
//!
//! The translator is a visitor (core's `visit_operators!`): one method per operator,
//! `visit_*` as wasmparser names it, in files by instruction family, as in the
//! interpreter: `control.rs` (blocks, branches, `drop`, `select`), `calls.rs`,
//! `variables.rs` (locals, globals), `memory.rs` (loads, stores, memory instructions),
//! `table.rs` (table instructions, function references), `numeric.rs` (constants,
//! arithmetic, comparisons, conversions).

mod atomics;
mod calls;
mod control;
mod memory;
mod numeric;
mod table;
mod variables;

use crate::abi::{self, clif_type, user_trap, ThreadCtx, PTR};
use crate::helpers::Helper;
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types, Function, GlobalValueData, InstBuilder, MemFlagsData, TrapCode,
    UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use rwamr_core::translate::{read_err, translate_operators, ControlStack, FuncTranslator};
use rwamr_core::{FuncEntry, Metering, Module, Result, VmCtxLayout};

/// The hotness budget Baseline code of the Tiered mode stores before it calls the
/// `TierUp` helper, which sets the next one (see `count_hotness`).
const HOTNESS_RECHECK: i64 = 1000;

/// What the translator needs to know beyond the function body.
pub struct ModuleEnv<'m> {
    /// The module the function bodies come from.
    pub module: &'m Module,
    /// The vmctx layout of the instances the code runs in: the module's own, or for a
    /// patch the running version's (whose counts of items may differ).
    pub layout: VmCtxLayout,
    /// Check memory bounds explicitly (the engine's guard regions are too small).
    pub bounds_checks: bool,
    /// Keep locals in stack slots instead of SSA variables (the baseline tier): the
    /// register allocator then sees only short live ranges, which compiles much faster
    /// and runs slower.
    pub locals_in_memory: bool,
    /// Fuel and deadline checks to compile in (core's `meter.rs`), and hotness counting.
    pub metering: Metering,
    /// With `metering.hotness`: where the hotness counters are, as an address from which
    /// defined function `i`'s `i32` counter lies at `4 * i` (the Tiered mode's first
    /// tier: such code embeds the address, so it is never stored in a file).
    pub hotness: usize,
    /// Compile the function's on-stack-replacement entry at its `n`th loop instead of
    /// the function itself (see "On-stack replacement" below).
    pub osr_loop: Option<u32>,
}

// On-stack replacement. A Tiered function's first-tier code can leave a running frame
// for optimized code at the header of a loop where wasm's operand stack is empty
// (nearly every loop a compiler emits: values cross loops in locals), which such loops
// number by their order among the function's reachable loops. The frame's locals then
// lie in one stack slot, local `i` at `8 * i` (see `Translator::locals_slot`), which is
// the state the optimized code needs. When the `TierUp` helper returns the loop's OSR
// entry, the first-tier code calls it with the slot's address and the loop's number
// (`abi::osr_signature`) and returns what it returns.
//
// The OSR entry is the whole function translated again with another way in: the entry
// block jumps to a `resume` block that loads the locals and (the number checked) jumps
// to the loop's header; the function's own start becomes a block nothing branches to,
// which Cranelift removes with all code only it reaches. The rest needs no special
// case: locals are SSA variables, so the header's phis take their values from `resume`
// (and from the function's start, in the outer iterations when the loop sits in
// another loop). One entry per loop: a way in at every loop would make each local a
// phi at every header, which keeps Cranelift from hoisting what inner loops do not
// change.
// The entry takes no share of the stack budget (the first-tier frame paid it) and
// charges fuel as that frame would have from the loop's header on.

/// Where a local lives.
#[derive(Clone, Copy)]
enum Local {
    Var(Variable),
    /// In the locals slot, at [`local_offset`].
    Slot(ir::StackSlot, ir::Type),
}

/// Where branches to a control frame go, and what its `end` needs.
struct Label {
    /// Where execution continues after `end`; its parameters are the frame's results.
    next: ir::Block,
    /// Whether anything reaches `next` (a branch, or falling off the end).
    next_reachable: bool,
    /// A loop's header: where its branches go.
    loop_header: Option<ir::Block>,
    /// An `if`'s else branch, until `else` (or the `end` of an `if` without one)
    /// switches to it.
    else_block: Option<ir::Block>,
    /// An `if`'s parameters, which the else branch starts from.
    if_params: Vec<Value>,
}

impl Label {
    fn new(next: ir::Block) -> Label {
        Label {
            next,
            next_reachable: false,
            loop_header: None,
            else_block: None,
            if_params: Vec::new(),
        }
    }
}

pub(crate) struct Translator<'a, 'f, 'm> {
    b: FunctionBuilder<'f>,
    env: &'a ModuleEnv<'m>,
    stack: Vec<Value>,
    control: ControlStack<Label>,
    locals: Vec<Local>,
    reachable: bool,
    tctx: Value,
    vmctx: Value,
    /// Base address of memory 0, loaded once in the entry block.
    memory0_base: Option<Value>,
    /// Signatures imported so far: of wasm function types, and of helpers.
    signatures: hashbrown::HashMap<rwamr_core::FuncType, ir::SigRef>,
    helper_signatures: hashbrown::HashMap<u8, ir::SigRef>,
    /// What this frame leaves of the thread's stack budget, passed to callees.
    stack_left: Value,
    /// In metered code, copies of the thread's fuel and deadline while the function runs
    /// (reloaded after every call: the callee changes the fuel, the host the deadline).
    meter: Option<Meter>,
    /// The function's entry argument, and its index.
    entry: Value,
    index: u32,
    /// Loops visited so far (reachable ones: the count both tiers agree on).
    loops_seen: u32,
    /// Where the locals live when they are in memory: one slot, local `i` at `8 * i`.
    locals_slot: Option<ir::StackSlot>,
    /// Compiling an OSR entry: its loop, the loop number it is called with, and the
    /// block that checks it and jumps to the loop's header (filled at the loop; a
    /// trap at the end of the function when the number is wrong).
    osr: Option<OsrEntry>,
}

struct OsrEntry {
    target: u32,
    at_loop: Value,
    way_in: ir::Block,
}

/// A metered function's view of the thread's meter.
struct Meter {
    ptr: Value,
    fuel: Variable,
    deadline: Variable,
}

rwamr_core::visit_operators!(Translator<'_, '_, '_>);

impl FuncTranslator for Translator<'_, '_, '_> {
    fn reachable(&self) -> bool {
        self.reachable
    }
    fn consume_fuel(&mut self, fuel: u64, check: bool) -> Result<()> {
        let m = self.meter.as_ref().expect("metered code has a meter");
        let mut left = self.b.use_var(m.fuel);
        if fuel > 0 {
            left = self.b.ins().iadd_imm_s(left, -(fuel as i64));
            self.set_fuel_left(left);
        }
        if check {
            self.trap_if_out_of_fuel(left);
        }
        Ok(())
    }
    fn count_hotness(&mut self, at_loop: bool) -> Result<()> {
        // Not atomic: a count lost to a race only delays a tier-up.
        let defined = self.index - self.env.module.num_imported_funcs;
        let at = self.env.hotness.wrapping_add(4 * defined as usize);
        let addr = self.b.ins().iconst(PTR, at as i64);
        let left = self.b.ins().load(types::I32, trusted(), addr, 0);
        let left = self.b.ins().iadd_imm_s(left, -1);
        self.b.ins().store(trusted(), left, addr, 0);
        let hot = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        let (up, rest) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(up);
        self.b.ins().brif(hot, up, &[], rest, &[]);
        self.b.switch_to_block(up);
        self.b.seal_block(up);
        // The helper sets the next budget; this one stands until it does (and for a
        // function it does not know). A small one: threads running this code share the
        // counter without atomics, so a store of theirs may land after the helper's, and
        // a large value there would stop the counting for good.
        let again = self.b.ins().iconst(types::I32, HOTNESS_RECHECK);
        self.b.ins().store(trusted(), again, addr, 0);
        let entry = self.entry;
        // Where this frame can move to optimized code: at a loop with nothing on the
        // operand stack, its locals all in the slot.
        let osr = at_loop && self.stack.is_empty() && self.env.locals_in_memory;
        let target = if osr { self.loops_seen - 1 } else { NO_LOOP };
        let target = self.i32const(i64::from(target));
        let code = self.call_helper(Helper::TierUp, &[entry, target]);
        if osr {
            let transfer = self.b.create_block();
            self.b.set_cold_block(transfer);
            self.b.ins().brif(code, transfer, &[], rest, &[]);
            self.b.switch_to_block(transfer);
            self.b.seal_block(transfer);
            let buf = match self.locals_slot {
                Some(slot) => self.b.ins().stack_addr(PTR, slot, 0),
                None => self.b.ins().iconst(PTR, 0),
            };
            let ty = self.env.module.func_type(self.index);
            let sig = self.b.import_signature(abi::osr_signature(ty));
            let args = [entry, self.tctx, self.stack_left, buf, target];
            let call = self.b.ins().call_indirect(sig, code, &args);
            let results = self.b.inst_results(call).to_vec();
            self.emit_return(&results);
        } else {
            self.b.ins().jump(rest, &[]);
        }
        self.b.switch_to_block(rest);
        self.b.seal_block(rest);
        Ok(())
    }
    fn check_deadline(&mut self) -> Result<()> {
        let m = self.meter.as_ref().expect("metered code has a meter");
        let deadline = self.b.use_var(m.deadline);
        let counter =
            self.b
                .ins()
                .load(PTR, trusted_readonly(), self.vmctx, self.env.layout.epoch());
        // Atomic: a plain load with no store in between could be merged with the one
        // before (another loop iteration's), and the loop would never see the epoch move.
        let epoch = self.b.ins().atomic_load(types::I64, trusted(), counter);
        let reached = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, epoch, deadline);
        self.b.ins().trapnz(reached, user(user_trap::INTERRUPTED));
        Ok(())
    }
}

/// Where local `i` lies in the locals slot, and in the locals an OSR entry takes.
fn local_offset(i: usize) -> i32 {
    8 * i as i32
}

/// The `TierUp` helper's loop argument at a check where the frame cannot move.
pub const NO_LOOP: u32 = u32::MAX;

/// Memory flags for loads of runtime structures that never trap.
pub fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Like [`trusted`], for values that never change while the code runs.
pub fn trusted_readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

pub(crate) fn user(code: u8) -> TrapCode {
    TrapCode::unwrap_user(code)
}

/// Translates defined function `index` of `env.module` into `func`.
pub fn translate_function(
    env: &ModuleEnv<'_>,
    index: u32,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
) -> Result<()> {
    let module = env.module;
    let ty = module.func_type(index).clone();
    func.signature = match env.osr_loop {
        None => abi::native_signature(&ty),
        Some(_) => abi::osr_signature(&ty),
    };
    func.name = UserFuncName::user(0, index);
    // The prologue compares the stack pointer with the thread's limit.
    let tctx_gv = func.create_global_value(GlobalValueData::VMContext);
    let flags = func.dfg.mem_flags.insert_unchecked(trusted());
    let limit = func.create_global_value(GlobalValueData::Load {
        base: tctx_gv,
        offset: ThreadCtx::STACK_LIMIT_OFFSET.into(),
        global_type: PTR,
        flags,
    });
    func.stack_limit = Some(limit);

    let mut b = FunctionBuilder::new(func, fctx);
    let params = start_function(&mut b);
    let (entry_arg, tctx) = (params[0], params[1]);
    let vmctx = b
        .ins()
        .load(PTR, trusted_readonly(), entry_arg, FuncEntry::VMCTX_OFFSET);
    // Loaded once, used by every access.
    let memory0_base = env.layout.has_memory(0).then(|| {
        b.ins()
            .load(PTR, trusted_readonly(), vmctx, env.layout.memory_base(0))
    });

    let body = module.func_body(index);
    let mut local_types: Vec<ir::Type> = ty.params().iter().map(|t| clif_type(*t)).collect();
    let mut reader = body.get_locals_reader().map_err(read_err)?;
    for _ in 0..reader.get_count() {
        let (count, vt) = reader.read().map_err(read_err)?;
        let t = clif_type(rwamr_core::ValType::from_wasmparser(vt)?);
        local_types.extend(std::iter::repeat_n(t, count as usize));
    }
    let locals_slot = (env.locals_in_memory && !local_types.is_empty()).then(|| {
        b.create_sized_stack_slot(ir::StackSlotData::new(
            ir::StackSlotKind::ExplicitSlot,
            8 * local_types.len() as u32,
            3,
        ))
    });
    let mut locals = Vec::with_capacity(local_types.len());
    let mut zeros: hashbrown::HashMap<ir::Type, Value> = hashbrown::HashMap::new();
    for (i, &t) in local_types.iter().enumerate() {
        // An OSR entry's parameters come with the other locals, at the loop.
        let init = match ty.params().len() > i && env.osr_loop.is_none() {
            true => params[abi::FIRST_PARAM + i],
            false => *zeros.entry(t).or_insert_with(|| zero_of(&mut b, t)),
        };
        locals.push(match locals_slot {
            Some(slot) => {
                b.ins().stack_store(PTR, init, slot, local_offset(i));
                Local::Slot(slot, t)
            }
            None => {
                let var = b.declare_var(t);
                b.def_var(var, init);
                Local::Var(var)
            }
        });
    }

    // This frame's share of the stack budget, the same in every mode; what is left
    // after it goes to the callees.
    let frame_bytes = module.frame_bytes(index);
    let stack_left = if env.osr_loop.is_some() {
        params[2]
    } else {
        let left = params[2];
        let short = b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, left, frame_bytes as i64);
        b.ins().trapnz(short, TrapCode::STACK_OVERFLOW);
        b.ins().iadd_imm_s(left, -(frame_bytes as i64))
    };
    // An instance with state runs on one thread at a time (core's `exclusive.rs`): the
    // thread must hold it, which it usually does already (its token is in the owner
    // word); otherwise a helper takes it, or traps.
    if module.has_state() {
        let token = b
            .ins()
            .load(PTR, trusted_readonly(), tctx, ThreadCtx::METER_OFFSET);
        let owner = b.ins().load(PTR, trusted(), vmctx, env.layout.owner());
        let held = b.ins().icmp(IntCC::Equal, owner, token);
        let (enter, body) = (b.create_block(), b.create_block());
        b.set_cold_block(enter);
        b.ins().brif(held, body, &[], enter, &[]);
        b.switch_to_block(enter);
        b.seal_block(enter);
        let sig = b.import_signature(Helper::EnterInstance.signature());
        call_helper(&mut b, sig, tctx, vmctx, Helper::EnterInstance, &[]);
        b.ins().jump(body, &[]);
        b.switch_to_block(body);
        b.seal_block(body);
    }
    let meter = (env.metering.fuel || env.metering.epoch).then(|| {
        let ptr = b
            .ins()
            .load(PTR, trusted_readonly(), tctx, ThreadCtx::METER_OFFSET);
        let (fuel, deadline) = (b.declare_var(types::I64), b.declare_var(types::I64));
        let m = Meter {
            ptr,
            fuel,
            deadline,
        };
        m.reload(&mut b);
        m
    });

    let osr = env.osr_loop.map(|target| {
        let resume = b.create_block();
        b.ins().jump(resume, &[]);
        b.switch_to_block(resume);
        b.seal_block(resume);
        let buf = params[abi::FIRST_PARAM];
        for (i, local) in locals.iter().enumerate() {
            let v = b
                .ins()
                .load(local_types[i], trusted(), buf, local_offset(i));
            match *local {
                Local::Var(var) => b.def_var(var, v),
                Local::Slot(slot, _) => {
                    b.ins().stack_store(PTR, v, slot, local_offset(i));
                }
            }
        }
        let way_in = b.create_block();
        b.ins().jump(way_in, &[]);
        b.seal_block(way_in);
        // The function's own start: nothing branches here.
        let start = b.create_block();
        b.switch_to_block(start);
        b.seal_block(start);
        OsrEntry {
            target,
            at_loop: params[abi::FIRST_PARAM + 1],
            way_in,
        }
    });

    let ret = b.create_block();
    for t in ty.results() {
        b.append_block_param(ret, clif_type(*t));
    }
    let mut t = Translator {
        b,
        env,
        stack: Vec::new(),
        control: ControlStack::new(ty.results().len(), Label::new(ret)),
        locals,
        reachable: true,
        tctx,
        vmctx,
        memory0_base,
        signatures: hashbrown::HashMap::new(),
        helper_signatures: hashbrown::HashMap::new(),
        stack_left,
        meter,
        entry: entry_arg,
        index,
        loops_seen: 0,
        locals_slot,
        osr,
    };
    translate_operators(
        body.get_operators_reader().map_err(read_err)?,
        &mut t,
        env.metering,
    )?;
    // The function's final `end` switched to `ret` (and left a trap there when nothing
    // reaches it).
    if t.reachable {
        let results = t.b.block_params(ret).to_vec();
        t.emit_return(&results);
    }
    if let Some(osr) = &t.osr {
        // Past the loop, or no such loop: the first-tier code never calls it so.
        t.b.switch_to_block(osr.way_in);
        t.b.ins().trap(user(user_trap::UNREACHABLE));
    }
    t.b.finalize(abi::frontend_config());
    Ok(())
}

impl Meter {
    /// Reads the thread's fuel and deadline into the variables.
    fn reload(&self, b: &mut FunctionBuilder<'_>) {
        use rwamr_core::Meter as M;
        let fuel = b
            .ins()
            .load(types::I64, trusted(), self.ptr, M::FUEL_OFFSET);
        b.def_var(self.fuel, fuel);
        let deadline = b
            .ins()
            .load(types::I64, trusted(), self.ptr, M::DEADLINE_OFFSET);
        b.def_var(self.deadline, deadline);
    }
}

/// Calls runtime helper `h` (imported as `sig`) through the helper table of thread
/// context `tctx`, with `vmctx` and `args`; returns its `i32` result, or for fallible
/// helpers traps (with the pending trap) when it reports one.
pub fn call_helper(
    b: &mut FunctionBuilder<'_>,
    sig: ir::SigRef,
    tctx: Value,
    vmctx: Value,
    h: Helper,
    args: &[Value],
) -> Value {
    let table = b
        .ins()
        .load(PTR, trusted_readonly(), tctx, ThreadCtx::HELPERS_OFFSET);
    let f = b.ins().load(PTR, trusted_readonly(), table, h.offset());
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(vmctx);
    all.extend_from_slice(args);
    let call = b.ins().call_indirect(sig, f, &all);
    let r = b.inst_results(call)[0];
    if h.can_trap() {
        b.ins().trapnz(r, user(user_trap::PENDING));
    } else if h.fails_with_all_ones() {
        let failed = b.ins().icmp_imm_s(IntCC::Equal, r, -1);
        b.ins().trapnz(failed, user(user_trap::PENDING));
    }
    r
}

/// Reads the thread's stack budget from its meter (what an entry from the host starts
/// compiled code with).
pub fn load_stack_left(b: &mut FunctionBuilder<'_>, tctx: Value) -> Value {
    let meter = b
        .ins()
        .load(PTR, trusted_readonly(), tctx, ThreadCtx::METER_OFFSET);
    b.ins().load(
        types::I64,
        trusted(),
        meter,
        rwamr_core::Meter::STACK_LEFT_OFFSET,
    )
}

/// Writes what compiled code leaves of the stack budget to the thread's meter (before
/// calling code that reads it there: other tiers, the host).
pub fn store_stack_left(b: &mut FunctionBuilder<'_>, tctx: Value, left: Value) {
    let meter = b
        .ins()
        .load(PTR, trusted_readonly(), tctx, ThreadCtx::METER_OFFSET);
    b.ins()
        .store(trusted(), left, meter, rwamr_core::Meter::STACK_LEFT_OFFSET);
}

/// Starts building a function: its entry block, sealed, with the function's
/// parameters as block parameters (returned).
pub fn start_function(b: &mut FunctionBuilder<'_>) -> Vec<Value> {
    let start = b.create_block();
    b.append_block_params_for_function_params(start);
    b.switch_to_block(start);
    b.seal_block(start);
    b.block_params(start).to_vec()
}

/// `v` as a whole 8-byte cell: narrower values zero-extended (as `Val` cells are).
pub fn widen(b: &mut FunctionBuilder<'_>, v: Value) -> Value {
    match b.func.dfg.value_type(v) {
        types::I32 => b.ins().uextend(types::I64, v),
        types::F32 => {
            let bits = b.ins().bitcast(types::I32, MemFlagsData::new(), v);
            b.ins().uextend(types::I64, bits)
        }
        types::F64 => b.ins().bitcast(types::I64, MemFlagsData::new(), v),
        _ => v,
    }
}

fn zero_of(b: &mut FunctionBuilder<'_>, t: ir::Type) -> Value {
    match t {
        types::F32 => b.ins().f32const(0.0),
        types::F64 => b.ins().f64const(0.0),
        t => b.ins().iconst(t, 0),
    }
}

impl Translator<'_, '_, '_> {
    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated: operand stack underflow")
    }
    fn pop2(&mut self) -> (Value, Value) {
        let y = self.pop();
        let x = self.pop();
        (x, y)
    }
    fn pop3(&mut self) -> (Value, Value, Value) {
        let z = self.pop();
        let (x, y) = self.pop2();
        (x, y, z)
    }
    fn push(&mut self, v: Value) {
        self.stack.push(v)
    }
    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    /// Calls runtime helper `h` with the vmctx and `args`; returns its `i32` result,
    /// or for fallible helpers traps (with the pending trap) when it reports one.
    fn call_helper(&mut self, h: Helper, args: &[Value]) -> Value {
        let sig = match self.helper_signatures.get(&(h as u8)) {
            Some(sig) => *sig,
            None => {
                let sig = self.b.import_signature(h.signature());
                self.helper_signatures.insert(h as u8, sig);
                sig
            }
        };
        call_helper(&mut self.b, sig, self.tctx, self.vmctx, h, args)
    }

    /// Returns `results` (the caller's budget is its own: nothing to give back).
    fn emit_return(&mut self, results: &[Value]) {
        self.b.ins().return_(results);
    }

    /// After a call that may have run wasm or the host: the meter's copies are stale.
    fn after_call(&mut self) {
        if let Some(m) = &self.meter {
            m.reload(&mut self.b);
        }
    }

    fn widen(&mut self, v: Value) -> Value {
        widen(&mut self.b, v)
    }

    /// Calls helper `h` with immediates `imms` (as `i32`s) and the top `popped`
    /// operands, which it pops.
    fn helper_op(&mut self, h: Helper, imms: &[u32], popped: usize) -> Value {
        let operands = self.stack.split_off(self.stack.len() - popped);
        let mut all: Vec<Value> = imms.iter().map(|i| self.i32const(*i as i64)).collect();
        all.extend(operands);
        self.call_helper(h, &all)
    }

    /// Charges a bulk operation of `len` (a pointer-sized count of bytes), whose bounds
    /// were checked, to the fuel, trapping when that leaves it negative (core's
    /// `meter.rs`: `Bulk::charge`, which the interpreter and the helpers use).
    fn charge_bulk(&mut self, len: Value) {
        if !self.env.metering.fuel {
            return;
        }
        let m = self.meter.as_ref().expect("metered code has a meter");
        let left = self.b.use_var(m.fuel);
        let left = self.b.ins().isub(left, len);
        self.set_fuel_left(left);
        self.trap_if_out_of_fuel(left);
    }

    /// Makes `left` the fuel left: in the function's copy and, at once, in the thread's
    /// meter, so the meter is exact wherever the code stops.
    fn set_fuel_left(&mut self, left: Value) {
        let m = self.meter.as_ref().expect("metered code has a meter");
        self.b.def_var(m.fuel, left);
        self.b
            .ins()
            .store(trusted(), left, m.ptr, rwamr_core::Meter::FUEL_OFFSET);
    }

    fn trap_if_out_of_fuel(&mut self, left: Value) {
        let out = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, left, 0);
        self.b.ins().trapnz(out, user(user_trap::OUT_OF_FUEL));
    }

    /// A bulk operation done by helper `h` (with immediates `imms` and three operands),
    /// which charges its fuel in the thread's meter: the copy here is stale after it.
    fn bulk_helper_op(&mut self, h: Helper, imms: &[u32]) {
        self.helper_op(h, imms, 3);
        if self.env.metering.fuel {
            self.after_call();
        }
    }

    fn i32const(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I32, v)
    }
}

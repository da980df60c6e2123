//! Stopping a guest: fuel and epoch deadlines, their rules stated once for every tier.
//!
//! **Fuel.** With [`Metering::fuel`] on, running wasm costs fuel: [`fuel_cost`] gives
//! each operator's cost (0 for `nop`, `drop`, `block`, `loop`, `end`, `else`,
//! `unreachable` and `return`, 1 for every other operator, as wasmtime counts). Code is
//! charged per *stretch*: a run of operators that starts at the function's entry or
//! right after an operator that ends a stretch ([`ends_stretch`]: every branch, `if`,
//! `else`, `end` and `loop`) and ends with the next such operator. All of a stretch is
//! straight-line code, so each stretch is charged its whole cost when it starts.
//! At function entry and at each loop iteration (the stretch after `loop`), after
//! charging, a negative amount of fuel traps with [`TrapCode::OutOfFuel`]. Core's
//! `translate_operators` finds the stretches and asks the tier to charge them, so every
//! tier charges the same amounts at the same places: a program that completes consumes
//! exactly the same fuel in every mode (the sum of its executed operators' costs), and
//! one that runs out traps at the same point.
//!
//! Bulk operations (`memory.fill`, `memory.copy`, `memory.init`, `table.fill`,
//! `table.copy`, `table.init`) also cost their length: one fuel per byte of memory or
//! element of a table ([`Bulk::charge`]). That is charged once the operation's bounds
//! are checked (an operation out of bounds traps as always, and costs only its 1) and
//! before it runs: when it leaves the fuel negative, the operation traps with
//! [`TrapCode::OutOfFuel`] and does nothing. So a loop of long fills runs out as soon as
//! a short loop would, in every mode.
//!
//! **Deadlines.** With [`Metering::epoch`] on, the engine has an epoch counter the host
//! advances from any thread (`Engine::increment_epoch`), and each thread a deadline: at
//! function entry and each loop iteration (the same places as fuel checks), and between
//! chunks of a long `memory.copy` or `memory.fill`, code whose deadline the epoch has
//! reached traps with [`TrapCode::Interrupted`].
//!
//! **Stack.** Every mode counts the wasm stack the same way: a frame of a function costs
//! [`frame_bytes`] (8 bytes per local, parameters included, per operand-stack slot at the
//! function's deepest and per distinct constant it uses, plus [`FRAME_OVERHEAD`]), a pure
//! function of the wasm code that the validator computes once. Each call takes its
//! callee's frame from the thread's budget (`Limits::max_wasm_stack`) at entry and gives
//! it back on return; a call that does not fit traps with [`TrapCode::StackOverflow`]. So
//! recursion reaches the same depth in every mode. (Compiled code also checks the native
//! stack: a thread whose own stack is smaller than the budget needs can overflow it
//! first, which is the host's choice of stack, not the module's.)
//!
//! All three belong to the calling thread ([`Meter`], one per thread): wasm that a thread
//! runs, nested calls through the host included, draws on the thread's fuel, stack
//! budget and stops at its deadline. Tiers read and write the thread's [`Meter`] in memory; one that keeps
//! the fuel in a register writes it back at every charge and reloads it after every call.
//!
//! [`TrapCode::OutOfFuel`]: crate::TrapCode::OutOfFuel
//! [`TrapCode::Interrupted`]: crate::TrapCode::Interrupted
//! [`TrapCode::StackOverflow`]: crate::TrapCode::StackOverflow

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmparser::Operator;

/// Which meters an engine's code keeps (fixed when the engine is made: the tiers
/// compile the checks into the code).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metering {
    /// Charge fuel (see the module docs).
    pub fuel: bool,
    /// Check the epoch deadline.
    pub epoch: bool,
    /// Count function entries and loop iterations toward moving the function up a tier
    /// (the Tiered mode's first tier; never an engine setting).
    pub hotness: bool,
}

impl Metering {
    /// Whether code meters anything.
    pub fn any(self) -> bool {
        self.fuel || self.epoch || self.hotness
    }
}

/// The cost in fuel of one operator.
pub fn fuel_cost(op: &Operator<'_>) -> u64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::End
        | Operator::Else
        | Operator::Unreachable
        | Operator::Return => 0,
        _ => 1,
    }
}

/// Whether a stretch of straight-line code ends with `op`: the next operator can be
/// reached other than from `op` (a branch target) or not at all from it.
pub fn ends_stretch(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::Return
            | Operator::Unreachable
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
    )
}

/// What a frame's return address, links and bookkeeping cost of the stack budget.
pub const FRAME_OVERHEAD: u32 = 64;

/// What a frame of a function with `locals` locals (parameters included), an operand
/// stack at most `deepest` deep and `constants` distinct constants costs of the stack
/// budget (see the module docs).
pub fn frame_bytes(locals: u32, deepest: u32, constants: usize) -> u32 {
    let cells = locals as u64 + deepest as u64 + constants as u64;
    (cells * 8 + FRAME_OVERHEAD as u64).min(u32::MAX as u64) as u32
}

/// The cell of a constant-pushing operator (what counts as a distinct constant).
pub fn constant_cell(op: &Operator<'_>) -> Option<u64> {
    Some(match op {
        Operator::I32Const { value } => *value as u32 as u64,
        Operator::I64Const { value } => *value as u64,
        Operator::F32Const { value } => value.bits() as u64,
        Operator::F64Const { value } => value.bits(),
        Operator::RefNull { .. } => 0,
        _ => return None,
    })
}

/// One thread's fuel, deadline and stack budget. `repr(C)`: compiled code reads and
/// writes the fields at the offsets below.
#[repr(C)]
pub struct Meter {
    /// Fuel left. Negative after code ran past its fuel between two checks (it then
    /// traps at the next one); the host sees that as 0.
    fuel: Cell<i64>,
    /// The epoch at which code traps.
    deadline: Cell<u64>,
    /// Bytes of the stack budget left to the frames of the running wasm.
    stack_left: Cell<u64>,
    /// Host -> wasm entries active on the thread (the outermost sets the budget).
    entries: Cell<u32>,
    /// Host state and memory slices a host function on the thread has borrowed
    /// (`exclusive.rs`: the thread enters no wasm meanwhile).
    pub(crate) borrows: Cell<u32>,
    /// Of those, memory slices (the host's own accesses to memory wait meanwhile).
    pub(crate) lends: Cell<u32>,
}

impl Meter {
    pub const FUEL_OFFSET: i32 = std::mem::offset_of!(Meter, fuel) as i32;
    pub const DEADLINE_OFFSET: i32 = std::mem::offset_of!(Meter, deadline) as i32;
    pub const STACK_LEFT_OFFSET: i32 = std::mem::offset_of!(Meter, stack_left) as i32;

    /// Takes a frame of `bytes` from the stack budget; false when it does not fit (the
    /// budget is then unchanged).
    #[inline(always)]
    pub fn push_frame(&self, bytes: u32) -> bool {
        match self.stack_left.get().checked_sub(bytes as u64) {
            Some(left) => {
                self.stack_left.set(left);
                true
            }
            None => false,
        }
    }
    /// Gives a frame of `bytes` back.
    #[inline(always)]
    pub fn pop_frame(&self, bytes: u32) {
        self.stack_left.set(self.stack_left.get() + bytes as u64);
    }

    /// Starts a host -> wasm entry: the outermost one on the thread gets the whole
    /// `budget`, nested ones (wasm -> host -> wasm) share what is left. The budget as it
    /// was comes back when the returned value drops, however the entry ends.
    ///
    /// The instances the thread enters during the entry are held until it ends
    /// (`exclusive.rs`): they are let go with the budget.
    pub fn enter(&self, budget: usize) -> StackEntry<'_> {
        let saved = self.stack_left.get();
        if self.entries.get() == 0 {
            self.stack_left.set(budget as u64);
        }
        self.entries.set(self.entries.get() + 1);
        StackEntry {
            meter: self,
            saved,
            held: crate::exclusive::depth(),
        }
    }

    /// Charges `fuel` (the interpreter's stretch charge).
    #[inline(always)]
    pub fn charge(&self, fuel: u64) -> i64 {
        let left = self.fuel.get().wrapping_sub(fuel as i64);
        self.fuel.set(left);
        left
    }
    #[inline(always)]
    pub fn deadline(&self) -> u64 {
        self.deadline.get()
    }
}

/// An active host -> wasm entry (see [`Meter::enter`]).
pub struct StackEntry<'m> {
    meter: &'m Meter,
    saved: u64,
    /// What the thread held when the entry started.
    held: usize,
}

impl Drop for StackEntry<'_> {
    fn drop(&mut self) {
        crate::exclusive::release_to(self.held);
        self.meter.stack_left.set(self.saved);
        self.meter.entries.set(self.meter.entries.get() - 1);
    }
}

thread_local! {
    /// No fuel (as in wasmtime: a host that turns fuel on must give some), no deadline,
    /// no wasm running.
    static METER: Meter = const {
        Meter {
            fuel: Cell::new(0),
            deadline: Cell::new(u64::MAX),
            stack_left: Cell::new(0),
            entries: Cell::new(0),
            borrows: Cell::new(0),
            lends: Cell::new(0),
        }
    };
}

/// Runs `f` with this thread's meter.
pub fn with_meter<R>(f: impl FnOnce(&Meter) -> R) -> R {
    METER.with(f)
}

/// The address of this thread's meter, for compiled code (valid while the thread runs).
pub fn meter_ptr() -> *const Meter {
    METER.with(|m| m as *const Meter)
}

/// The most fuel a thread can hold.
pub const MAX_FUEL: u64 = i64::MAX as u64;

/// This thread's fuel left (0 when code ran past it).
pub fn fuel() -> u64 {
    with_meter(|m| m.fuel.get().max(0) as u64)
}

/// Sets this thread's fuel (at most [`MAX_FUEL`]).
pub fn set_fuel(fuel: u64) {
    with_meter(|m| m.fuel.set(fuel.min(MAX_FUEL) as i64));
}

/// Adds to this thread's fuel (up to [`MAX_FUEL`]); fuel overrun since the last check
/// is paid first.
pub fn add_fuel(fuel: u64) {
    with_meter(|m| {
        let f = m.fuel.get().saturating_add(fuel.min(MAX_FUEL) as i64);
        m.fuel.set(f);
    });
}

/// This thread's deadline: the epoch at which its code traps (`u64::MAX`: none).
pub fn deadline() -> u64 {
    with_meter(|m| m.deadline.get())
}

/// Sets this thread's deadline to epoch `epoch`.
pub fn set_deadline(epoch: u64) {
    with_meter(|m| m.deadline.set(epoch));
}

/// What a bulk operation meters (see the module docs): fuel by its length, and the
/// deadline between its chunks. What code of an engine uses is [`Bulk::of`] it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bulk<'a> {
    /// Charge fuel by the operation's length.
    pub fuel: bool,
    /// Stop a long operation at this epoch's deadline (see `memory::BULK_CHUNK`).
    pub interrupt: Option<&'a Epoch>,
}

impl Bulk<'_> {
    /// No metering (instantiation's segment initialization, the host's own calls).
    pub const NONE: Bulk<'static> = Bulk {
        fuel: false,
        interrupt: None,
    };

    /// What the code of `engine` meters.
    pub fn of(engine: &crate::Engine) -> Bulk<'_> {
        let m = engine.metering();
        Bulk {
            fuel: m.fuel,
            interrupt: m.epoch.then(|| engine.epoch()),
        }
    }

    /// Charges an operation of `len` bytes or elements, whose bounds were checked, to
    /// the thread's fuel: [`TrapCode::OutOfFuel`] when that leaves it negative (the
    /// operation must then do nothing).
    ///
    /// [`TrapCode::OutOfFuel`]: crate::TrapCode::OutOfFuel
    #[inline]
    pub fn charge(&self, len: u64) -> Result<(), crate::TrapCode> {
        if self.fuel && len > 0 && with_meter(|m| m.charge(len)) < 0 {
            return Err(crate::TrapCode::OutOfFuel);
        }
        Ok(())
    }
}

/// An engine's epoch counter.
#[derive(Debug, Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn increment(&self) -> u64 {
        let now = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        // Threads parked in `memory.atomic.wait` check their deadlines too.
        crate::memory::wake_for_epoch();
        now
    }
    /// The counter compiled code reads (a plain 8-byte load).
    pub fn as_ptr(&self) -> *const u64 {
        self.0.as_ptr() as *const u64
    }
    /// Whether this thread's deadline has come.
    pub fn reached(&self) -> bool {
        self.current() >= deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuel_is_per_thread_and_overrun_reads_as_zero() {
        set_fuel(10);
        with_meter(|m| assert_eq!(m.charge(15), -5));
        assert_eq!(fuel(), 0);
        add_fuel(7);
        assert_eq!(fuel(), 2, "the overrun is paid first");
        std::thread::spawn(|| assert_eq!(fuel(), 0)).join().unwrap();
        set_fuel(u64::MAX);
        assert_eq!(fuel(), MAX_FUEL);
        add_fuel(5);
        assert_eq!(fuel(), MAX_FUEL);
    }

    #[test]
    fn nested_entries_share_the_budget_and_give_it_back() {
        with_meter(|m| {
            let outer = m.enter(100);
            assert!(m.push_frame(60));
            {
                let _inner = m.enter(1000);
                assert!(!m.push_frame(41), "the nested entry has what is left");
                assert!(m.push_frame(40));
            }
            assert!(!m.push_frame(41), "the nested entry gave its frames back");
            drop(outer);
            let _again = m.enter(100);
            assert!(m.push_frame(100));
        });
    }

    #[test]
    fn deadlines_are_per_thread() {
        let epoch = Epoch::default();
        assert!(!epoch.reached(), "no deadline by default");
        set_deadline(epoch.current() + 2);
        epoch.increment();
        assert!(!epoch.reached());
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(deadline(), u64::MAX));
        });
        epoch.increment();
        assert!(epoch.reached());
    }
}

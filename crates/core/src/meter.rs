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
//! **Budgets.** Fuel and the deadline are a [`Budget`], which belongs to a thread *and*
//! an engine: each thread has one budget per engine, and wasm of an engine draws on the
//! calling thread's budget for that engine (nested calls through the host included), so
//! engines sharing threads never see each other's budgets. The stack budget belongs to
//! the thread. Tiers read and write one [`Meter`] per thread in memory (one that keeps
//! the fuel in a register writes it back at every charge and reloads it after every
//! call); it holds the budget of the engine whose code the thread runs or ran last: an
//! entry into another engine's code swaps that engine's in ([`Meter::enter`]), and a
//! nested one (wasm -> host -> another engine's wasm) swaps it back out when it ends. A
//! thread that runs one engine never swaps.
//! A call can also run with a budget of its own, whatever the thread's
//! ([`replace_budget`], which `Func::call_with_budget` uses): a server on a thread pool
//! gives each request its fuel and deadline without touching thread state.
//!
//! [`TrapCode::OutOfFuel`]: crate::TrapCode::OutOfFuel
//! [`TrapCode::Interrupted`]: crate::TrapCode::Interrupted
//! [`TrapCode::StackOverflow`]: crate::TrapCode::StackOverflow

use std::cell::{Cell, RefCell};
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

/// Fuel and a deadline: what wasm of one engine may run on one thread, or in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Fuel left (see the module docs; at most [`MAX_FUEL`]).
    pub fuel: u64,
    /// The epoch at which code traps with `TrapCode::Interrupted` (`u64::MAX`: never).
    pub deadline: u64,
}

impl Default for Budget {
    /// No fuel (as in wasmtime: a host that turns fuel on must give some), no deadline:
    /// what a thread has for an engine until it is given more.
    fn default() -> Budget {
        Budget {
            fuel: 0,
            deadline: u64::MAX,
        }
    }
}

/// A budget as the meter holds it: fuel may be negative after an overrun.
#[derive(Debug, Clone, Copy)]
struct Held {
    fuel: i64,
    deadline: u64,
}

impl Held {
    const NONE: Held = Held {
        fuel: 0,
        deadline: u64::MAX,
    };
    fn of(b: Budget) -> Held {
        Held {
            fuel: b.fuel.min(MAX_FUEL) as i64,
            deadline: b.deadline,
        }
    }
    fn budget(self) -> Budget {
        Budget {
            fuel: self.fuel.max(0) as u64,
            deadline: self.deadline,
        }
    }
}

/// One thread's meter: the budget of the engine whose code it runs (see the module
/// docs), and its stack budget. `repr(C)`: compiled code reads and writes the fields at
/// the offsets below.
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
    /// The engine (`Engine::id`) whose budget `fuel` and `deadline` hold; 0: none yet.
    engine: Cell<u64>,
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

    /// Starts a host -> wasm entry into `engine`'s code: the meter holds that engine's
    /// budget until the entry ends (the budget it held comes back then); the outermost
    /// entry on the thread gets the engine's whole stack budget, nested ones
    /// (wasm -> host -> wasm) share what is left. The stack budget as it was comes back
    /// when the returned value drops, however the entry ends.
    ///
    /// The instances the thread enters during the entry are held until it ends
    /// (`exclusive.rs`): they are let go with the budget.
    #[inline]
    pub fn enter(&self, engine: &crate::Engine) -> StackEntry<'_> {
        let previous = self.engine.get();
        let outermost = self.entries.get() == 0;
        if previous != engine.id() {
            self.switch_to(engine.id());
        }
        let saved = self.stack_left.get();
        if outermost {
            self.stack_left.set(engine.limits().max_wasm_stack as u64);
        }
        self.entries.set(self.entries.get() + 1);
        StackEntry {
            meter: self,
            saved,
            held: crate::exclusive::depth(),
            // An outermost entry leaves its engine's budget loaded (the next entry
            // swaps only if it is another engine's); a nested one gives the running
            // code's back.
            swap_back: (previous != engine.id() && !outermost).then_some(previous),
        }
    }

    /// Loads engine `id`'s budget, parking the one held now.
    #[cold]
    fn switch_to(&self, id: u64) {
        PARKED.with_borrow_mut(|parked| {
            let next = match parked.iter().position(|(e, _)| *e == id) {
                Some(i) => parked.swap_remove(i).1,
                None => Held::NONE,
            };
            if self.engine.get() != 0 {
                parked.push((self.engine.get(), self.held()));
            }
            self.set_held(next);
            self.engine.set(id);
        });
    }

    fn held(&self) -> Held {
        Held {
            fuel: self.fuel.get(),
            deadline: self.deadline.get(),
        }
    }
    fn set_held(&self, h: Held) {
        self.fuel.set(h.fuel);
        self.deadline.set(h.deadline);
    }

    /// Runs `f` on the thread's budget for engine `id`, wherever it is kept.
    fn with_budget<R>(&self, id: u64, f: impl FnOnce(&mut Held) -> R) -> R {
        if self.engine.get() == id {
            let mut h = self.held();
            let r = f(&mut h);
            self.set_held(h);
            return r;
        }
        PARKED.with_borrow_mut(|parked| {
            let i = match parked.iter().position(|(e, _)| *e == id) {
                Some(i) => i,
                None => {
                    parked.push((id, Held::NONE));
                    parked.len() - 1
                }
            };
            f(&mut parked[i].1)
        })
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
    /// The engine whose budget the meter held before the entry, when it differs.
    swap_back: Option<u64>,
}

impl Drop for StackEntry<'_> {
    #[inline]
    fn drop(&mut self) {
        crate::exclusive::release_to(self.held);
        self.meter.stack_left.set(self.saved);
        self.meter.entries.set(self.meter.entries.get() - 1);
        if let Some(previous) = self.swap_back {
            self.meter.switch_to(previous);
        }
    }
}

thread_local! {
    /// No engine's budget loaded, no wasm running.
    static METER: Meter = const {
        Meter {
            fuel: Cell::new(0),
            deadline: Cell::new(u64::MAX),
            stack_left: Cell::new(0),
            entries: Cell::new(0),
            borrows: Cell::new(0),
            lends: Cell::new(0),
            engine: Cell::new(0),
        }
    };
    /// The thread's budgets for the engines other than the one its meter holds.
    static PARKED: RefCell<Vec<(u64, Held)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's meter.
pub fn with_meter<R>(f: impl FnOnce(&Meter) -> R) -> R {
    METER.with(f)
}

/// The address of this thread's meter, for compiled code (valid while the thread runs).
pub fn meter_ptr() -> *const Meter {
    METER.with(|m| m as *const Meter)
}

/// The most fuel a budget holds.
pub const MAX_FUEL: u64 = i64::MAX as u64;

/// This thread's budget for `engine` (fuel overrun reads as 0).
pub fn budget(engine: &crate::Engine) -> Budget {
    with_meter(|m| m.with_budget(engine.id(), |h| h.budget()))
}

/// Sets this thread's budget for `engine`.
pub fn set_budget(engine: &crate::Engine, budget: Budget) {
    with_meter(|m| m.with_budget(engine.id(), |h| *h = Held::of(budget)));
}

/// Sets this thread's budget for `engine` to `budget`, returning the one it replaces
/// exactly (an overrun included): for a call with a budget of its own, which puts the
/// old one back after.
pub fn replace_budget(engine: &crate::Engine, budget: Budget) -> HeldBudget {
    with_meter(|m| {
        m.with_budget(engine.id(), |h| {
            HeldBudget(std::mem::replace(h, Held::of(budget)))
        })
    })
}

/// Puts back a budget [`replace_budget`] returned; returns the one it replaces.
pub fn restore_budget(engine: &crate::Engine, held: HeldBudget) -> Budget {
    with_meter(|m| m.with_budget(engine.id(), |h| std::mem::replace(h, held.0).budget()))
}

/// A budget as the meter held it (see [`replace_budget`]).
#[derive(Debug, Clone, Copy)]
pub struct HeldBudget(Held);

/// Adds to this thread's fuel for `engine` (up to [`MAX_FUEL`]); fuel overrun since the
/// last check is paid first.
pub fn add_fuel(engine: &crate::Engine, fuel: u64) {
    with_meter(|m| {
        m.with_budget(engine.id(), |h| {
            h.fuel = h.fuel.saturating_add(fuel.min(MAX_FUEL) as i64)
        })
    });
}

/// The deadline of the budget the meter holds now (the engine whose code the thread
/// runs, or ran last).
pub fn deadline() -> u64 {
    with_meter(|m| m.deadline.get())
}

#[cfg(test)]
/// Sets the deadline of the budget the meter holds now.
pub(crate) fn set_deadline(epoch: u64) {
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
    use crate::engine::{test_engine, Limits};
    use crate::Engine;

    fn engine() -> Engine {
        test_engine(Limits::default())
    }

    #[test]
    fn budgets_belong_to_their_engine_and_thread() {
        let (a, b) = (engine(), engine());
        set_budget(
            &a,
            Budget {
                fuel: 10,
                deadline: 7,
            },
        );
        assert_eq!(budget(&b), Budget::default(), "b's is its own");
        with_meter(|m| {
            let _entry = m.enter(&a);
            assert_eq!(m.charge(15), -5);
            assert_eq!(m.deadline(), 7);
        });
        assert_eq!(budget(&a).fuel, 0, "an overrun reads as 0");
        add_fuel(&a, 7);
        assert_eq!(budget(&a).fuel, 2, "the overrun is paid first");
        std::thread::spawn(move || assert_eq!(budget(&a), Budget::default()))
            .join()
            .unwrap();
        set_budget(
            &b,
            Budget {
                fuel: u64::MAX,
                deadline: 0,
            },
        );
        assert_eq!(budget(&b).fuel, MAX_FUEL);
        add_fuel(&b, 5);
        assert_eq!(budget(&b).fuel, MAX_FUEL);
    }

    #[test]
    fn an_entry_into_another_engine_swaps_its_budget_in_and_out() {
        let (a, b) = (engine(), engine());
        set_budget(
            &a,
            Budget {
                fuel: 100,
                deadline: 1,
            },
        );
        set_budget(
            &b,
            Budget {
                fuel: 5,
                deadline: 2,
            },
        );
        with_meter(|m| {
            let _outer = m.enter(&a);
            m.charge(1);
            {
                let _inner = m.enter(&b);
                assert_eq!((m.charge(1), m.deadline()), (4, 2), "b's budget");
            }
            assert_eq!((m.charge(1), m.deadline()), (98, 1), "a's again");
        });
        assert_eq!(budget(&a).fuel, 98);
        assert_eq!(budget(&b).fuel, 4);
    }

    #[test]
    fn a_call_can_have_a_budget_of_its_own() {
        let a = engine();
        set_budget(
            &a,
            Budget {
                fuel: 1000,
                deadline: 9,
            },
        );
        let own = Budget {
            fuel: 50,
            deadline: u64::MAX,
        };
        let thread = replace_budget(&a, own);
        with_meter(|m| {
            let _entry = m.enter(&a);
            m.charge(10);
            assert_eq!(m.deadline(), u64::MAX);
        });
        assert_eq!(restore_budget(&a, thread).fuel, 40, "what the call left");
        assert_eq!(
            budget(&a),
            Budget {
                fuel: 1000,
                deadline: 9
            },
            "the thread's again"
        );
    }

    #[test]
    fn nested_entries_share_the_stack_budget_and_give_it_back() {
        let small = test_engine(Limits {
            max_wasm_stack: 100,
            ..Limits::default()
        });
        let large = test_engine(Limits {
            max_wasm_stack: 1000,
            ..Limits::default()
        });
        with_meter(|m| {
            let outer = m.enter(&small);
            assert!(m.push_frame(60));
            {
                let _inner = m.enter(&large);
                assert!(!m.push_frame(41), "the nested entry has what is left");
                assert!(m.push_frame(40));
            }
            assert!(!m.push_frame(41), "the nested entry gave its frames back");
            drop(outer);
            let _again = m.enter(&small);
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

//! Entering compiled code, and leaving it on a trap.
//!
//! The host enters compiled code through `rwamr_jit_enter` (assembly below), which saves
//! the callee-saved registers and its stack pointer in the thread's innermost
//! [`EntryFrame`]. A trap in compiled code is a hardware fault: a load or store on a
//! guard page (SIGSEGV/SIGBUS), `ud2` (SIGILL) or a division (SIGFPE). The signal
//! handler looks the faulting pc up in the trap tables of the code registered in
//! `code.rs`; when it is a trap site and the thread is inside compiled code, it rewrites
//! the interrupted context to continue at `rwamr_jit_resume` with the saved stack
//! pointer, which returns 1 from `rwamr_jit_enter`. No Rust frame is skipped (only
//! compiled frames lie between the entry and the fault), and returning from the handler
//! restores the signal mask. Any other fault goes to the handler installed before ours,
//! or to the default action: it crashes as it would have.
//!
//! Helpers and calls into other tiers report a trap by storing it as pending
//! ([`set_pending`]) and returning a status that compiled code turns into a `ud2`.

use crate::abi::ThreadCtx;
use crate::code;
use rwamr_core::{FuncEntry, Trap};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, OnceLock};

/// Most compiled frames a trap records for its backtrace.
const MAX_FRAMES: usize = Trap::MAX_FRAMES;

/// One host->compiled-code entry on this thread's stack.
#[repr(C)]
pub struct EntryFrame {
    /// Stack pointer after `rwamr_jit_enter` saved registers; written by the assembly.
    saved_sp: usize,
    prev: *const EntryFrame,
}

/// What the signal handler records about a trap (no allocation in a handler).
struct TrapRecord {
    code: Cell<u8>,
    pcs: [Cell<usize>; MAX_FRAMES],
    num_pcs: Cell<usize>,
    /// Compiled frames beyond the first `MAX_FRAMES`, counted only.
    more: Cell<usize>,
}

thread_local! {
    static THREAD_CTX: ThreadCtx = const {
        ThreadCtx {
            stack_limit: Cell::new(0),
            helpers: &crate::helpers::HELPERS as *const crate::helpers::Helpers as *const u8,
            meter: Cell::new(std::ptr::null()),
            caller_vmctx: Cell::new(0),
        }
    };
    static INNERMOST: Cell<*const EntryFrame> = const { Cell::new(std::ptr::null()) };
    static RECORD: TrapRecord = const {
        TrapRecord {
            code: Cell::new(0),
            pcs: [const { Cell::new(0) }; MAX_FRAMES],
            num_pcs: Cell::new(0),
            more: Cell::new(0),
        }
    };
    static PENDING: RefCell<Option<Trap>> = const { RefCell::new(None) };
}

/// Stores the trap a helper or another tier returned, for the entry to report.
pub fn set_pending(trap: Trap) {
    PENDING.with(|p| *p.borrow_mut() = Some(trap));
}

/// Native stack left for what runs outside compiled code below the lowest compiled
/// frame (host functions, nested entries of other tiers, the signal handler).
const STACK_RESERVE: usize = 512 * 1024;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
std::arch::global_asm!(
    ".text",
    ".globl rwamr_jit_enter",
    ".type rwamr_jit_enter, @function",
    // rwamr_jit_enter(trampoline, native, entry, tctx, cells, saved_sp: *mut usize) -> u32
    // calls trampoline(native, entry, tctx, cells).
    "rwamr_jit_enter:",
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "sub rsp, 8",
    "mov [r9], rsp",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov rcx, r8",
    "call rax",
    "xor eax, eax",
    "2:",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    ".globl rwamr_jit_resume",
    ".type rwamr_jit_resume, @function",
    "rwamr_jit_resume:",
    "mov eax, 1",
    "jmp 2b",
);

extern "C" {
    fn rwamr_jit_enter(
        trampoline: *const u8,
        native: *const u8,
        entry: *const u8,
        tctx: *const ThreadCtx,
        cells: *mut u64,
        saved_sp: *mut usize,
    ) -> u32;
    fn rwamr_jit_resume();
}

/// Calls compiled code `native` as the function of `entry`: `trampoline` is the
/// array-call trampoline of its type (`trampolines.rs`), `cells` the arguments,
/// replaced by the results.
///
/// # Safety
/// `native` must be compiled code of `entry`'s function and `trampoline` the array-call
/// trampoline of its type, both in code memory that stays alive during the call, and
/// `cells` must have room for the arguments and the results.
pub unsafe fn enter(
    trampoline: *const u8,
    native: *const u8,
    entry: &FuncEntry,
    cells: &mut [u64],
) -> Result<(), Trap> {
    install_handlers();
    let Some(remaining) = stacker::remaining_stack() else {
        return Err(Trap::host("cannot find the native stack's bounds"));
    };
    if remaining < 2 * STACK_RESERVE {
        return Err(Trap::new(rwamr_core::TrapCode::StackOverflow));
    }
    let here = &remaining as *const usize as usize;
    // The stack budget (core's `meter.rs`) decides how deep wasm goes, in every mode
    // alike; the native limit only keeps the thread's own stack from overflowing.
    let mut limit = here - remaining + STACK_RESERVE;
    let tctx: *const ThreadCtx = THREAD_CTX.with(|t| t as *const ThreadCtx);
    // SAFETY: `tctx` points to this thread's context, alive for the thread.
    let old_limit = unsafe { (*tctx).stack_limit.get() };
    limit = limit.max(old_limit);
    // SAFETY: as above.
    unsafe { (*tctx).stack_limit.set(limit) };
    // SAFETY: as above; the meter is this thread's, alive as long as the thread.
    unsafe { (*tctx).meter.set(rwamr_core::meter::meter_ptr()) };
    let mut frame = EntryFrame {
        saved_sp: 0,
        prev: INNERMOST.with(|i| i.get()),
    };
    INNERMOST.with(|i| i.set(&frame));
    // Tables' element arrays and slot entries that the code reads stay alive while
    // this guard is pinned (core's `slot.rs`).
    let guard = rwamr_core::slot::pin();
    let engine = entry.instance().engine();
    let status = rwamr_core::meter::with_meter(|meter| {
        // The budgets as they are now come back however the call ends (a trap skips
        // the epilogues that give frames back).
        let _entry = meter.enter(engine);
        // SAFETY: `trampoline` and `cells` are as this function's contract requires;
        // `frame` outlives the call. Traps come back as status 1 through
        // `rwamr_jit_resume`, which only skips compiled frames.
        unsafe {
            rwamr_jit_enter(
                trampoline,
                native,
                (entry as *const FuncEntry).cast(),
                tctx,
                cells.as_mut_ptr(),
                &mut frame.saved_sp,
            )
        }
    });
    drop(guard);
    INNERMOST.with(|i| i.set(frame.prev));
    // SAFETY: as above.
    unsafe { (*tctx).stack_limit.set(old_limit) };
    if status == 0 {
        return Ok(());
    }
    Err(take_trap(entry))
}

/// The trap the handler recorded (or the pending one), with its compiled frames.
fn take_trap(entry: &FuncEntry) -> Trap {
    let (code, pcs, more) = RECORD.with(|r| {
        let n = r.num_pcs.get();
        let pcs: Vec<usize> = r.pcs[..n].iter().map(Cell::get).collect();
        (r.code.get(), pcs, r.more.replace(0))
    });
    let mut trap = if code == crate::abi::user_trap::PENDING {
        PENDING
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| Trap::host("compiled code trapped without a reason"))
    } else {
        Trap::new(code::trap_code_from_raw(code))
    };
    if trap.code() != rwamr_core::TrapCode::Exit {
        // After an OSR entry: the first-tier frame that called it, the same wasm frame.
        let mut moved_from = None;
        for pc in pcs {
            if let Some((module, func_index, osr)) = code::function_at(pc) {
                let at = (Arc::as_ptr(&module), func_index);
                if moved_from.take() == Some(at) {
                    continue;
                }
                if osr {
                    moved_from = Some(at);
                }
                let inst = entry.instance();
                let same = inst
                    .module()
                    .is_some_and(|m| std::sync::Arc::ptr_eq(m, &module));
                let name = if same { inst.name() } else { "" };
                trap.push_frame(name, func_index, module.known_func_name(func_index));
            }
        }
        trap.note_omitted_frames(more);
    }
    trap
}

/// Handles a fault in compiled code; `false` when it is not one.
///
/// # Safety
/// Called from the signal handler with the interrupted context.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
unsafe fn handle_trap(context: *mut libc::c_void) -> bool {
    // Not inside an entry on this thread: not ours, whatever the pc.
    let frame = INNERMOST.with(|i| i.get());
    if frame.is_null() {
        return false;
    }
    let uc = context.cast::<libc::ucontext_t>();
    // SAFETY: the kernel passes a valid ucontext to an SA_SIGINFO handler.
    let gregs = unsafe { &mut (*uc).uc_mcontext.gregs };
    let pc = gregs[libc::REG_RIP as usize] as usize;
    let Some(trap) = code::trap_at(pc) else {
        return false;
    };
    // SAFETY: `frame` is the innermost live entry of this thread (set and cleared by
    // `enter` around the call that is running).
    let saved_sp = unsafe { (*frame).saved_sp };
    let sp = gregs[libc::REG_RSP as usize] as usize;
    RECORD.with(|r| {
        r.code.set(trap);
        r.pcs[0].set(pc);
        let mut n = 1;
        // Walk the frame-pointer chain of compiled frames (they keep frame pointers),
        // reading only inside the stack between the fault and the entry.
        let mut fp = gregs[libc::REG_RBP as usize] as usize;
        let mut more = 0;
        while fp >= sp && fp + 16 <= saved_sp && fp.is_multiple_of(8) {
            // SAFETY: `fp..fp+16` lies in this thread's stack between the interrupted
            // stack pointer and the entry's saved one, all mapped and initialized.
            let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            if !code::is_compiled(ret) {
                break;
            }
            if n < MAX_FRAMES {
                r.pcs[n].set(ret - 1);
                n += 1;
            } else if code::in_function(ret - 1) {
                more += 1;
            }
            if next <= fp {
                break;
            }
            fp = next;
        }
        r.num_pcs.set(n);
        r.more.set(more);
    });
    gregs[libc::REG_RIP as usize] = rwamr_jit_resume as *const () as usize as i64;
    gregs[libc::REG_RSP as usize] = saved_sp as i64;
    true
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// The handlers that were installed before ours, by position in `SIGNALS`.
static PREVIOUS: OnceLock<[libc::sigaction; 4]> = OnceLock::new();

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: called by the kernel as an SA_SIGINFO handler with a valid context.
    if unsafe { handle_trap(context) } {
        return;
    }
    let Some(at) = SIGNALS.iter().position(|s| *s == sig) else {
        return;
    };
    let Some(prev) = PREVIOUS.get().map(|p| p[at]) else {
        // SAFETY: restoring the default action; returning re-runs the faulting
        // instruction, which then takes the default action (a crash).
        unsafe { libc::signal(sig, libc::SIG_DFL) };
        return;
    };
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // SAFETY: as above: the fault repeats under the default action.
        unsafe { libc::sigaction(sig, &prev, std::ptr::null_mut()) };
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed as an SA_SIGINFO handler.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, context);
    } else {
        // SAFETY: the previous handler was installed as a plain handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}

/// Installs the trap handlers once per process.
fn install_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut previous: [libc::sigaction; 4] =
            // SAFETY: sigaction is plain data; all-zero is a valid (empty) value.
            unsafe { std::mem::zeroed() };
        for (i, sig) in SIGNALS.iter().enumerate() {
            // SAFETY: installing a handler with a zeroed, then filled sigaction; the
            // handler runs on the alternate stack (std sets one up for its threads).
            unsafe {
                let mut act: libc::sigaction = std::mem::zeroed();
                act.sa_sigaction = on_signal as *const () as usize;
                act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut act.sa_mask);
                libc::sigaction(*sig, &act, &mut previous[i]);
            }
        }
        let _ = PREVIOUS.set(previous);
    });
}

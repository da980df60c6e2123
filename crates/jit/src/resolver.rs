//! The stub resolver of builds without a compiler: the native entry point of an entry
//! whose type had no stub when the entry was made (a host function defined before the
//! `.aot` file that calls it was loaded). Called with the native convention of any
//! type, it keeps the argument registers, asks [`resolve`] for the stub of the called
//! entry's type (the first argument is the entry, see `abi.rs`) and jumps to it, so the
//! stub runs as if called directly. A type no loaded file has a stub for traps.
//!
//! Each such call looks the stub up again (a lock and a hash lookup): only calls out of
//! compiled code into host or interpreted functions take this path.
#![allow(unsafe_code)]

use crate::abi::user_trap;
use crate::code::{CodeInfo, CodeMemory};
use crate::StubLibrary;
use rwamr_core::{FuncEntry, Module, Trap};
use std::sync::{Arc, OnceLock};

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
std::arch::global_asm!(
    ".text",
    ".globl rwamr_jit_stub_resolver",
    ".type rwamr_jit_stub_resolver, @function",
    "rwamr_jit_stub_resolver:",
    "push rbp",
    "mov rbp, rsp",
    // Six integer and eight vector argument registers; 16-byte alignment is kept.
    "sub rsp, 192",
    "mov [rsp], rdi",
    "mov [rsp + 8], rsi",
    "mov [rsp + 16], rdx",
    "mov [rsp + 24], rcx",
    "mov [rsp + 32], r8",
    "mov [rsp + 40], r9",
    "movdqu [rsp + 48], xmm0",
    "movdqu [rsp + 64], xmm1",
    "movdqu [rsp + 80], xmm2",
    "movdqu [rsp + 96], xmm3",
    "movdqu [rsp + 112], xmm4",
    "movdqu [rsp + 128], xmm5",
    "movdqu [rsp + 144], xmm6",
    "movdqu [rsp + 160], xmm7",
    "call {resolve}",
    "mov r11, rax",
    "mov rdi, [rsp]",
    "mov rsi, [rsp + 8]",
    "mov rdx, [rsp + 16]",
    "mov rcx, [rsp + 24]",
    "mov r8, [rsp + 32]",
    "mov r9, [rsp + 40]",
    "movdqu xmm0, [rsp + 48]",
    "movdqu xmm1, [rsp + 64]",
    "movdqu xmm2, [rsp + 80]",
    "movdqu xmm3, [rsp + 96]",
    "movdqu xmm4, [rsp + 112]",
    "movdqu xmm5, [rsp + 128]",
    "movdqu xmm6, [rsp + 144]",
    "movdqu xmm7, [rsp + 160]",
    "leave",
    "jmp r11",
    resolve = sym resolve,
);

extern "C" {
    fn rwamr_jit_stub_resolver();
}

/// The resolver's address, the native entry of entries whose stub is not known yet.
/// Fails where the code it traps with cannot be made.
pub fn address() -> rwamr_core::Result<*const u8> {
    trap_pad()?;
    Ok(rwamr_jit_stub_resolver as *const u8)
}

/// The stub for `entry`'s type, or the trap pad with the trap pending.
extern "C" fn resolve(entry: *const FuncEntry) -> *const u8 {
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> Result<*const u8, String> {
            // SAFETY: compiled code passes the entry it loaded from a slot, which the
            // caller's epoch guard keeps alive during the call.
            let entry = unsafe { &*entry };
            let library = entry
                .instance()
                .engine()
                .native_stubs()
                .and_then(|s| s.as_any())
                .and_then(|a| a.downcast_ref::<StubLibrary>())
                .ok_or("the engine has no native stubs")?;
            library.get(&entry.ty).ok_or_else(|| {
                format!(
                    "no native stub for functions of type {}: this build has no compiler, and \
                 no loaded .aot file has functions of that type",
                    entry.ty
                )
            })
        },
    ));
    let why = match found {
        Ok(Ok(stub)) => return stub,
        Ok(Err(why)) => why,
        Err(_) => "looking up a native stub panicked".to_string(),
    };
    crate::traps::set_pending(Trap::host(why));
    match trap_pad() {
        Ok(pad) => pad,
        // `address` made the pad before the resolver was handed out.
        Err(_) => std::process::abort(),
    }
}

/// Code that traps with the pending trap: one `ud2`, known to the trap handler.
fn trap_pad() -> rwamr_core::Result<*const u8> {
    static PAD: OnceLock<Result<CodeMemory, String>> = OnceLock::new();
    let pad = PAD.get_or_init(|| {
        let module = Arc::new(Module::new(b"\0asm\x01\0\0\0").map_err(|e| e.to_string())?);
        let info = CodeInfo {
            traps: vec![(0, user_trap::PENDING)],
            funcs: Vec::new(),
            module,
            osr: false,
        };
        CodeMemory::new(&[0x0f, 0x0b], info).map_err(|e| e.to_string())
    });
    match pad {
        Ok(code) => Ok(code.at(0)),
        Err(e) => Err(rwamr_core::Error::resource(format!(
            "cannot make the stub resolver's trap code: {e}"
        ))),
    }
}

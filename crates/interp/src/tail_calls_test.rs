//! The threaded dispatch relies on every handler ending in a tail jump: a handler that
//! calls the next one instead grows the native stack with every instruction it runs,
//! until the host crashes. The compiler gives no guarantee, so this test reads the
//! machine code of the test binary itself and checks each handler.

#[test]
#[cfg(all(rwamr_tail_calls, target_arch = "x86_64", target_os = "linux"))]
fn tail_calls_are_jumps() {
    // Keep the handlers in the binary.
    let _ = crate::bytecode::Instr::Unreachable.handler();
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "-C"])
        .arg(&exe)
        .output()
        .expect("objdump (binutils) is needed to check the interpreter's tail calls");
    assert!(out.status.success(), "objdump failed on {}", exe.display());
    let asm = String::from_utf8_lossy(&out.stdout);
    let mut handlers = 0;
    let mut bad = Vec::new();
    let mut current: Option<(String, bool, Vec<String>)> = None;
    let mut finish = |f: Option<(String, bool, Vec<String>)>, handlers: &mut usize| {
        if let Some((name, jumps, calls)) = f {
            *handlers += 1;
            if (!jumps && !name.ends_with("::Unreachable")) || !calls.is_empty() {
                bad.push(format!(
                    "{name}: tail jump {jumps}, indirect calls {calls:?}"
                ));
            }
        }
    };
    for line in asm.lines() {
        // A function starts with `ADDRESS <NAME>:`.
        if line.ends_with(">:") {
            finish(current.take(), &mut handlers);
            if let Some(start) = line.find(" <rwamr_interp::handlers::") {
                let name = line[start + 2..].trim_end_matches(">:").to_string();
                // Handlers are `handlers::family::Name`; helpers (`work`, `call_out`, ...)
                // are not.
                let last = name.rsplit("::").next().unwrap_or("");
                if name.matches("::").count() == 3 && last.starts_with(char::is_uppercase) {
                    current = Some((name, false, Vec::new()));
                }
            }
            continue;
        }
        if let Some((_, jumps, calls)) = current.as_mut() {
            let insn = line.split('\t').nth(1).unwrap_or("");
            let indirect = insn.contains('*') && !insn.contains("(%rip)");
            if insn.starts_with("jmp") && indirect {
                *jumps = true;
            }
            if insn.starts_with("call") && indirect {
                calls.push(insn.to_string());
            }
        }
    }
    finish(current.take(), &mut handlers);
    assert!(
        handlers > 100,
        "found only {handlers} handlers in the binary"
    );
    assert!(
        bad.is_empty(),
        "handlers without a tail jump:\n{}",
        bad.join("\n")
    );
}

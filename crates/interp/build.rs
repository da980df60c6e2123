//! Chooses the dispatch backend (see src/dispatch.rs): threaded tail calls when the
//! build optimizes (the compiler then turns them into jumps) on targets where that is
//! known to work; a dispatch loop otherwise. `RWAMR_INTERP_LOOP=1` forces the loop.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rwamr_tail_calls)");
    println!("cargo::rerun-if-env-changed=RWAMR_INTERP_LOOP");
    let opt = std::env::var("OPT_LEVEL").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let optimizing = matches!(opt.as_str(), "2" | "3" | "s" | "z");
    let known_arch = matches!(arch.as_str(), "x86_64" | "aarch64");
    let forced_loop = std::env::var_os("RWAMR_INTERP_LOOP").is_some_and(|v| v == "1");
    if optimizing && known_arch && !forced_loop {
        println!("cargo::rustc-cfg=rwamr_tail_calls");
    }
}

//! The embedded Wasm 2.0 spec suite in every built mode: nothing may fail outside the
//! known-unsupported files.

use rwamr_spec_tests::{embedded_set, render, run, totals, Detail, Options};

#[test]
fn wasm_v2_in_every_built_mode() {
    let scripts = embedded_set("wasm-v2").expect("the wasm-v2 set is embedded");
    assert!(scripts.len() > 50, "only {} scripts found", scripts.len());
    let opts = Options {
        wasm2_only: true,
        ..Options::default()
    };
    let reports = run(&scripts, &opts);
    let table = render(&reports, Detail::Failures);
    println!("{table}");
    let t = totals(&reports);
    assert_eq!(
        t.unexpected_failures, 0,
        "{} spec commands failed (table above; run `cargo run -p rwamr-spec-tests --release -- -v` for the same view)",
        t.unexpected_failures
    );
}

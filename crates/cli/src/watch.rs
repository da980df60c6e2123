//! `rwamr run --watch`: hot reload of preloaded modules when their files change.

use crate::precompiled::{read_input, Aot, Input};
use rwamr::{ErrorKind, Registry, UpdatePolicy};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

const POLL: Duration = Duration::from_millis(200);

fn modified(path: &PathBuf) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Polls the files of `preloads`; on a change, updates that module and calls `rerun`.
/// Never returns normally (the user interrupts it).
pub fn watch(
    registry: &Registry,
    preloads: &[(String, PathBuf)],
    allow_precompiled: bool,
    mut rerun: impl FnMut(),
) -> rwamr::Result<()> {
    if preloads.is_empty() {
        return Err(rwamr::Error::argument(
            "--watch needs at least one --preload NAME=FILE to watch",
        ));
    }
    let mut stamps: Vec<Option<SystemTime>> = preloads.iter().map(|(_, f)| modified(f)).collect();
    crate::say!(
        "rwamr: watching {} for changes (Ctrl-C to stop)",
        preloads
            .iter()
            .map(|(_, f)| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    loop {
        std::thread::sleep(POLL);
        for ((name, file), stamp) in preloads.iter().zip(stamps.iter_mut()) {
            let now = modified(file);
            if now == *stamp {
                continue;
            }
            *stamp = now;
            match reload(registry, name, file, allow_precompiled) {
                Ok(msg) => {
                    crate::say!("rwamr: {msg}");
                    rerun();
                }
                Err(e) => crate::say!("rwamr: `{name}` not updated: {e}"),
            }
            let _ = std::io::stdout().flush();
        }
    }
}

fn reload(
    registry: &Registry,
    name: &str,
    file: &std::path::Path,
    allow_precompiled: bool,
) -> rwamr::Result<String> {
    let input = read_input(registry.engine(), file, allow_precompiled, Aot::Copy)?;
    let update = |policy| match &input {
        Input::Wasm(bytes) => registry.update_module(name, bytes, policy),
        Input::Aot(compiled) => registry.update_module_compiled(name, compiled, policy),
    };
    let report = match update(UpdatePolicy::KeepState) {
        // The new version's layout changed: replace the module instead.
        Err(e) if e.kind() == ErrorKind::Incompatible => update(UpdatePolicy::Fresh)?,
        other => other?,
    };
    let how = match report.policy {
        UpdatePolicy::KeepState => "keeping its state",
        UpdatePolicy::Fresh => "fresh",
    };
    Ok(if report.swapped.is_empty() {
        format!("updated `{name}` ({how}): no function changed")
    } else {
        format!(
            "updated `{name}` ({how}): swapped {}",
            report.swapped.join(", ")
        )
    })
}

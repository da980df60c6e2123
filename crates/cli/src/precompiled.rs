//! Reading a module file as wasm (binary or text) or as a precompiled `.aot` file. An
//! `.aot` file is native code that runs as it is, so it loads only when the user said
//! so with `--allow-precompiled` (as `wasmtime run --allow-precompiled`): this module
//! holds the CLI's one `unsafe` call, behind that flag.
#![allow(unsafe_code)]

use rwamr::{CompiledModule, Engine, Error, Result};
use std::io::Read as _;
use std::path::Path;

/// A module file's contents.
pub enum Input {
    /// Wasm bytes (text already turned into binary), still to be compiled.
    Wasm(Vec<u8>),
    /// A module loaded from an `.aot` file.
    Aot(CompiledModule),
}

/// Whether `path` starts with the `.aot` magic bytes.
pub fn is_aot_file(path: &Path) -> Result<bool> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|e| cannot_read(path, e))?;
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot_read(path, e)),
        }
    }
    Ok(rwamr::aot::is_aot(&head[..n]))
}

fn cannot_read(path: &Path, e: std::io::Error) -> Error {
    Error::resource(format!("cannot read `{}`: {e}", path.display()))
}

/// How an `.aot` file is brought into memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Aot {
    /// Mapped from the file: nothing copied, but the file must not be rewritten in
    /// place while the module runs (`rwamr compile` replaces files, it does not
    /// rewrite them).
    Map,
    /// Read into memory: for files that are expected to change (`--watch`).
    Copy,
}

/// Reads the module at `path` for `engine`: an `.aot` file is loaded (only with
/// `allow_precompiled`), anything else read as wasm.
pub fn read_input(
    engine: &Engine,
    path: &Path,
    allow_precompiled: bool,
    how: Aot,
) -> Result<Input> {
    if !is_aot_file(path)? {
        return crate::read_module(path).map(Input::Wasm);
    }
    if !allow_precompiled {
        return Err(Error::argument(format!(
            "`{}` is a precompiled .aot file: native code that runs as it is, trusted like \
             any program you run; pass --allow-precompiled to run it",
            path.display()
        )));
    }
    let compiled = match how {
        // SAFETY: the user vouched for the file with --allow-precompiled (its author is
        // trusted); `rwamr compile` replaces a file rather than rewriting it, so the
        // mapped file stays as it is.
        Aot::Map => unsafe { rwamr::aot::load_file(engine, path) },
        Aot::Copy => {
            let bytes = std::fs::read(path).map_err(|e| cannot_read(path, e))?;
            // SAFETY: the user vouched for the file with --allow-precompiled.
            unsafe { rwamr::aot::load_bytes(engine, &bytes) }
                .map_err(|e| e.context(path.display().to_string()))
        }
    }?;
    Ok(Input::Aot(compiled))
}

//! The module names a binary imports from, so that a module depending on one that was
//! skipped is skipped too instead of failing to link.

/// Names of the modules `bytes` imports from. Undecodable input gives what was read so
/// far: the load itself reports the error.
pub fn import_modules(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::ImportSection(reader)) => {
                for imp in reader.into_imports() {
                    match imp {
                        Ok(imp) if !out.iter().any(|m| m == imp.module) => {
                            out.push(imp.module.to_string())
                        }
                        Ok(_) => {}
                        Err(_) => return out,
                    }
                }
            }
            // Imports come before any code: stop at the first later section.
            Ok(wasmparser::Payload::CodeSectionStart { .. }) | Err(_) => return out,
            Ok(_) => {}
        }
    }
    out
}

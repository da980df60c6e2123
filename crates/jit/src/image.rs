//! A block of compiled code with the tables that describe it: what the compiled tiers
//! put in code memory, and what an AOT file stores. Making one needs Cranelift
//! (`lib.rs`); loading one does not.

use crate::code::{CodeInfo, CodeMemory, FuncRange};
use crate::JitFunc;
use rwamr_core::{Module, Result, WasmCode};
use std::ops::Range;
use std::sync::Arc;

/// Compiled functions, their array-call trampolines and native stubs, laid out in one
/// block of position-independent code (no relocations).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeImage {
    pub bytes: Vec<u8>,
    /// Trap sites: (offset, raw trap code), sorted by offset.
    pub traps: Vec<(u32, u8)>,
    /// The compiled functions, sorted by start.
    pub funcs: Vec<FuncRange>,
    /// Offset of each function's array-call trampoline (parallel to `funcs`).
    pub trampolines: Vec<u32>,
    /// Where the native stub of each type asked for lies (parallel to the types).
    pub stubs: Vec<Range<u32>>,
}

impl CodeImage {
    /// Pads the code to a 16-byte boundary; returns the new length.
    pub(crate) fn align(&mut self) -> u32 {
        while !self.bytes.len().is_multiple_of(16) {
            self.bytes.push(0xcc);
        }
        self.bytes.len() as u32
    }

    /// Appends `code` at a 16-byte boundary, with its trap sites; returns where it lies.
    pub(crate) fn push(&mut self, code: &[u8], traps: &[(u32, u8)]) -> Range<u32> {
        let start = self.align();
        self.bytes.extend_from_slice(code);
        self.traps
            .extend(traps.iter().map(|(off, c)| (start + off, *c)));
        start..self.bytes.len() as u32
    }

    /// The trap handler's description of the code, for functions of `module`.
    pub fn info(&self, module: Arc<Module>) -> CodeInfo {
        CodeInfo {
            traps: self.traps.clone(),
            funcs: self.funcs.clone(),
            module,
            osr: false,
        }
    }

    /// The functions of the image, once it lies in `memory`.
    pub fn functions(&self, memory: &Arc<CodeMemory>) -> Vec<Arc<dyn WasmCode>> {
        self.funcs
            .iter()
            .zip(&self.trampolines)
            .map(|(f, &t)| {
                Arc::new(JitFunc {
                    native: memory.at(f.start),
                    trampoline: memory.at(t),
                    _memory: memory.clone(),
                    _trampoline_memory: None,
                }) as Arc<dyn WasmCode>
            })
            .collect()
    }

    /// Copies the image into new code memory and returns its functions.
    pub fn load(&self, module: Arc<Module>) -> Result<Vec<Arc<dyn WasmCode>>> {
        let memory = Arc::new(CodeMemory::new(&self.bytes, self.info(module))?);
        Ok(self.functions(&memory))
    }
}

/// The trap sites of `traps` (sorted by offset) within `range`, relative to its start.
pub fn traps_in(traps: &[(u32, u8)], range: &Range<u32>) -> Vec<(u32, u8)> {
    let from = traps.partition_point(|(off, _)| *off < range.start);
    let to = traps.partition_point(|(off, _)| *off < range.end);
    traps[from..to.max(from)]
        .iter()
        .map(|(off, c)| (off - range.start, *c))
        .collect()
}

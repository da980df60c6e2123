//! Executable memory for compiled code, and the process-wide table of it that the trap
//! handler consults: which pcs are trap sites (and with which code), and which function
//! a pc belongs to (for backtraces).
//!
//! Code is position independent as the translator makes it (no relocations), so
//! loading is: map, copy, make read+execute (a loader of stored code could map the same
//! bytes from a file).

#[cfg(feature = "cranelift")]
use cranelift_codegen::ir::TrapCode as ClifTrap;
use rwamr_core::{Error, Module, Result, TrapCode};
use std::sync::{Arc, RwLock};

/// Where a compiled function lies in its code memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncRange {
    pub start: u32,
    pub end: u32,
    pub func_index: u32,
}

/// What the trap handler needs to know about one code memory.
pub struct CodeInfo {
    /// Trap sites: (offset, raw trap code), sorted by offset.
    pub traps: Vec<(u32, u8)>,
    /// Functions, sorted by start.
    pub funcs: Vec<FuncRange>,
    pub module: Arc<Module>,
    /// The code is one function's OSR entry (the Tiered mode's), which that function's
    /// first-tier frame calls: a backtrace shows the two as the one frame they are.
    pub osr: bool,
}

struct Registered {
    start: usize,
    end: usize,
    info: Arc<CodeInfo>,
}

/// Every live code memory, sorted by address. Read by the signal handler: it is only
/// read there when the thread is inside compiled code, which never holds this lock.
static CODE: RwLock<Vec<Registered>> = RwLock::new(Vec::new());

fn with_code<R>(pc: usize, f: impl FnOnce(usize, &CodeInfo) -> R) -> Option<R> {
    let code = CODE.read().unwrap_or_else(|e| e.into_inner());
    let i = code.partition_point(|r| r.start <= pc);
    let r = code.get(i.checked_sub(1)?)?;
    (pc < r.end).then(|| f(pc - r.start, &r.info))
}

/// Whether `pc` lies in compiled code.
pub fn is_compiled(pc: usize) -> bool {
    with_code(pc, |_, _| ()).is_some()
}

/// The raw trap code of the trap site at `pc`, if it is one.
pub fn trap_at(pc: usize) -> Option<u8> {
    with_code(pc, |off, info| {
        let off = off as u32;
        let i = info.traps.binary_search_by_key(&off, |t| t.0).ok()?;
        Some(info.traps[i].1)
    })
    .flatten()
}

/// Whether `pc` lies in a compiled function (not a trampoline or stub).
pub fn in_function(pc: usize) -> bool {
    with_code(pc, |off, info| {
        let off = off as u32;
        let i = info.funcs.partition_point(|f| f.start <= off);
        i.checked_sub(1)
            .and_then(|i| info.funcs.get(i))
            .is_some_and(|f| off < f.end)
    })
    .unwrap_or(false)
}

/// The module and function index of the compiled function containing `pc`, and
/// whether the code is an OSR entry (see [`CodeInfo::osr`]).
pub fn function_at(pc: usize) -> Option<(Arc<Module>, u32, bool)> {
    with_code(pc, |off, info| {
        let off = off as u32;
        let i = info.funcs.partition_point(|f| f.start <= off);
        let f = info.funcs.get(i.checked_sub(1)?)?;
        (off < f.end).then(|| (info.module.clone(), f.func_index, info.osr))
    })
    .flatten()
}

/// The raw byte a trap code is recorded as.
#[cfg(feature = "cranelift")]
pub fn raw_trap(code: ClifTrap) -> u8 {
    code.as_raw().get()
}

/// The wasm trap of a raw trap code recorded by the handler.
pub fn trap_code_from_raw(raw: u8) -> TrapCode {
    use crate::abi::{clif_trap as c, user_trap as u};
    match raw {
        c::STACK_OVERFLOW => TrapCode::StackOverflow,
        c::INTEGER_OVERFLOW => TrapCode::IntegerOverflow,
        c::HEAP_OUT_OF_BOUNDS => TrapCode::MemoryOutOfBounds,
        c::INTEGER_DIVISION_BY_ZERO => TrapCode::IntegerDivisionByZero,
        c::BAD_CONVERSION_TO_INTEGER => TrapCode::BadConversionToInteger,
        u::UNREACHABLE => TrapCode::Unreachable,
        u::TABLE_OUT_OF_BOUNDS => TrapCode::TableOutOfBounds,
        u::UNDEFINED_ELEMENT => TrapCode::UndefinedElement,
        u::UNINITIALIZED_ELEMENT => TrapCode::UninitializedElement,
        u::BAD_SIGNATURE => TrapCode::BadSignature,
        u::OUT_OF_FUEL => TrapCode::OutOfFuel,
        u::INTERRUPTED => TrapCode::Interrupted,
        u::UNALIGNED_ATOMIC => TrapCode::UnalignedAtomic,
        _ => TrapCode::Host,
    }
}

/// With `RWAMR_PERF_MAP` set, names compiled functions for `perf` in
/// `/tmp/perf-PID.map` (the format `perf report` reads for JIT code).
fn perf_map(start: usize, info: &CodeInfo) {
    use std::io::Write;
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ENABLED.get_or_init(|| std::env::var_os("RWAMR_PERF_MAP").is_some()) {
        return;
    }
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let mut lines = String::new();
    for f in &info.funcs {
        lines += &format!(
            "{:x} {:x} wasm::{}\n",
            start + f.start as usize,
            f.end - f.start,
            info.module.func_name(f.func_index)
        );
    }
    let _ = file.write_all(lines.as_bytes());
}

/// A block of executable memory holding compiled functions, registered with the trap
/// handler for its lifetime.
pub struct CodeMemory {
    ptr: *mut u8,
    len: usize,
    /// A mapping of an AOT file's code; `None`: our own anonymous mapping.
    file: Option<memmap2::Mmap>,
}

// SAFETY: the mapping is immutable (read+execute) once built and owned by this value.
unsafe impl Send for CodeMemory {}
// SAFETY: as above.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps `bytes` as executable code described by `info`.
    pub fn new(bytes: &[u8], info: CodeInfo) -> Result<CodeMemory> {
        use rustix::mm::{mmap_anonymous, mprotect, MapFlags, MprotectFlags, ProtFlags};
        let page = rustix::param::page_size();
        let len = bytes.len().max(1).div_ceil(page) * page;
        // SAFETY: a fresh private anonymous mapping; it aliases nothing.
        let ptr = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .map_err(|e| Error::resource(format!("cannot map memory for compiled code: {e}")))?
        .cast::<u8>();
        let mem = CodeMemory {
            ptr,
            len,
            file: None,
        };
        // SAFETY: the mapping is `len >= bytes.len()` bytes, writable, and ours alone.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len()) };
        // SAFETY: `ptr..ptr+len` is exactly our mapping.
        unsafe { mprotect(ptr.cast(), len, MprotectFlags::READ | MprotectFlags::EXEC) }
            .map_err(|e| Error::resource(format!("cannot make compiled code executable: {e}")))?;
        mem.register(bytes.len(), info);
        Ok(mem)
    }

    /// Maps `len` bytes of `file` from `offset` (a multiple of the page size) as
    /// executable code described by `info`, without copying them.
    ///
    /// # Safety
    /// Those bytes must be code made by this build's compiled tiers, laid out as `info`
    /// says, and the file must not change while mapped: the code runs as it is.
    pub unsafe fn map_file(
        file: &std::fs::File,
        offset: u64,
        len: usize,
        info: CodeInfo,
    ) -> Result<CodeMemory> {
        // SAFETY: the caller vouches for the contents and that the file stays as it is.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(offset)
                .len(len.max(1))
                .map_exec(file)
        }
        .map_err(|e| Error::resource(format!("cannot map compiled code from the file: {e}")))?;
        let mem = CodeMemory {
            ptr: map.as_ptr().cast_mut(),
            len: map.len(),
            file: Some(map),
        };
        mem.register(len, info);
        Ok(mem)
    }

    /// Tells the trap handler about the first `code_len` bytes.
    fn register(&self, code_len: usize, info: CodeInfo) {
        let start = self.ptr as usize;
        perf_map(start, &info);
        let mut code = CODE.write().unwrap_or_else(|e| e.into_inner());
        let at = code.partition_point(|r| r.start < start);
        code.insert(
            at,
            Registered {
                start,
                end: start + code_len,
                info: Arc::new(info),
            },
        );
    }

    /// Address of byte `offset` of the code.
    pub fn at(&self, offset: u32) -> *const u8 {
        debug_assert!((offset as usize) < self.len);
        self.ptr.wrapping_add(offset as usize)
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        let start = self.ptr as usize;
        CODE.write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|r| r.start != start);
        if self.file.is_none() {
            // SAFETY: our own mapping; nothing can run in it any more: every entry and
            // function handle that could call into it held an `Arc` to this value.
            let _ = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) };
        }
        // A file mapping unmaps itself (as late, for the same reason).
    }
}

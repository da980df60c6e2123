//! The layout of an `.aot` file, in one place, and what must hold for one to load.
//!
//! ```text
//! 0   magic (16 bytes: "\0rwamr-aot\r\n\x1a\n\0\0")
//! 16  format version (u32 LE)        20  0 (u32, reserved: any other value is refused)
//! 24  checksum of bytes 16..24 and 32.. (xxh3-64, u64 LE)
//! 32  metadata length M (u64 LE)
//! 40  metadata (M bytes, `codec.rs`): versions, target, engine settings, vmctx
//!     layout, the decoded module, the code's tables
//! 40+M  data region: the bytes of the data segments not in the image
//! C   code region, C a multiple of CODE_ALIGN: functions, array-call trampolines and
//!     native stubs, position independent (mapped executable as it is)
//! I   memory 0's image, if the module has one, I a multiple of CODE_ALIGN: its active
//!     data segments laid out as instantiation would write them, zeros between
//!     (mapped copy-on-write into each instance's memory)
//! ```
//!
//! The checksum catches truncated and corrupted files. It does not make a file
//! trustworthy: an `.aot` file is native code, and loading one trusts its author.

use crate::codec::{self, Reader, Writer};
use rwamr_core::{Engine, Error, FuncType, Module, Result, VmCtxLayout};
use rwamr_jit::code::FuncRange;
use std::ops::Range;

pub const MAGIC: [u8; 16] = *b"\0rwamr-aot\r\n\x1a\n\0\0";
/// Bumped whenever the layout or the metadata encoding changes.
pub const FORMAT_VERSION: u32 = 5;
pub const HEADER_LEN: usize = 40;
const RESERVED_AT: usize = 20;
const CHECKSUM_AT: usize = 24;
/// The checksum covers the header's version and reserved words, and everything after
/// the checksum itself from here.
const CHECKED_HEADER: Range<usize> = 16..CHECKSUM_AT;
const CHECKED_FROM: usize = 32;
/// Alignment of the code region in the file: a multiple of every page size the code
/// may be mapped with.
pub const CODE_ALIGN: usize = 64 * 1024;

/// Whether `bytes` start like an `.aot` file.
pub fn is_aot(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC[..10])
}

/// What the code was compiled for and with, besides the module itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    /// The rwamr version that wrote the file.
    pub rwamr_version: String,
    /// `std::env::consts::ARCH` and `OS` of the target.
    pub arch: String,
    pub os: String,
    /// The CPU features the code may use (Cranelift's `has_*` names).
    pub cpu_features: Vec<String>,
    /// See `rwamr_jit::abi::runtime_fingerprint`.
    pub runtime_fingerprint: u64,
    /// The engine settings compiled into the code.
    pub settings: Settings,
}

/// The engine settings the code depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Memory accesses rely on guard regions (no bounds checks in the code).
    pub unchecked_memory: bool,
    pub fuel: bool,
    pub epoch: bool,
    /// The wasm features validation admitted (wasmparser's bits).
    pub proposals: u64,
}

impl Settings {
    pub fn of(engine: &Engine) -> Settings {
        let metering = engine.metering();
        Settings {
            unchecked_memory: engine.memory_plan().unchecked,
            fuel: metering.fuel,
            epoch: metering.epoch,
            proposals: rwamr_core::module::supported_features().bits(),
        }
    }
}

impl Build {
    /// The build of this runtime with `engine`'s settings, for code using `cpu_features`.
    pub fn current(engine: &Engine, cpu_features: Vec<String>) -> Build {
        Build {
            rwamr_version: env!("CARGO_PKG_VERSION").to_string(),
            arch: std::env::consts::ARCH.to_string(),
            os: std::env::consts::OS.to_string(),
            cpu_features,
            runtime_fingerprint: rwamr_jit::abi::runtime_fingerprint(),
            settings: Settings::of(engine),
        }
    }

    /// Refuses a file whose code this process and `engine` cannot run, naming the
    /// first difference.
    pub fn check(&self, engine: &Engine) -> Result<()> {
        let here = Build::current(engine, Vec::new());
        let recompile = "; compile it again with this rwamr and these settings";
        if self.rwamr_version != here.rwamr_version {
            return Err(mismatch(format!(
                "it was written by rwamr {}, this is rwamr {}{recompile}",
                self.rwamr_version, here.rwamr_version
            )));
        }
        if (self.arch.as_str(), self.os.as_str()) != (here.arch.as_str(), here.os.as_str()) {
            return Err(mismatch(format!(
                "it was compiled for {}-{}, this host is {}-{}",
                self.arch, self.os, here.arch, here.os
            )));
        }
        if let Some(f) = self.cpu_features.iter().find(|f| !crate::cpu::host_has(f)) {
            return Err(mismatch(format!(
                "its code uses the CPU feature `{}`, which this CPU lacks; compile it with \
                 a lower --target-cpu (such as x86-64-v2 or baseline)",
                f.trim_start_matches("has_")
            )));
        }
        if self.runtime_fingerprint != here.runtime_fingerprint {
            return Err(mismatch(format!(
                "it was compiled for another build of the runtime (its code conventions \
                 differ){recompile}"
            )));
        }
        let (a, b) = (self.settings, here.settings);
        let on = |v: bool| if v { "on" } else { "off" };
        if a.unchecked_memory != b.unchecked_memory {
            return Err(mismatch(format!(
                "its code {} memory bounds, and this engine's memories need code that {} \
                 (the memory reservation and guard settings differ){recompile}",
                if a.unchecked_memory {
                    "does not check"
                } else {
                    "checks"
                },
                if b.unchecked_memory {
                    "does not"
                } else {
                    "does"
                },
            )));
        }
        if a.fuel != b.fuel {
            return Err(mismatch(format!(
                "it was compiled with fuel metering {}, and this engine has it {}; compile it \
                 again with the engine's setting (`rwamr compile --consume-fuel` for \
                 `rwamr run --fuel`; Config::consume_fuel)",
                on(a.fuel),
                on(b.fuel)
            )));
        }
        if a.epoch != b.epoch {
            return Err(mismatch(format!(
                "it was compiled with epoch deadlines {}, and this engine has them {}; \
                 compile it again with the engine's setting (`rwamr compile \
                 --epoch-interruption` for `rwamr run --timeout`; \
                 Config::epoch_interruption)",
                on(a.epoch),
                on(b.epoch)
            )));
        }
        if a.proposals != b.proposals {
            return Err(mismatch(format!(
                "it was validated with other wasm proposals enabled{recompile}"
            )));
        }
        Ok(())
    }
}

fn mismatch(why: String) -> Error {
    Error::unsupported(format!("cannot load this .aot file: {why}"))
}

/// Where the code's parts lie in the code region, as `rwamr_jit::CodeImage` has them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeTables {
    pub traps: Vec<(u32, u8)>,
    pub funcs: Vec<FuncRange>,
    pub trampolines: Vec<u32>,
    /// Native stubs and the index of their type in the module.
    pub stubs: Vec<(u32, Range<u32>)>,
}

/// Everything before the data region.
pub struct Meta {
    pub build: Build,
    pub module: Module,
    pub tables: CodeTables,
    /// Where memory 0's image goes in memory, if the file has one.
    pub image_offset: Option<usize>,
}

/// Where the regions lie in a file.
#[derive(Debug, Clone, Default)]
pub struct Regions {
    pub data: Range<usize>,
    pub code: Range<usize>,
    /// Memory 0's image (empty when there is none).
    pub image: Range<usize>,
}

/// Memory 0's initial contents, for the image region.
pub struct ImageBytes {
    /// Where they go in memory (a multiple of the wasm page size).
    pub offset: usize,
    /// A multiple of the wasm page size.
    pub bytes: Vec<u8>,
}

/// Writes a whole file.
pub fn write_file(
    build: &Build,
    module: &Module,
    data: &[u8],
    data_at: &[codec::SegmentAt],
    code: &[u8],
    tables: &CodeTables,
    image: Option<&ImageBytes>,
) -> Vec<u8> {
    let mut w = Writer::default();
    build_fields(&mut w, build);
    w.list(&VmCtxLayout::new(module).offsets(), |w, o| w.u32(*o));
    w.u64(data.len() as u64);
    w.u64(code.len() as u64);
    match image {
        None => w.u8(0),
        Some(i) => {
            w.u8(1);
            w.u64(i.offset as u64);
            w.u64(i.bytes.len() as u64);
        }
    }
    codec::write_module(&mut w, module, data_at);
    w.trap_sites(&tables.traps);
    w.list(&tables.funcs, |w, f| {
        w.u32(f.func_index);
        w.range(&(f.start..f.end));
    });
    w.list(&tables.trampolines, |w, t| w.u32(*t));
    w.list(&tables.stubs, |w, (ty, r)| {
        w.u32(*ty);
        w.range(r);
    });
    let meta = w.bytes;

    let mut file =
        Vec::with_capacity(HEADER_LEN + meta.len() + data.len() + code.len() + CODE_ALIGN);
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&0u64.to_le_bytes());
    file.extend_from_slice(&(meta.len() as u64).to_le_bytes());
    file.extend_from_slice(&meta);
    file.extend_from_slice(data);
    file.resize(file.len().next_multiple_of(CODE_ALIGN), 0);
    file.extend_from_slice(code);
    if let Some(i) = image {
        file.resize(file.len().next_multiple_of(CODE_ALIGN), 0);
        file.extend_from_slice(&i.bytes);
    }
    let sum = checksum(&file[CHECKED_HEADER], &file[CHECKED_FROM..]);
    file[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
    file
}

/// The checksum of a file's checked header bytes and of its bytes from `CHECKED_FROM`.
fn checksum(header: &[u8], rest: &[u8]) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(header);
    hasher.update(rest);
    hasher.digest()
}

fn build_fields(w: &mut Writer, b: &Build) {
    w.str(&b.rwamr_version);
    w.str(&b.arch);
    w.str(&b.os);
    w.list(&b.cpu_features, |w, f| w.str(f));
    w.u64(b.runtime_fingerprint);
    w.bool(b.settings.unchecked_memory);
    w.bool(b.settings.fuel);
    w.bool(b.settings.epoch);
    w.u64(b.settings.proposals);
}

fn read_build(r: &mut Reader<'_>) -> Result<Build> {
    Ok(Build {
        rwamr_version: r.str()?,
        arch: r.str()?,
        os: r.str()?,
        cpu_features: r.list(|r| r.str())?,
        runtime_fingerprint: r.u64()?,
        settings: Settings {
            unchecked_memory: r.bool()?,
            fuel: r.bool()?,
            epoch: r.bool()?,
            proposals: r.u64()?,
        },
    })
}

fn corrupt(what: &str) -> Error {
    Error::malformed(format!("corrupt .aot file: {what}"))
}

/// Checks the header of `file` (the checksum is [`check_sum`]'s); returns where its
/// metadata lies.
pub fn check_header(file: &[u8]) -> Result<Range<usize>> {
    if !is_aot(file) {
        return Err(Error::malformed(
            "not an .aot file (it does not start with rwamr's .aot magic bytes)",
        ));
    }
    if file.len() < HEADER_LEN {
        return Err(corrupt("the file is truncated (shorter than its header)"));
    }
    if file[..16] != MAGIC {
        return Err(corrupt("the magic bytes are damaged"));
    }
    let version = u32::from_le_bytes(file[16..20].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(Error::unsupported(format!(
            "cannot load this .aot file: its format version is {version}, this rwamr reads \
             version {FORMAT_VERSION}; compile it again with this rwamr"
        )));
    }
    if file[RESERVED_AT..CHECKSUM_AT] != [0; 4] {
        return Err(corrupt("the reserved header word is not 0"));
    }
    let meta_len = u64::from_le_bytes(file[32..40].try_into().expect("8 bytes"));
    let end = usize::try_from(meta_len)
        .ok()
        .and_then(|m| HEADER_LEN.checked_add(m))
        .filter(|&end| end <= file.len())
        .ok_or_else(|| corrupt("the metadata runs past the end"))?;
    Ok(HEADER_LEN..end)
}

/// Checks the checksum of a file whose header [`check_header`] accepted.
pub fn check_sum(file: &[u8]) -> Result<()> {
    sum_matches(file, checksum(&file[CHECKED_HEADER], &file[CHECKED_FROM..]))
}

/// [`check_sum`] of `mapped`, the mapping of `file`, reading the file rather than the
/// mapping: the pages it reads stay out of the process's resident set, where the
/// mapping's would stay in it.
pub fn check_sum_of_file(mapped: &[u8], file: &std::fs::File) -> Result<()> {
    use std::os::unix::fs::FileExt as _;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&mapped[CHECKED_HEADER]);
    let mut buf = vec![0u8; 1 << 20];
    let mut at = CHECKED_FROM;
    while at < mapped.len() {
        let n = buf.len().min(mapped.len() - at);
        file.read_exact_at(&mut buf[..n], at as u64)
            .map_err(|e| Error::resource(format!("cannot read the file: {e}")))?;
        hasher.update(&buf[..n]);
        at += n;
    }
    sum_matches(mapped, hasher.digest())
}

fn sum_matches(file: &[u8], sum: u64) -> Result<()> {
    let want = u64::from_le_bytes(file[CHECKSUM_AT..CHECKSUM_AT + 8].try_into().expect("8"));
    if sum != want {
        return Err(corrupt(
            "the checksum does not match (the file is truncated or damaged)",
        ));
    }
    Ok(())
}

/// Decodes the metadata at `meta_at` of a file of `file_len` bytes and finds the
/// regions; `view` makes the module's bytes from a range of the file (the data region
/// through the image).
pub fn read_meta(
    meta: &[u8],
    meta_at: Range<usize>,
    file_len: usize,
    view: impl FnOnce(Range<usize>) -> rwamr_core::module::ModuleBytes,
) -> Result<(Meta, Regions)> {
    let mut r = Reader::new(meta);
    let build = read_build(&mut r)?;
    let layout: Vec<u32> = r.list(|r| r.u32())?;
    let layout: [u32; 6] = layout
        .try_into()
        .map_err(|_| corrupt("the vmctx layout has the wrong length"))?;
    let data_len = usize::try_from(r.u64()?).map_err(|_| corrupt("a bad data length"))?;
    let code_len = usize::try_from(r.u64()?).map_err(|_| corrupt("a bad code length"))?;
    let image = match r.u8()? {
        0 => None,
        1 => {
            let offset = usize::try_from(r.u64()?).map_err(|_| corrupt("a bad image offset"))?;
            let len = usize::try_from(r.u64()?).map_err(|_| corrupt("a bad image length"))?;
            Some((offset, len))
        }
        _ => return Err(corrupt("a bad image tag")),
    };
    let regions = regions(meta_at.end, data_len, code_len, image.map(|(_, l)| l))
        .filter(|r| r.image.end.max(r.code.end) == file_len)
        .ok_or_else(|| corrupt("the regions do not add up to the file's length"))?;
    // The module's bytes: the data region, through the image where there is one.
    let (view_at, image_in_view) = match image {
        None => (regions.data.clone(), 0..0),
        Some(_) => (
            regions.data.start..regions.image.end,
            regions.image.start - regions.data.start..regions.image.end - regions.data.start,
        ),
    };
    let module = codec::read_module(&mut r, view(view_at), image_in_view.clone())?;
    let traps = r.trap_sites()?;
    let funcs = r.list(|r| {
        let func_index = r.u32()?;
        let range = r.range()?;
        Ok(FuncRange {
            start: range.start,
            end: range.end,
            func_index,
        })
    })?;
    let trampolines = r.list(|r| r.u32())?;
    let stubs = r.list(|r| Ok((r.u32()?, r.range()?)))?;
    if !r.is_empty() {
        return Err(corrupt("the metadata has trailing bytes"));
    }
    let tables = CodeTables {
        traps,
        funcs,
        trampolines,
        stubs,
    };
    check_tables(&module, &tables, code_len)?;
    if let Some((offset, len)) = image {
        check_image(&module, offset, len, image_in_view.start)?;
    }
    if VmCtxLayout::new(&module).offsets() != layout {
        return Err(mismatch(
            "its code reads instance contexts laid out differently from this runtime's; \
             compile it again with this rwamr"
                .into(),
        ));
    }
    Ok((
        Meta {
            build,
            module,
            tables,
            image_offset: image.map(|(offset, _)| offset),
        },
        regions,
    ))
}

/// Where the regions of a file lie, from the end of its metadata and their lengths;
/// `None` when they overflow.
fn regions(
    meta_end: usize,
    data_len: usize,
    code_len: usize,
    image_len: Option<usize>,
) -> Option<Regions> {
    let data = meta_end..meta_end.checked_add(data_len)?;
    let code_at = data.end.checked_next_multiple_of(CODE_ALIGN)?;
    let code = code_at..code_at.checked_add(code_len)?;
    let image = match image_len {
        None => code.end..code.end,
        Some(len) => {
            let at = code.end.checked_next_multiple_of(CODE_ALIGN)?;
            at..at.checked_add(len)?
        }
    };
    Some(Regions { data, code, image })
}

/// An image must be what instantiation relies on: memory 0 the module's own, the image
/// page aligned inside its initial size, and every active data segment a constant
/// offset whose bytes are the image's at that offset (`image_at`: where the image
/// starts in the module's bytes).
fn check_image(module: &Module, offset: usize, len: usize, image_at: usize) -> Result<()> {
    use rwamr_core::module::DataMode;
    let page = rwamr_core::PAGE_SIZE;
    let initial = module
        .memories
        .first()
        .filter(|_| module.num_imported_memories == 0)
        .map(|m| m.min as usize * page);
    let fits = initial.is_some_and(|initial| {
        offset.is_multiple_of(page)
            && len.is_multiple_of(page)
            && offset.checked_add(len).is_some_and(|end| end <= initial)
    });
    let segments_in_place = module.datas.iter().all(|d| {
        matches!(d.mode, DataMode::Passive)
            || image_offset(d).is_some_and(|at| {
                at >= offset
                    && at + d.range.len() <= offset + len
                    && d.range.start == image_at + (at - offset)
            })
    });
    if fits && segments_in_place {
        Ok(())
    } else {
        Err(corrupt("the memory image does not fit the module"))
    }
}

/// Where an active data segment goes in memory 0, if a memory image can hold it: its
/// offset is a constant.
pub fn image_offset(d: &rwamr_core::module::DataSegment) -> Option<usize> {
    use rwamr_core::module::{ConstOp, DataMode};
    match &d.mode {
        DataMode::Active { memory: 0, offset } => match **offset {
            [ConstOp::I32(v)] => Some(v as u32 as usize),
            _ => None,
        },
        _ => None,
    }
}

/// The code's tables must describe the code region and the module's functions: the
/// runtime jumps to these offsets.
fn check_tables(module: &Module, t: &CodeTables, code_len: usize) -> Result<()> {
    let len = code_len as u32;
    let defined = module.num_defined_funcs() as usize;
    let ok = t.funcs.len() == defined
        && t.trampolines.len() == defined
        && t.funcs.iter().enumerate().all(|(i, f)| {
            f.func_index == module.num_imported_funcs + i as u32 && f.start < f.end && f.end <= len
        })
        && t.trampolines.iter().all(|&o| o < len)
        && t.traps.last().is_none_or(|(o, _)| *o < len)
        && t.traps.windows(2).all(|w| w[0].0 < w[1].0)
        && t.stubs
            .iter()
            .all(|(ty, r)| (*ty as usize) < module.types.len() && r.start < r.end && r.end <= len);
    if ok {
        Ok(())
    } else {
        Err(corrupt("the code tables do not fit the code"))
    }
}

/// The types of `module` that have stubs, each once, and their indices.
pub fn stub_types(module: &Module) -> (Vec<u32>, Vec<FuncType>) {
    let mut seen = hashbrown::HashSet::new();
    let mut indices = Vec::new();
    let mut types = Vec::new();
    for (i, t) in module.types.iter().enumerate() {
        if seen.insert(t) {
            indices.push(i as u32);
            types.push(t.clone());
        }
    }
    (indices, types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_covers_the_header_words_after_the_magic() {
        let mut file = vec![0u8; HEADER_LEN + 64];
        file[..16].copy_from_slice(&MAGIC);
        file[16..20].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        file[32..40].copy_from_slice(&64u64.to_le_bytes());
        let sum = checksum(&file[CHECKED_HEADER], &file[CHECKED_FROM..]);
        file[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
        assert!(check_header(&file).is_ok());
        assert!(check_sum(&file).is_ok());
        for at in [16, 20, 23, 32, HEADER_LEN + 63] {
            let mut bad = file.clone();
            bad[at] ^= 1;
            assert!(check_sum(&bad).is_err(), "byte {at}");
        }
        let mut reserved = file.clone();
        reserved[RESERVED_AT] = 1;
        let e = check_header(&reserved).unwrap_err();
        assert!(e.to_string().contains("reserved header word"), "{e}");
    }
}

//! A decoded and validated module: everything instantiation and the compilers need,
//! independent of any instance. Decoding and validation are wasmparser's; this file only
//! keeps what later stages use, in our own types.

use crate::error::{Error, ErrorKind, Result};
use crate::types::{FuncType, GlobalType, MemoryType, TableType, ValType};
use hashbrown::HashMap;
use std::ops::Range;
use std::sync::Arc;
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The proposals whose operators the tiers implement, by wasmparser's names for them:
/// `if_proposal_supported!(NAME { yes } { no })` expands to `yes` for these and `no` for
/// the others. This is the one declaration: the translators' visitors forward these
/// operators and refuse the rest (core's `translate.rs`), and validation admits exactly these
/// ([`supported_features`]). Every tier runs the same set today.
#[doc(hidden)]
#[macro_export]
macro_rules! if_proposal_supported {
    (mvp { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    (sign_extension { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    (saturating_float_to_int { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    (bulk_memory { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    (reference_types { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    (threads { $($yes:tt)* } { $($no:tt)* }) => { $($yes)* };
    ($other:ident { $($yes:tt)* } { $($no:tt)* }) => { $($no)* };
}

/// The validator feature that enables the operators of proposal `name` (wasmparser's
/// name); empty for the MVP's and for names unknown here.
fn proposal_feature(name: &str) -> WasmFeatures {
    match name {
        "sign_extension" => WasmFeatures::SIGN_EXTENSION,
        "saturating_float_to_int" => WasmFeatures::SATURATING_FLOAT_TO_INT,
        "bulk_memory" => WasmFeatures::BULK_MEMORY,
        "reference_types" => WasmFeatures::REFERENCE_TYPES,
        "threads" => WasmFeatures::THREADS,
        _ => WasmFeatures::empty(),
    }
}

/// The wasm features a module may use: those of the supported proposals (see
/// [`if_proposal_supported!`]) and the proposals without operators of their own that
/// every tier handles (mutable globals, multi-value). Today: Wasm 2.0 without SIMD, and threads.
pub fn supported_features() -> WasmFeatures {
    // wasmparser's MVP set (floats, and the type machinery references need).
    let mut features = WasmFeatures::MVP | WasmFeatures::MUTABLE_GLOBAL | WasmFeatures::MULTI_VALUE;
    macro_rules! add_supported {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            $( $crate::if_proposal_supported!($proposal {
                features |= proposal_feature(stringify!($proposal));
            } {}); )*
        };
    }
    wasmparser::for_each_operator!(add_supported);
    features
}

/// One instruction of a constant expression (global initializers, segment offsets,
/// element items).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstOp {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    RefNull(ValType),
    RefFunc(u32),
    GlobalGet(u32),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// A constant expression, as the list of its instructions.
pub type ConstExpr = Box<[ConstOp]>;

#[derive(Debug, Clone, PartialEq)]
pub enum ImportKind {
    Func(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Debug, Clone)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

impl Import {
    pub fn extern_kind(&self) -> ExternKind {
        match self.kind {
            ImportKind::Func(_) => ExternKind::Func,
            ImportKind::Table(_) => ExternKind::Table,
            ImportKind::Memory(_) => ExternKind::Memory,
            ImportKind::Global(_) => ExternKind::Global,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExternKind {
    Func,
    Table,
    Memory,
    Global,
}

impl std::fmt::Display for ExternKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExternKind::Func => "function",
            ExternKind::Table => "table",
            ExternKind::Memory => "memory",
            ExternKind::Global => "global",
        })
    }
}

#[derive(Debug, Clone)]
pub enum ElemMode {
    Passive,
    Declared,
    Active { table: u32, offset: ConstExpr },
}

#[derive(Debug, Clone)]
pub struct ElemSegment {
    pub ty: ValType,
    pub mode: ElemMode,
    pub items: Vec<ConstExpr>,
}

#[derive(Debug, Clone)]
pub enum DataMode {
    Passive,
    Active { memory: u32, offset: ConstExpr },
}

#[derive(Debug, Clone)]
pub struct DataSegment {
    pub mode: DataMode,
    /// Where the bytes are in [`Module::bytes`].
    pub range: Range<usize>,
}

/// A defined function's body: where its bytes are in [`Module::bytes`], and what a
/// frame of it costs of the wasm stack budget.
#[derive(Debug, Clone)]
pub struct FuncBody {
    /// Empty in a module loaded from an AOT file, which keeps no bodies.
    pub range: Range<usize>,
    /// See [`crate::meter::frame_bytes`].
    pub frame_bytes: u32,
    /// A 128-bit hash of the body's bytes: whether a new version changed the body
    /// (see [`body_digest`]).
    pub digest: u128,
}

/// The digest of a function body's bytes ([`FuncBody::digest`]).
pub fn body_digest(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Where a module's bytes are: a copy of the wasm, or the data of an AOT file, mapped.
#[derive(Clone)]
pub struct ModuleBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl ModuleBytes {
    pub fn new(bytes: impl AsRef<[u8]> + Send + Sync + 'static) -> ModuleBytes {
        ModuleBytes(Arc::new(bytes))
    }
    pub fn get(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl std::fmt::Debug for ModuleBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleBytes({} bytes)", self.get().len())
    }
}

/// A decoded, validated module.
#[derive(Debug)]
pub struct Module {
    bytes: ModuleBytes,
    pub types: Vec<FuncType>,
    pub imports: Vec<Import>,
    /// Type index of every function of the index space (imports first).
    pub funcs: Vec<u32>,
    pub num_imported_funcs: u32,
    /// Every table of the index space (imports first).
    pub tables: Vec<TableType>,
    pub num_imported_tables: u32,
    pub memories: Vec<MemoryType>,
    pub num_imported_memories: u32,
    pub globals: Vec<GlobalType>,
    pub num_imported_globals: u32,
    /// Initializers of the defined globals.
    pub global_inits: Vec<ConstExpr>,
    pub exports: Arc<HashMap<String, (ExternKind, u32)>>,
    /// Export names in declaration order (for listing).
    pub export_order: Vec<String>,
    pub start: Option<u32>,
    pub elems: Vec<ElemSegment>,
    pub datas: Vec<DataSegment>,
    pub bodies: Vec<FuncBody>,
    /// Function names from the `name` section, for backtraces.
    pub func_names: HashMap<u32, String>,
    /// Memory 0's initial contents as one block to map copy-on-write, where a loader
    /// made one (an AOT file): instantiation maps it instead of copying the active data
    /// segments.
    pub memory_image: Option<crate::memory::MemoryImage>,
}

/// The binary form of a module in the text format; an error on one line (wat's
/// diagnostic spans several: message, position, source excerpt).
pub fn text_to_binary(text: &str) -> Result<Vec<u8>> {
    wat::parse_str(text).map_err(|e| {
        let diagnostic = e.to_string();
        let mut lines = diagnostic.lines();
        let message = lines.next().unwrap_or_default().trim();
        let at = lines.find_map(|l| l.trim().strip_prefix("--> "));
        Error::malformed(match at.map(|a| a.trim_start_matches("<anon>:")) {
            Some(at) => format!("{message} (at line:column {at})"),
            None => message.to_string(),
        })
    })
}

fn parse_err(e: wasmparser::BinaryReaderError) -> Error {
    let message = e.message();
    if message.starts_with("magic header not detected") {
        // (wasmparser lists the expected bytes, one per line)
        return Error::malformed(
            "magic header not detected: this is not a wasm module, whose binary form \
             starts with the bytes \\0asm",
        );
    }
    // One line, whatever the decoder's layout.
    let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
    Error::malformed(format!("{message} (at byte offset {:#x})", e.offset()))
}

fn validate_err(e: wasmparser::BinaryReaderError) -> Error {
    let msg = e.message();
    let kind = if msg.contains("support is not enabled") || msg.contains("proposal not enabled") {
        ErrorKind::Unsupported
    } else {
        ErrorKind::Invalid
    };
    let prefix = if kind == ErrorKind::Unsupported {
        "unsupported feature: "
    } else {
        ""
    };
    Error::new(
        kind,
        format!("{prefix}{msg} (at byte offset {:#x})", e.offset()),
    )
}

/// Decodes and validates the whole module, function bodies included; returns what a
/// frame of each defined function costs of the wasm stack budget, in body order.
/// Bodies are validated after the rest, on every core for large modules; the error
/// reported is still the first in the module.
fn validate(bytes: &[u8], features: WasmFeatures) -> Result<Vec<u32>> {
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut bodies = Vec::new();
    for payload in parser.parse_all(bytes) {
        let checked = payload
            .map_err(parse_err)
            .and_then(|p| validator.payload(&p).map_err(validate_err));
        match checked {
            Ok(wasmparser::ValidPayload::Func(to_validate, body)) => {
                bodies.push(std::sync::Mutex::new(Some((to_validate, body))));
            }
            Ok(_) => {}
            Err(e) => {
                // A body before the error has an error of its own to report first.
                validate_bodies(&bodies, features)?;
                return Err(e);
            }
        }
    }
    validate_bodies(&bodies, features)
}

type BodyToValidate<'a> = std::sync::Mutex<
    Option<(
        wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
        wasmparser::FunctionBody<'a>,
    )>,
>;

/// Validates `bodies` (each taken once), returning each one's frame cost.
fn validate_bodies(bodies: &[BodyToValidate<'_>], features: WasmFeatures) -> Result<Vec<u32>> {
    /// Below this many bodies per thread, validating in parallel is not worth a thread.
    const MIN_BODIES_PER_THREAD: usize = 256;
    let indices: Vec<u32> = (0..bodies.len() as u32).collect();
    crate::compile::compile_each(
        &indices,
        MIN_BODIES_PER_THREAD,
        || {
            (
                wasmparser::FuncValidatorAllocations::default(),
                hashbrown::HashSet::new(),
            )
        },
        |(allocs, consts), i| {
            let taken = bodies[i as usize].lock().map(|mut b| b.take());
            let Ok(Some((to_validate, body))) = taken else {
                return Err(Error::invalid("a function body was validated twice"));
            };
            let mut fv = to_validate.into_validator(std::mem::take(allocs));
            // Operator by operator (what `FuncValidator::validate` does), noting the
            // deepest operand stack and the distinct constants for the frame's cost.
            let mut reader = body.get_binary_reader();
            fv.read_locals(&mut reader).map_err(validate_err)?;
            reader.set_features(features);
            let mut deepest = 0;
            consts.clear();
            while !reader.eof() {
                let at = reader.original_position();
                let op = reader
                    .peek_operator(&fv.visitor(at))
                    .map_err(validate_err)?;
                if let Some(c) = crate::meter::constant_cell(&op) {
                    consts.insert(c);
                }
                reader
                    .visit_operator(&mut fv.visitor(at))
                    .map_err(validate_err)?
                    .map_err(validate_err)?;
                deepest = deepest.max(fv.operand_stack_height());
            }
            reader
                .finish_expression(&fv.visitor(reader.original_position()))
                .map_err(validate_err)?;
            let frame = crate::meter::frame_bytes(fv.len_locals(), deepest, consts.len());
            *allocs = fv.into_allocations();
            Ok(frame)
        },
    )
}

/// Proposals beyond what this build runs, by name, for error messages.
const LATER_PROPOSALS: &[(&str, WasmFeatures)] = &[
    ("SIMD", WasmFeatures::SIMD),
    (
        "relaxed SIMD",
        WasmFeatures::RELAXED_SIMD.union(WasmFeatures::SIMD),
    ),
    ("tail calls", WasmFeatures::TAIL_CALL),
    ("multi-memory", WasmFeatures::MULTI_MEMORY),
    ("memory64", WasmFeatures::MEMORY64),
    ("exception handling", WasmFeatures::EXCEPTIONS),
    (
        "extended constant expressions",
        WasmFeatures::EXTENDED_CONST,
    ),
    ("function references", WasmFeatures::FUNCTION_REFERENCES),
    ("custom page sizes", WasmFeatures::CUSTOM_PAGE_SIZES),
    ("wide arithmetic", WasmFeatures::WIDE_ARITHMETIC),
];

/// When a module fails validation with `features`, checks whether it is valid with later
/// proposals enabled: then the right answer is "unsupported", naming the proposal.
fn name_unsupported_feature(bytes: &[u8], features: WasmFeatures) -> Option<Error> {
    for (name, extra) in LATER_PROPOSALS {
        if validate(bytes, features.union(*extra)).is_ok() {
            return Some(Error::unsupported(format!(
                "unsupported feature: the module uses the {name} proposal, which this build does not support yet"
            )));
        }
    }
    let all = LATER_PROPOSALS
        .iter()
        .fold(features, |f, (_, x)| f.union(*x))
        .union(WasmFeatures::GC);
    validate(bytes, all).is_ok().then(|| {
        Error::unsupported(
            "unsupported feature: the module uses proposals beyond Wasm 2.0 (GC or several at once), which this build does not support yet",
        )
    })
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let op = reader.read().map_err(parse_err)?;
        ops.push(match op {
            O::I32Const { value } => ConstOp::I32(value),
            O::I64Const { value } => ConstOp::I64(value),
            O::F32Const { value } => ConstOp::F32(value.bits()),
            O::F64Const { value } => ConstOp::F64(value.bits()),
            O::RefNull { hty } => ConstOp::RefNull(match hty {
                wasmparser::HeapType::Abstract {
                    ty: wasmparser::AbstractHeapType::Extern,
                    ..
                } => ValType::ExternRef,
                _ => ValType::FuncRef,
            }),
            O::RefFunc { function_index } => ConstOp::RefFunc(function_index),
            O::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::End => break,
            other => {
                return Err(Error::unsupported(format!(
                    "constant expression operator {other:?} is not supported"
                )))
            }
        });
    }
    Ok(ops.into_boxed_slice())
}

fn table_type(t: &wasmparser::TableType) -> Result<TableType> {
    if t.table64 {
        return Err(Error::unsupported("64-bit tables (memory64 proposal)"));
    }
    Ok(TableType {
        elem: ValType::from_ref_type(t.element_type)?,
        min: t.initial as u32,
        max: t.maximum.map(|m| m as u32),
    })
}

fn memory_type(m: &wasmparser::MemoryType) -> Result<MemoryType> {
    if m.memory64 {
        return Err(Error::unsupported("64-bit memories (memory64 proposal)"));
    }
    Ok(MemoryType {
        min: m.initial as u32,
        max: m.maximum.map(|m| m as u32),
        shared: m.shared,
    })
}

fn global_type(g: &wasmparser::GlobalType) -> Result<GlobalType> {
    Ok(GlobalType {
        ty: ValType::from_wasmparser(g.content_type)?,
        mutable: g.mutable,
    })
}

impl Module {
    /// Decodes and validates `bytes` with the supported features.
    /// Decodes and validates a module, given in the binary format or, as wasmtime
    /// accepts too, the text format.
    pub fn new(bytes: &[u8]) -> Result<Module> {
        match wat::Detect::from_bytes(bytes) {
            wat::Detect::WasmText => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| Error::malformed(format!("module text is not UTF-8: {e}")))?;
                let binary = text_to_binary(text)?;
                Self::with_features(&binary, supported_features())
            }
            _ => Self::with_features(bytes, supported_features()),
        }
    }

    pub fn with_features(bytes: &[u8], features: WasmFeatures) -> Result<Module> {
        let mut m = Module::with_bytes(ModuleBytes::new(bytes.to_vec()));
        let frames = match validate(bytes, features) {
            Ok(frames) => frames,
            Err(e) => return Err(name_unsupported_feature(bytes, features).unwrap_or(e)),
        };
        let mut parser = Parser::new(0);
        parser.set_features(features);
        for payload in parser.parse_all(bytes) {
            m.read_payload(payload.map_err(parse_err)?)?;
        }
        for (body, bytes) in m.bodies.iter_mut().zip(frames) {
            body.frame_bytes = bytes;
        }
        Ok(m)
    }

    /// An empty module over `bytes`, for a loader that fills in the items itself (the
    /// AOT loader: its segments' ranges point into `bytes`).
    pub fn with_bytes(bytes: ModuleBytes) -> Module {
        Module {
            bytes,
            types: Vec::new(),
            imports: Vec::new(),
            funcs: Vec::new(),
            num_imported_funcs: 0,
            tables: Vec::new(),
            num_imported_tables: 0,
            memories: Vec::new(),
            num_imported_memories: 0,
            globals: Vec::new(),
            num_imported_globals: 0,
            global_inits: Vec::new(),
            exports: Arc::default(),
            export_order: Vec::new(),
            start: None,
            elems: Vec::new(),
            datas: Vec::new(),
            bodies: Vec::new(),
            func_names: HashMap::new(),
            memory_image: None,
        }
    }

    fn read_payload(&mut self, payload: Payload<'_>) -> Result<()> {
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return Err(Error::unsupported("components are not supported"));
            }
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    self.types
                        .push(FuncType::from_wasmparser(&ty.map_err(parse_err)?)?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(parse_err)?;
                    let kind = match import.ty {
                        wasmparser::TypeRef::Func(t) => {
                            self.funcs.push(t);
                            self.num_imported_funcs += 1;
                            ImportKind::Func(t)
                        }
                        wasmparser::TypeRef::Table(t) => {
                            let t = table_type(&t)?;
                            self.tables.push(t);
                            self.num_imported_tables += 1;
                            ImportKind::Table(t)
                        }
                        wasmparser::TypeRef::Memory(mt) => {
                            let mt = memory_type(&mt)?;
                            self.memories.push(mt);
                            self.num_imported_memories += 1;
                            ImportKind::Memory(mt)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            let g = global_type(&g)?;
                            self.globals.push(g);
                            self.num_imported_globals += 1;
                            ImportKind::Global(g)
                        }
                        other => {
                            return Err(Error::unsupported(format!(
                                "import kind {other:?} is not supported"
                            )))
                        }
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    self.funcs.push(t.map_err(parse_err)?);
                }
            }
            Payload::TableSection(reader) => {
                for t in reader {
                    let t = t.map_err(parse_err)?;
                    self.tables.push(table_type(&t.ty)?);
                    if let wasmparser::TableInit::Expr(_) = t.init {
                        return Err(Error::unsupported(
                            "table initializer expressions (function-references proposal)",
                        ));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for mt in reader {
                    self.memories.push(memory_type(&mt.map_err(parse_err)?)?);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g.map_err(parse_err)?;
                    self.globals.push(global_type(&g.ty)?);
                    self.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(parse_err)?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func => ExternKind::Func,
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        other => {
                            return Err(Error::unsupported(format!(
                                "export kind {other:?} is not supported"
                            )))
                        }
                    };
                    Arc::make_mut(&mut self.exports).insert(e.name.to_string(), (kind, e.index));
                    self.export_order.push(e.name.to_string());
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for e in reader {
                    let e = e.map_err(parse_err)?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (ty, items) = match e.items {
                        wasmparser::ElementItems::Functions(r) => {
                            let mut items = Vec::new();
                            for f in r {
                                let f = f.map_err(parse_err)?;
                                items.push(vec![ConstOp::RefFunc(f)].into_boxed_slice());
                            }
                            (ValType::FuncRef, items)
                        }
                        wasmparser::ElementItems::Expressions(rt, r) => {
                            let mut items = Vec::new();
                            for c in r {
                                items.push(const_expr(&c.map_err(parse_err)?)?);
                            }
                            (ValType::from_ref_type(rt)?, items)
                        }
                    };
                    self.elems.push(ElemSegment { ty, mode, items });
                }
            }
            Payload::DataSection(reader) => {
                for d in reader {
                    let d = d.map_err(parse_err)?;
                    let end = d.range.end as usize;
                    let start = end - d.data.len();
                    let mode = match d.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    self.datas.push(DataSegment {
                        mode,
                        range: start..end,
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let r = body.range();
                let range = r.start as usize..r.end as usize;
                self.bodies.push(FuncBody {
                    digest: body_digest(&self.bytes()[range.clone()]),
                    range,
                    frame_bytes: 0,
                });
            }
            Payload::CustomSection(reader) => {
                if let wasmparser::KnownCustom::Name(names) = reader.as_known() {
                    // The name section is advisory: a malformed one is ignored, as engines do.
                    for n in names.into_iter().flatten() {
                        if let wasmparser::Name::Function(map) = n {
                            for naming in map.into_iter().flatten() {
                                self.func_names
                                    .insert(naming.index, naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The module's bytes (function bodies and data segments are ranges into them).
    pub fn bytes(&self) -> &[u8] {
        self.bytes.get()
    }

    /// The type of function `index` of the index space.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    /// The body of defined function `index` (of the index space) as a wasmparser body.
    pub fn func_body(&self, index: u32) -> wasmparser::FunctionBody<'_> {
        let body = &self.bodies[(index - self.num_imported_funcs) as usize];
        wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(
            &self.bytes()[body.range.clone()],
            body.range.start as u64,
        ))
    }

    /// The digest of defined function `index`'s body: equal digests, equal bodies.
    pub fn body_digest(&self, index: u32) -> u128 {
        self.bodies[(index - self.num_imported_funcs) as usize].digest
    }

    /// What a frame of defined function `index` costs of the wasm stack budget.
    pub fn frame_bytes(&self, index: u32) -> u32 {
        self.bodies[(index - self.num_imported_funcs) as usize].frame_bytes
    }

    /// Whether instances reach an unshared memory, a table or a mutable global (own or
    /// imported): then one thread at a time runs them (see `exclusive.rs`).
    pub fn has_state(&self) -> bool {
        self.memories.iter().any(|m| !m.shared)
            || !self.tables.is_empty()
            || self.globals.iter().any(|g| g.mutable)
    }

    pub fn num_defined_funcs(&self) -> u32 {
        self.bodies.len() as u32
    }

    /// The name of function `index` from the name section, else an export name, as the
    /// module gives it (any bytes, any length: see [`shown_name`] for showing it).
    pub fn known_func_name(&self, index: u32) -> Option<&str> {
        if let Some(n) = self.func_names.get(&index) {
            return Some(n);
        }
        self.export_order
            .iter()
            .find(|n| self.exports.get(n.as_str()) == Some(&(ExternKind::Func, index)))
            .map(String::as_str)
    }

    /// The name of function `index` for errors and backtraces (see [`shown_name`]), else
    /// `func[index]`.
    pub fn func_name(&self, index: u32) -> String {
        match self.known_func_name(index) {
            Some(n) => shown_name(n),
            None => format!("func[{index}]"),
        }
    }
}

/// The most characters of a name that errors and backtraces show.
const MAX_SHOWN_NAME: usize = 200;

/// A name from a module (function, import, export), as messages show it: control
/// characters escaped, so a name cannot rewrite the terminal or split a line, and at
/// most `MAX_SHOWN_NAME` characters, so a huge name cannot flood a message.
pub fn shown_name(name: &str) -> String {
    match name.char_indices().nth(MAX_SHOWN_NAME) {
        Some((cut, _)) => format!(
            "{}... ({} bytes in all)",
            escape_controls(&name[..cut]),
            name.len()
        ),
        None => escape_controls(name),
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`, ...): safe to print on a
/// terminal, and one line.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_names_are_one_short_line() {
        assert_eq!(shown_name("f\n\x1b[2J"), "f\\n\\u{1b}[2J");
        let long = "é".repeat(1 << 20);
        let s = shown_name(&long);
        assert!(s.chars().count() < MAX_SHOWN_NAME + 40, "{}", s.len());
        assert!(s.ends_with("(2097152 bytes in all)"), "{s}");
    }

    #[test]
    fn supported_features_are_wasm2_without_simd_and_threads() {
        assert_eq!(
            supported_features(),
            WasmFeatures::WASM2
                .difference(WasmFeatures::SIMD)
                .union(WasmFeatures::THREADS)
        );
    }

    #[test]
    fn every_supported_proposal_but_the_mvp_has_a_feature() {
        let mut missing = Vec::new();
        macro_rules! check {
            ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
                $( crate::if_proposal_supported!($proposal {
                    let p = stringify!($proposal);
                    if p != "mvp" && proposal_feature(p).is_empty() {
                        missing.push(p);
                    }
                } {}); )*
            };
        }
        wasmparser::for_each_operator!(check);
        assert!(missing.is_empty(), "{missing:?}");
    }

    /// A module of `n` functions `(func (result i32) (i32.const 0))`, those in `bad`
    /// returning an `i64` instead, and a data segment for memory 1, which it lacks.
    fn module(n: usize, bad: &[usize], bad_data: bool) -> Vec<u8> {
        let mut text = String::from("(module (memory 1)");
        for i in 0..n {
            let ty = if bad.contains(&i) { "i64" } else { "i32" };
            text += &format!("(func (result i32) ({ty}.const {i}))");
        }
        if bad_data {
            text += "(data (memory 1) (i32.const 0) \"x\")";
        }
        text += ")";
        wat::parse_str(&text).unwrap()
    }

    fn error_of(bytes: &[u8]) -> String {
        match Module::new(bytes) {
            Ok(_) => panic!("an invalid module was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bodies_validated_in_parallel_report_the_first_error() {
        let many = 2000;
        assert!(Module::new(&module(many, &[], false)).is_ok());
        // The first bad body in the module, wherever the threads meet them.
        let first = error_of(&module(many, &[1500], false));
        assert_eq!(error_of(&module(many, &[1500, 1800], false)), first);
        assert_ne!(error_of(&module(many, &[1800], false)), first);
        // A body's error comes before the error of a section after the code.
        assert_eq!(error_of(&module(many, &[1500], true)), first);
        assert_eq!(
            error_of(&module(3, &[1], true)),
            error_of(&module(3, &[1], false))
        );
        assert!(error_of(&module(many, &[], true)).contains("memory"));
    }
}

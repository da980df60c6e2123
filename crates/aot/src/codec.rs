//! The binary encoding of an AOT file's metadata: integers as LEB128, strings and
//! lists with their length first, enums as a tag byte. [`Writer`] and [`Reader`] are
//! the primitives; [`write_module`] and [`read_module`] encode a decoded module, one
//! function per item kind, each the mirror of the other.

use hashbrown::HashMap;
use rwamr_core::module::{
    ConstExpr, ConstOp, DataMode, DataSegment, ElemMode, ElemSegment, ExternKind, FuncBody, Import,
    ImportKind,
};
use rwamr_core::{Error, FuncType, GlobalType, MemoryType, Module, Result, TableType, ValType};
use std::ops::Range;
use std::sync::Arc;

/// Appends encoded values to a byte vector.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.bytes.push(byte);
                return;
            }
            self.bytes.push(byte | 0x80);
        }
    }
    pub fn u32(&mut self, v: u32) {
        self.u64(v.into());
    }
    pub fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    pub fn bool(&mut self, v: bool) {
        self.u8(v.into());
    }
    pub fn u128(&mut self, v: u128) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
    }
    pub fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u32(v);
            }
        }
    }
    pub fn range(&mut self, r: &Range<u32>) {
        self.u32(r.start);
        self.u32(r.end - r.start);
    }
    pub fn list<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Writer, &T)) {
        self.len(items.len());
        for item in items {
            f(self, item);
        }
    }
    /// Trap sites as two fixed-width arrays (offsets, then codes): millions of them in a
    /// large module, which the loader reads at memory speed.
    pub fn trap_sites(&mut self, traps: &[(u32, u8)]) {
        self.len(traps.len());
        for (off, _) in traps {
            self.bytes.extend_from_slice(&off.to_le_bytes());
        }
        self.bytes.extend(traps.iter().map(|(_, code)| *code));
    }
}

/// Reads values a [`Writer`] wrote; every read past the end or of a bad tag is an error.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn corrupt(what: &str) -> Error {
    Error::malformed(format!("corrupt .aot file: {what}"))
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }
    pub fn u8(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| corrupt("the metadata ends early"))?;
        self.at += 1;
        Ok(b)
    }
    pub fn u64(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("an integer is too long"))
    }
    pub fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.u64()?).map_err(|_| corrupt("an integer is out of range"))
    }
    /// A length of a list whose items take at least one byte each: never more than the
    /// bytes left, so a corrupt length cannot make a huge allocation.
    pub fn len(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(corrupt("a length runs past the end"));
        }
        Ok(n as usize)
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt("a flag is neither 0 nor 1")),
        }
    }
    pub fn u128(&mut self) -> Result<u128> {
        let b = self.raw(16)?;
        Ok(u128::from_le_bytes(b.try_into().expect("16 bytes")))
    }
    pub fn str(&mut self) -> Result<String> {
        let n = self.len()?;
        let b = self.raw(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| corrupt("a name is not UTF-8"))
    }
    pub fn opt_u32(&mut self) -> Result<Option<u32>> {
        Ok(match self.u8()? {
            0 => None,
            1 => Some(self.u32()?),
            _ => return Err(corrupt("a bad option tag")),
        })
    }
    pub fn range(&mut self) -> Result<Range<u32>> {
        let start = self.u32()?;
        let len = self.u32()?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| corrupt("a range is out of bounds"))?;
        Ok(start..end)
    }
    /// What [`Writer::trap_sites`] wrote.
    pub fn trap_sites(&mut self) -> Result<Vec<(u32, u8)>> {
        let n = self.len()?;
        let offsets = self.raw(
            n.checked_mul(4)
                .ok_or_else(|| corrupt("too many trap sites"))?,
        )?;
        let codes = self.raw(n)?;
        Ok(offsets
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .zip(codes.iter().copied())
            .collect())
    }
    /// The next `n` bytes as they are.
    fn raw(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| corrupt("the metadata ends early"))?;
        let b = &self.bytes[self.at..end];
        self.at = end;
        Ok(b)
    }
    pub fn list<T>(&mut self, mut f: impl FnMut(&mut Reader<'a>) -> Result<T>) -> Result<Vec<T>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(f(self)?);
        }
        Ok(out)
    }
}

fn val_type(w: &mut Writer, t: ValType) {
    w.u8(match t {
        ValType::I32 => 0,
        ValType::I64 => 1,
        ValType::F32 => 2,
        ValType::F64 => 3,
        ValType::FuncRef => 4,
        ValType::ExternRef => 5,
    });
}

fn read_val_type(r: &mut Reader<'_>) -> Result<ValType> {
    Ok(match r.u8()? {
        0 => ValType::I32,
        1 => ValType::I64,
        2 => ValType::F32,
        3 => ValType::F64,
        4 => ValType::FuncRef,
        5 => ValType::ExternRef,
        _ => return Err(corrupt("a bad value type")),
    })
}

pub fn func_type(w: &mut Writer, t: &FuncType) {
    w.list(t.params(), |w, v| val_type(w, *v));
    w.list(t.results(), |w, v| val_type(w, *v));
}

pub fn read_func_type(r: &mut Reader<'_>) -> Result<FuncType> {
    let params = r.list(read_val_type)?;
    let results = r.list(read_val_type)?;
    Ok(FuncType::new(params, results))
}

fn table_type(w: &mut Writer, t: &TableType) {
    val_type(w, t.elem);
    w.u32(t.min);
    w.opt_u32(t.max);
}

fn read_table_type(r: &mut Reader<'_>) -> Result<TableType> {
    Ok(TableType {
        elem: read_val_type(r)?,
        min: r.u32()?,
        max: r.opt_u32()?,
    })
}

fn memory_type(w: &mut Writer, t: &MemoryType) {
    w.u32(t.min);
    w.opt_u32(t.max);
    w.bool(t.shared);
}

fn read_memory_type(r: &mut Reader<'_>) -> Result<MemoryType> {
    Ok(MemoryType {
        min: r.u32()?,
        max: r.opt_u32()?,
        shared: r.bool()?,
    })
}

fn global_type(w: &mut Writer, t: &GlobalType) {
    val_type(w, t.ty);
    w.bool(t.mutable);
}

fn read_global_type(r: &mut Reader<'_>) -> Result<GlobalType> {
    Ok(GlobalType {
        ty: read_val_type(r)?,
        mutable: r.bool()?,
    })
}

fn const_expr(w: &mut Writer, e: &ConstExpr) {
    w.list(e, |w, op| match *op {
        ConstOp::I32(v) => {
            w.u8(0);
            w.u32(v as u32);
        }
        ConstOp::I64(v) => {
            w.u8(1);
            w.u64(v as u64);
        }
        ConstOp::F32(v) => {
            w.u8(2);
            w.u32(v);
        }
        ConstOp::F64(v) => {
            w.u8(3);
            w.u64(v);
        }
        ConstOp::RefNull(t) => {
            w.u8(4);
            val_type(w, t);
        }
        ConstOp::RefFunc(f) => {
            w.u8(5);
            w.u32(f);
        }
        ConstOp::GlobalGet(g) => {
            w.u8(6);
            w.u32(g);
        }
        ConstOp::I32Add => w.u8(7),
        ConstOp::I32Sub => w.u8(8),
        ConstOp::I32Mul => w.u8(9),
        ConstOp::I64Add => w.u8(10),
        ConstOp::I64Sub => w.u8(11),
        ConstOp::I64Mul => w.u8(12),
    });
}

fn read_const_expr(r: &mut Reader<'_>) -> Result<ConstExpr> {
    let ops = r.list(|r| {
        Ok(match r.u8()? {
            0 => ConstOp::I32(r.u32()? as i32),
            1 => ConstOp::I64(r.u64()? as i64),
            2 => ConstOp::F32(r.u32()?),
            3 => ConstOp::F64(r.u64()?),
            4 => ConstOp::RefNull(read_val_type(r)?),
            5 => ConstOp::RefFunc(r.u32()?),
            6 => ConstOp::GlobalGet(r.u32()?),
            7 => ConstOp::I32Add,
            8 => ConstOp::I32Sub,
            9 => ConstOp::I32Mul,
            10 => ConstOp::I64Add,
            11 => ConstOp::I64Sub,
            12 => ConstOp::I64Mul,
            _ => return Err(corrupt("a bad constant instruction")),
        })
    })?;
    Ok(ops.into_boxed_slice())
}

fn extern_kind(w: &mut Writer, k: ExternKind) {
    w.u8(match k {
        ExternKind::Func => 0,
        ExternKind::Table => 1,
        ExternKind::Memory => 2,
        ExternKind::Global => 3,
    });
}

fn read_extern_kind(r: &mut Reader<'_>) -> Result<ExternKind> {
    Ok(match r.u8()? {
        0 => ExternKind::Func,
        1 => ExternKind::Table,
        2 => ExternKind::Memory,
        3 => ExternKind::Global,
        _ => return Err(corrupt("a bad export kind")),
    })
}

/// Where a data segment's bytes lie in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentAt {
    /// In the data region.
    Data(Range<u32>),
    /// In memory 0's image (an active segment, at its offset in the image).
    Image(Range<u32>),
}

/// Encodes `m`. Its data segments' bytes go elsewhere in the file: `data_at` gives where
/// each segment's bytes lie.
pub fn write_module(w: &mut Writer, m: &Module, data_at: &[SegmentAt]) {
    w.list(&m.types, func_type);
    w.list(&m.imports, |w, i| {
        w.str(&i.module);
        w.str(&i.name);
        match &i.kind {
            ImportKind::Func(t) => {
                w.u8(0);
                w.u32(*t);
            }
            ImportKind::Table(t) => {
                w.u8(1);
                table_type(w, t);
            }
            ImportKind::Memory(t) => {
                w.u8(2);
                memory_type(w, t);
            }
            ImportKind::Global(t) => {
                w.u8(3);
                global_type(w, t);
            }
        }
    });
    let defined = |n: usize, imported: u32| n - imported as usize;
    w.list(&m.funcs[m.num_imported_funcs as usize..], |w, t| w.u32(*t));
    w.list(&m.tables[m.num_imported_tables as usize..], table_type);
    w.list(&m.memories[m.num_imported_memories as usize..], memory_type);
    w.list(&m.globals[m.num_imported_globals as usize..], global_type);
    debug_assert_eq!(
        defined(m.globals.len(), m.num_imported_globals),
        m.global_inits.len()
    );
    w.list(&m.global_inits, const_expr);
    w.list(&m.export_order, |w, name| {
        let (kind, index) = m.exports[name.as_str()];
        w.str(name);
        extern_kind(w, kind);
        w.u32(index);
    });
    w.opt_u32(m.start);
    w.list(&m.elems, |w, e| {
        val_type(w, e.ty);
        match &e.mode {
            ElemMode::Passive => w.u8(0),
            ElemMode::Declared => w.u8(1),
            ElemMode::Active { table, offset } => {
                w.u8(2);
                w.u32(*table);
                const_expr(w, offset);
            }
        }
        w.list(&e.items, const_expr);
    });
    w.len(m.datas.len());
    for (d, at) in m.datas.iter().zip(data_at) {
        match &d.mode {
            DataMode::Passive => w.u8(0),
            DataMode::Active { memory, offset } => {
                w.u8(1);
                w.u32(*memory);
                const_expr(w, offset);
            }
        }
        match at {
            SegmentAt::Data(r) => {
                w.u8(0);
                w.range(r);
            }
            SegmentAt::Image(r) => {
                w.u8(1);
                w.range(r);
            }
        }
    }
    w.list(&m.bodies, |w, b| {
        w.u32(b.frame_bytes);
        w.u128(b.digest);
    });
    let mut names: Vec<(&u32, &String)> = m.func_names.iter().collect();
    names.sort();
    w.list(&names, |w, (i, n)| {
        w.u32(**i);
        w.str(n);
    });
}

/// Decodes a module [`write_module`] encoded, over `bytes` (a view of the file holding
/// the data region at its start and memory 0's image, if any, at `image`: its data
/// segments' ranges point into them).
pub fn read_module(
    r: &mut Reader<'_>,
    bytes: rwamr_core::module::ModuleBytes,
    image: Range<usize>,
) -> Result<Module> {
    let data_len = bytes.get().len();
    let mut m = Module::with_bytes(bytes);
    m.types = r.list(read_func_type)?;
    m.imports = r.list(|r| {
        let module = r.str()?;
        let name = r.str()?;
        let kind = match r.u8()? {
            0 => ImportKind::Func(r.u32()?),
            1 => ImportKind::Table(read_table_type(r)?),
            2 => ImportKind::Memory(read_memory_type(r)?),
            3 => ImportKind::Global(read_global_type(r)?),
            _ => return Err(corrupt("a bad import kind")),
        };
        Ok(Import { module, name, kind })
    })?;
    for i in &m.imports {
        match &i.kind {
            ImportKind::Func(t) => {
                m.funcs.push(*t);
                m.num_imported_funcs += 1;
            }
            ImportKind::Table(t) => {
                m.tables.push(*t);
                m.num_imported_tables += 1;
            }
            ImportKind::Memory(t) => {
                m.memories.push(*t);
                m.num_imported_memories += 1;
            }
            ImportKind::Global(t) => {
                m.globals.push(*t);
                m.num_imported_globals += 1;
            }
        }
    }
    m.funcs.extend(r.list(|r| r.u32())?);
    m.tables.extend(r.list(read_table_type)?);
    m.memories.extend(r.list(read_memory_type)?);
    m.globals.extend(r.list(read_global_type)?);
    m.global_inits = r.list(read_const_expr)?;
    let mut exports = HashMap::new();
    m.export_order = r.list(|r| {
        let name = r.str()?;
        let kind = read_extern_kind(r)?;
        let index = r.u32()?;
        exports.insert(name.clone(), (kind, index));
        Ok(name)
    })?;
    m.exports = Arc::new(exports);
    m.start = r.opt_u32()?;
    m.elems = r.list(|r| {
        let ty = read_val_type(r)?;
        let mode = match r.u8()? {
            0 => ElemMode::Passive,
            1 => ElemMode::Declared,
            2 => ElemMode::Active {
                table: r.u32()?,
                offset: read_const_expr(r)?,
            },
            _ => return Err(corrupt("a bad element segment mode")),
        };
        let items = r.list(read_const_expr)?;
        Ok(ElemSegment { ty, mode, items })
    })?;
    m.datas = r.list(|r| {
        let mode = match r.u8()? {
            0 => DataMode::Passive,
            1 => DataMode::Active {
                memory: r.u32()?,
                offset: read_const_expr(r)?,
            },
            _ => return Err(corrupt("a bad data segment mode")),
        };
        let in_image = r.bool()?;
        let range = r.range()?;
        let (start, end) = (range.start as usize, range.end as usize);
        let range = if in_image {
            if end > image.len() {
                return Err(corrupt("a data segment lies outside the memory image"));
            }
            image.start + start..image.start + end
        } else {
            start..end
        };
        if range.end > data_len {
            return Err(corrupt("a data segment lies outside the data region"));
        }
        Ok(DataSegment { mode, range })
    })?;
    m.bodies = r.list(|r| {
        Ok(FuncBody {
            range: 0..0,
            frame_bytes: r.u32()?,
            digest: r.u128()?,
        })
    })?;
    m.func_names = r.list(|r| Ok((r.u32()?, r.str()?)))?.into_iter().collect();
    check_counts(&m)?;
    Ok(m)
}

/// The counts that the rest of the runtime indexes by without checking.
fn check_counts(m: &Module) -> Result<()> {
    let defined = m.funcs.len() - m.num_imported_funcs as usize;
    let ok = m.bodies.len() == defined
        && m.global_inits.len() == m.globals.len() - m.num_imported_globals as usize
        && m.funcs.iter().all(|&t| (t as usize) < m.types.len());
    if ok {
        Ok(())
    } else {
        Err(corrupt("the module's item counts do not agree"))
    }
}

#[cfg(test)]
mod tests {
    use super::{Reader, Writer};
    use proptest::prelude::*;

    fn encode(ints: &[u64], name: &str, traps: &[(u32, u8)]) -> Vec<u8> {
        let mut w = Writer::default();
        w.list(ints, |w, v| w.u64(*v));
        w.str(name);
        w.trap_sites(traps);
        w.bytes
    }

    type Decoded = (Vec<u64>, String, Vec<(u32, u8)>);

    fn decode(bytes: &[u8]) -> crate::Result<Decoded> {
        let mut r = Reader::new(bytes);
        let ints = r.list(|r| r.u64())?;
        let name = r.str()?;
        let traps = r.trap_sites()?;
        Ok((ints, name, traps))
    }

    proptest! {
        /// What the writer writes reads back the same; every truncation of it is an
        /// error, never a panic or a huge allocation.
        #[test]
        fn round_trips_and_truncations_fail_cleanly(
            ints in proptest::collection::vec(any::<u64>(), 0..20),
            name in ".{0,12}",
            traps in proptest::collection::vec((any::<u32>(), any::<u8>()), 0..50),
        ) {
            let bytes = encode(&ints, &name, &traps);
            let (i, n, t) = decode(&bytes).unwrap();
            prop_assert_eq!((&i, &n, &t), (&ints, &name, &traps));
            for len in 0..bytes.len() {
                let cut = decode(&bytes[..len]);
                prop_assert!(cut.is_err() || len == bytes.len());
            }
        }
    }
}

//! Converting script values to [`Val`]s and matching results against expectations
//! (NaN patterns, null and non-null references, `either` alternatives).

use rwamr::Val;
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

/// Why a value could not be used: a feature this runner or rwamr does not support.
/// The message becomes a skip reason.
pub type Unsupported = String;

/// The [`Val`] for an invoke argument.
pub fn arg(a: &WastArg<'_>) -> Result<Val, Unsupported> {
    let WastArg::Core(a) = a else {
        return Err("component-model values are not supported".into());
    };
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(_) => return Err(simd()),
        WastArgCore::RefNull(h) => match null_kind(h)? {
            RefKind::Func => Val::FuncRef(None),
            RefKind::Extern => Val::ExternRef(None),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n)),
        WastArgCore::RefHost(_) => return Err(gc("ref.host")),
    })
}

/// Checks `got` against the expected results. `Ok(None)` is a match, `Ok(Some(why))` a
/// mismatch, `Err` an expectation this runner cannot check.
pub fn check_results(got: &[Val], want: &[WastRet<'_>]) -> Result<Option<String>, Unsupported> {
    let want = want
        .iter()
        .map(|w| match w {
            WastRet::Core(c) => Ok(c),
            _ => Err("component-model values are not supported".to_string()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if got.len() != want.len() {
        return Ok(Some(format!(
            "expected {} result(s) {}, got {} {}",
            want.len(),
            show_expected(&want),
            got.len(),
            show_vals(got)
        )));
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if !matches(g, w)? {
            return Ok(Some(format!(
                "result {i}: expected {}, got {} (all results: {})",
                show_ret(w),
                show_val(g),
                show_vals(got)
            )));
        }
    }
    Ok(None)
}

/// Whether one value matches one expected result.
fn matches(got: &Val, want: &WastRetCore<'_>) -> Result<bool, Unsupported> {
    Ok(match (want, got) {
        (WastRetCore::I32(w), Val::I32(g)) => w == g,
        (WastRetCore::I64(w), Val::I64(g)) => w == g,
        (WastRetCore::F32(w), Val::F32(g)) => match_f32(w, *g),
        (WastRetCore::F64(w), Val::F64(g)) => match_f64(w, *g),
        (WastRetCore::RefNull(None), Val::FuncRef(r)) => r.is_none(),
        (WastRetCore::RefNull(None), Val::ExternRef(r)) => r.is_none(),
        (WastRetCore::RefNull(Some(h)), g) => match (null_kind(h)?, g) {
            (RefKind::Func, Val::FuncRef(r)) => r.is_none(),
            (RefKind::Extern, Val::ExternRef(r)) => r.is_none(),
            _ => false,
        },
        (WastRetCore::RefExtern(None), Val::ExternRef(r)) => r.is_some(),
        (WastRetCore::RefExtern(Some(w)), Val::ExternRef(r)) => *r == Some(*w),
        // The script names a function by index in a module we cannot see through the
        // public API; non-null is what can be checked.
        (WastRetCore::RefFunc(_), Val::FuncRef(r)) => r.is_some(),
        (WastRetCore::Either(alts), g) => {
            for alt in alts {
                if matches(g, alt)? {
                    return Ok(true);
                }
            }
            false
        }
        (WastRetCore::V128(_), _) => return Err(simd()),
        (
            WastRetCore::RefHost(_)
            | WastRetCore::RefAny
            | WastRetCore::RefEq
            | WastRetCore::RefArray
            | WastRetCore::RefStruct
            | WastRetCore::RefI31
            | WastRetCore::RefI31Shared,
            _,
        ) => return Err(gc("GC reference results")),
        // Right kind of expectation, wrong type of value.
        _ => false,
    })
}

/// A canonical NaN has only the top mantissa bit set; an arithmetic NaN has at least
/// that bit set. The sign is free in both.
fn match_f32(want: &NanPattern<wast::token::F32>, got: u32) -> bool {
    const EXP: u32 = 0x7f80_0000;
    const QUIET: u32 = 0x0040_0000;
    match want {
        NanPattern::CanonicalNan => got & 0x7fff_ffff == EXP | QUIET,
        NanPattern::ArithmeticNan => got & EXP == EXP && got & QUIET != 0,
        NanPattern::Value(v) => v.bits == got,
    }
}

fn match_f64(want: &NanPattern<wast::token::F64>, got: u64) -> bool {
    const EXP: u64 = 0x7ff0_0000_0000_0000;
    const QUIET: u64 = 0x0008_0000_0000_0000;
    match want {
        NanPattern::CanonicalNan => got & 0x7fff_ffff_ffff_ffff == EXP | QUIET,
        NanPattern::ArithmeticNan => got & EXP == EXP && got & QUIET != 0,
        NanPattern::Value(v) => v.bits == got,
    }
}

enum RefKind {
    Func,
    Extern,
}

/// Which Wasm 2.0 reference type a `ref.null` heap type denotes.
fn null_kind(h: &HeapType<'_>) -> Result<RefKind, Unsupported> {
    match h {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Ok(RefKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Ok(RefKind::Extern),
            other => Err(gc(&format!("ref.null {other:?}"))),
        },
        _ => Err(gc("typed or shared references")),
    }
}

fn simd() -> Unsupported {
    "uses v128 values (SIMD proposal not supported yet)".into()
}

fn gc(what: &str) -> Unsupported {
    format!("uses {what} (GC / function-references proposals not supported yet)")
}

pub fn show_val(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("i32:{x}"),
        Val::I64(x) => format!("i64:{x}"),
        Val::F32(b) => format!("f32:{} (0x{b:08x})", f32::from_bits(*b)),
        Val::F64(b) => format!("f64:{} (0x{b:016x})", f64::from_bits(*b)),
        Val::FuncRef(None) => "ref.null func".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
    }
}

pub fn show_vals(vs: &[Val]) -> String {
    let parts: Vec<String> = vs.iter().map(show_val).collect();
    format!("[{}]", parts.join(", "))
}

fn show_expected(ws: &[&WastRetCore<'_>]) -> String {
    let parts: Vec<String> = ws.iter().map(|w| show_ret(w)).collect();
    format!("[{}]", parts.join(", "))
}

fn show_ret(w: &WastRetCore<'_>) -> String {
    fn nan<T>(p: &NanPattern<T>, bits: impl Fn(&T) -> String) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".into(),
            NanPattern::ArithmeticNan => "nan:arithmetic".into(),
            NanPattern::Value(v) => bits(v),
        }
    }
    match w {
        WastRetCore::I32(x) => format!("i32:{x}"),
        WastRetCore::I64(x) => format!("i64:{x}"),
        WastRetCore::F32(p) => nan(p, |v| {
            format!("f32:{} (0x{:08x})", f32::from_bits(v.bits), v.bits)
        }),
        WastRetCore::F64(p) => nan(p, |v| {
            format!("f64:{} (0x{:016x})", f64::from_bits(v.bits), v.bits)
        }),
        WastRetCore::RefNull(_) => "ref.null".into(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefExtern(None) => "ref.extern".into(),
        WastRetCore::RefFunc(_) => "ref.func".into(),
        WastRetCore::Either(alts) => {
            let parts: Vec<String> = alts.iter().map(show_ret).collect();
            format!("either({})", parts.join(" | "))
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wast::token::{F32, F64};

    #[test]
    fn nan_patterns() {
        let canon = NanPattern::<F32>::CanonicalNan;
        let arith = NanPattern::<F32>::ArithmeticNan;
        assert!(match_f32(&canon, 0x7fc0_0000));
        assert!(match_f32(&canon, 0xffc0_0000));
        assert!(!match_f32(&canon, 0x7fc0_0001));
        assert!(match_f32(&arith, 0x7fc0_0001));
        assert!(!match_f32(&arith, 0x7f80_0001)); // signalling
        assert!(!match_f32(&arith, 0x7f80_0000)); // infinity
        let exact = NanPattern::Value(F32 { bits: 0x7fa0_0000 });
        assert!(match_f32(&exact, 0x7fa0_0000));
        assert!(!match_f32(&exact, 0x7fc0_0000));
        assert!(match_f64(
            &NanPattern::<F64>::CanonicalNan,
            0xfff8_0000_0000_0000
        ));
        assert!(match_f64(
            &NanPattern::<F64>::ArithmeticNan,
            0x7ff8_0000_0000_0001
        ));
        assert!(!match_f64(
            &NanPattern::<F64>::ArithmeticNan,
            0x7ff0_0000_0000_0001
        ));
    }
}

//! Command-line values: parsing arguments by parameter type, printing results.

use rwamr::{Error, FuncType, Result, Val, ValType};

/// Parses `args` as the parameters of `ty`.
pub fn parse_args(ty: &FuncType, args: &[String]) -> Result<Vec<Val>> {
    if args.len() != ty.params().len() {
        return Err(Error::argument(format!(
            "the function takes {} argument(s) ({ty}), {} given",
            ty.params().len(),
            args.len()
        )));
    }
    ty.params()
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (t, a))| {
            parse_val(*t, a).ok_or_else(|| {
                Error::argument(format!("argument {} (`{a}`) is not a valid {t}", i + 1))
            })
        })
        .collect()
}

fn parse_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let digits = digits.replace('_', "");
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_val(ty: ValType, s: &str) -> Option<Val> {
    match ty {
        // Accept both the signed and the unsigned range, as wasmtime does.
        ValType::I32 => {
            let v = parse_int(s)?;
            (i32::MIN as i128..=u32::MAX as i128)
                .contains(&v)
                .then_some(Val::I32(v as u32 as i32))
        }
        ValType::I64 => {
            let v = parse_int(s)?;
            (i64::MIN as i128..=u64::MAX as i128)
                .contains(&v)
                .then_some(Val::I64(v as u64 as i64))
        }
        ValType::F32 => s.parse::<f32>().ok().map(Val::from_f32),
        ValType::F64 => s.parse::<f64>().ok().map(Val::from_f64),
        ValType::FuncRef | ValType::ExternRef => None,
    }
}

/// A result as printed by `--invoke`.
pub fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(b) => f32::from_bits(*b).to_string(),
        Val::F64(b) => f64::from_bits(*b).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(h)) => format!("<externref {h}>"),
    }
}

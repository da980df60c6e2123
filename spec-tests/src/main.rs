//! `spec-tests`: command-line front end of the spec test runner.
#![forbid(unsafe_code)]

use rwamr::Mode;
use rwamr_spec_tests::{
    directory, embedded_set, filter, render, run, totals, Detail, Options, Script,
};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: spec-tests [--set NAME | --dir DIR] [--filter SUBSTR] [--mode MODE] [-v|-vv]
                  [--jobs N] [--run-unsupported]

  --set NAME         embedded scripts: wasm-v1, wasm-v2 (default), wasm-v3, latest,
                     proposals/<name>
  --dir DIR          every *.wast file in DIR (default: $RWAMR_TESTSUITE when set)
  --filter SUBSTR    only files whose name contains SUBSTR
  --mode MODE        interp, baseline, optimized, aot, tiered or all (default: all
                     modes this build has)
  -v, --verbose      list every failure and skip reason, and count the notes
                     (passes whose trap text or error kind differs from the script)
  -vv                list every note too
  --jobs N           worker threads (default: one per core)
  --run-unsupported  also run files on the known-unsupported list

Exit status: 0 when nothing failed outside known-unsupported files, 1 otherwise,
2 on bad arguments.";

struct Args {
    set: Option<String>,
    dir: Option<PathBuf>,
    filter: Option<String>,
    mode: Option<String>,
    detail: Detail,
    opts: Options,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        set: None,
        dir: None,
        filter: None,
        mode: None,
        detail: Detail::Table,
        opts: Options::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--set" => args.set = Some(value("--set")?),
            "--dir" => args.dir = Some(PathBuf::from(value("--dir")?)),
            "--filter" => args.filter = Some(value("--filter")?),
            "--mode" => args.mode = Some(value("--mode")?),
            "--jobs" => {
                let v = value("--jobs")?;
                args.opts.jobs = v.parse().map_err(|_| format!("bad --jobs value `{v}`"))?;
            }
            "-v" | "--verbose" => args.detail = Detail::Failures,
            "-vv" => args.detail = Detail::All,
            "--run-unsupported" => args.opts.run_known_unsupported = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.set.is_some() && args.dir.is_some() {
        return Err("give --set or --dir, not both".into());
    }
    Ok(args)
}

fn modes(arg: Option<&str>) -> Result<Vec<Mode>, String> {
    let built = rwamr::built_modes();
    match arg {
        None | Some("all") => Ok(built.to_vec()),
        Some(name) => {
            let mode = Mode::from_name(name).ok_or_else(|| format!("unknown mode `{name}`"))?;
            if !built.contains(&mode) {
                let names: Vec<&str> = built.iter().map(|m| m.name()).collect();
                return Err(format!(
                    "mode `{name}` is not built yet; available: {}",
                    names.join(", ")
                ));
            }
            Ok(vec![mode])
        }
    }
}

/// The selected scripts, and whether they are a Wasm 2.0 set (see `Options::wasm2_only`).
fn scripts(args: &Args) -> Result<(Vec<Script>, bool), String> {
    let dir = args
        .dir
        .clone()
        .or_else(|| std::env::var_os("RWAMR_TESTSUITE").map(PathBuf::from));
    let (all, wasm2) = match (&args.set, dir) {
        (Some(set), _) => (
            embedded_set(set)?,
            matches!(set.as_str(), "wasm-v1" | "wasm-v2"),
        ),
        (None, Some(dir)) => (directory(&dir)?, false),
        (None, None) => (embedded_set("wasm-v2")?, true),
    };
    Ok((filter(all, args.filter.as_deref()), wasm2))
}

fn main() -> ExitCode {
    let setup = parse_args().and_then(|mut args| {
        args.opts.modes = modes(args.mode.as_deref())?;
        let (scripts, wasm2) = scripts(&args)?;
        args.opts.wasm2_only = wasm2;
        Ok((args, scripts))
    });
    let (args, scripts) = match setup {
        Ok(s) => s,
        Err(e) => {
            eprintln!("spec-tests: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if scripts.is_empty() {
        eprintln!("spec-tests: no scripts selected");
        return ExitCode::from(2);
    }
    let reports = run(&scripts, &args.opts);
    print!("{}", render(&reports, args.detail));
    if totals(&reports).unexpected_failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

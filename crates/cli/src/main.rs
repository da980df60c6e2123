//! The `rwamr` command line (wasmtime's conventions; the counterpart of WAMR's `iwasm`).
#![deny(unsafe_code)]

mod args;
mod precompiled;
mod timeout;
mod watch;

use clap::{Parser, Subcommand};
use precompiled::Input;
use rwamr::{wasi, Config, Engine, ErrorKind, Mode, Registry, TrapCode};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Exit statuses. A program's own status passes through when it is at most
/// [`MAX_PROGRAM_STATUS`]; the ones above are rwamr's, so a caller can tell who ended the
/// run (as wasmtime, which refuses program statuses from 126 up).
const MAX_PROGRAM_STATUS: i32 = 125;
/// rwamr could not run the program: a bad module, argument or import, an I/O error, or a
/// program status out of range.
const ERROR_EXIT: u8 = 126;
/// The run ended in a wasm trap (128 + SIGABRT, as wasmtime).
const TRAP_EXIT: u8 = 134;
/// `--timeout` stopped the run (128 + SIGALRM: what a shell shows for a program that a
/// timer ended).
const TIMEOUT_EXIT: u8 = 142;
/// `--fuel` ran out (128 + SIGXCPU: what a shell shows for a program past its CPU
/// limit).
const OUT_OF_FUEL_EXIT: u8 = 152;

#[derive(Parser)]
#[command(
    name = "rwamr",
    version,
    about = "A WebAssembly runtime: interpreter, JIT and AOT modes, a module registry and hot patching"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WebAssembly module: its `_start`, or the function given with --invoke.
    Run(RunArgs),
    /// Compile a WebAssembly module ahead of time into an .aot file (WAMR's `wamrc`):
    /// `rwamr run --allow-precompiled OUT.aot` then runs it with no compiler at load.
    Compile(CompileArgs),
}

#[derive(clap::Args)]
struct CompileArgs {
    /// The module to compile (.wasm, or .wat text).
    file: PathBuf,
    /// Where to write the .aot file (replaced, not rewritten in place, so that a
    /// running program that mapped the old file keeps it).
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// The CPU to compile for: a preset such as x86-64-v2, x86-64-v3, haswell or
    /// baseline (default: this machine's). A file that uses features a CPU lacks is
    /// refused there.
    #[arg(long, value_name = "CPU")]
    target_cpu: Option<String>,
    /// Compile with fuel metering, for `rwamr run --fuel N` (the file then runs only
    /// with --fuel).
    #[arg(long)]
    consume_fuel: bool,
    /// Compile with deadline checks, for `rwamr run --timeout D` (the file then runs
    /// only with --timeout).
    #[arg(long)]
    epoch_interruption: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Execution mode: interp, baseline, optimized, aot, tiered (default: aot for an
    /// .aot file, else tiered, or interp in a build without a compiler). .aot files
    /// always run in aot mode.
    #[arg(long, value_parser = parse_mode)]
    mode: Option<Mode>,
    /// Allow running .aot files (precompiled native code, which runs as it is: trust
    /// its author as you would any program's).
    #[arg(long)]
    allow_precompiled: bool,
    /// Call this exported function instead of `_start`; ARGS are its arguments, parsed by
    /// its parameter types; its results are printed one per line.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,
    /// Load FILE under NAME first, so that FILE's `(import "NAME" ...)` resolve to it.
    /// Repeatable; modules load in the order given.
    #[arg(long, value_name = "NAME=FILE", value_parser = parse_preload)]
    preload: Vec<(String, PathBuf)>,
    /// After running, watch the --preload files: when one changes, replace that module in
    /// the running registry (keeping its state when the layout allows, else fresh),
    /// print what was swapped, and run again. Runs until interrupted.
    #[arg(long)]
    watch: bool,
    /// Give the program access to host directory HOST, as GUEST inside (default: the
    /// same path). Only paths beneath such directories can be opened. Repeatable.
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    dirs: Vec<(PathBuf, String)>,
    /// Set an environment variable for the program. Repeatable.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    envs: Vec<(String, String)>,
    /// The wasm stack budget in bytes, the same in every mode (default 1 MiB, about
    /// 9,000 frames of a small recursive function): deeper recursion ends in "call stack
    /// exhausted".
    #[arg(long, value_name = "BYTES")]
    max_wasm_stack: Option<usize>,
    /// Threads the program (wasi-threads) may have alive at once, its first included;
    /// a spawn past them fails with EAGAIN (1024 by default).
    #[arg(long, value_name = "N")]
    max_threads: Option<u32>,
    /// Stop the program after it has run N units of fuel (about one per wasm
    /// instruction, the same count in every mode); it then ends with status 152.
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Stop the program after DURATION (e.g. 1s, 500ms, 2m, 1.5s; a plain number is
    /// seconds); it then ends with status 142. With --watch, each run gets DURATION.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Print how long reading, compiling, instantiating and running took (stderr).
    #[arg(long)]
    timings: bool,
    /// Baseline mode: compile every function when the module loads, not on first call.
    #[arg(long)]
    eager: bool,
    /// The module to run (.wasm, .wat text, or an .aot file from `rwamr compile`).
    file: PathBuf,
    /// Arguments: of the invoked function with --invoke.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::from_name(s).ok_or_else(|| {
        format!("unknown mode `{s}`; expected one of: interp, baseline, optimized, aot, tiered")
    })
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit `{unit}` in `{s}`; use ms, s, m or h")),
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a duration such as 1s or 500ms, got `{s}`"))?;
    Duration::try_from_secs_f64(v * scale)
        .map_err(|_| format!("`{s}` is not a duration rwamr can wait for"))
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("expected HOST or HOST::GUEST, got `{s}`"));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got `{s}`")),
    }
}

fn parse_preload(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, file)) if !name.is_empty() && !file.is_empty() => {
            Ok((name.to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("expected NAME=FILE, got `{s}`")),
    }
}

/// Writes a line to stderr, with control characters escaped (names from a module cannot
/// rewrite the terminal or split the line). A closed or broken stderr is not worth dying
/// for (`eprintln!` would panic on a broken pipe): the line is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = rwamr::escape_controls(&format!($($arg)*));
        let _ = writeln!(std::io::stderr(), "{line}");
    }};
}
pub(crate) use say;

/// Writes a result line to stdout. `Ok(false)` when nobody reads stdout any more (a
/// closed pipe, as under `| head -1`): the caller stops printing, which is not an error.
/// Any other failure (a full disk) is: the results are lost.
fn print_result(line: &str) -> rwamr::Result<bool> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(rwamr::Error::resource(format!(
            "cannot write the results to stdout: {e}"
        ))),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Compile(args) => match compile(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => report_error(&e),
        },
        Command::Run(args) => {
            // Compiled modes run on the native stack, which needs a few times the wasm
            // stack budget (see `Config::max_wasm_stack`): the program runs on a thread
            // with room for any budget given (its stack is only reserved, not used).
            let budget = args.max_wasm_stack.unwrap_or(1 << 20);
            let stack = budget.saturating_mul(4).saturating_add(8 << 20);
            let runner = std::thread::Builder::new()
                .name("wasm".into())
                .stack_size(stack)
                .spawn(move || {
                    let r = run(args);
                    ending();
                    match r {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => report_error(&e),
                    }
                });
            match runner.map(|t| t.join()) {
                Ok(Ok(code)) => code,
                Ok(Err(_)) => {
                    say!("error: rwamr failed unexpectedly (please report)");
                    ExitCode::from(ERROR_EXIT)
                }
                Err(e) => {
                    say!("error: cannot start a thread with a {stack}-byte stack: {e}");
                    ExitCode::from(ERROR_EXIT)
                }
            }
        }
    }
}

/// Prints an error (with the wasm backtrace of a trap) and picks the exit status: the
/// program's own for a WASI exit (0 to 125), 134 for a trap, 126 otherwise.
fn report_error(e: &rwamr::Error) -> ExitCode {
    ExitCode::from(error_status(e))
}

/// How a program of many threads ends when a thread other than the main one ends it
/// (wasi-threads): the process exits at once, as `report_error` says for the main
/// thread, whatever the other threads do.
fn end_process(end: &wasi::ProgramEnd) {
    use std::io::Write;
    ending();
    let status = match end {
        wasi::ProgramEnd::Exit(status) => program_status(*status),
        wasi::ProgramEnd::Trap(e) => error_status(e),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(status.into());
}

/// Makes this thread the one that ends the process: the first thread to report how the
/// program ended (the main one, or with wasi-threads another: `end_process`) prints
/// that and exits; one that comes later waits here for the exit instead of printing a
/// second report. Once per thread.
fn ending() {
    static ENDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    std::mem::forget(ENDING.lock().unwrap_or_else(|e| e.into_inner()));
}

/// The program's result as the first of its threads to end it says (wasi-threads): the
/// main thread's own, unless another thread ended the program first (then the main
/// thread's end is only the interruption that followed).
fn program_end(wasi: &wasi::WasiHost, r: rwamr::Result<()>) -> rwamr::Result<()> {
    match wasi.end_with(r)? {
        0 => Ok(()),
        status => Err(rwamr::Trap::exit(status).into()),
    }
}

/// The exit status for a program's own `status` (see `report_error`).
fn program_status(status: i32) -> u8 {
    if (0..=MAX_PROGRAM_STATUS).contains(&status) {
        return status as u8;
    }
    say!(
        "error: the program exited with status {status}, which cannot be passed on: \
         statuses 0 to {MAX_PROGRAM_STATUS} are the program's, those above rwamr's"
    );
    ERROR_EXIT
}

/// [`report_error`]'s status, after printing the error.
fn error_status(e: &rwamr::Error) -> u8 {
    if let Some(status) = e.trap().and_then(|t| t.exit_status()) {
        return program_status(status);
    }
    if e.kind() != ErrorKind::Trap {
        say!("error: {e}");
        return ERROR_EXIT;
    }
    // With the wasm backtrace, a frame a line (each line escaped on its own).
    for line in format!("error: {e:#}").lines() {
        say!("{line}");
    }
    match e.trap().map(|t| t.code()) {
        Some(TrapCode::OutOfFuel) => {
            say!("the program used up the fuel --fuel gave it");
            OUT_OF_FUEL_EXIT
        }
        Some(TrapCode::Interrupted) => {
            say!("the program ran longer than --timeout allowed");
            TIMEOUT_EXIT
        }
        _ => TRAP_EXIT,
    }
}

/// WASI for the program: argv[0] is the file name as given, then ARGS (unless they are
/// --invoke's arguments); stdio is inherited. A thread of the program that ends it ends
/// the process.
fn wasi_host(args: &RunArgs) -> rwamr::Result<wasi::WasiHost> {
    let mut argv = vec![args.file.display().to_string()];
    if args.invoke.is_none() {
        argv.extend(args.args.iter().cloned());
    }
    let mut config = wasi::WasiConfig::new()
        .args(argv)
        .on_thread_end(end_process);
    for (k, v) in &args.envs {
        config = config.env(k, v);
    }
    for (host, guest) in &args.dirs {
        config = config.preopen_dir(host, guest)?;
    }
    Ok(config.host())
}

pub(crate) fn read_module(path: &std::path::Path) -> rwamr::Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .map_err(|e| rwamr::Error::resource(format!("cannot read `{}`: {e}", path.display())))?;
    match wat::Detect::from_bytes(&bytes) {
        wat::Detect::WasmBinary => Ok(bytes),
        // The text format is accepted too, as wasmtime does.
        wat::Detect::WasmText => {
            let text = String::from_utf8_lossy(&bytes);
            rwamr::text_to_binary(&text).map_err(|e| e.context(format!("`{}`", path.display())))
        }
        wat::Detect::Unknown => Err(rwamr::Error::malformed(format!(
            "`{}` is not a wasm module: it starts neither with the binary format's magic \
             bytes (\\0asm) nor with a `(` of the text format",
            path.display()
        ))),
    }
}

/// `rwamr compile`: the .aot file is written beside OUT and renamed over it.
fn compile(args: &CompileArgs) -> rwamr::Result<()> {
    let mut config = Config::default()
        .mode(Mode::Aot)
        .mixed_modes(false)
        .consume_fuel(args.consume_fuel)
        .epoch_interruption(args.epoch_interruption);
    if let Some(cpu) = &args.target_cpu {
        config = config.target_cpu(cpu);
    }
    let engine = Engine::new(config)?;
    if precompiled::is_aot_file(&args.file)? {
        return Err(rwamr::Error::argument(format!(
            "`{}` is already an .aot file; compile its wasm",
            args.file.display()
        )));
    }
    let wasm = read_module(&args.file)?;
    let aot = engine
        .precompile(&wasm)
        .map_err(|e| e.context(format!("`{}`", args.file.display())))?;
    let out = &args.output;
    // The file is renamed over OUT: only where OUT is a file (or nothing yet), never
    // over a device, a pipe or a directory.
    if let Ok(meta) = std::fs::metadata(out) {
        if !meta.is_file() {
            return Err(rwamr::Error::argument(format!(
                "`{}` is not a regular file; give -o the path of an .aot file to write",
                out.display()
            )));
        }
    }
    let mut tmp = out.clone().into_os_string();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, &aot).and_then(|()| std::fs::rename(&tmp, out));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(rwamr::Error::resource(format!(
            "cannot write `{}`: {e}",
            out.display()
        )));
    }
    Ok(())
}

fn run(args: RunArgs) -> rwamr::Result<()> {
    // An .aot main module runs in aot mode unless --mode says otherwise (which it may
    // not: .aot files have no other mode).
    let main_is_aot = precompiled::is_aot_file(&args.file)?;
    let mode = match (args.mode, main_is_aot) {
        (Some(m), true) if m != Mode::Aot => {
            return Err(rwamr::Error::argument(format!(
                "`{}` is an .aot file, which runs in aot mode only, not {m}",
                args.file.display()
            )))
        }
        (Some(m), _) => m,
        (None, true) => Mode::Aot,
        // Tiered starts like Baseline and finishes like Optimized: the fastest whole
        // run on every program measured but startup-only ones (README, "Tiered").
        (None, false) if rwamr::built_modes().contains(&Mode::Tiered) => Mode::Tiered,
        (None, false) => Mode::Interp,
    };
    // Everything loads in one mode (an interpreter run starts no compiler), except
    // .aot preloads beside modules of another mode.
    let mut aot_preload = false;
    for (_, file) in &args.preload {
        aot_preload |= precompiled::is_aot_file(file)?;
    }
    let mut config = Config::default()
        .mode(mode)
        .lazy_baseline(!args.eager)
        .mixed_modes(aot_preload && mode != Mode::Aot)
        .consume_fuel(args.fuel.is_some())
        .epoch_interruption(args.timeout.is_some());
    if let Some(b) = args.max_wasm_stack {
        config = config.max_wasm_stack(b);
    }
    if let Some(n) = args.max_threads {
        config = config.resource_limits(rwamr::ResourceLimits {
            threads: Some(n),
            ..rwamr::ResourceLimits::default()
        });
    }
    let engine = Engine::new(config)?;
    if let Some(fuel) = args.fuel {
        // Start functions (of preloads too) run on it as well.
        engine.set_fuel(fuel)?;
    }
    let timer = args
        .timeout
        .map(|limit| timeout::Timer::new(&engine, limit));
    // The first run's time counts from here: start functions run on it too.
    let mut first_run = timer
        .as_ref()
        .map(|t| t.start(Instant::now()))
        .transpose()?;
    let registry = Registry::new(&engine);
    let aot_how = if args.watch {
        precompiled::Aot::Copy
    } else {
        precompiled::Aot::Map
    };
    let t_read = Instant::now();
    // Every file is read before the host functions are defined: .aot files bring the
    // native stubs through which their code calls host functions, which the host
    // functions' entries then take (a build with a compiler need not compile them).
    let mut preloads = Vec::with_capacity(args.preload.len());
    for (name, file) in &args.preload {
        let input = precompiled::read_input(&engine, file, args.allow_precompiled, aot_how)
            .map_err(|e| e.context(format!("module `{name}`")))?;
        preloads.push((name, input));
    }
    let main_name = "main";
    let input = precompiled::read_input(
        &engine,
        &args.file,
        args.allow_precompiled,
        precompiled::Aot::Map,
    )?;
    let t_compile = Instant::now();
    let compiled = match input {
        Input::Wasm(bytes) => registry
            .compile(&bytes)
            .map_err(|e| e.context(format!("module `{main_name}`")))?,
        Input::Aot(compiled) => compiled,
    };
    let wasi = wasi_host(&args)?;
    registry.define_host(wasi::MODULE_NAME, &wasi.preview1)?;
    // A program built for threads: `thread-spawn`, and the shared memory it imports
    // (unless a preloaded module of that name provides it).
    let preloaded = |name: &str| args.preload.iter().any(|(n, _)| n == name);
    let imports_from = |name: &str| compiled.module.imports.iter().any(|i| i.module == name);
    if imports_from(wasi::threads::MODULE_NAME) && !preloaded(wasi::threads::MODULE_NAME) {
        registry.define_host(wasi::threads::MODULE_NAME, &wasi.threads)?;
    }
    for (name, host) in wasi::shared_memory_imports(&engine, &compiled.module)? {
        if !preloaded(&name) {
            registry.define_host(&name, &host)?;
        }
    }
    for (name, input) in preloads {
        match input {
            Input::Wasm(bytes) => registry.load(name, &bytes)?,
            Input::Aot(compiled) => registry.load_compiled(name, &compiled)?,
        };
    }
    let t_instantiate = Instant::now();
    registry.load_compiled(main_name, &compiled)?;
    let t_run = Instant::now();
    let timings = |end: Instant| {
        if args.timings {
            let us = |a: Instant, b: Instant| (b - a).as_micros();
            say!(
                "rwamr: mode={} read_us={} compile_us={} instantiate_us={} run_us={} total_us={}",
                mode,
                us(t_read, t_compile),
                us(t_compile, t_instantiate),
                us(t_instantiate, t_run),
                us(t_run, end),
                us(t_read, end)
            );
            #[cfg(feature = "compiler")]
            if let Some(t) = engine.tier_stats().filter(|_| mode == Mode::Tiered) {
                say!(
                    "rwamr: tiered optimized={} osr_compiled={} osr_entered={} failed={}",
                    t.optimized,
                    t.osr_compiled,
                    t.osr_entered,
                    t.failed
                );
            }
        }
    };
    let export = args.invoke.as_deref().unwrap_or("_start");
    let func = registry.func(main_name, export)?;
    let params = if args.invoke.is_some() {
        args::parse_args(&func.ty(), &args.args)?
    } else {
        Vec::new()
    };
    let mut run_once = || -> rwamr::Result<()> {
        let _running = match first_run.take() {
            Some(r) => Some(r),
            None => timer
                .as_ref()
                .map(|t| t.start(Instant::now()))
                .transpose()?,
        };
        for r in &func.call(&params)? {
            if !print_result(&args::format_val(r))? {
                break;
            }
        }
        Ok(())
    };
    if !args.watch {
        let r = run_once();
        timings(Instant::now());
        return program_end(&wasi, r);
    }
    if let Err(e) = run_once() {
        say!("error: {e}");
    }
    watch::watch(&registry, &args.preload, args.allow_precompiled, || {
        if let Err(e) = run_once() {
            say!("error: {e}");
        }
    })
}

//! Runs the commands of one script against a fresh engine and registry.

use crate::imports::import_modules;
use crate::report::{FileReport, Note};
use crate::spectest;
use crate::values;
use rwamr::{Config, Engine, Error, ErrorKind, Mode, Registry, TrapCode, Val};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::{Scope, ScopedJoinHandle};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// Parses and runs `text` (the script `file`) in `mode`.
/// Runs one script in one mode. With `wasm2_only` the script is read as Wasm 2.0's:
/// a module that needs a later proposal is invalid there, so refusing it as unsupported
/// is the expected rejection in `assert_invalid` / `assert_malformed`.
pub fn run_script(file: &str, text: &str, mode: Mode, wasm2_only: bool) -> FileReport {
    let mut report = FileReport::new(file, mode);
    let lines = LineIndex::new(text);
    let mut lexer = Lexer::new(text);
    // names.wast uses bidirectional-override characters in names on purpose.
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            report.fail(lines.line(e.span()), "parse", e.message());
            return report;
        }
    };
    let script = match parser::parse::<Wast>(&buf) {
        Ok(s) => s,
        Err(e) => {
            report.fail(lines.line(e.span()), "parse", e.message());
            return report;
        }
    };
    // Tiered: every function moves up at its first entry, so each runs in both tiers.
    let engine = match Engine::new(Config::default().mode(mode).tier_up_after(0)) {
        Ok(e) => e,
        Err(e) => {
            report.fail(0, "engine", e.to_string());
            return report;
        }
    };
    // Script threads (`thread`) run in the scope, borrowing the script's text.
    let finished: rwamr::Result<Finished> = std::thread::scope(|scope| {
        let mut runner = Runner::new(&engine, wasm2_only, scope, &lines)?;
        runner.run(script.directives);
        Ok(runner.finish())
    });
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            report.fail(0, "spectest", e.to_string());
            return report;
        }
    };
    for Record {
        line,
        command,
        outcome,
    } in finished.records
    {
        match outcome {
            Outcome::Pass => report.passed += 1,
            Outcome::TextFormat => report.text_format += 1,
            Outcome::Skip(reason) => report.skip(reason),
            Outcome::Fail(message) => report.fail(line, command, message),
            Outcome::Known(reason) => report.known_difference(line, reason),
        }
    }
    report.notes = finished.notes;
    report
}

/// Native stack of a script thread (only reserved, as the workers' in `lib.rs`).
const THREAD_STACK: usize = 64 << 20;

/// How one command went, where.
struct Record {
    line: usize,
    command: &'static str,
    outcome: Outcome,
}

/// What a runner (the script's, or a script thread's) leaves.
struct Finished {
    records: Vec<Record>,
    notes: Vec<Note>,
}

/// The number of commands in a script (0 if it does not parse), to count the commands
/// of a file that is not run as skipped.
pub fn count_commands(text: &str) -> usize {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    ParseBuffer::new_with_lexer(lexer)
        .and_then(|buf| parser::parse::<Wast>(&buf).map(|w| w.directives.len()))
        .unwrap_or(0)
}

/// How one command went.
enum Outcome {
    Pass,
    /// The text parser rejected a module, as the script expected: a check of the text
    /// format (wast), not of rwamr.
    TextFormat,
    Skip(String),
    Fail(String),
    /// An expectation rwamr does not share, for the reason given (`known.rs`).
    Known(String),
}

/// What became of a module command; later commands that use the module follow it.
#[derive(Clone)]
enum ModState {
    /// Loaded under this registry name.
    Ready(String),
    /// Not loaded because it needs something unsupported; its users are skipped.
    Skipped(String),
    /// Failed to load at this line; its users fail.
    Failed(usize),
}

impl ModState {
    /// The outcome of a command that needs this module, when it is not available.
    fn unavailable(&self) -> Option<Outcome> {
        match self {
            ModState::Ready(_) => None,
            ModState::Skipped(r) => Some(Outcome::Skip(r.clone())),
            ModState::Failed(line) => Some(Outcome::Fail(format!(
                "needs the module at line {line}, which failed to load"
            ))),
        }
    }
}

/// The result of trying to load a module.
enum Loaded {
    Ok(String),
    Err(Error),
    /// Not tried: it imports from a registered name whose module is not available.
    Unavailable(ModState),
}

/// Why a module could not be turned into a binary.
enum Encode {
    /// Something this runner does not run (components).
    Unsupported(String),
    /// The text parser rejected it.
    Text(String),
}

/// Runs the commands of a script, or of one of its threads (`thread`): each has a
/// registry of its own, in which a thread sees only the module it was given (`shared`).
struct Runner<'s, 'e> {
    scope: &'s Scope<'s, 'e>,
    lines: &'e LineIndex,
    /// Threads started and not waited for yet, by name.
    threads: HashMap<String, ScopedJoinHandle<'s, Finished>>,
    records: Vec<Record>,
    /// See [`run_script`].
    wasm2_only: bool,
    registry: Registry,
    /// Modules loaded so far; they are named `#1`, `#2`, ... in the registry.
    loaded: usize,
    /// The most recent module: the target of commands without a module id.
    current: Option<ModState>,
    by_id: HashMap<String, ModState>,
    /// `(module definition $id ...)` binaries, for `(module instance ...)`.
    definitions: HashMap<String, Vec<u8>>,
    last_definition: Option<Vec<u8>>,
    /// Names given by `register` to modules that are not available.
    unavailable: HashMap<String, ModState>,
    notes: Vec<Note>,
    /// Line of the command being run (for notes).
    line: usize,
}

impl<'s, 'e> Runner<'s, 'e> {
    fn new(
        engine: &Engine,
        wasm2_only: bool,
        scope: &'s Scope<'s, 'e>,
        lines: &'e LineIndex,
    ) -> rwamr::Result<Self> {
        let registry = Registry::new(engine);
        registry.define_host("spectest", &spectest::host_module())?;
        Ok(Runner {
            scope,
            lines,
            threads: HashMap::new(),
            records: Vec::new(),
            registry,
            loaded: 0,
            current: None,
            by_id: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            unavailable: HashMap::new(),
            notes: Vec::new(),
            line: 0,
            wasm2_only,
        })
    }

    /// Runs `directives` in order, recording how each went.
    fn run(&mut self, directives: Vec<WastDirective<'e>>) {
        for directive in directives {
            let line = self.lines.line(directive.span());
            let command = command_name(&directive);
            self.line = line;
            // A panic in the runtime is a failure of this command, not the end of the run.
            let outcome = catch_unwind(AssertUnwindSafe(|| self.directive(directive)))
                .unwrap_or_else(|p| Outcome::Fail(format!("panicked: {}", panic_message(&*p))));
            self.records.push(Record {
                line,
                command,
                outcome,
            });
        }
    }

    /// Waits for the threads no `wait` waited for, and hands over what all did.
    fn finish(mut self) -> Finished {
        let mut names: Vec<String> = self.threads.keys().cloned().collect();
        names.sort();
        for name in names {
            let outcome = self.join(&name);
            if !matches!(outcome, Outcome::Pass) {
                self.records.push(Record {
                    line: self.line,
                    command: "thread",
                    outcome,
                });
            }
        }
        Finished {
            records: self.records,
            notes: self.notes,
        }
    }

    /// `thread`: runs the thread's commands on a thread of their own, with a registry
    /// of their own in which the module `shared` names (if any) is known by its id.
    fn start_thread(&mut self, t: wast::WastThread<'e>) -> Outcome {
        let name = t.name.name().to_string();
        if self.threads.contains_key(&name) {
            return Outcome::Fail(format!("thread ${name} is already running"));
        }
        let shared = match t.shared_module {
            Some(id) => match self.lookup(Some(id)) {
                Ok(ModState::Ready(internal)) => match self.registry.find(&internal) {
                    Some(inst) => Some((id.name().to_string(), inst)),
                    None => return Outcome::Fail(format!("module ${} is gone", id.name())),
                },
                Ok(other) => return other.unavailable().expect("not ready"),
                Err(o) => return o,
            },
            None => None,
        };
        let engine = self.registry.engine().clone();
        let (scope, lines, wasm2_only, line) = (self.scope, self.lines, self.wasm2_only, self.line);
        let body = move || {
            let mut child = match Runner::new(&engine, wasm2_only, scope, lines) {
                Ok(r) => r,
                Err(e) => {
                    return Finished {
                        records: vec![Record {
                            line,
                            command: "thread",
                            outcome: Outcome::Fail(e.to_string()),
                        }],
                        notes: Vec::new(),
                    }
                }
            };
            if let Some((id, inst)) = shared {
                // Named by its id: registry names of the thread's own modules are `#n`.
                let internal = format!("${id}");
                match child.registry.register_instance(&internal, &inst) {
                    Ok(()) => _ = child.by_id.insert(id, ModState::Ready(internal)),
                    Err(e) => child.records.push(Record {
                        line,
                        command: "thread",
                        outcome: Outcome::Fail(e.to_string()),
                    }),
                }
            }
            child.run(t.directives);
            child.finish()
        };
        match std::thread::Builder::new()
            .name(format!("script-thread-{name}"))
            .stack_size(THREAD_STACK)
            .spawn_scoped(self.scope, body)
        {
            Ok(handle) => {
                self.threads.insert(name, handle);
                Outcome::Pass
            }
            Err(e) => Outcome::Fail(format!("cannot start a thread: {e}")),
        }
    }

    /// `wait`: joins thread `name`; its commands' outcomes count from here.
    fn join(&mut self, name: &str) -> Outcome {
        let Some(handle) = self.threads.remove(name) else {
            return Outcome::Fail(format!("no thread ${name} is running"));
        };
        match handle.join() {
            Ok(finished) => {
                self.records.extend(finished.records);
                self.notes.extend(finished.notes);
                Outcome::Pass
            }
            Err(p) => Outcome::Fail(format!("thread ${name} panicked: {}", panic_message(&*p))),
        }
    }

    fn directive(&mut self, d: WastDirective<'e>) -> Outcome {
        match d {
            WastDirective::Module(mut m) => {
                let id = m.name().map(|i| i.name().to_string());
                let bytes = match encode(&mut m) {
                    Ok(b) => b,
                    Err(Encode::Unsupported(r)) => {
                        self.set_current(id, ModState::Skipped(r.clone()));
                        return Outcome::Skip(r);
                    }
                    Err(Encode::Text(e)) => {
                        self.set_current(id, ModState::Failed(self.line));
                        return Outcome::Fail(format!("text parser rejected the module: {e}"));
                    }
                };
                self.instantiate(id, &bytes)
            }
            WastDirective::ModuleDefinition(mut m) => {
                let id = m.name().map(|i| i.name().to_string());
                match encode(&mut m) {
                    Ok(bytes) => {
                        if let Some(id) = id {
                            self.definitions.insert(id, bytes.clone());
                        }
                        let outcome = match self.registry.compile(&bytes) {
                            Ok(_) => Outcome::Pass,
                            Err(e) => error_outcome(e, |e| e.to_string()),
                        };
                        self.last_definition = Some(bytes);
                        outcome
                    }
                    Err(Encode::Unsupported(r)) => Outcome::Skip(r),
                    Err(Encode::Text(e)) => Outcome::Fail(format!("text parser: {e}")),
                }
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let bytes = match module {
                    Some(m) => self.definitions.get(m.name()).cloned(),
                    None => self.last_definition.clone(),
                };
                let Some(bytes) = bytes else {
                    return Outcome::Fail("no such module definition".into());
                };
                self.instantiate(instance.map(|i| i.name().to_string()), &bytes)
            }
            WastDirective::Register { name, module, .. } => {
                let state = match self.lookup(module) {
                    Ok(s) => s,
                    Err(o) => return o,
                };
                match &state {
                    ModState::Ready(internal) => match self.registry.alias(internal, name) {
                        Ok(()) => {
                            self.unavailable.remove(name);
                            Outcome::Pass
                        }
                        Err(e) => Outcome::Fail(e.to_string()),
                    },
                    other => {
                        self.unavailable.insert(name.to_string(), other.clone());
                        other.unavailable().expect("not ready")
                    }
                }
            }
            WastDirective::Invoke(inv) => match self.invoke(&inv) {
                Ok(Ok(_)) => Outcome::Pass,
                Ok(Err(e)) => error_outcome(e, |e| format!("invoke failed: {e}")),
                Err(o) => o,
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec) {
                Ok(Ok(got)) => match values::check_results(&got, &results) {
                    Ok(None) => Outcome::Pass,
                    Ok(Some(why)) => Outcome::Fail(why),
                    Err(unsupported) => Outcome::Skip(unsupported),
                },
                Ok(Err(e)) => error_outcome(e, |e| format!("expected a return, got: {e}")),
                Err(o) => o,
            },
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(Ok(got)) => Outcome::Fail(format!(
                    "expected trap `{message}`, got {}",
                    values::show_vals(&got)
                )),
                Ok(Err(e)) => match e.trap() {
                    Some(trap) => {
                        let text = trap.to_string();
                        if !text.starts_with(message) {
                            self.note(format!("trap `{text}` where the script says `{message}`"));
                        }
                        Outcome::Pass
                    }
                    None => error_outcome(e, |e| {
                        format!("expected trap `{message}`, got {:?} error: {e}", e.kind())
                    }),
                },
                Err(o) => o,
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(Ok(got)) => Outcome::Fail(format!(
                    "expected `{message}`, got {}",
                    values::show_vals(&got)
                )),
                Ok(Err(e)) => match e.trap().map(|t| t.code()) {
                    Some(TrapCode::StackOverflow) => Outcome::Pass,
                    _ => error_outcome(e, |e| format!("expected `{message}`, got: {e}")),
                },
                Err(o) => o,
            },
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, message, ErrorKind::Malformed),
            // (The Wasm 1.0 and 2.0 sets are read as their own version's: see `run_script`.)
            WastDirective::AssertInvalid { message, .. }
                if !self.wasm2_only && crate::known::lifted_rule(message).is_some() =>
            {
                let why = crate::known::lifted_rule(message).unwrap_or_default();
                Outcome::Known(format!("assert_invalid `{message}`: {why}"))
            }
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, message, ErrorKind::Invalid),
            WastDirective::AssertUnlinkable {
                module, message, ..
            } => {
                let mut module = QuoteWat::Wat(module);
                let bytes = match encode(&mut module) {
                    Ok(b) => b,
                    Err(Encode::Unsupported(r)) => return Outcome::Skip(r),
                    Err(Encode::Text(e)) => return Outcome::Fail(format!("text parser: {e}")),
                };
                self.expect_load_error(&bytes, message, ErrorKind::Link, false)
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                Outcome::Skip("custom-section assertions are not checked".into())
            }
            WastDirective::AssertException { .. } => {
                Outcome::Skip("exception handling proposal not supported yet".into())
            }
            WastDirective::AssertSuspension { .. } => {
                Outcome::Skip("stack switching proposal not supported yet".into())
            }
            WastDirective::Thread(t) => self.start_thread(t),
            WastDirective::Wait { thread, .. } => self.join(thread.name()),
        }
    }

    /// Loads a module as the current one (and as `id`).
    fn instantiate(&mut self, id: Option<String>, bytes: &[u8]) -> Outcome {
        let (state, outcome) = match self.load(bytes) {
            Loaded::Ok(name) => (ModState::Ready(name), Outcome::Pass),
            Loaded::Err(e) if e.kind() == ErrorKind::Unsupported => {
                let r = unsupported_reason(&e);
                (ModState::Skipped(r.clone()), Outcome::Skip(r))
            }
            Loaded::Err(e) => (ModState::Failed(self.line), Outcome::Fail(e.to_string())),
            Loaded::Unavailable(dep) => {
                let outcome = dep.unavailable().expect("not ready");
                (dep, outcome)
            }
        };
        self.set_current(id, state);
        outcome
    }

    fn set_current(&mut self, id: Option<String>, state: ModState) {
        if let Some(id) = id {
            self.by_id.insert(id, state.clone());
        }
        self.current = Some(state);
    }

    /// Loads `bytes` under a fresh registry name, unless it imports from a module that
    /// is not available.
    fn load(&mut self, bytes: &[u8]) -> Loaded {
        for m in import_modules(bytes) {
            if let Some(dep) = self.unavailable.get(&m) {
                return Loaded::Unavailable(dep.clone());
            }
        }
        self.loaded += 1;
        let name = format!("#{}", self.loaded);
        match self.registry.load(&name, bytes) {
            Ok(_) => Loaded::Ok(name),
            Err(e) => Loaded::Err(e),
        }
    }

    /// `assert_malformed` / `assert_invalid`: the text parser or rwamr must reject it.
    fn expect_rejected(&mut self, m: &mut QuoteWat<'_>, message: &str, kind: ErrorKind) -> Outcome {
        match encode(m) {
            Ok(bytes) => self.expect_load_error(&bytes, message, kind, true),
            Err(Encode::Unsupported(r)) => Outcome::Skip(r),
            Err(Encode::Text(_)) => Outcome::TextFormat,
        }
    }

    /// The load must fail; an error of another kind than `kind` passes with a note
    /// (wasmparser does not draw the malformed/invalid line where the spec does).
    /// A trap at load fails unless `trap_ok`.
    fn expect_load_error(
        &mut self,
        bytes: &[u8],
        message: &str,
        kind: ErrorKind,
        trap_ok: bool,
    ) -> Outcome {
        match self.load(bytes) {
            Loaded::Ok(_) => Outcome::Fail(format!(
                "module loaded, but the script expects {kind:?} error `{message}`"
            )),
            Loaded::Err(e) if e.kind() == ErrorKind::Unsupported && !self.wasm2_only => {
                Outcome::Skip(unsupported_reason(&e))
            }
            Loaded::Err(e) if e.kind() == ErrorKind::Trap && !trap_ok => Outcome::Fail(format!(
                "expected {kind:?} error `{message}`, got a trap: {e}"
            )),
            Loaded::Err(e) => {
                if e.kind() != kind {
                    self.note(format!(
                        "{:?} error where the script expects {kind:?} `{message}`: {e}",
                        e.kind()
                    ));
                }
                Outcome::Pass
            }
            Loaded::Unavailable(dep) => dep.unavailable().expect("not ready"),
        }
    }

    /// The state of the module `id` names (the current one when `None`).
    fn lookup(&self, id: Option<Id<'_>>) -> Result<ModState, Outcome> {
        match id {
            Some(id) => self
                .by_id
                .get(id.name())
                .cloned()
                .ok_or_else(|| Outcome::Fail(format!("no module ${}", id.name()))),
            None => self
                .current
                .clone()
                .ok_or_else(|| Outcome::Fail("no module loaded yet".into())),
        }
    }

    /// The registry name of the module `id` names, or the outcome when it has none.
    fn module_name(&self, id: Option<Id<'_>>) -> Result<String, Outcome> {
        match self.lookup(id)? {
            ModState::Ready(name) => Ok(name),
            other => Err(other.unavailable().expect("not ready")),
        }
    }

    /// Calls an export. The outer `Err` is an outcome decided before the call.
    fn invoke(&self, inv: &WastInvoke<'_>) -> Result<rwamr::Result<Vec<Val>>, Outcome> {
        let module = self.module_name(inv.module)?;
        let args = inv
            .args
            .iter()
            .map(values::arg)
            .collect::<Result<Vec<_>, _>>()
            .map_err(Outcome::Skip)?;
        let func = self
            .registry
            .func(&module, inv.name)
            .map_err(|e| Outcome::Fail(e.to_string()))?;
        Ok(func.call(&args))
    }

    /// Runs what an `assert_return` / `assert_trap` checks: a call, a global read, or
    /// instantiating a module (which returns nothing).
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<rwamr::Result<Vec<Val>>, Outcome> {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(&inv),
            WastExecute::Get { module, global, .. } => {
                let module = self.module_name(module)?;
                Ok(self.registry.global(&module, global).map(|g| vec![g.get()]))
            }
            WastExecute::Wat(w) => {
                let bytes = encode(&mut QuoteWat::Wat(w)).map_err(|e| match e {
                    Encode::Unsupported(r) => Outcome::Skip(r),
                    Encode::Text(e) => Outcome::Fail(format!("text parser: {e}")),
                })?;
                match self.load(&bytes) {
                    Loaded::Ok(_) => Ok(Ok(Vec::new())),
                    Loaded::Err(e) => Ok(Err(e)),
                    Loaded::Unavailable(dep) => Err(dep.unavailable().expect("not ready")),
                }
            }
        }
    }

    fn note(&mut self, message: String) {
        self.notes.push(Note {
            line: self.line,
            message,
        });
    }
}

/// The binary of a script module (parsing quoted text first).
fn encode(m: &mut QuoteWat<'_>) -> Result<Vec<u8>, Encode> {
    match m {
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..) => {
            Err(Encode::Unsupported("component model not supported".into()))
        }
        _ => m.encode().map_err(|e| Encode::Text(e.message())),
    }
}

/// A failure, or a skip when rwamr says the feature is unsupported.
fn error_outcome(e: Error, fail: impl FnOnce(&Error) -> String) -> Outcome {
    if e.kind() == ErrorKind::Unsupported {
        Outcome::Skip(unsupported_reason(&e))
    } else {
        Outcome::Fail(fail(&e))
    }
}

/// The skip reason for an `Unsupported` error, without the registry's "module `#3`: "
/// prefix and the validator's "(at byte offset ...)" suffix, so that equal reasons are
/// listed once per file.
fn unsupported_reason(e: &Error) -> String {
    let mut msg = e.message();
    if let Some((_, rest)) = msg
        .strip_prefix("module `")
        .and_then(|m| m.split_once("`: "))
    {
        msg = rest;
    }
    msg = msg.strip_prefix("unsupported feature: ").unwrap_or(msg);
    if let Some(i) = msg.rfind(" (at byte offset ") {
        msg = &msg[..i];
    }
    format!("uses an unsupported feature: {msg}")
}

/// Line numbers of byte offsets, by binary search over the line starts
/// (`Span::linecol_in` rescans the text each time: quadratic on big scripts).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
        LineIndex {
            starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    /// The 1-based line of `span`.
    fn line(&self, span: Span) -> usize {
        self.starts.partition_point(|&s| s <= span.offset())
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

fn command_name(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_wast() {
        let text = "(module)\n\n(assert_return\n  (invoke \"f\"))\nlast";
        let lines = LineIndex::new(text);
        for offset in 0..=text.len() {
            let span = Span::from_offset(offset);
            assert_eq!(
                lines.line(span),
                span.linecol_in(text).0 + 1,
                "offset {offset}"
            );
        }
    }
}

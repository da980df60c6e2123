//! Results of running scripts, and the table that shows them.

use rwamr::Mode;
use std::fmt::Write as _;

/// Skip reasons shown in a file's row (the row stays readable; `-v` lists the rest).
const REASONS_IN_ROW: usize = 2;

/// One command that failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub line: usize,
    pub command: &'static str,
    pub message: String,
}

/// A passing command whose details differ from the script (trap text, error kind):
/// worth a look, not a failure.
#[derive(Debug, Clone)]
pub struct Note {
    pub line: usize,
    pub message: String,
}

/// What running one script file in one mode gave.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: String,
    pub mode: Mode,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Modules that the text parser (wast) rejected, as the script expected: a check of
    /// the text format, not of rwamr.
    pub text_format: usize,
    /// Distinct reasons for skips, in the order first seen.
    pub reasons: Vec<String>,
    pub failures: Vec<Failure>,
    pub notes: Vec<Note>,
    /// Commands whose expectation rwamr does not share, with the reason (see
    /// `known.rs`): neither passed nor failed.
    pub known_differences: Vec<Note>,
    /// Set when the file is on the known-unsupported list: its failures do not fail the run.
    pub known_unsupported: Option<&'static str>,
}

impl FileReport {
    pub fn new(file: &str, mode: Mode) -> FileReport {
        FileReport {
            file: file.to_string(),
            mode,
            passed: 0,
            failed: 0,
            skipped: 0,
            text_format: 0,
            reasons: Vec::new(),
            failures: Vec::new(),
            notes: Vec::new(),
            known_differences: Vec::new(),
            known_unsupported: None,
        }
    }

    pub fn fail(&mut self, line: usize, command: &'static str, message: impl Into<String>) {
        self.failed += 1;
        self.failures.push(Failure {
            line,
            command,
            message: message.into(),
        });
    }

    pub fn known_difference(&mut self, line: usize, reason: impl Into<String>) {
        self.known_differences.push(Note {
            line,
            message: reason.into(),
        });
    }

    pub fn skip(&mut self, reason: impl Into<String>) {
        self.skipped += 1;
        let reason = reason.into();
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    /// Failures that count against the run (not in a known-unsupported file).
    pub fn unexpected_failures(&self) -> usize {
        if self.known_unsupported.is_some() {
            0
        } else {
            self.failed
        }
    }
}

/// Totals over many reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub text_format: usize,
    pub known_differences: usize,
    pub unexpected_failures: usize,
}

pub fn totals(reports: &[FileReport]) -> Totals {
    let mut t = Totals::default();
    for r in reports {
        t.passed += r.passed;
        t.failed += r.failed;
        t.skipped += r.skipped;
        t.text_format += r.text_format;
        t.known_differences += r.known_differences.len();
        t.unexpected_failures += r.unexpected_failures();
    }
    t
}

/// How much [`render`] shows under each file's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The rows only.
    Table,
    /// Every failure and skip reason, and a one-line summary of the notes.
    Failures,
    /// Every note too.
    All,
}

/// The table (one aligned row per file and mode) and the closing lines, with `detail`
/// under each row.
pub fn render(reports: &[FileReport], detail: Detail) -> String {
    let headers = [
        "file", "mode", "passed", "failed", "skipped", "text", "known", "reason",
    ];
    let rows: Vec<[String; 8]> = reports
        .iter()
        .map(|r| {
            [
                r.file.clone(),
                r.mode.name().to_string(),
                r.passed.to_string(),
                r.failed.to_string(),
                r.skipped.to_string(),
                r.text_format.to_string(),
                r.known_differences.len().to_string(),
                reason(r),
            ]
        })
        .collect();
    let mut width = headers.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 8]| {
        for (i, cell) in cells.iter().enumerate() {
            // Names left-aligned, counts right-aligned, the reason unpadded.
            let _ = match i {
                0 | 1 => write!(out, "{cell:<w$}  ", w = width[i]),
                7 => write!(out, "{cell}"),
                _ => write!(out, "{cell:>w$}  ", w = width[i]),
            };
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, headers);
    for (row, r) in rows.iter().zip(reports) {
        line(&mut out, row.each_ref().map(String::as_str));
        if detail != Detail::Table {
            for f in &r.failures {
                let _ = writeln!(
                    out,
                    "    FAIL {}:{}: {}: {}",
                    r.file, f.line, f.command, f.message
                );
            }
            for k in &r.known_differences {
                let _ = writeln!(out, "    known {}:{}: {}", r.file, k.line, k.message);
            }
            for reason in r.reasons.iter().skip(REASONS_IN_ROW) {
                let _ = writeln!(out, "    skip {}: {reason}", r.file);
            }
            match (detail, r.notes.first()) {
                (Detail::All, _) => {
                    for n in &r.notes {
                        let _ = writeln!(out, "    note {}:{}: {}", r.file, n.line, n.message);
                    }
                }
                (_, Some(n)) => {
                    let _ = writeln!(
                        out,
                        "    note {}: {} pass(es) with other trap text or error kind, e.g. line {}: {}",
                        r.file,
                        r.notes.len(),
                        n.line,
                        n.message
                    );
                }
                (_, None) => {}
            }
        }
    }
    let t = totals(reports);
    let notes: usize = reports.iter().map(|r| r.notes.len()).sum();
    let _ = writeln!(out, "{} passed, {} failed", t.passed, t.failed);
    let _ = write!(out, "{} skipped, {} text-format", t.skipped, t.text_format);
    if t.known_differences > 0 {
        let _ = write!(
            out,
            ", {} known differences{}",
            t.known_differences,
            if detail == Detail::Table {
                " (-v lists them)"
            } else {
                ""
            }
        );
    }
    if t.failed != t.unexpected_failures {
        let _ = write!(
            out,
            ", {} failed in known-unsupported files",
            t.failed - t.unexpected_failures
        );
    }
    if notes > 0 {
        let _ = write!(
            out,
            ", {notes} notes (passes with different trap text or error kind{})",
            if detail == Detail::All {
                ""
            } else {
                "; -vv lists them"
            }
        );
    }
    out.push('\n');
    out
}

fn reason(r: &FileReport) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(k) = r.known_unsupported {
        parts.push(format!("known unsupported: {k}"));
    }
    parts.extend(r.reasons.iter().take(REASONS_IN_ROW).cloned());
    if r.reasons.len() > REASONS_IN_ROW {
        parts.push(format!(
            "+{} more skip reasons",
            r.reasons.len() - REASONS_IN_ROW
        ));
    }
    if let Some(f) = r.failures.first() {
        if r.failures.len() == 1 {
            parts.push(format!("failure at line {}", f.line));
        } else {
            parts.push(format!(
                "{} failures, first at line {}",
                r.failures.len(),
                f.line
            ));
        }
    }
    parts.join("; ")
}

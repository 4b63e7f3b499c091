//! Tracing set-up: `RUST_LOG` filters; logs go to stderr so replies on stdout stay clean — or,
//! when the process runs at a terminal ([`at_terminal`]), to a file ([`log_to_file`]): the
//! terminal is the user's, and no log line reaches it from start to exit.

pub mod metrics;

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Where log lines go instead of stderr, if anywhere.
static LOG_FILE: Mutex<Option<File>> = Mutex::new(None);
/// That file's path.
static LOG_PATH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Whether a person may be watching: stdin, stdout or stderr is a terminal.
pub fn at_terminal() -> bool {
    std::io::stdin().is_terminal()
        || std::io::stdout().is_terminal()
        || std::io::stderr().is_terminal()
}

/// Installs the global subscriber once (later calls are ignored, which tests rely on).
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Sink)
        // Colour codes only for a person at a terminal, never in a pipe (the file drops them).
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// For tests: logs only when `TEST_LOG` is set.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init("debug,sqlx=warn,serenity=info,hyper=info");
    }
}

/// Sends log lines to `path` (appended, created if missing) until [`log_to_stderr`].
pub fn log_to_file(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    *LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
    *LOG_PATH.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.to_path_buf());
    Ok(())
}

/// Sends log lines to stderr again.
pub fn log_to_stderr() {
    *LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    *LOG_PATH.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The file log lines go to, if not stderr.
pub fn log_file() -> Option<PathBuf> {
    LOG_PATH.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The subscriber's writer: the log file when one is set, else stderr.
struct Sink;

impl<'a> MakeWriter<'a> for Sink {
    type Writer = SinkWriter;

    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter
    }
}

/// One event's writer (the formatter writes each event whole).
struct SinkWriter;

impl Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut file = LOG_FILE.lock().unwrap_or_else(|e| e.into_inner());
        match file.as_mut() {
            Some(f) => {
                f.write_all(&strip_ansi(buf))?;
                Ok(buf.len())
            }
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match LOG_FILE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            Some(f) => f.flush(),
            None => std::io::stderr().flush(),
        }
    }
}

/// Drops `ESC [ … letter` sequences (colours chosen for a terminal have no place in a file).
fn strip_ansi(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == 0x1b && buf.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < buf.len() && !buf[i].is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_dropped_from_file_lines() {
        assert_eq!(
            strip_ansi(b"\x1b[2m2026\x1b[0m \x1b[32m INFO\x1b[0m ready"),
            b"2026  INFO ready"
        );
    }
}

//! Standard output for commands that print: a reader that goes away (`check --json | head -1`)
//! ends the output quietly, as it ends a Unix tool, where `println!` would panic.
//!
//! SIGPIPE stays ignored (Rust's default) rather than reset to its default action process-wide:
//! that would also kill the service when a peer closes one of its sockets. Instead a write into
//! a closed pipe is reported as [`Closed`], which `main` turns into a quiet exit with
//! [`CLOSED_EXIT`].

use std::fmt;
use std::io::{self, Write};

/// The exit status when stdout's reader went away: 128 + SIGPIPE, what a shell reports for a
/// Unix tool that SIGPIPE ended (so `set -o pipefail` scripts see output was cut short).
pub const CLOSED_EXIT: u8 = 141;

/// Stdout's reader went away: stop printing, quietly.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed by its reader")]
pub struct Closed;

/// Whether `e` (or one of its causes) is [`Closed`].
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Closed>())
}

/// Writes `args` to stdout and flushes: [`Closed`] when the reader went away, any other failure
/// as an error naming stdout.
pub fn write(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(write_error)
}

/// A failed write to stdout as an error: [`Closed`] when the reader went away.
pub fn write_error(e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Closed.into()
    } else {
        anyhow::Error::new(e).context("cannot write to standard output")
    }
}

/// `println!` that returns [`Closed`] instead of panicking when stdout's reader went away.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::adapters::stdout::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::adapters::stdout::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that returns [`Closed`] instead of panicking when stdout's reader went away.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::adapters::stdout::write(format_args!($($arg)*))
    };
}

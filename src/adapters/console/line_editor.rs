//! The interactive console: rustyline on a thread of its own (it blocks on the terminal), lines
//! handed to the async side through a channel, history in the data directory, Tab completion
//! from [`super::complete`].

use super::complete::{self, Candidate};
use crate::adapters::stdout;
use crate::app::{Actor, App};
use crate::commands;
use crate::shutdown::Shutdown;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};
use std::io::IsTerminal;
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Lines of history kept between runs.
const HISTORY_LINES: usize = 1000;

/// What the editor thread hands over.
enum Input {
    Line(String),
    Failed(String),
}

/// Tab completion: the plan is pure; values come from the database through the runtime.
struct Completion {
    app: App,
    runtime: tokio::runtime::Handle,
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let plan = complete::plan(&line[..pos]);
        let found = match &plan.lookup {
            Some((kind, partial, _)) => self
                .runtime
                .block_on(commands::suggest(&self.app, *kind, partial)),
            None => Vec::new(),
        };
        let start = plan.start;
        let pairs = plan
            .candidates(found)
            .into_iter()
            .map(
                |Candidate {
                     display,
                     replacement,
                 }| Pair {
                    display,
                    replacement,
                },
            )
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

/// Reads lines until Ctrl-D (or the async side stops listening). Ctrl-C clears the line. Waits
/// for each reply to be printed before prompting again, so answers never land on the prompt.
fn read_lines(
    helper: Completion,
    history: PathBuf,
    lines: mpsc::Sender<Input>,
    answered: std::sync::mpsc::Receiver<()>,
) {
    let config = Config::builder()
        .max_history_size(HISTORY_LINES)
        .and_then(|c| c.history_ignore_dups(true))
        .map(|c| {
            c.auto_add_history(false)
                .completion_type(CompletionType::List)
                .build()
        });
    let editor = config.and_then(Editor::<Completion, FileHistory>::with_config);
    let mut editor = match editor {
        Ok(e) => e,
        Err(e) => {
            let _ = lines.blocking_send(Input::Failed(e.to_string()));
            return;
        }
    };
    editor.set_helper(Some(helper));
    // A missing file is a first run.
    let _ = editor.load_history(&history);
    loop {
        match editor.readline("> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Err(e) = editor.save_history(&history) {
                        tracing::warn!(error = %e, "console history not saved");
                    }
                }
                if lines.blocking_send(Input::Line(line)).is_err() || answered.recv().is_err() {
                    return;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return,
            Err(e) => {
                let _ = lines.blocking_send(Input::Failed(e.to_string()));
                return;
            }
        }
    }
}

/// The interactive console.
pub async fn run(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let actor = Actor::operator(app.settings.console.actor.clone());
    let styled = std::io::stdout().is_terminal();
    let data_dir = app
        .settings
        .database
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    crate::outln!(
        "backorder-bot console — {}. Type /help; Tab completes, ↑ recalls, Ctrl-C clears the line, Ctrl-D quits.",
        app.settings.shop.name
    )?;
    if let Some(log) = crate::telemetry::log_file() {
        crate::outln!("Logs go to {}", log.display())?;
    }
    // Put back when the console ends, however it ends (see `TerminalSettings`).
    let _terminal = TerminalSettings::save();
    let (tx, mut rx) = mpsc::channel(1);
    let (answered_tx, answered_rx) = std::sync::mpsc::channel();
    let helper = Completion {
        app: app.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let history = data_dir.join("console_history");
    // Not joined: on shutdown it may sit in a blocking read of the terminal.
    std::thread::Builder::new()
        .name("console-editor".into())
        .spawn(move || read_lines(helper, history, tx, answered_rx))?;
    let mut note = super::QueuedNote::default();
    loop {
        let input = tokio::select! {
            input = rx.recv() => input,
            _ = shutdown.recv() => break Ok(()),
        };
        match input {
            Some(Input::Line(line)) => {
                let line = line.trim();
                if matches!(line, "exit" | "quit" | "/exit" | "/quit") {
                    break Ok(());
                }
                if !line.is_empty() {
                    let (reply, _, queued) = note.ask(&app, &actor, line).await;
                    let shown = match queued {
                        Some(queued) => {
                            crate::outln!("{}\n{queued}", reply.to_terminal(styled))
                        }
                        None => crate::outln!("{}", reply.to_terminal(styled)),
                    };
                    match shown {
                        Ok(()) => {}
                        // Nobody reads the replies any more: the console ends as at Ctrl-D.
                        Err(e) if stdout::is_closed(&e) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                }
                if answered_tx.send(()).is_err() {
                    break Ok(());
                }
            }
            Some(Input::Failed(e)) => break Err(anyhow::anyhow!("console: {e}")),
            // Ctrl-D.
            None => break Ok(()),
        }
    }
}

/// The terminal's settings from before the line editor switched it to raw mode, put back when
/// the console ends. On a shutdown signal the editor thread is left blocked in its read and never
/// restores them itself: without this the shell would be left without echo or line editing.
struct TerminalSettings(#[cfg(unix)] Option<nix::sys::termios::Termios>);

impl TerminalSettings {
    fn save() -> Self {
        #[cfg(unix)]
        return Self(nix::sys::termios::tcgetattr(std::io::stdin()).ok());
        #[cfg(not(unix))]
        Self()
    }
}

impl Drop for TerminalSettings {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.0 {
            use nix::sys::termios::{tcsetattr, SetArg};
            let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}

//! The console: the same commands as Discord, typed in a terminal. At a terminal it is a line
//! editor ([`line_editor`]); from a pipe it reads plain lines.

pub mod complete;
mod line_editor;

use crate::app::{service, Actor, App};
use crate::commands::{self, Invocation, Outcome, Reply};
use crate::domain::markup::data;
use crate::shutdown::Shutdown;
use std::io::IsTerminal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Runs one line and returns the reply text and outcome. A file the reply carries (a chart) is
/// written to [`charts_dir`] and its path added to the reply's lines.
pub async fn ask(app: &App, actor: &Actor, line: &str) -> (Reply, Outcome) {
    let (mut reply, outcome) = match Invocation::parse_line(line) {
        Ok(inv) => commands::run(app, actor, &inv).await,
        Err(e) => (Reply::error(e.to_string()), Outcome::UserError),
    };
    if let Some(file) = reply.attachment.take() {
        let dir = charts_dir(app);
        let path = dir.join(&file.filename);
        let written =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &file.bytes));
        reply.lines.push(match written {
            Ok(()) => format!("Chart written to {}", data(&path.display().to_string())),
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "cannot write the chart");
                format!(
                    "The chart could not be written to {}: {}",
                    data(&path.display().to_string()),
                    data(&e.to_string())
                )
            }
        });
    }
    (reply, outcome)
}

/// Where the console writes charts: `charts/` beside the database file.
pub fn charts_dir(app: &App) -> std::path::PathBuf {
    let db = &app.settings.database.path;
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .join("charts")
}

/// Says once per session when commands queued customer updates that no running service will
/// send (`console` and `ask` only act on the data; the service, `run`, sends).
#[derive(Debug, Default)]
pub struct QueuedNote {
    said: bool,
}

impl QueuedNote {
    /// Runs one line like [`ask`]; the third value is the note to show after the reply, if the
    /// line queued customer updates while no service runs and the note was not shown yet.
    pub async fn ask(
        &mut self,
        app: &App,
        actor: &Actor,
        line: &str,
    ) -> (Reply, Outcome, Option<String>) {
        let before = if self.said {
            None
        } else {
            service::unsent_updates(app)
                .await
                .map_err(|e| tracing::warn!(error = ?e, "cannot count unsent customer updates"))
                .ok()
        };
        let (reply, outcome) = ask(app, actor, line).await;
        let Some(before) = before else {
            return (reply, outcome, None);
        };
        let note = service::queued_note(app, before)
            .await
            .map_err(|e| tracing::warn!(error = ?e, "cannot tell whether a service runs"))
            .ok()
            .flatten();
        self.said |= note.is_some();
        (reply, outcome, note)
    }
}

/// Reads commands until `exit`, end of input (Ctrl-D), or shutdown: with line editing, history
/// and completion when stdin is a terminal.
pub async fn run(app: App, shutdown: Shutdown) -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() {
        line_editor::run(app, shutdown).await
    } else {
        plain(app, shutdown).await
    }
}

/// Reads plain lines from stdin (a pipe or a file) until its end, or until the reader of stdout
/// goes away (`… | head`), which ends the console as the end of input does.
async fn plain(app: App, shutdown: Shutdown) -> anyhow::Result<()> {
    match plain_lines(app, shutdown).await {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

async fn plain_lines(app: App, mut shutdown: Shutdown) -> std::io::Result<()> {
    let actor = Actor::operator(app.settings.console.actor.clone());
    let mut note = QueuedNote::default();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = tokio::io::stdout();
    let styled = std::io::stdout().is_terminal();
    out.write_all(
        format!(
            "backorder-bot console — {}. Type /help for commands, exit to quit.\n",
            app.settings.shop.name
        )
        .as_bytes(),
    )
    .await?;
    loop {
        out.write_all(b"> ").await?;
        out.flush().await?;
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = shutdown.recv() => break,
        };
        let Some(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(line, "exit" | "quit" | "/exit" | "/quit") {
            break;
        }
        let (reply, _, queued) = note.ask(&app, &actor, line).await;
        out.write_all(format!("{}\n", reply.to_terminal(styled)).as_bytes())
            .await?;
        if let Some(queued) = queued {
            out.write_all(format!("{queued}\n").as_bytes()).await?;
        }
    }
    Ok(())
}

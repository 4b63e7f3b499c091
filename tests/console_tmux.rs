//! A real terminal: tmux, with `run` in one pane and `console` in another on one database. Both
//! answer; what the console queues the service sends; neither pane shows a log line.
//!
//! tmux comes from the distribution's packages (`.ci/run` installs it). Without it the test says
//! so and passes, except under `CI=true`, where it fails. On the test's engine
//! ([`common::BotDb`]).

mod common;

use common::BotDb;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of the test's own (its own socket), killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's whole text: its history and screen, wrapped lines joined.
    fn screen(&self, pane: &str) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-", "-t", pane])
    }

    /// Waits until the pane shows `needle` `times` times; returns its text.
    fn wait_for(&self, pane: &str, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(pane);
            if screen.matches(needle).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "pane {pane} never showed {needle:?} {times} time(s):\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `line` and Enter in the pane.
    fn type_line(&self, pane: &str, line: &str) {
        self.run(&["send-keys", "-t", pane, "-l", line]);
        self.run(&["send-keys", "-t", pane, "Enter"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// The shell command a pane runs: the real binary on `db`, its HTTP listener on `port`, updates
/// due at once at any hour, no Discord.
fn pane_command(db: &BotDb, port: u16, command: &str) -> String {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let env: Vec<String> = db
        .env()
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    let args: Vec<String> = db.args().iter().map(|a| quoted(a)).collect();
    format!(
        "env -u RUST_LOG -u DISCORD_TOKEN -u INGEST_API_TOKEN \
         BACKORDER_BOT__HTTP__BIND=127.0.0.1:{port} \
         BACKORDER_BOT__NOTIFY__COALESCE=0s BACKORDER_BOT__NOTIFY__QUIET_HOURS= \
         BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS=100000 {} \
         {} {} {command}",
        env.join(" "),
        quoted(env!("CARGO_BIN_EXE_backorder-bot")),
        args.join(" ")
    )
}

/// Runs a statement on the database, or counts with it.
fn sql(db: &BotDb, statement: &str) -> i64 {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = db.store().await;
        let n = if statement.starts_with("SELECT") {
            store.scalar_i64(statement).await.unwrap()
        } else {
            store.execute_sql(statement).await.unwrap() as i64
        };
        store.close().await;
        n
    })
}

/// What would show that a log line reached the screen.
fn assert_no_log_line(pane: &str, screen: &str) {
    for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
        assert!(
            !screen.contains(level),
            "{pane}: {level} on screen:\n{screen}"
        );
    }
}

#[test]
fn run_and_console_in_two_terminals_share_the_shop_and_the_service_sends() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tmux is not installed (.ci/run installs it)"
        );
        eprintln!("tmux is not installed: the real-terminal test does not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("shop.db"));
    // The demo shop, loaded once; its own queued updates cleared so that whatever the service
    // sends below is the console's.
    let out = db.command().args(["ask", "/help"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    sql(&db, "DELETE FROM outbox");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let tmux = Tmux {
        socket: dir.path().join("tmux.sock"),
    };
    let (service, console) = ("t:0.0", "t:0.1");
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "50",
        &pane_command(&db, port, "run"),
    ]);
    // A pane whose program ended keeps its last screen, for the checks at the end.
    tmux.run(&["set-option", "-t", "t", "remain-on-exit", "on"]);
    tmux.wait_for(service, "> ", 1);
    tmux.run(&[
        "split-window",
        "-t",
        "t",
        "-v",
        &pane_command(&db, port, "console"),
    ]);
    tmux.wait_for(console, "> ", 1);

    // Both answer.
    tmux.type_line(service, "/stock TENT-2P");
    tmux.wait_for(service, "Available:", 1);
    tmux.type_line(console, "/stock TENT-2P");
    tmux.wait_for(console, "Available:", 1);

    // A console command queues customer updates; the service in the other pane sends them (no
    // credentials: to its log, recorded in the messages table).
    let eta = (chrono::Utc::now().date_naive() + chrono::Days::new(40)).to_string();
    tmux.type_line(console, &format!("/eta PO-1002 {eta} \"carrier delay\""));
    let screen = tmux.wait_for(console, "get a new ETA", 1);
    assert!(
        !screen.contains("start `backorder-bot run`"),
        "a service runs: {screen}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while sql(&db, "SELECT COUNT(*) FROM messages WHERE transport = 'log'") == 0 {
        assert!(Instant::now() < deadline, "the service sent nothing");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Both quit with Ctrl-D; no pane showed a log line from start to exit.
    tmux.run(&["send-keys", "-t", console, "C-d"]);
    tmux.run(&["send-keys", "-t", service, "C-d"]);
    for pane in [console, service] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while tmux
            .run(&["display-message", "-p", "-t", pane, "#{pane_dead}"])
            .trim()
            != "1"
        {
            assert!(Instant::now() < deadline, "{pane} did not exit");
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_no_log_line(pane, &tmux.screen(pane));
    }
    let log = std::fs::read_to_string(dir.path().join("backorder-bot.log")).unwrap();
    assert!(log.contains("customer update (log only)"), "{log}");
}

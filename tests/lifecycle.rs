//! The process around the features: clean shutdown on SIGTERM, a complete database file after
//! one-shot commands, and online backups. The service and its consoles run on the test's engine
//! ([`common::BotDb`]); the database file and its backup are SQLite's.

mod common;

use common::{free_port, run_bot as bot, BotDb};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Counts products in a database file through a read-only connection of its own.
async fn products_in(file: &Path) -> i64 {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .expect("the file opens as a database");
    sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(&mut conn)
        .await
        .expect("the products table is in the file")
}

#[tokio::test]
async fn one_shot_commands_leave_everything_in_the_database_file() {
    if common::on_postgres() {
        eprintln!("one_shot_commands_leave_everything_in_the_database_file: SQLite only: it checks the WAL is checkpointed into the .db file, and PostgreSQL keeps no database file");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let (code, out, err) = bot(&db, &["ask", "/help"]);
    assert_eq!(code, 0, "{out}{err}");
    let wal = dir.path().join("shop.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL was checkpointed into the file"
    );
    // The .db file alone, copied elsewhere, is the whole database.
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    assert!(
        products_in(&copy).await > 0,
        "demo shop is in the copied file"
    );
}

#[tokio::test]
async fn backup_writes_a_consistent_copy_and_never_overwrites() {
    if common::on_postgres() {
        // `backup` copies the SQLite file (VACUUM INTO); it names pg_dump instead.
        let dir = tempfile::tempdir().unwrap();
        let db = BotDb::at(dir.path().join("shop.db"));
        let backup = dir.path().join("backup.db");
        let (code, _, err) = db.run(&["backup", backup.to_str().unwrap()]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("pg_dump"), "{err}");
        assert!(!backup.exists());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    assert_eq!(bot(&db, &["ask", "/help"]).0, 0);
    let (code, _, err) = bot(
        &db,
        &["ask", "/adjust sku:LAMP-HEAD delta:3 reason:\"count\""],
    );
    assert_eq!(code, 0, "{err}");
    let backup = dir.path().join("backup.db");
    let (code, out, err) = bot(&db, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("backup written"), "{out}");
    assert_eq!(products_in(&backup).await, products_in(&db).await);
    let (_, out, _) = bot(&backup, &["ask", "/stock sku:LAMP-HEAD"]);
    assert!(out.contains("On hand: 58"), "55 + 3 in the backup: {out}");

    let (code, _, err) = bot(&db, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 1, "an existing file is refused");
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn sigterm_stops_the_service_cleanly_and_says_so_at_info() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = service(&BotDb::at(dir.path().join("svc.db")));
    let (mut child, rx, mut log) = listening(cmd);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(Instant::now() < deadline, "service did not stop: {log:#?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        log.push(line);
    }
    assert_eq!(code, Some(0), "{log:#?}");
    let text = log.join("\n");
    assert!(
        log.iter()
            .any(|l| l.contains("INFO") && l.contains("shutdown requested")),
        "{text}"
    );
    for bad in [
        "task failed",
        "stopped with an error",
        "did not stop within",
        "ERROR",
    ] {
        assert!(!text.contains(bad), "{bad}: {text}");
    }
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a piped log: {text}"
    );
}

/// `backorder-bot` on `db`, logging at info, with the HTTP listener on `port`.
fn bot_on(db: &BotDb, port: u16) -> Command {
    let mut c = db.command();
    c.env("RUST_LOG", "info")
        .env("BACKORDER_BOT__HTTP__BIND", format!("127.0.0.1:{port}"))
        // Updates go out at once, at any hour.
        .env("BACKORDER_BOT__NOTIFY__COALESCE", "0s")
        .env("BACKORDER_BOT__NOTIFY__QUIET_HOURS", "");
    c
}

/// `backorder-bot run` on `db`, logging at info, with the ingest API on a port of its choice.
fn service(db: &BotDb) -> Command {
    let mut c = db.command();
    c.arg("run")
        .env("RUST_LOG", "info")
        .env("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")
        .env("INGEST_API_TOKEN", "lifecycle-test-token");
    c
}

/// Customer messages recorded as sent to the log (no SMS or e-mail credentials).
fn logged_messages(db: &BotDb) -> i64 {
    db.scalar("SELECT COUNT(*) FROM messages WHERE transport = 'log'")
}

/// An ETA a few weeks ahead, as `/eta` takes it.
fn weeks_ahead() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(40)).to_string()
}

/// The service (`run`, stdin not a terminal) on `db`, once it listens; its log lines arrive on
/// the receiver.
fn start_service(
    db: &BotDb,
    port: u16,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut cmd = bot_on(db, port);
    cmd.arg("run");
    let (child, rx, _) = listening(cmd);
    (child, rx)
}

/// Spawns `cmd` (stdin closed, stderr read line by line) and waits until it logs that HTTP is
/// listening; returns the process, the rest of its log, and the lines read so far.
fn listening(
    mut cmd: Command,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    Vec<String>,
) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log.iter().any(|l: &String| l.contains("HTTP listening")) {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("service did not start: {log:#?}"));
        log.push(line);
    }
    (child, rx, log)
}

/// Stops the service with SIGTERM and returns its remaining log.
fn stop_service(mut child: std::process::Child, rx: std::sync::mpsc::Receiver<String>) -> String {
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "service did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut log = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
        log.push(line);
    }
    log.join("\n")
}

/// `console` with `input` on a pipe; its exit code, stdout and stderr.
fn console_with(db: &BotDb, port: u16, input: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = bot_on(db, port)
        .arg("console")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ask` on the HTTP port given; its exit code, stdout and stderr.
fn ask_on(db: &BotDb, port: u16, line: &str) -> (Option<i32>, String, String) {
    let out = bot_on(db, port).args(["ask", line]).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const QUEUED_NOTE: &str = "customer messages queued; start `backorder-bot run` to send them";

#[test]
fn consoles_and_asks_work_beside_the_running_service_which_sends_what_they_queue() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("shop.db"));
    let port = free_port();
    let (service, log) = start_service(&db, port);

    // Same database, same `http.bind`: neither listens, both answer.
    let (code, out, err) = console_with(&db, port, "/stock TENT-2P\nexit\n");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Available:"), "{out}{err}");
    assert!(!err.contains("Address already in use"), "{err}");
    let (code, out, err) = ask_on(&db, port, "/stock sku:TENT-2P");
    assert_eq!(code, Some(0), "{out}{err}");

    // What they queue is the service's to send: no note.
    let (code, out, err) = ask_on(&db, port, "/receive po:PO-1001");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Allocated to backorders"), "{out}");
    assert!(!err.contains(QUEUED_NOTE), "{err}");
    let eta = format!("/eta PO-1002 {} \"carrier delay\"\n", weeks_ahead());
    let (code, out, err) = console_with(&db, port, &eta);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("get a new ETA"), "{out}");
    assert!(
        !out.contains(QUEUED_NOTE) && !err.contains(QUEUED_NOTE),
        "{out}{err}"
    );

    // …and sends it: no credentials, so to its log and the messages table.
    let deadline = Instant::now() + Duration::from_secs(30);
    while logged_messages(&db) == 0 {
        assert!(Instant::now() < deadline, "the service sent nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = stop_service(service, log);
    assert!(log.contains("customer update (log only)"), "{log}");
    assert!(
        !log.contains("the console is the chat surface"),
        "no console without a terminal: {log}"
    );
}

#[test]
fn what_is_queued_with_no_service_running_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("shop.db"));
    let port = free_port();
    let (code, _, err) = ask_on(&db, port, "/help");
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains(QUEUED_NOTE), "/help queues nothing: {err}");

    let (code, out, err) = ask_on(&db, port, "/receive po:PO-1001");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains(QUEUED_NOTE), "{err}");
    assert!(
        !out.contains(QUEUED_NOTE),
        "the note is not part of the reply: {out}"
    );

    // Two commands that queue: one note, after the first.
    let input = format!(
        "/eta PO-1002 {} \"carrier delay\"\n/receive po:PO-1002\n",
        weeks_ahead()
    );
    let (code, out, err) = console_with(&db, port, &input);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Ready to ship"), "{out}");
    assert_eq!(out.matches(QUEUED_NOTE).count(), 1, "{out}{err}");
}

#[test]
fn sigterm_stops_the_service_within_a_second_while_discord_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel's backlog) and never answers: a Discord API that hangs.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", blackhole.local_addr().unwrap());
    let mut cmd = service(&BotDb::at(dir.path().join("svc.db")));
    cmd.env("DISCORD_TOKEN", "not-a-real-token")
        .env("BACKORDER_BOT__DISCORD__API_BASE_URL", &api);
    let (mut child, rx, mut log) = listening(cmd);
    // Give the Discord task time to be waiting on the silent API.
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("service did not stop: {log:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = signalled.elapsed();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        log.push(line);
    }
    assert_eq!(code, Some(0), "{log:#?}");
    assert!(
        took < Duration::from_secs(1),
        "shutdown took {took:?}: {log:#?}"
    );
    drop(blackhole);
}

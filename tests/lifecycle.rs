//! The process around the features: clean shutdown on SIGTERM, a complete database file after
//! one-shot commands, and online backups.

mod common;

use common::run_bot as bot;
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
        .arg("--db")
        .arg(dir.path().join("svc.db"))
        .arg("run")
        .env("RUST_LOG", "info")
        .env("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")
        .env("INGEST_API_TOKEN", "lifecycle-test-token")
        .env_remove("DISCORD_TOKEN")
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

#[test]
fn sigterm_stops_the_service_within_a_second_while_discord_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections (the kernel's backlog) and never answers: a Discord API that hangs.
    let blackhole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let api = format!("http://{}", blackhole.local_addr().unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
        .arg("--db")
        .arg(dir.path().join("svc.db"))
        .arg("run")
        .env("RUST_LOG", "info")
        .env("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")
        .env("INGEST_API_TOKEN", "lifecycle-test-token")
        .env("DISCORD_TOKEN", "not-a-real-token")
        .env("BACKORDER_BOT__DISCORD__API_BASE_URL", &api)
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

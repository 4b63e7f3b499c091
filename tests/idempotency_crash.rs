//! The real binary, killed with SIGKILL in the middle of a stream of keyed writes, then
//! restarted: every request, retried with its key, is applied exactly once, and no write that was
//! acknowledged before the kill is lost. On the test's engine: a SQLite file, or
//! (`TEST_ENGINE=postgres`) a PostgreSQL database ([`common::BotDb`]).

mod common;

use backorder_bot::store::Store;
use common::{free_port, BotDb};
use serde_json::json;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REQUESTS: usize = 80;

fn start(db: &BotDb, port: u16) -> Child {
    db.command()
        .arg("run")
        .env("INGEST_API_TOKEN", "s3cret")
        .env("BACKORDER_BOT__HTTP__BIND", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the service did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends request `i`: +1 LAMP-HEAD with a reason naming `i`, under key `crash-{i}`.
async fn send(
    client: &reqwest::Client,
    base: &str,
    i: usize,
) -> Result<(u16, bool), reqwest::Error> {
    let resp = client
        .post(format!("{base}/api/v1/stock/adjustments"))
        .bearer_auth("s3cret")
        .header("Idempotency-Key", format!("crash-{i}"))
        .json(&json!({"sku": "LAMP-HEAD", "delta": 1, "reason": format!("crash test {i}")}))
        .send()
        .await?;
    let replayed = resp.headers().contains_key("idempotent-replayed");
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok((status, replayed))
}

async fn applied(db: &Store, i: usize) -> i64 {
    db.scalar_i64(&format!(
        "SELECT COUNT(*) FROM stock_movements WHERE reason = 'crash test {i}'"
    ))
    .await
    .unwrap()
}

async fn ledger(db: &Store) -> i64 {
    db.scalar_i64(
        "SELECT CAST(COALESCE(SUM(m.qty), 0) AS BIGINT) FROM stock_movements m
         JOIN products p ON p.id = m.product_id WHERE p.sku_key = 'LAMP-HEAD'",
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_writes_survive_kill_9_and_retries_apply_each_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = BotDb::at(dir.path().join("crash.db"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(&database, port);
    wait_ready(&client, &base).await;
    let db = database.store().await;
    let before = ledger(&db).await;

    // Four clients stream keyed writes; the process is killed once some are acknowledged.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for c in 0..4 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            for i in (c..REQUESTS).step_by(4) {
                match send(&client, &base, i).await {
                    Ok((201, _)) => acked.lock().unwrap().push(i),
                    Ok((status, _)) => panic!("request {i} answered {status}"),
                    Err(_) => break, // the process is gone
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < REQUESTS / 4 {
        assert!(Instant::now() < deadline, "too few requests were answered");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    child.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    child.wait().unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let acked: Vec<usize> = acked.lock().unwrap().clone();
    assert!(acked.len() < REQUESTS, "the kill landed mid-stream");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(&database, port);
    wait_ready(&client, &base).await;
    for &i in &acked {
        assert_eq!(
            applied(&db, i).await,
            1,
            "acknowledged request {i} was lost"
        );
    }
    for i in 0..REQUESTS {
        let (status, replayed) = send(&client, &base, i).await.unwrap();
        assert_eq!(status, 201, "retry of {i}");
        if acked.contains(&i) {
            assert!(
                replayed,
                "acknowledged request {i} was applied again, not replayed"
            );
        }
    }
    for i in 0..REQUESTS {
        assert_eq!(applied(&db, i).await, 1, "request {i}");
    }
    assert_eq!(ledger(&db).await, before + REQUESTS as i64);
    child.kill().unwrap();
    child.wait().unwrap();
}

//! Customers only ever hear the current promise: a message states each backorder's promise as it
//! stands when its send begins, and an update overtaken by a newer one is never sent on its own.
//! The real dispatcher and SMS client against the Twilio-compatible mock on 127.0.0.1, with the
//! injected clock.

mod common;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;

use backorder_bot::adapters::dispatcher::{Dispatcher, Round};
use backorder_bot::app::{backorders, purchasing};
use backorder_bot::domain::notify::{date_in_words, Standing};
use backorder_bot::domain::{BackorderId, BackorderStatus, UpdateKind};
use chrono::{Duration, NaiveDate};
use common::{spawn_app_with, TestApp};
use mock_twilio::{Answer, MockTwilio};
use std::collections::HashMap;

const C001: &str = "+4915100000001";
const C002: &str = "+4915100000002";

fn env(mock: &MockTwilio, timeout: &str) -> Vec<(String, String)> {
    let mut env = mock.settings_vars();
    env.extend(common::vars(&[
        ("BACKORDER_BOT__SMS__TIMEOUT", timeout),
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__NOTIFY__MIN_ETA_SHIFT_DAYS", "1"),
        ("BACKORDER_BOT__NOTIFY__MAX_ATTEMPTS", "1000"),
        ("BACKORDER_BOT__NOTIFY__LEASE", "60s"),
        // About delivery: no change waits for approval (tests/approvals.rs).
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS", "100000"),
    ]));
    env
}

/// The issue's fixtures: C001 (vip, SMS) waits for MS-200 (Wireless Mouse) on PO-1001, ETA
/// 10 Feb; C002 waits for MS-200 too, and for KB-1 on PO-1002, ETA 12 Feb.
async fn shop(mock: &MockTwilio) -> TestApp {
    shop_with_timeout(mock, "2s").await
}

/// [`shop`] with the SMS client's timeout (a duration: "100ms").
async fn shop_with_timeout(mock: &MockTwilio, timeout: &str) -> TestApp {
    let t = spawn_app_with(&env(mock, timeout)).await;
    t.import("suppliers", "code,name,lead_time_days\nACME,Acme,30\n")
        .await
        .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\nMS-200,Wireless Mouse,50.00,0,ACME\nKB-1,Keyboard,30.00,0,ACME\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        &format!(
            "id,name,phone,tier,channel,timezone\nC001,Ada Lovelace,{C001},vip,sms,UTC\nC002,Grace Hopper,{C002},standard,sms,UTC\n"
        ),
    )
    .await
    .unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta\nPO-1001,ACME,MS-200,5,2027-02-10\nPO-1002,ACME,KB-1,5,2027-02-12\n",
    )
    .await
    .unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty\nSO-1,C001,MS-200,1\nSO-2,C002,MS-200,1\nSO-3,C002,KB-1,1\n",
    )
    .await
    .unwrap();
    t
}

async fn backorder_of(t: &TestApp, customer: &str, sku: &str) -> i64 {
    t.scalar(&format!(
        "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
         JOIN products p ON p.id = b.product_id WHERE c.external_id = '{customer}' AND p.sku = '{sku}'"
    ))
    .await
}

async fn set_eta(t: &TestApp, po: &str, date: NaiveDate) {
    purchasing::set_eta(
        &t.app,
        &TestApp::ops(),
        po,
        date,
        None,
        "carrier delay",
        false,
    )
    .await
    .unwrap();
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn advance(t: &TestApp, d: Duration) {
    t.app.clock.set(t.app.clock.now() + d);
}

async fn round(t: &TestApp) -> Round {
    Dispatcher::new(&t.app)
        .unwrap()
        .run_once(&t.app)
        .await
        .unwrap()
}

async fn statuses(t: &TestApp, backorder: i64) -> Vec<String> {
    t.rows::<(String,)>(&format!(
        "SELECT status FROM outbox WHERE backorder_id = {backorder} ORDER BY id"
    ))
    .await
    .into_iter()
    .map(|(s,)| s)
    .collect()
}

/// The issue's setup: the first notice (10 Feb) is answered 429 with `Retry-After: 3`; as soon as
/// that is seen the PO moves to 17 Feb. C001 gets exactly one delivered text, stating 17 Feb, and
/// the old update goes with it (or is closed as superseded) instead of following on its own.
#[tokio::test]
async fn a_retried_update_never_delivers_a_replaced_date_after_the_new_one() {
    let mock = MockTwilio::start().await;
    let t = shop(&mock).await;
    let bo = backorder_of(&t, "C001", "MS-200").await;
    mock.rate_limit_first(C001, 3);
    round(&t).await;
    let first: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.field("To") == Some(C001))
        .collect();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].status, 429);
    assert!(first[0].field("Body").unwrap().contains("Wed 10 Feb"));

    set_eta(&t, "PO-1001", day("2027-02-17")).await;
    // Rounds every second until well past the retry.
    for _ in 0..6 {
        round(&t).await;
        advance(&t, Duration::seconds(1));
    }
    let to_c001: Vec<_> = mock
        .received()
        .into_iter()
        .filter(|r| r.field("To") == Some(C001))
        .collect();
    let delivered: Vec<_> = to_c001.iter().filter(|r| r.status == 201).collect();
    assert_eq!(delivered.len(), 1, "{to_c001:#?}");
    let body = delivered[0].field("Body").unwrap();
    assert!(body.contains("Wed 17 Feb"), "{body}");
    assert!(!body.contains("10 Feb"), "{body}");
    assert!(
        to_c001
            .last()
            .unwrap()
            .field("Body")
            .unwrap()
            .contains("17 Feb"),
        "the last word is the current date"
    );
    // The old update was merged into the message (sent) or closed as superseded.
    let st = statuses(&t, bo).await;
    assert_eq!(st.len(), 2, "{st:?}");
    assert!(
        st.iter().all(|s| s == "sent" || s == "superseded"),
        "{st:?}"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
            .await,
        0
    );
}

#[tokio::test]
async fn the_first_message_about_a_new_backorder_says_it_is_on_backorder_and_when() {
    let mock = MockTwilio::start().await;
    let t = shop(&mock).await;
    let bo = backorder_of(&t, "C001", "MS-200").await;
    let r = round(&t).await;
    assert_eq!(r.sent, 2, "{r:?}");
    let got = mock.received();
    let to_c001: Vec<_> = got.iter().filter(|r| r.field("To") == Some(C001)).collect();
    assert_eq!(to_c001.len(), 1);
    // The link to the customer's page is new with every message (docs/customer-page.md).
    let body = to_c001[0].field("Body").unwrap();
    let expected = regex::Regex::new(
        r"^Demo Shop: your Wireless Mouse is on backorder, expected Wed 10 Feb\. Your orders: http://\S+/b/[A-Za-z0-9_-]{22} Reply STOP to opt out\.$",
    )
    .unwrap();
    assert!(expected.is_match(body), "{body}");
    let (kind,): (String,) = t
        .row(&format!(
            "SELECT m.kind FROM messages m JOIN message_backorders mb ON mb.message_id = m.id
             WHERE mb.backorder_id = {bo}"
        ))
        .await;
    assert_eq!(kind, "backordered");
    let text = t.ok(&format!("/notifications backorder:{bo}")).await;
    assert!(text.contains("backordered · sms (twilio)"), "{text}");

    // A later move is a changed date, with the "now expected" wording.
    set_eta(&t, "PO-1001", day("2027-02-17")).await;
    round(&t).await;
    let last = mock
        .received()
        .into_iter()
        .rfind(|r| r.field("To") == Some(C001))
        .unwrap();
    assert!(
        last.field("Body")
            .unwrap()
            .contains("Wireless Mouse: now expected Wed 17 Feb"),
        "{last:?}"
    );
}

/// A message written before a promise moved is not handed over: its updates go back to the
/// queue, due at once, without counting an attempt, and the next round states the new date.
#[tokio::test]
async fn a_message_whose_promise_moves_after_it_was_written_is_not_sent() {
    let mock = MockTwilio::start().await;
    let t = shop(&mock).await;
    let bo = backorder_of(&t, "C001", "MS-200").await;
    round(&t).await;
    set_eta(&t, "PO-1001", day("2027-02-17")).await;
    let d = Dispatcher::new(&t.app).unwrap();
    let batch = d.prepare(&t.app).await.unwrap().expect("due updates");
    set_eta(&t, "PO-1001", day("2027-02-24")).await;
    let before = mock.count();
    let r = d.finish(&t.app, batch).await.unwrap();
    assert_eq!((r.sent, r.stale), (0, 2), "{r:?}");
    assert_eq!(mock.count(), before, "nothing was handed over");
    // The first notice was sent; the 17 Feb update waits again, due now, no attempt counted;
    // the 24 Feb update has not been tried.
    let rows: Vec<(String, i64)> = t
        .rows(&format!(
            "SELECT status, attempts FROM outbox WHERE backorder_id = {bo} ORDER BY id"
        ))
        .await;
    assert_eq!(
        rows,
        vec![
            ("sent".to_string(), 1),
            ("pending".to_string(), 0),
            ("pending".to_string(), 0)
        ]
    );
    let r = round(&t).await;
    assert_eq!(r.sent, 2, "{r:?}");
    let last = mock
        .received()
        .into_iter()
        .rfind(|r| r.field("To") == Some(C001))
        .unwrap();
    assert!(last.field("Body").unwrap().contains("Wed 24 Feb"));
    assert!(statuses(&t, bo).await.iter().all(|s| s == "sent"));
}

/// Two dispatchers never hold one customer at once: while a claim's lease runs, another round
/// leaves that customer alone (and takes it over once the lease has expired).
#[tokio::test]
async fn a_customer_in_another_dispatchers_hands_is_not_claimed_again() {
    let mock = MockTwilio::start().await;
    let t = shop(&mock).await;
    let a = Dispatcher::new(&t.app).unwrap();
    let b = Dispatcher::new(&t.app).unwrap();
    let held = a.prepare(&t.app).await.unwrap().expect("due updates");
    assert_eq!(held.claimed(), 3);
    set_eta(&t, "PO-1001", day("2027-02-17")).await;
    assert!(b.prepare(&t.app).await.unwrap().is_none());
    // `a` dies holding the batch; after the lease, `b` takes everything over.
    drop(held);
    advance(&t, Duration::seconds(61));
    let r = b.run_once(&t.app).await.unwrap();
    assert_eq!(r.claimed, 5, "{r:?}");
    assert_eq!(r.sent, 2, "{r:?}");
    for r in mock.received() {
        let body = r.field("Body").unwrap();
        assert!(!body.contains("Mouse") || body.contains("17 Feb"), "{body}");
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    pub enum Op {
        /// Move a PO's ETA to 1 Feb + days.
        Eta(usize, i64),
        /// Receive a PO in full (allocates its backorders).
        Receive(usize),
        /// Cancel a backorder.
        Cancel(usize),
        /// The customer's next request is answered like this.
        Answer(usize, Fault),
        /// One dispatcher round.
        Round,
        /// A round with an ETA move between writing the messages and sending them.
        RoundMovedMidway(usize, i64),
        /// A new dispatcher.
        Restart,
        /// A dispatcher claims and plans, then dies; its lease runs out later.
        Crash,
        /// Time passes.
        Wait(i64),
    }

    #[derive(Debug, Clone, Copy)]
    pub enum Fault {
        TooMany(u64),
        ServerError,
        Timeout,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0usize..2, 0i64..20).prop_map(|(p, d)| Op::Eta(p, d)),
            1 => (0usize..2).prop_map(Op::Receive),
            1 => (0usize..3).prop_map(Op::Cancel),
            3 => (0usize..2, prop_oneof![
                3 => (0u64..5).prop_map(Fault::TooMany),
                2 => Just(Fault::ServerError),
                1 => Just(Fault::Timeout),
            ]).prop_map(|(c, f)| Op::Answer(c, f)),
            5 => Just(Op::Round),
            2 => (0usize..2, 0i64..20).prop_map(|(p, d)| Op::RoundMovedMidway(p, d)),
            1 => Just(Op::Restart),
            1 => Just(Op::Crash),
            3 => (1i64..120).prop_map(Op::Wait),
        ]
    }

    const POS: [&str; 2] = ["PO-1001", "PO-1002"];
    const PHONES: [&str; 2] = [C001, C002];

    fn answer(f: Fault) -> Answer {
        match f {
            Fault::TooMany(s) => {
                let mut a = Answer::error(429, 20429);
                a.retry_after = Some(s);
                a
            }
            Fault::ServerError => Answer::error(500, 20500),
            Fault::Timeout => {
                let mut a = Answer::error(201, 0);
                a.body = r#"{"sid": "SMlate", "status": "queued"}"#.into();
                a.delay = std::time::Duration::from_millis(150);
                a
            }
        }
    }

    /// Where every backorder stands, as a message would state it.
    async fn standing(t: &TestApp) -> HashMap<i64, Standing> {
        let rows: Vec<(i64, BackorderStatus, Option<String>)> = t
            .rows("SELECT id, status, CAST(promised_eta AS TEXT) FROM backorders")
            .await;
        rows.into_iter()
            .map(|(id, status, eta)| {
                let s = match status {
                    BackorderStatus::Open => Standing::Expected(eta.map(|d| day(&d))),
                    BackorderStatus::Allocated | BackorderStatus::Fulfilled => Standing::OnItsWay,
                    BackorderStatus::Cancelled => Standing::Cancelled,
                };
                (id, s)
            })
            .collect()
    }

    /// Runs a round, noting what stood when its sends began for every request it made.
    async fn observed_round(
        t: &TestApp,
        d: &Dispatcher,
        mock: &MockTwilio,
        midway: Option<(usize, i64)>,
        in_force: &mut HashMap<usize, HashMap<i64, Standing>>,
    ) {
        let Some(batch) = d.prepare(&t.app).await.unwrap() else {
            return;
        };
        if let Some((p, days)) = midway {
            eta(t, p, days).await;
        }
        let now = standing(t).await;
        let before = mock.count();
        d.finish(&t.app, batch).await.unwrap();
        for n in before + 1..=mock.count() {
            in_force.insert(n, now.clone());
        }
    }

    async fn eta(t: &TestApp, p: usize, days: i64) {
        // A received PO refuses a new date: that is fine here.
        let _ = purchasing::set_eta(
            &t.app,
            &TestApp::ops(),
            POS[p],
            day("2027-02-01") + Duration::days(days),
            None,
            "moved",
            false,
        )
        .await;
    }

    /// A delivered message: who it was about, what it told each, and its request number.
    async fn delivered(t: &TestApp) -> Vec<(i64, usize, String, Vec<(i64, Standing)>)> {
        let msgs: Vec<(i64, String, UpdateKind, String)> = t
            .rows(
                "SELECT id, provider_sid, kind, body FROM messages
                 WHERE transport = 'twilio' AND status = 'queued' ORDER BY id",
            )
            .await;
        let mut out = Vec::new();
        for (id, sid, kind, body) in msgs {
            let n = usize::from_str_radix(sid.trim_start_matches("SM"), 16).unwrap();
            let told: Vec<(i64, Option<String>)> = t
                .rows(&format!(
                    "SELECT backorder_id, CAST(eta AS TEXT) FROM message_backorders WHERE message_id = {id}"
                ))
                .await;
            let told: Vec<(i64, Standing)> = told
                .into_iter()
                .map(|(b, eta)| {
                    let eta = eta.map(|d| day(&d));
                    if let Some(d) = eta {
                        assert!(body.contains(&date_in_words(d)), "{body} states {d}");
                    }
                    (b, Standing::told(kind, eta))
                })
                .collect();
            out.push((id, n, body, told));
        }
        out
    }

    async fn run(ops: Vec<Op>) {
        let mock = MockTwilio::start().await;
        // Short, so a scripted slow answer is a timeout.
        let t = shop_with_timeout(&mock, "100ms").await;
        let backorders = [
            backorder_of(&t, "C001", "MS-200").await,
            backorder_of(&t, "C002", "MS-200").await,
            backorder_of(&t, "C002", "KB-1").await,
        ];
        let mut d = Dispatcher::new(&t.app).unwrap();
        let mut in_force = HashMap::new();
        for op in ops {
            match op {
                Op::Eta(p, days) => eta(&t, p, days).await,
                Op::Receive(p) => {
                    let _ = purchasing::receive(&t.app, &TestApp::ops(), POS[p], None, None).await;
                }
                Op::Cancel(b) => {
                    let _ = backorders::cancel(
                        &t.app,
                        &TestApp::ops(),
                        BackorderId(backorders[b]),
                        "asked",
                    )
                    .await;
                }
                Op::Answer(c, f) => mock.script_for(PHONES[c], [answer(f)]),
                Op::Round => observed_round(&t, &d, &mock, None, &mut in_force).await,
                Op::RoundMovedMidway(p, days) => {
                    observed_round(&t, &d, &mock, Some((p, days)), &mut in_force).await
                }
                Op::Restart => d = Dispatcher::new(&t.app).unwrap(),
                Op::Crash => {
                    let _ = Dispatcher::new(&t.app)
                        .unwrap()
                        .prepare(&t.app)
                        .await
                        .unwrap();
                }
                Op::Wait(s) => advance(&t, Duration::seconds(s)),
            }
        }
        // Drain: leases run out, retries fall due, scripted faults are used up.
        for _ in 0..40 {
            if t.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
                .await
                == 0
            {
                break;
            }
            advance(&t, Duration::minutes(11));
            observed_round(&t, &d, &mock, None, &mut in_force).await;
        }
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
                .await,
            0,
            "drained"
        );
        let sent = delivered(&t).await;
        // No delivered message states a promise that had been replaced before its send began.
        for (_, n, body, told) in &sent {
            let then = &in_force[n];
            for (b, s) in told {
                assert_eq!(Some(s), then.get(b), "request {n}: {body}");
            }
        }
        // The last message delivered about each backorder states where it ends.
        let end = standing(&t).await;
        for b in backorders {
            let last = sent
                .iter()
                .rev()
                .find_map(|(_, _, body, told)| {
                    told.iter().find(|(x, _)| *x == b).map(|(_, s)| (s, body))
                })
                .unwrap_or_else(|| panic!("nothing delivered about backorder {b}"));
            assert_eq!(Some(last.0), end.get(&b), "backorder {b}: {}", last.1);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn customers_only_ever_hear_the_current_promise(ops in proptest::collection::vec(op(), 1..30)) {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(run(ops));
        }
    }
}

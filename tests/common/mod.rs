//! Test helpers: one real SQLite file per test, built through the production builder.
#![allow(dead_code)]

use backorder_bot::app::{Actor, App, Clock};
use backorder_bot::commands::{self, Invocation, Outcome, Reply};
use backorder_bot::config::Settings;
use backorder_bot::startup::Application;
use chrono::{TimeZone, Utc};

pub struct TestApp {
    pub app: App,
    pub dir: tempfile::TempDir,
}

/// The nightly alert rule the alert tests configure, as a settings file holds it.
pub const NIGHTLY_RULE: &str = r#"
[[alerts.rules]]
name = "nightly"
schedule = "0 7 * * *"
timezone = "Europe/Berlin"
min_severity = "low"
repeat_interval = "24h"
resolve_margin = "10%"
"#;

/// `(name, value)` pairs, owned.
pub fn vars<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect()
}

/// Settings from a settings file (if any) and `BACKORDER_BOT__…` variables, as `main` loads
/// them from the environment.
pub fn load_settings(config: Option<&std::path::Path>, vars: &[(String, String)]) -> Settings {
    let lookup = vars.to_vec();
    Settings::load_from(config, vars, &move |name| {
        lookup
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test settings")
}

/// Settings for a test: a temp database plus any overrides.
pub fn settings(dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> Settings {
    let mut all = vec![(
        "BACKORDER_BOT__DATABASE__PATH".to_string(),
        dir.path().join("test.db").display().to_string(),
    )];
    all.extend(vars(extra));
    load_settings(None, &all)
}

/// The variable that puts the database in `dir`.
/// Whether the tests run on PostgreSQL: `TEST_ENGINE=postgres`, with `TEST_DATABASE_URL` naming
/// a server where each test creates a database of its own (`.ci/with-postgres` starts one).
pub fn on_postgres() -> bool {
    std::env::var("TEST_ENGINE").as_deref() == Ok("postgres")
}

/// A fresh, empty PostgreSQL database on `TEST_DATABASE_URL`; its url. The server is a
/// throwaway one: the databases go with it.
pub async fn scratch_postgres() -> String {
    use sqlx::Connection;
    let admin = std::env::var("TEST_DATABASE_URL")
        .expect("TEST_ENGINE=postgres needs TEST_DATABASE_URL (.ci/with-postgres sets it)");
    let name = format!("bb_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("TEST_DATABASE_URL accepts connections");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create a scratch database");
    let base = admin.rsplit_once('/').expect("a url with a database").0;
    format!("{base}/{name}")
}

/// Where a test's database is: a file in its temp dir, or (on PostgreSQL) a fresh database.
async fn database_vars(dir: &tempfile::TempDir) -> Vec<(String, String)> {
    // The directory of `database.path` holds what the program writes beside its data (console
    // charts, the terminal's log) on either engine: the test's own.
    let path = (
        "BACKORDER_BOT__DATABASE__PATH".to_string(),
        dir.path().join("test.db").display().to_string(),
    );
    if on_postgres() {
        return vec![
            path,
            (
                "BACKORDER_BOT__DATABASE__URL".to_string(),
                scratch_postgres().await,
            ),
            (
                "BACKORDER_BOT__DATABASE__POSTGRES_UNFINISHED".to_string(),
                "true".to_string(),
            ),
        ];
    }
    vec![path]
}

/// 2026-11-26 12:00 UTC, the day the tests live in.
pub fn test_now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// An application on a fresh, empty database.
pub async fn spawn_app() -> TestApp {
    spawn::<&str, &str>(false, &[]).await
}

/// An application on a fresh database holding the bundled demo shop.
pub async fn spawn_demo_app() -> TestApp {
    spawn::<&str, &str>(true, &[]).await
}

/// [`spawn_app`] with settings overridden (`BACKORDER_BOT__…` names).
pub async fn spawn_app_with<K: AsRef<str>, V: AsRef<str>>(extra: &[(K, V)]) -> TestApp {
    spawn(false, extra).await
}

/// [`spawn_demo_app`] with settings overridden (`BACKORDER_BOT__…` names).
pub async fn spawn_demo_app_with<K: AsRef<str>, V: AsRef<str>>(extra: &[(K, V)]) -> TestApp {
    spawn(true, extra).await
}

async fn spawn<K: AsRef<str>, V: AsRef<str>>(demo: bool, extra: &[(K, V)]) -> TestApp {
    let (built, dir) = build(None, demo, &vars(extra), Clock::fixed(test_now())).await;
    TestApp {
        app: built.app,
        dir,
    }
}

/// The application as `main` builds it, in a new temp dir: a fresh database (with the demo shop
/// or none), a settings file `config.toml` holding `config` (if any), and variables `extra`.
pub async fn build(
    config: Option<&str>,
    demo: bool,
    extra: &[(String, String)],
    clock: Clock,
) -> (Application, tempfile::TempDir) {
    backorder_bot::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let config = config.map(|text| {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        path
    });
    let demo_flag = if demo { "true" } else { "false" };
    let mut all = database_vars(&dir).await;
    all.extend(vars(&[(
        "BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START",
        demo_flag,
    )]));
    all.extend_from_slice(extra);
    let settings = load_settings(config.as_deref(), &all);
    let built = Application::build(settings, clock)
        .await
        .expect("app builds");
    (built, dir)
}

impl TestApp {
    pub fn ops() -> Actor {
        Actor::operator("tester")
    }

    /// Runs a console line as an operator.
    pub async fn ask(&self, line: &str) -> (Reply, Outcome) {
        let inv = match Invocation::parse_line(line) {
            Ok(inv) => inv,
            Err(e) => return (Reply::error(e.to_string()), Outcome::UserError),
        };
        commands::run(&self.app, &Self::ops(), &inv).await
    }

    /// Runs a line that must succeed and returns its text.
    pub async fn ok(&self, line: &str) -> String {
        let (reply, outcome) = self.ask(line).await;
        assert_eq!(outcome, Outcome::Ok, "{line} → {}", reply.to_text());
        reply.to_text()
    }

    /// Runs a line that must fail with a user error and returns its text.
    pub async fn user_error(&self, line: &str) -> String {
        let (reply, outcome) = self.ask(line).await;
        assert_eq!(outcome, Outcome::UserError, "{line} → {}", reply.to_text());
        reply.to_text()
    }

    /// The first column of the first row of `sql`, on either engine.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.app.store.scalar_i64(sql).await.unwrap()
    }

    /// Runs `sql`, on either engine.
    pub async fn exec(&self, sql: &str) -> u64 {
        self.app.store.execute_sql(sql).await.unwrap()
    }

    /// Runs `sql` with text parameters `$1`, `$2`, … bound to `texts`, on either engine.
    pub async fn exec_texts(&self, sql: &str, texts: &[&str]) -> u64 {
        use backorder_bot::store::Engine;
        let mut conn = self.app.store.conn().await.unwrap();
        match conn.engine() {
            Engine::Sqlite(c) => {
                let mut q = sqlx::query(sql);
                for t in texts {
                    q = q.bind(*t);
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            }
            Engine::Postgres(c) => {
                let mut q = sqlx::query(sql);
                for t in texts {
                    q = q.bind(*t);
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            }
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The rows of `sql` (no parameters), on either engine: `T` decodes on both (text and
    /// integer columns, tuples of them).
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        rows_of(&self.app, sql).await
    }

    /// The one row of `sql`, as [`TestApp::rows`].
    pub async fn row<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        let mut rows = self.rows::<T>(sql).await;
        assert_eq!(rows.len(), 1, "one row of {sql}");
        rows.remove(0)
    }

    pub async fn import(
        &self,
        kind: &str,
        csv: &str,
    ) -> Result<backorder_bot::app::import::ImportReport, backorder_bot::app::AppError> {
        let kind = backorder_bot::app::import::ImportKind::parse(kind).unwrap();
        backorder_bot::app::import::import(
            &self.app,
            &Self::ops(),
            kind,
            std::io::Cursor::new(csv.as_bytes().to_vec()),
        )
        .await
    }
}

/// The rows of `sql` (no parameters) on `app`'s database, as [`TestApp::rows`]: for tests that
/// hold an [`App`] (one rebuilt after a restart).
pub async fn rows_of<T>(app: &App, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    use backorder_bot::store::Engine;
    let mut conn = app.store.conn().await.unwrap();
    match conn.engine() {
        Engine::Sqlite(c) => sqlx::query_as(sql).fetch_all(&mut *c).await,
        Engine::Postgres(c) => sqlx::query_as(sql).fetch_all(&mut *c).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The real binary on a database file, without Discord, logging warnings only; a test adds
/// its arguments and environment.
pub fn bot_command(db: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_backorder-bot"));
    c.arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .env_remove("DISCORD_TOKEN");
    c
}

/// Runs the real binary on a database file (no Discord, warnings only) and returns its exit
/// code, stdout and stderr.
pub fn run_bot(db: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = bot_command(db).args(args).output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A database for the real binary on the test's engine: the SQLite file `file`, or with
/// `TEST_ENGINE=postgres` a fresh PostgreSQL database (`file` is then its `database.path`, whose
/// directory takes what the program writes beside its data). The program gets it by `--db` or
/// by `BACKORDER_BOT__DATABASE__URL`.
#[derive(Debug, Clone)]
pub struct BotDb {
    pub file: std::path::PathBuf,
    /// The PostgreSQL database, on PostgreSQL.
    pub url: Option<String>,
}

impl BotDb {
    /// A new database: the file `file` (not created yet), or a fresh PostgreSQL database.
    /// Usable with or without a runtime.
    pub fn at(file: impl Into<std::path::PathBuf>) -> BotDb {
        let url = on_postgres().then(|| {
            std::thread::spawn(|| {
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(scratch_postgres())
            })
            .join()
            .expect("a scratch database")
        });
        BotDb {
            file: file.into(),
            url,
        }
    }

    /// The database of `t`.
    pub fn of(t: &TestApp) -> BotDb {
        let settings = &t.app.settings.database;
        BotDb {
            file: settings.path.clone(),
            url: match &settings.engine {
                backorder_bot::config::Engine::Postgres(url) => Some(url.expose().to_string()),
                backorder_bot::config::Engine::Sqlite => None,
            },
        }
    }

    /// The variables that point the binary at this database (none for a SQLite file).
    pub fn env(&self) -> Vec<(String, String)> {
        match &self.url {
            Some(url) => vars(&[
                ("BACKORDER_BOT__DATABASE__URL", url.as_str()),
                ("BACKORDER_BOT__DATABASE__POSTGRES_UNFINISHED", "true"),
                (
                    "BACKORDER_BOT__DATABASE__PATH",
                    &self.file.display().to_string(),
                ),
            ]),
            None => Vec::new(),
        }
    }

    /// The arguments that point the binary at this database (`--db FILE` for a SQLite file),
    /// before its command.
    pub fn args(&self) -> Vec<String> {
        match &self.url {
            Some(_) => Vec::new(),
            None => vec!["--db".to_string(), self.file.display().to_string()],
        }
    }

    /// The real binary on this database, without Discord, logging warnings only (as
    /// [`bot_command`]); a test adds its arguments and environment.
    pub fn command(&self) -> std::process::Command {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_backorder-bot"));
        c.args(self.args())
            .envs(self.env())
            .env("RUST_LOG", "warn")
            .env_remove("DISCORD_TOKEN");
        c
    }

    /// Runs the real binary on this database; its exit code, stdout and stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command().args(args).output().expect("binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A store of the test's own on this database (beside any program using it).
    pub async fn store(&self) -> backorder_bot::store::Store {
        let mut all = self.env();
        if self.url.is_none() {
            all.push((
                "BACKORDER_BOT__DATABASE__PATH".to_string(),
                self.file.display().to_string(),
            ));
        }
        backorder_bot::store::Store::open(&load_settings(None, &all).database)
            .await
            .expect("the test's database opens")
    }

    /// The first column of the first row of `sql`, read through a store of its own. Usable
    /// with or without a runtime.
    pub fn scalar(&self, sql: &str) -> i64 {
        let (db, sql) = (self.clone(), sql.to_string());
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let store = db.store().await;
                let n = store.scalar_i64(&sql).await;
                store.close().await;
                n.unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
        })
        .join()
        .expect("the query runs")
    }
}

/// Runs the real binary on `t`'s database ([`BotDb::run`]).
pub fn run_bot_on(t: &TestApp, args: &[&str]) -> (i32, String, String) {
    BotDb::of(t).run(args)
}

/// Waits until `done`, failing the test naming `what` after `limit`.
pub async fn wait_until(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

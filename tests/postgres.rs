//! PostgreSQL: both engines reach the same schema meaning, and `copy-to` moves a shop.
//!
//! The tests that need a server run against `TEST_DATABASE_URL` (a postgres:// url of a database
//! the tests may create scratch databases from; `.ci/with-postgres` starts one). Without it they
//! print that the PostgreSQL half was skipped and pass, except under `CI=true`, where a missing
//! server is a failure. `every_sqlite_table_has_a_postgres_counterpart` needs no server.
//!
//! What "the same schema meaning" compares, per table (docs/postgresql.md):
//! - columns: name, nullability (a primary-key column counts as NOT NULL on both; SQLite lets a
//!   non-integer one hold NULL, the schema never means it to), and a type class: the SQLite
//!   storage class the values have. PostgreSQL `bigint` and `boolean` are integer; `double
//!   precision` real; `text`, `citext`, `timestamptz` and `date` text (SQLite stores times and
//!   dates as text); `bytea` blob.
//! - the primary key's columns; unique constraints by their columns, unique indexes by name;
//!   foreign keys by (columns, referenced table, referenced columns); CHECK constraints by the
//!   columns each one mentions (SQLite's constraints have no names to compare).

mod common;

use backorder_bot::config::PostgresUrl;
use backorder_bot::store::copy_to::{self, SQLITE_ONLY_TABLES};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A scratch database on the `TEST_DATABASE_URL` server, dropped when the test ends; `None`
/// (after saying why) when there is no server to use.
struct Scratch {
    admin: String,
    name: String,
    url: PostgresUrl,
}

impl Scratch {
    async fn create(test: &str, tag: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            let why = "TEST_DATABASE_URL is not set (a postgres:// url; .ci/with-postgres starts a throwaway server)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: CI=true needs the PostgreSQL half: {why}");
            }
            // Straight to stderr, past the test harness's capture: a skip is worth seeing.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{test}: PostgreSQL half skipped: {why}");
            return None;
        };
        let name = format!("bb_{}_{}", tag, uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("TEST_DATABASE_URL accepts connections");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create a scratch database");
        let base = admin.rsplit_once('/').expect("a url with a database").0;
        let url = PostgresUrl::parse("TEST_DATABASE_URL", &format!("{base}/{name}")).unwrap();
        Some(Self { admin, name, url })
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect(self.url.expose()).await.unwrap()
    }

    async fn drop_database(self) {
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Integer,
    Real,
    Text,
    Blob,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// name → (not null, class)
    columns: BTreeMap<String, (bool, Class)>,
    primary_key: Vec<String>,
    /// Column lists of unique constraints, and `index:NAME` of unique indexes.
    unique: BTreeSet<String>,
    /// `cols -> table(cols)`
    foreign_keys: BTreeSet<String>,
    /// The sorted columns each CHECK mentions, one entry per check.
    checks: Vec<String>,
}

/// The columns of `columns` that the expression mentions, sorted and joined.
fn mentioned(expr: &str, columns: &BTreeMap<String, (bool, Class)>) -> String {
    let words: BTreeSet<String> = expr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_ascii_lowercase)
        .filter(|w| columns.contains_key(w))
        .collect();
    words.into_iter().collect::<Vec<_>>().join(",")
}

/// Where the parenthesis opened at `open` closes.
fn closing(sql: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in sql[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses from byte {open}")
}

/// SQL without its `--` comments.
fn without_comments(sql: &str) -> String {
    sql.lines()
        .map(|l| l.split_once("--").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The body of each `CHECK (…)` in a CREATE TABLE statement, parentheses balanced.
fn check_bodies(sql: &str) -> Vec<String> {
    let sql = &without_comments(sql);
    let upper = sql.to_ascii_uppercase();
    let mut bodies = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at + "CHECK".len();
        let word_ends = sql[start..].starts_with([' ', '(', '\n']);
        let word_starts =
            !sql[..from + at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if !(word_starts && word_ends) {
            from = start;
            continue;
        }
        let Some(open) = sql[start..].find('(').map(|i| start + i) else {
            break;
        };
        let end = closing(sql, open);
        bodies.push(sql[open + 1..end].to_string());
        from = end;
    }
    bodies
}

fn sqlite_class(declared: &str) -> Class {
    match declared.to_ascii_uppercase().as_str() {
        "INTEGER" => Class::Integer,
        "REAL" => Class::Real,
        "BLOB" => Class::Blob,
        _ => Class::Text,
    }
}

fn pg_class(table: &str, column: &str, data_type: &str) -> Class {
    match data_type {
        "bigint" | "integer" | "smallint" | "boolean" => Class::Integer,
        "double precision" | "real" => Class::Real,
        "text" | "USER-DEFINED" | "timestamp with time zone" | "date" => Class::Text,
        "bytea" => Class::Blob,
        other => panic!("{table}.{column}: no type class for PostgreSQL {other}"),
    }
}

async fn sqlite_schema(conn: &mut SqliteConnection) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    for t in copy_to::sqlite_tables(conn).await.unwrap() {
        let mut table = Table::default();
        let cols = sqlx::query(&format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{t}') ORDER BY pk, cid"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for c in &cols {
            let name: String = c.get(0);
            let pk: i64 = c.get(3);
            let not_null: bool = c.get::<i64, _>(2) == 1 || pk > 0;
            table.columns.insert(
                name.clone(),
                (not_null, sqlite_class(&c.get::<String, _>(1))),
            );
            if pk > 0 {
                table.primary_key.push(name);
            }
        }
        for (name, unique, origin) in sqlx::query_as::<_, (String, bool, String)>(&format!(
            "SELECT name, \"unique\", origin FROM pragma_index_list('{t}')"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        {
            match (unique, origin.as_str()) {
                (true, "u") => {
                    let cols: Vec<String> = sqlx::query_scalar(&format!(
                        "SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"
                    ))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
                    table.unique.insert(cols.join(","));
                }
                (true, "c") => {
                    table.unique.insert(format!("index:{name}"));
                }
                _ => {}
            }
        }
        let fks: Vec<(i64, String, String, String)> = sqlx::query_as(&format!(
            "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{t}') ORDER BY id, seq"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for (id, to_table, from, to) in fks {
            let e = by_id.entry(id).or_insert((to_table, vec![], vec![]));
            e.1.push(from);
            e.2.push(to);
        }
        for (_, (to_table, from, to)) in by_id {
            table.foreign_keys.insert(format!(
                "{} -> {to_table}({})",
                from.join(","),
                to.join(",")
            ));
        }
        let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = $1")
            .bind(&t)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        table.checks = check_bodies(&sql)
            .iter()
            .map(|b| mentioned(b, &table.columns))
            .collect();
        table.checks.sort();
        schema.insert(t, table);
    }
    schema
}

async fn pg_schema(conn: &mut PgConnection) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    for t in backorder_bot::store::postgres::tables(conn).await.unwrap() {
        let mut table = Table::default();
        let key = backorder_bot::store::postgres::primary_key(&mut *conn, &t)
            .await
            .unwrap();
        let cols: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT column_name::text, is_nullable::text, data_type::text
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        )
        .bind(&t)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for (name, nullable, data_type) in cols {
            let class = pg_class(&t, &name, &data_type);
            table.columns.insert(name, (nullable == "NO", class));
        }
        table.primary_key = key;
        let constraints: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT c.contype::text, c.conname::text, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.conrelid = ('public.' || $1)::regclass",
        )
        .bind(&t)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let columns_of = |def: &str| -> Vec<String> {
            let open = def.find('(').unwrap();
            let close = def[open..].find(')').unwrap() + open;
            def[open + 1..close]
                .split(',')
                .map(|c| c.trim().trim_matches('"').to_string())
                .collect()
        };
        for (kind, _name, def) in constraints {
            match kind.as_str() {
                "u" => {
                    table.unique.insert(columns_of(&def).join(","));
                }
                "f" => {
                    // FOREIGN KEY (a, b) REFERENCES t(c, d)
                    let from = columns_of(&def);
                    let rest = &def[def.find("REFERENCES ").unwrap() + "REFERENCES ".len()..];
                    let to_table = rest[..rest.find('(').unwrap()].trim().to_string();
                    let to = columns_of(rest);
                    table.foreign_keys.insert(format!(
                        "{} -> {to_table}({})",
                        from.join(","),
                        to.join(",")
                    ));
                }
                "c" => table.checks.push(mentioned(&def, &table.columns)),
                _ => {}
            }
        }
        table.checks.sort();
        let unique_indexes: Vec<String> = sqlx::query_scalar(
            "SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = ('public.' || $1)::regclass AND i.indisunique AND NOT i.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        )
        .bind(&t)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for name in unique_indexes {
            table.unique.insert(format!("index:{name}"));
        }
        schema.insert(t, table);
    }
    schema
}

#[tokio::test]
async fn both_engines_reach_the_same_schema_meaning() {
    let Some(scratch) =
        Scratch::create("both_engines_reach_the_same_schema_meaning", "schema").await
    else {
        return;
    };
    let pool = backorder_bot::store::postgres::connect(&scratch.url, 1)
        .await
        .unwrap();
    backorder_bot::store::postgres::migrate(&pool)
        .await
        .unwrap();
    pool.close().await;
    let t = common::spawn_app().await;
    let mut sqlite = t.app.store.pool().acquire().await.unwrap();
    let lite = sqlite_schema(&mut sqlite).await;
    let mut pg = scratch.connect().await;
    let post = pg_schema(&mut pg).await;
    drop(pg);
    scratch.drop_database().await;

    assert!(lite.len() > 30, "{:?}", lite.keys());
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        post.keys().collect::<Vec<_>>(),
        "the two engines have different tables"
    );
    let mut differences = Vec::new();
    for (name, l) in &lite {
        let p = &post[name];
        if l != p {
            differences.push(format!("{name}:\n  sqlite:   {l:?}\n  postgres: {p:?}"));
        }
    }
    assert!(
        differences.is_empty(),
        "tables whose meaning differs:\n{}",
        differences.join("\n")
    );
}

/// The table names and column names each `CREATE TABLE` of a migration file declares.
fn declared_tables(sql: &str) -> BTreeMap<String, BTreeSet<String>> {
    let sql = &without_comments(sql);
    let mut tables = BTreeMap::new();
    let upper = sql.to_ascii_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CREATE TABLE ") {
        let start = from + at + "CREATE TABLE ".len();
        let name: String = sql[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let open = start + sql[start..].find('(').unwrap();
        let end = closing(sql, open);
        let mut columns = BTreeSet::new();
        for line in sql[open + 1..end].lines() {
            let line = line.trim();
            let word: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let keyword = ["PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"]
                .contains(&word.to_ascii_uppercase().as_str());
            if !word.is_empty() && !keyword && !line.starts_with("--") {
                columns.insert(word.to_ascii_lowercase());
            }
        }
        tables.insert(name, columns);
        from = end;
    }
    tables
}

/// The (table, column) pairs each `ALTER TABLE t ADD COLUMN c` of a migration file adds.
fn added_columns(sql: &str) -> Vec<(String, String)> {
    let sql = without_comments(sql);
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    sql.split(';')
        .filter_map(|statement| {
            let words: Vec<&str> = statement.split_whitespace().collect();
            match words.as_slice() {
                [alter, table, t, add, column, c, ..]
                    if alter.eq_ignore_ascii_case("ALTER")
                        && table.eq_ignore_ascii_case("TABLE")
                        && add.eq_ignore_ascii_case("ADD")
                        && column.eq_ignore_ascii_case("COLUMN") =>
                {
                    Some((word(t), word(c).to_ascii_lowercase()))
                }
                _ => None,
            }
        })
        .collect()
}

#[tokio::test]
async fn every_sqlite_table_has_a_postgres_counterpart() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut declared = BTreeMap::new();
    let mut added = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sql") {
            let sql = std::fs::read_to_string(&path).unwrap();
            declared.extend(declared_tables(&sql));
            added.extend(added_columns(&sql));
        }
    }
    for (table, column) in added {
        declared
            .entry(table)
            .or_insert_with(BTreeSet::new)
            .insert(column);
    }
    assert!(declared.contains_key("backorders"), "{:?}", declared.keys());
    let t = common::spawn_app().await;
    let mut sqlite = t.app.store.pool().acquire().await.unwrap();
    let mut missing = Vec::new();
    for table in copy_to::sqlite_tables(&mut sqlite).await.unwrap() {
        let columns: Vec<String> =
            sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .fetch_all(&mut *sqlite)
                .await
                .unwrap();
        match declared.get(&table) {
            None => missing.push(format!("table {table}")),
            Some(pg) => {
                for c in columns {
                    if !pg.contains(&c) {
                        missing.push(format!("column {table}.{c}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "SQLite has these without a counterpart in migrations/postgres/ (add them there, or to \
         SQLITE_ONLY_TABLES with the reason): {missing:?}"
    );
    for (only, why) in SQLITE_ONLY_TABLES {
        assert!(
            !declared.contains_key(*only),
            "{only} is listed SQLite-only ({why})"
        );
    }
}

#[tokio::test]
async fn copy_to_moves_the_demo_shop_with_its_values() {
    let Some(scratch) =
        Scratch::create("copy_to_moves_the_demo_shop_with_its_values", "copy").await
    else {
        return;
    };
    let t = common::spawn_demo_app().await;
    let outside = "O'Brien \"Bob\"\nsecond line\tand a tab \\ Zoë ☃";
    sqlx::query("UPDATE customers SET name = $1 WHERE id = (SELECT MIN(id) FROM customers)")
        .bind(outside)
        .execute(t.app.store.pool())
        .await
        .unwrap();
    let (line_id, price): (i64, i64) =
        sqlx::query_as("SELECT id, unit_price_minor FROM order_lines ORDER BY id LIMIT 1")
            .fetch_one(t.app.store.pool())
            .await
            .unwrap();
    let (order_id, ordered_at): (i64, String) =
        sqlx::query_as("SELECT id, ordered_at FROM orders ORDER BY id LIMIT 1")
            .fetch_one(t.app.store.pool())
            .await
            .unwrap();
    let (po_line, eta): (i64, String) =
        sqlx::query_as("SELECT id, eta FROM po_lines WHERE eta IS NOT NULL ORDER BY id LIMIT 1")
            .fetch_one(t.app.store.pool())
            .await
            .unwrap();

    let mut conn = t.app.store.pool().acquire().await.unwrap();
    let copied = copy_to::copy_to(&mut conn, &scratch.url).await.unwrap();
    let mut pg = scratch.connect().await;
    for c in &copied {
        let source: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", c.table))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let target: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{}\"", c.table))
            .fetch_one(&mut pg)
            .await
            .unwrap();
        assert_eq!((c.rows as i64, target), (source, source), "{}", c.table);
    }
    let rows = |name: &str| copied.iter().find(|c| c.table == name).unwrap().rows;
    assert!(rows("backorders") > 0 && rows("products") > 0, "{copied:?}");

    let name: String =
        sqlx::query_scalar("SELECT name FROM customers WHERE id = (SELECT MIN(id) FROM customers)")
            .fetch_one(&mut pg)
            .await
            .unwrap();
    assert_eq!(name, outside);
    let copied_price: i64 =
        sqlx::query_scalar("SELECT unit_price_minor FROM order_lines WHERE id = $1")
            .bind(line_id)
            .fetch_one(&mut pg)
            .await
            .unwrap();
    assert_eq!(copied_price, price);
    // Native types: a timestamptz at the same instant, a date of the same day.
    let (epoch, kind): (i64, String) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM ordered_at)::bigint, pg_typeof(ordered_at)::text FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut pg)
    .await
    .unwrap();
    let expected = chrono::DateTime::parse_from_rfc3339(&ordered_at).unwrap();
    assert_eq!(
        (epoch, kind.as_str()),
        (expected.timestamp(), "timestamp with time zone")
    );
    let (day, kind): (String, String) = sqlx::query_as(
        "SELECT to_char(eta, 'YYYY-MM-DD'), pg_typeof(eta)::text FROM po_lines WHERE id = $1",
    )
    .bind(po_line)
    .fetch_one(&mut pg)
    .await
    .unwrap();
    assert_eq!((day, kind.as_str()), (eta, "date"));
    // Identities continue after the copied ids, and the triggers are back on.
    let max_id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM customers")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO customers (external_id, name) VALUES ('NEW-1', 'New') RETURNING id",
    )
    .fetch_one(&mut pg)
    .await
    .unwrap();
    assert_eq!(next, max_id + 1);
    let open_before: i64 =
        sqlx::query_scalar("SELECT n FROM backorder_counts WHERE status = 'open'")
            .fetch_one(&mut pg)
            .await
            .unwrap();
    sqlx::query("UPDATE backorders SET status = 'cancelled' WHERE id = (SELECT MIN(id) FROM backorders WHERE status = 'open')")
        .execute(&mut pg)
        .await
        .unwrap();
    let open_after: i64 =
        sqlx::query_scalar("SELECT n FROM backorder_counts WHERE status = 'open'")
            .fetch_one(&mut pg)
            .await
            .unwrap();
    assert_eq!(open_after, open_before - 1);

    // A second copy refuses the now non-empty target, naming a table with rows, and changes nothing.
    let e = copy_to::copy_to(&mut conn, &scratch.url).await.unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("not empty: table ") && text.contains(" has rows"),
        "{text}"
    );
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(customers as u64, rows("customers") + 1);
    drop(pg);
    drop(conn);
    scratch.drop_database().await;
}

#[tokio::test]
async fn copy_to_names_the_table_and_row_of_a_value_that_does_not_convert() {
    let Some(scratch) = Scratch::create(
        "copy_to_names_the_table_and_row_of_a_value_that_does_not_convert",
        "badrow",
    )
    .await
    else {
        return;
    };
    let t = common::spawn_demo_app().await;
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM orders")
        .fetch_one(t.app.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET ordered_at = 'last tuesday' WHERE id = $1")
        .bind(id)
        .execute(t.app.store.pool())
        .await
        .unwrap();
    let mut conn = t.app.store.pool().acquire().await.unwrap();
    let e = copy_to::copy_to(&mut conn, &scratch.url).await.unwrap_err();
    let text = format!("{e:#}");
    assert!(
        text.contains("table orders, row ")
            && text.contains(&format!("(id = {id})"))
            && text.contains("column ordered_at")
            && text.contains("\"last tuesday\" is not an RFC 3339 UTC time"),
        "{text}"
    );
    // Nothing was committed: the target holds no shop.
    let mut pg = scratch.connect().await;
    let products: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
        .fetch_one(&mut pg)
        .await
        .unwrap();
    assert_eq!(products, 0);
    drop(pg);
    drop(conn);
    scratch.drop_database().await;
}

#[test]
fn a_postgres_server_that_cannot_be_reached_is_named_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    // A socket directory that does not exist: refused at once, with no server needed.
    let url = "postgres://shop:s3cr3t-pw@localhost:5432/shop?host=/nonexistent-backorder-bot";
    for args in [&["ask", "/stock sku:TENT-2P"][..], &["migrate"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
            .args(args)
            .current_dir(dir.path())
            .env("BACKORDER_BOT__DATABASE__URL", url)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("cannot connect to postgres://shop:***@localhost:5432/shop"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("s3cr3t"), "{args:?}: {err}");
        assert!(
            !dir.path().join("data/backorder-bot.db").exists(),
            "no SQLite file was made instead"
        );
    }
}

#[test]
fn copy_to_refuses_a_url_that_is_not_postgres_naming_the_argument() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
        .args([
            "--db",
            "shop.db",
            "copy-to",
            "mysql://root:pw@localhost/shop",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("copy-to URL") && err.contains("postgres"),
        "{err}"
    );
    assert!(!err.contains(":pw@"), "{err}");
}

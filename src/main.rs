//! backorder-bot: telemetry → config → build → run. Everything else lives in the library, but
//! for the benchmarks (`bench`), which belong to this binary.

mod bench;

use anyhow::Context;
use backorder_bot::adapters::console;
use backorder_bot::adapters::forecast;
use backorder_bot::adapters::stdout;
use backorder_bot::app::import::{import, ImportKind};
use backorder_bot::app::{demo, Actor, Clock};
use backorder_bot::commands::Outcome;
use backorder_bot::config::{Engine, PostgresUrl, Settings};
use backorder_bot::domain::text::plural;
use backorder_bot::startup::{shutdown_on_signals, Application};
use backorder_bot::{outln, store, telemetry};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "backorder-bot",
    version,
    about = "Chat-ops for e-commerce backorders"
)]
struct Cli {
    /// Settings file layered over config/default.toml.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// SQLite file (overrides database.url and database.path).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// The service (default): HTTP, Discord, alerts, customer updates; a console when stdin is a terminal.
    Run,
    /// Interactive prompt beside the data; what it queues is sent by `run`.
    Console,
    /// Run one command, print the reply: exit 0 ok, 2 wrong input, 1 internal error.
    Ask {
        /// The command, e.g. "/stock sku:TENT-2P".
        line: String,
    },
    /// Start a shop: create the database and load the demo shop, or nothing with --empty.
    Init {
        /// A shop for your own data: no demo data, now or on any later start.
        #[arg(long)]
        empty: bool,
        /// Delete the database first (at a terminal, asks for its file name).
        #[arg(long)]
        reset: bool,
        /// With --reset: delete without asking (scripts, no terminal).
        #[arg(long, requires = "reset")]
        yes: bool,
    },
    /// Create or migrate the database.
    Migrate,
    /// Copy the SQLite database into an empty PostgreSQL one (migrated first), in one transaction, checking the row counts of every table.
    CopyTo {
        /// The target, postgres://USER@HOST:PORT/DATABASE (a password from PGPASSWORD rather than here).
        url: String,
    },
    /// Write a consistent copy of the database to FILE while the service keeps running.
    Backup {
        /// The new file (must not exist).
        file: PathBuf,
    },
    /// Load the bundled demo shop, or a synthetic one of N SKUs.
    DemoData {
        /// Synthetic shop size (at least 1).
        #[arg(long, value_parser = at_least_one)]
        skus: Option<u64>,
        /// Synthetic shop seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also give each synthetic SKU this many days of daily sales history (smooth, erratic, intermittent and lumpy SKUs), up to yesterday.
        #[arg(long, requires = "skus")]
        sales_days: Option<u64>,
    },
    /// Import a CSV file: products, suppliers, customers, purchase-orders, orders, sales or discount-codes.
    Import {
        /// What the file holds.
        kind: String,
        /// The CSV file.
        file: PathBuf,
    },
    /// Evaluate the alert rules now and print what would be posted (changes nothing).
    Check {
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        /// One JSON object per rule.
        #[arg(long)]
        json: bool,
    },
    /// Forecast one SKU's demand (--sku), backtest the methods over the shop's history (--backtest), or refresh the stored forecasts the alerts use (--refresh).
    Forecast {
        /// The SKU to forecast.
        #[arg(
            long,
            required_unless_present_any = ["backtest", "refresh"],
            conflicts_with_all = ["backtest", "refresh"]
        )]
        sku: Option<String>,
        /// ses, croston, sba or auto (picked by the SKU's demand pattern).
        #[arg(long)]
        method: Option<String>,
        /// Days ahead (1 to 3660).
        #[arg(long, default_value_t = 14)]
        horizon: u32,
        /// One JSON object.
        #[arg(long, conflicts_with = "backtest")]
        json: bool,
        /// Rolling-origin backtest of every SKU: WAPE and MASE per method against naive.
        #[arg(long, conflicts_with = "method")]
        backtest: bool,
        /// Forecast every SKU now and store the forecasts, as the nightly job does.
        #[arg(long, conflicts_with_all = ["method", "backtest", "json"])]
        refresh: bool,
    },
    /// Benchmarks that print figures: `stock`, `eta`, `import`, `alerts`, `forecast`, `notify`, `search`, `autocomplete`, `lists`, `spike` or `replicas` (BENCH_DATABASE_URL).
    Bench {
        /// Which benchmark.
        which: String,
        /// Iterations (stock), backorders (eta), orders (spike) or stock reads (replicas).
        #[arg(long, visible_alias = "orders", default_value_t = 10_000)]
        n: u64,
        /// Rows of the generated file (import).
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// What the generated file holds (import): products or orders.
        #[arg(long, default_value = "products")]
        kind: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init("info,sqlx=warn,serenity=warn,tracing::span=warn");
    match real_main().await {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): stop as a Unix tool does, without a word.
        Err(e) if stdout::is_closed(&e) => ExitCode::from(stdout::CLOSED_EXIT),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn real_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(db) = cli.db {
        settings.database.engine = Engine::Sqlite;
        settings.database.path = db;
    }
    // The terminal is the user's: at one, log lines go to a file beside the database, from
    // here to exit. From a pipe or under a service manager they go to stderr.
    if telemetry::at_terminal() {
        let dir = settings.database.path.parent().unwrap_or(Path::new(""));
        let log = dir.join("backorder-bot.log");
        let opened = std::fs::create_dir_all(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .and_then(|()| telemetry::log_to_file(&log));
        if let Err(e) = opened {
            eprintln!("warning: cannot write the log to {}: {e}", log.display());
        }
    }
    let command = cli.command.unwrap_or(Command::Run);
    if let Command::Migrate = command {
        let store = store::Store::open(&settings.database).await?;
        store.close().await;
        outln!("database {} is migrated", settings.database.path.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::CopyTo { url } = &command {
        return copy_to(&settings, url).await;
    }
    if let Command::Backup { file } = &command {
        let store = store::Store::open(&settings.database).await?;
        let result = store.backup(file).await;
        store.close().await;
        result?;
        outln!("backup written to {}", file.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Init {
        reset: true, yes, ..
    } = &command
    {
        // Deleting is a file operation: on PostgreSQL it would only remove a stray SQLite file
        // at `database.path` (perhaps the one copied from) and leave the shop as it is.
        if let Engine::Postgres(url) = &settings.database.engine {
            eprintln!(
                "error: `init --reset` deletes a SQLite file; {url} is PostgreSQL: drop and create that database (dropdb, createdb), then run `init`"
            );
            return Ok(ExitCode::from(2));
        }
        if let Some(code) = reset_database(&settings.database.path, *yes)? {
            return Ok(code);
        }
    }
    // Only the chat surfaces seed the demo shop on an empty database.
    if !matches!(
        command,
        Command::Run | Command::Console | Command::Ask { .. }
    ) {
        settings.shop.demo_data_on_first_start = false;
    }
    // `run` and `console` listen for SIGINT/SIGTERM before they start anything, so a signal
    // during start-up stops them cleanly.
    let interactive = matches!(command, Command::Run | Command::Console);
    let signals = interactive.then(shutdown_on_signals).transpose()?;
    let mut application = Application::build(settings, Clock::System).await?;
    match (&command, signals) {
        // The service: the only process that listens on HTTP, talks to Discord and sends.
        (Command::Run, Some(signals)) => {
            application.bind_http().await?;
            let console = std::io::stdin().is_terminal();
            application.run_until_stopped(console, signals).await?;
            return Ok(ExitCode::SUCCESS);
        }
        // Beside the service: acts on the data only.
        (Command::Console, Some(signals)) => {
            application.run_console(signals).await?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let app = application.app.clone();
    let code = run_once(&app, command).await;
    // One-shot commands leave the database file complete (WAL checkpointed) when they end.
    app.store.close().await;
    code
}

/// `copy-to`: the SQLite file of the settings (`database.path`, a `sqlite://` `database.url`, or
/// `--db`) into the PostgreSQL database at `url`.
async fn copy_to(settings: &Settings, url: &str) -> anyhow::Result<ExitCode> {
    let target = PostgresUrl::parse("copy-to URL", url)?;
    let mut database = settings.database.clone();
    database.engine = Engine::Sqlite;
    if !database.path.exists() {
        eprintln!(
            "error: no SQLite database at {} to copy (database.path, database.url or --db)",
            database.path.display()
        );
        return Ok(ExitCode::from(2));
    }
    let store = store::Store::open(&database).await?;
    let mut conn = store.conn().await?;
    let result = store::copy_to::copy_to(store::sqlite_only(&mut conn, "copy-to")?, &target).await;
    drop(conn);
    store.close().await;
    let copied = result?;
    let width = copied.iter().map(|c| c.table.len()).max().unwrap_or(0);
    for c in &copied {
        outln!("{:<width$}  {:>9}", c.table, c.rows)?;
    }
    let total: u64 = copied.iter().map(|c| c.rows).sum();
    outln!(
        "copied {} to {target}: {} in {}, row counts checked",
        database.path.display(),
        plural(total as i64, "row", "rows"),
        plural(copied.len() as i64, "table", "tables")
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A count of at least 1, refused in plain words otherwise.
fn at_least_one(raw: &str) -> Result<u64, String> {
    match raw.parse::<u64>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err("must be a whole number of at least 1".to_string()),
    }
}

/// What loading the demo shop added, in words.
fn added_in_words(c: &demo::ShopCounts) -> String {
    format!(
        "{} suppliers, {} products, {} customers, {} purchase orders ({} lines), {} orders, {} backorders added; no customer messages queued",
        c.suppliers, c.products, c.customers, c.purchase_orders, c.po_lines, c.orders, c.backorders
    )
}

/// `init --reset`: deletes the database file (and its WAL) once the user confirmed by typing
/// its file name, or at once with `--yes`. Returns an exit code when it refused.
fn reset_database(path: &std::path::Path, yes: bool) -> anyhow::Result<Option<ExitCode>> {
    if !path.exists() {
        return Ok(None);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "error: `init --reset` deletes {} and everything in it; it asks first at a terminal, or add --yes",
                path.display()
            );
            return Ok(Some(ExitCode::from(2)));
        }
        eprintln!(
            "This deletes {} and everything in it (stop the service first; `backorder-bot backup FILE` keeps a copy).",
            path.display()
        );
        eprint!("Type the database file name ({name}) to confirm: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != name {
            eprintln!("not confirmed: nothing deleted");
            return Ok(Some(ExitCode::from(2)));
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot delete {}", path.display()));
            }
        }
    }
    eprintln!("deleted {}", path.display());
    Ok(None)
}

/// A command that does its work and ends.
async fn run_once(app: &backorder_bot::app::App, command: Command) -> anyhow::Result<ExitCode> {
    let operator = Actor::operator(app.settings.console.actor.clone());
    match command {
        Command::Run
        | Command::Console
        | Command::Migrate
        | Command::Backup { .. }
        | Command::CopyTo { .. } => {
            unreachable!("handled by the caller")
        }
        Command::Init { empty, .. } => {
            let path = app.settings.database.path.display();
            if empty {
                if !demo::start_empty(app, &operator).await? {
                    eprintln!(
                        "error: {path} already holds a shop; `init --reset --empty` starts over"
                    );
                    return Ok(ExitCode::from(2));
                }
                outln!("{path}: an empty shop, ready for your data (no demo data, now or later)")?;
                outln!("import it in this order: suppliers, products, customers, purchase-orders, orders")?;
                outln!("  backorder-bot import suppliers suppliers.csv   (formats: docs/csv-formats.md, samples: examples/)")?;
            } else {
                let Some(added) = demo::load_bundled(app, &operator)
                    .await
                    .context("cannot load the demo shop")?
                else {
                    eprintln!("error: {path} already holds a shop; `init --reset` starts over");
                    return Ok(ExitCode::from(2));
                };
                outln!("{path}: the demo shop, {}", added_in_words(&added))?;
            }
            outln!("next: `backorder-bot` (or `backorder-bot console`)")?;
        }
        Command::Ask { line } => {
            let (reply, outcome, queued) = console::QueuedNote::default()
                .ask(app, &operator, &line)
                .await;
            // The reply is printed after the command's transaction committed: a reader gone by
            // then cuts the reply short, never the write.
            outln!("{}", reply.to_text())?;
            // A notice, not part of the reply: scripts reading stdout see the reply alone.
            if let Some(queued) = queued {
                eprintln!("{queued}");
            }
            return Ok(match outcome {
                Outcome::Ok => ExitCode::SUCCESS,
                Outcome::UserError => ExitCode::from(2),
                Outcome::Internal => ExitCode::from(1),
            });
        }
        Command::DemoData {
            skus,
            seed,
            sales_days,
        } => match skus {
            Some(n) => {
                let started = std::time::Instant::now();
                let c = demo::synthetic(app, n, seed)
                    .await
                    .context("cannot build the synthetic shop")?;
                outln!(
                    "synthetic shop: {} products, {} customers, {} ledger rows, {} PO lines, {} backorders added in {:.1?}",
                    c.products, c.customers, c.movements, c.po_lines, c.backorders, started.elapsed()
                )?;
                if let Some(days) = sales_days {
                    let started = std::time::Instant::now();
                    match demo::synthetic_sales(app, days, seed).await {
                        Ok(rows) => outln!(
                            "sales history: {rows} daily sales over {days} days added in {:.1?}",
                            started.elapsed()
                        )?,
                        Err(e) if e.is_user_facing() => {
                            eprintln!("error: {e}");
                            return Ok(ExitCode::from(2));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            None => {
                match demo::load_bundled(app, &operator)
                    .await
                    .context("cannot load the demo shop")?
                {
                    Some(added) => outln!("demo shop loaded: {}", added_in_words(&added))?,
                    None => {
                        eprintln!("error: the database is not empty: the demo shop is only loaded into an empty one (`init --reset` starts over)");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
        },
        Command::Import { kind, file } => {
            let Some(kind) = ImportKind::parse(&kind) else {
                eprintln!("error: unknown import kind \"{kind}\" (products, suppliers, customers, purchase-orders, orders, sales or discount-codes)");
                return Ok(ExitCode::from(2));
            };
            let f = match std::fs::File::open(&file) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: cannot open {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            match import(app, &operator, kind, std::io::BufReader::new(f)).await {
                Ok(r) => {
                    for w in &r.warnings {
                        eprintln!("warning: {w}");
                    }
                    outln!(
                        "{}: {}, {} changed, {} unchanged, {} created",
                        file.display(),
                        plural(r.rows as i64, "row", "rows"),
                        r.changed,
                        r.unchanged,
                        plural(r.backorders_created as i64, "backorder", "backorders")
                    )?;
                    if kind == ImportKind::DiscountCodes {
                        let (free, issued) = backorder_bot::app::incentives::pool(app).await?;
                        outln!("discount codes in the pool: {free} free, {issued} issued")?;
                    }
                }
                Err(e) if e.is_user_facing() => {
                    eprintln!("error: {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Check { rule, json } => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            match backorder_bot::adapters::check::run(app, rule.as_deref(), json, &mut out).await {
                Ok(()) => {}
                Err(e) if e.is_user_facing() => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
                Err(backorder_bot::app::AppError::Unexpected(e)) => return Err(e),
                Err(e) => return Err(e.into()),
            }
        }
        Command::Forecast {
            sku,
            method,
            horizon,
            json,
            backtest,
            refresh,
        } => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let done = match (backtest, sku) {
                _ if refresh => forecast::run_refresh(app, &mut out).await.map(|_| ()),
                (true, _) => forecast::run_backtest(app, horizon, &mut out).await,
                (false, Some(sku)) => {
                    forecast::run_sku(app, &sku, method.as_deref(), horizon, json, &mut out).await
                }
                (false, None) => unreachable!("clap requires --sku without --backtest"),
            };
            match done {
                Ok(()) => {}
                Err(e) if e.is_user_facing() => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Bench {
            which,
            n,
            rows,
            kind,
        } => {
            if which == "import" {
                let Some(kind) = ImportKind::parse(&kind) else {
                    eprintln!("error: unknown import kind \"{kind}\" (products, orders or purchase-orders)");
                    return Ok(ExitCode::from(2));
                };
                bench::import(app, kind, rows).await?;
            } else {
                bench::run(app, &which, n).await?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

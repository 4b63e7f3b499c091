//! backorder-bot: chat-ops for e-commerce backorders.
//!
//! # Layout
//! - [`domain`]: pure types and rules (SKU, quantities, money, contacts, stock position, priority,
//!   ETA promise, purchasing and backorder status, alert severity and state, cron schedules,
//!   customer-update decisions and SMS segments, when a change needs approval, search ranking and typo distance, the keys
//!   lists page by, demand forecasts, the backorder report's figures). No I/O.
//! - [`store`]: the only place with SQL (sqlx on SQLite), one function per query; rows come out typed;
//!   lists page by keyset from an index (`store::keyset`).
//! - [`app`]: use cases, one function per thing a user does, each one transaction (stock, orders,
//!   purchasing, backorders, imports, alerts, forecasts, customer updates and their approval,
//!   discount-code incentives, Discord channel posts, idempotency).
//! - [`commands`]: one file per command (spec + handler) in one table that the console and Discord
//!   share: parse → use case → [`commands::Reply`].
//! - [`adapters`]: they translate, they hold no rules. Long-running ones are `run(app, shutdown)`:
//!   console, Discord (gateway + channel poster), HTTP (ingest API, Twilio webhooks, Discord
//!   interactions, health, the customer page `/b/<token>`),
//!   alert scheduler, customer-update dispatcher (SMS, e-mail); plus the `check` and `forecast`
//!   commands, and `stdout`, the printing of commands that stop quietly when their reader goes
//!   away. (`commands::chart` draws the PNG charts replies attach: plotters, bundled font.)
//! - [`config`]: typed settings from `config/default.toml`, a file and the environment.
//! - [`shutdown`]: [`shutdown::Shutdown`], the one signal every long-running task stops on.
//! - [`startup`]: [`startup::Application`], built the same way by `main` and by the tests; it
//!   supervises the long-running tasks and shuts them down gracefully.
//! - [`telemetry`]: tracing set-up, and the metrics registry `GET /metrics` exposes
//!   ([`telemetry::metrics`]).
//! - [`memory`]: allocator tuning (freed memory handed back before an alert evaluation).

pub mod adapters;
pub mod app;
pub mod commands;
pub mod config;
pub mod domain;
pub mod memory;
pub mod shutdown;
pub mod startup;
pub mod store;
pub mod telemetry;

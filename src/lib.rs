//! backorder-bot: chat-ops for e-commerce backorders.
//!
//! # Layout
//! - [`domain`]: pure types and rules (SKU, money, contacts, stock position, priority, ETA promise).
//! - [`store`]: the only place with SQL (sqlx on SQLite), one function per query.
//! - [`app`]: use cases, one function per thing a user does, each one transaction.
//! - [`commands`]: the command layer Discord and the console share: parse → use case → [`commands::Reply`].
//! - [`adapters`]: console, Discord, HTTP ingest API, scheduler: they translate, they hold no rules.
//! - [`config`]: typed settings from `config/default.toml`, a file and the environment.
//! - [`startup`]: [`startup::Application`], built the same way by `main` and by the tests.
//! - [`telemetry`]: tracing set-up.

pub mod adapters;
pub mod app;
pub mod bench;
pub mod commands;
pub mod config;
pub mod domain;
pub mod startup;
pub mod store;
pub mod telemetry;

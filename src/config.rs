//! Settings: `config/default.toml`, then an optional file, then `BACKORDER_BOT__*` variables,
//! parsed into typed values at start-up so that a bad value fails at once with its key named.

use crate::domain::alerts::{parse_margin, AlertRule, Scope, Severity};
use crate::domain::priority::PriorityWeights;
use crate::domain::promise::FulfilmentRules;
use crate::domain::schedule::{parse_duration, parse_timezone, CronSchedule};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The checked-in defaults, compiled in so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "BACKORDER_BOT__";

/// A setting that could not be used; names the key.
#[derive(Debug, thiserror::Error)]
#[error("config: {key}: {reason}")]
pub struct ConfigError {
    /// Dotted key (`http.bind`) or variable name.
    pub key: String,
    /// What was wrong.
    pub reason: String,
}

fn err(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        reason: reason.into(),
    }
}

/// All settings, typed.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `[database]`
    pub database: DatabaseSettings,
    /// `[shop]`
    pub shop: ShopSettings,
    /// `[console]`
    pub console: ConsoleSettings,
    /// `[discord]`
    pub discord: DiscordSettings,
    /// `[http]`
    pub http: HttpSettings,
    /// `[priority]`
    pub priority: PriorityWeights,
    /// `[fulfilment]`
    pub fulfilment: FulfilmentRules,
    /// `[shutdown]`
    pub shutdown: ShutdownSettings,
    /// `[notify]`
    pub notify: NotifySettings,
    /// `[sms]`
    pub sms: SmsSettings,
    /// `[email]`
    pub email: EmailSettings,
    /// `[alerts]`
    pub alerts: AlertSettings,
    /// `[forecast]`
    pub forecast: ForecastSettings,
    /// Secrets, from their own environment variables only.
    pub secrets: Secrets,
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// SQLite file.
    pub path: PathBuf,
    /// Size of the pool for writes and background work.
    pub max_connections: u32,
    /// Size of the pool for the reads people wait on (`Store::reader`).
    pub reader_connections: u32,
    /// Busy timeout.
    pub busy_timeout: std::time::Duration,
}

/// `[shop]`
#[derive(Debug, Clone)]
pub struct ShopSettings {
    /// Shop name.
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Seed the demo shop into an empty database.
    pub demo_data_on_first_start: bool,
}

/// `[console]`
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// Audit name of the console operator.
    pub actor: String,
    /// Rows per page.
    pub page_size: u32,
}

/// `[discord]`
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// API root (no trailing slash).
    pub api_base_url: String,
    /// Guilds to register commands in.
    pub guild_ids: Vec<u64>,
    /// Roles allowed to change data.
    pub ops_role_ids: Vec<u64>,
    /// Alert channel.
    pub alert_channel_id: Option<u64>,
}

/// `[alerts]`
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// A run missed while the bot was down is made up on start if it is at most this old.
    pub catch_up: chrono::Duration,
    /// `[[alerts.rules]]`, names unique.
    pub rules: Vec<AlertRule>,
    /// The role alert posts mention, the one mention the bot's posts may ping.
    pub mention_role: Option<u64>,
}

impl AlertSettings {
    /// The rule of this name (case-insensitive).
    pub fn rule(&self, name: &str) -> Option<&AlertRule> {
        self.rules
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name.trim()))
    }
}

/// `[http]`
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Body size limit.
    pub max_body_bytes: usize,
    /// Public base URL as Twilio reaches it (no trailing slash).
    pub public_url: Option<String>,
}

/// `[notify]`
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Run the dispatcher.
    pub enabled: bool,
    /// Poll interval for rows written by other processes.
    pub poll: std::time::Duration,
    /// Rows claimed per round.
    pub batch_size: u32,
    /// How long a claim lasts.
    pub lease: std::time::Duration,
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// Smallest ETA shift worth a message.
    pub min_eta_shift_days: i64,
    /// Window in which one backorder's updates merge.
    pub coalesce: std::time::Duration,
    /// SMS quiet hours; `None` = off.
    pub quiet_hours: Option<crate::domain::notify::QuietHours>,
    /// Template overrides.
    pub templates_dir: Option<PathBuf>,
}

/// `[sms]`
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// API root (no trailing slash).
    pub base_url: String,
    /// Sender number.
    pub from: Option<String>,
    /// Messaging service SID (used instead of `from` when set).
    pub messaging_service_sid: Option<String>,
    /// Rate limit; 0 = none.
    pub per_second: u32,
    /// Most segments per SMS.
    pub max_segments: u32,
    /// Request time limit.
    pub timeout: std::time::Duration,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (loopback test servers only).
    None,
    /// STARTTLS upgrade (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `[email]`
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// SMTP host; `None` = log only.
    pub host: Option<String>,
    /// SMTP port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// Login name.
    pub username: Option<String>,
    /// Sender.
    pub from: String,
    /// Reply-To.
    pub reply_to: Option<String>,
    /// Delivery time limit.
    pub timeout: std::time::Duration,
}

/// `[shutdown]`
#[derive(Debug, Clone)]
pub struct ShutdownSettings {
    /// How long the tasks get to finish their current unit of work after SIGINT/SIGTERM.
    pub grace: std::time::Duration,
}

/// Secrets; `Debug` never prints them.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// `DISCORD_TOKEN`
    pub discord_token: Option<SecretString>,
    /// `TWILIO_AUTH_TOKEN`
    pub twilio_auth_token: Option<SecretString>,
    /// `SMTP_PASSWORD`
    pub smtp_password: Option<SecretString>,
    /// `INGEST_API_TOKEN`
    pub ingest_api_token: Option<SecretString>,
    /// `TWILIO_ACCOUNT_SID` (not secret, but it travels with the token).
    pub twilio_account_sid: Option<String>,
    /// `TWILIO_API_KEY`
    pub twilio_api_key: Option<String>,
    /// `TWILIO_API_SECRET`
    pub twilio_api_secret: Option<SecretString>,
}

impl Secrets {
    /// Reads the secret variables (empty counts as unset).
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| SecretString::from(v.trim().to_string()))
        };
        Self {
            discord_token: read("DISCORD_TOKEN"),
            twilio_auth_token: read("TWILIO_AUTH_TOKEN"),
            smtp_password: read("SMTP_PASSWORD"),
            ingest_api_token: read("INGEST_API_TOKEN"),
            twilio_account_sid: get("TWILIO_ACCOUNT_SID")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            twilio_api_key: get("TWILIO_API_KEY")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            twilio_api_secret: read("TWILIO_API_SECRET"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    database: RawDatabase,
    shop: RawShop,
    console: RawConsole,
    discord: RawDiscord,
    http: RawHttp,
    priority: RawPriority,
    fulfilment: RawFulfilment,
    alerts: RawAlerts,
    shutdown: RawShutdown,
    notify: RawNotify,
    sms: RawSms,
    email: RawEmail,
    #[serde(default)]
    forecast: RawForecast,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    enabled: bool,
    poll_ms: u64,
    batch_size: u32,
    lease_seconds: u64,
    max_attempts: u32,
    min_eta_shift_days: i64,
    coalesce_minutes: u64,
    quiet_hours: String,
    templates_dir: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSms {
    base_url: String,
    from: String,
    messaging_service_sid: String,
    per_second: u32,
    max_segments: u32,
    timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmail {
    host: String,
    port: u16,
    tls: String,
    username: String,
    from: String,
    reply_to: String,
    timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    catch_up: String,
    mention_role: u64,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    channel_id: Option<u64>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    suppliers: Vec<String>,
    sku_prefix: Option<String>,
    min_severity: Option<String>,
    repeat_interval: Option<String>,
    resolve_margin: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    path: String,
    max_connections: u32,
    reader_connections: u32,
    busy_timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    name: String,
    currency: String,
    demo_data_on_first_start: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    actor: String,
    page_size: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    api_base_url: String,
    guild_ids: Vec<u64>,
    ops_role_ids: Vec<u64>,
    alert_channel_id: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    bind: String,
    max_body_bytes: usize,
    public_url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPriority {
    standard: f64,
    silver: f64,
    gold: f64,
    vip: f64,
    per_currency_unit: f64,
    per_day: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFulfilment {
    allow_partial: bool,
    skip_blocked: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShutdown {
    grace_seconds: u64,
}

impl Settings {
    /// Loads from the real environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_file, &vars, &|name| std::env::var(name).ok())
    }

    /// Loads from the given variables (tests pass their own).
    pub fn load_from(
        config_file: Option<&Path>,
        vars: &[(String, String)],
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table = DEFAULT_TOML
            .parse()
            .map_err(|e| syntax_error("config/default.toml", DEFAULT_TOML, &e))?;
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(path.display().to_string(), format!("cannot read: {e}")))?;
            let overlay: toml::Table = text
                .parse()
                .map_err(|e| syntax_error(&path.display().to_string(), &text, &e))?;
            merge(&mut table, overlay, "")?;
        }
        for (name, value) in vars {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX) {
                apply_env(&mut table, name, rest, value)?;
            }
        }
        let text = toml::to_string(&table).map_err(|e| err("config", e.to_string()))?;
        let raw: Raw = toml::from_str(&text).map_err(|e| {
            let key = e
                .span()
                .and_then(|span| locate(&text, span.start).1)
                .unwrap_or_else(|| "config".to_string());
            err(key, without_values(e.message()))
        })?;
        Self::from_raw(raw, Secrets::from_env(get))
    }

    fn from_raw(raw: Raw, secrets: Secrets) -> Result<Self, ConfigError> {
        if raw.database.path.trim().is_empty() {
            return Err(err("database.path", "cannot be empty"));
        }
        if raw.database.max_connections == 0 {
            return Err(err("database.max_connections", "must be at least 1"));
        }
        let currency = raw.shop.currency.trim().to_string();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(err(
                "shop.currency",
                "is not a three-letter ISO 4217 code like EUR",
            ));
        }
        if raw.console.page_size == 0 || raw.console.page_size > 25 {
            return Err(err("console.page_size", "must be between 1 and 25"));
        }
        let base = raw
            .discord
            .api_base_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(err("discord.api_base_url", "is not an http(s) URL"));
        }
        let bind: SocketAddr = raw
            .http
            .bind
            .trim()
            .parse()
            .map_err(|_| err("http.bind", "is not an address like 127.0.0.1:8080"))?;
        if raw.http.max_body_bytes < 1024 {
            return Err(err("http.max_body_bytes", "must be at least 1024"));
        }
        let public_url =
            non_empty(&raw.http.public_url).map(|u| u.trim_end_matches('/').to_string());
        if let Some(u) = &public_url {
            if !is_http_url(u) {
                return Err(err("http.public_url", "is not an http(s) URL"));
            }
        }
        let notify = notify_settings(&raw.notify)?;
        let sms = sms_settings(&raw.sms)?;
        // A claimed batch must be sent well inside its lease, or another dispatcher would claim
        // the rows still waiting for the pacing and send them twice.
        if sms.per_second > 0
            && u64::from(notify.batch_size) * 2 > notify.lease.as_secs() * u64::from(sms.per_second)
        {
            return Err(err(
                "notify.batch_size",
                "a batch paced at sms.per_second takes more than half of notify.lease_seconds: lower the batch, or raise the lease or the rate",
            ));
        }
        let email = email_settings(&raw.email)?;
        let p = &raw.priority;
        for (key, v) in [
            ("priority.standard", p.standard),
            ("priority.silver", p.silver),
            ("priority.gold", p.gold),
            ("priority.vip", p.vip),
            ("priority.per_currency_unit", p.per_currency_unit),
            ("priority.per_day", p.per_day),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(err(key, "must be a non-negative number"));
            }
        }
        if raw.shutdown.grace_seconds > 600 {
            return Err(err("shutdown.grace_seconds", "must be at most 600"));
        }
        let alerts = alert_settings(
            &raw.alerts,
            (raw.discord.alert_channel_id != 0).then_some(raw.discord.alert_channel_id),
        )?;
        let forecast = forecast_settings(&raw.forecast)?;
        Ok(Self {
            alerts,
            forecast,
            shutdown: ShutdownSettings {
                grace: std::time::Duration::from_secs(raw.shutdown.grace_seconds),
            },
            database: DatabaseSettings {
                path: PathBuf::from(raw.database.path.trim()),
                max_connections: raw.database.max_connections,
                reader_connections: match raw.database.reader_connections {
                    0 => auto_reader_connections(),
                    n => n,
                },
                busy_timeout: std::time::Duration::from_millis(raw.database.busy_timeout_ms),
            },
            shop: ShopSettings {
                name: raw.shop.name,
                currency,
                demo_data_on_first_start: raw.shop.demo_data_on_first_start,
            },
            console: ConsoleSettings {
                actor: raw.console.actor,
                page_size: raw.console.page_size,
            },
            discord: DiscordSettings {
                api_base_url: base,
                guild_ids: raw.discord.guild_ids,
                ops_role_ids: raw.discord.ops_role_ids,
                alert_channel_id: (raw.discord.alert_channel_id != 0)
                    .then_some(raw.discord.alert_channel_id),
            },
            http: HttpSettings {
                bind,
                max_body_bytes: raw.http.max_body_bytes,
                public_url,
            },
            priority: PriorityWeights {
                tier_points: [p.standard, p.silver, p.gold, p.vip],
                per_currency_unit: p.per_currency_unit,
                per_day: p.per_day,
            },
            fulfilment: FulfilmentRules {
                allow_partial: raw.fulfilment.allow_partial,
                skip_blocked: raw.fulfilment.skip_blocked,
            },
            notify,
            sms,
            email,
            secrets,
        })
    }
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn is_http_url(u: &str) -> bool {
    (u.starts_with("http://") || u.starts_with("https://")) && u.len() > 10
}

fn notify_settings(raw: &RawNotify) -> Result<NotifySettings, ConfigError> {
    use std::time::Duration;
    if raw.poll_ms == 0 {
        return Err(err("notify.poll_ms", "must be at least 1"));
    }
    if raw.batch_size == 0 || raw.batch_size > 10_000 {
        return Err(err("notify.batch_size", "must be between 1 and 10000"));
    }
    if raw.lease_seconds == 0 {
        return Err(err("notify.lease_seconds", "must be at least 1"));
    }
    if raw.max_attempts == 0 {
        return Err(err("notify.max_attempts", "must be at least 1"));
    }
    if raw.min_eta_shift_days < 0 {
        return Err(err("notify.min_eta_shift_days", "cannot be negative"));
    }
    let quiet_hours = crate::domain::notify::QuietHours::parse(&raw.quiet_hours).map_err(|_| {
        err(
            "notify.quiet_hours",
            "is not a window like 21:00-08:00 (or \"\")",
        )
    })?;
    Ok(NotifySettings {
        enabled: raw.enabled,
        poll: Duration::from_millis(raw.poll_ms),
        batch_size: raw.batch_size,
        lease: Duration::from_secs(raw.lease_seconds),
        max_attempts: raw.max_attempts,
        min_eta_shift_days: raw.min_eta_shift_days,
        coalesce: Duration::from_secs(raw.coalesce_minutes * 60),
        quiet_hours,
        templates_dir: non_empty(&raw.templates_dir).map(PathBuf::from),
    })
}

fn sms_settings(raw: &RawSms) -> Result<SmsSettings, ConfigError> {
    let base_url = raw.base_url.trim().trim_end_matches('/').to_string();
    if !is_http_url(&base_url) {
        return Err(err("sms.base_url", "is not an http(s) URL"));
    }
    let from = non_empty(&raw.from);
    if let Some(f) = &from {
        crate::domain::PhoneNumber::parse(f)
            .map_err(|_| err("sms.from", "is not an E.164 phone number"))?;
    }
    if raw.max_segments == 0 || raw.max_segments > 10 {
        return Err(err("sms.max_segments", "must be between 1 and 10"));
    }
    if raw.timeout_ms == 0 {
        return Err(err("sms.timeout_ms", "must be at least 1"));
    }
    Ok(SmsSettings {
        base_url,
        from,
        messaging_service_sid: non_empty(&raw.messaging_service_sid),
        per_second: raw.per_second,
        max_segments: raw.max_segments,
        timeout: std::time::Duration::from_millis(raw.timeout_ms),
    })
}

fn email_settings(raw: &RawEmail) -> Result<EmailSettings, ConfigError> {
    let tls = match raw.tls.trim().to_ascii_lowercase().as_str() {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        _ => return Err(err("email.tls", "must be none, starttls or tls")),
    };
    crate::domain::EmailAddress::parse(&raw.from)
        .map_err(|_| err("email.from", "is not an e-mail address"))?;
    let reply_to = non_empty(&raw.reply_to);
    if let Some(r) = &reply_to {
        crate::domain::EmailAddress::parse(r)
            .map_err(|_| err("email.reply_to", "is not an e-mail address"))?;
    }
    if raw.port == 0 {
        return Err(err("email.port", "must be a port number"));
    }
    Ok(EmailSettings {
        host: non_empty(&raw.host),
        port: raw.port,
        tls,
        username: non_empty(&raw.username),
        from: raw.from.trim().to_string(),
        reply_to,
        timeout: std::time::Duration::from_millis(raw.timeout_ms.max(1)),
    })
}

fn alert_settings(
    raw: &RawAlerts,
    default_channel: Option<u64>,
) -> Result<AlertSettings, ConfigError> {
    let catch_up = parse_duration(&raw.catch_up)
        .map_err(|e| err("alerts.catch_up", redact(e, &raw.catch_up)))?;
    let mut rules: Vec<AlertRule> = Vec::new();
    for (i, r) in raw.rules.iter().enumerate() {
        let name = r
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err(format!("alerts.rules[{i}].name"), "is required"))?
            .to_string();
        let key = |k: &str| format!("alerts.rules[{i}] ({name}).{k}");
        if rules.iter().any(|o| o.name.eq_ignore_ascii_case(&name)) {
            return Err(err(key("name"), "another rule has this name"));
        }
        let raw_schedule = r
            .schedule
            .as_deref()
            .ok_or_else(|| err(key("schedule"), "is required"))?;
        let schedule = CronSchedule::parse(raw_schedule)
            .map_err(|e| err(key("schedule"), redact(e, raw_schedule)))?;
        let raw_tz = r.timezone.as_deref().unwrap_or("UTC");
        let timezone =
            parse_timezone(raw_tz).map_err(|e| err(key("timezone"), redact(e, raw_tz)))?;
        let channel_id = r
            .channel_id
            .filter(|c| *c != 0)
            .or(default_channel)
            .ok_or_else(|| {
                err(
                    key("channel_id"),
                    "no channel: set it or discord.alert_channel_id",
                )
            })?;
        let raw_severity = r.min_severity.as_deref().unwrap_or("at_risk");
        let min_severity = Severity::parse(raw_severity)
            .map_err(|e| err(key("min_severity"), redact(e, raw_severity)))?;
        let raw_repeat = r.repeat_interval.as_deref().unwrap_or("24h");
        let repeat_interval = parse_duration(raw_repeat)
            .map_err(|e| err(key("repeat_interval"), redact(e, raw_repeat)))?;
        let resolve_margin = match &r.resolve_margin {
            None => Ok(0.1),
            Some(toml::Value::String(s)) => parse_margin(s),
            Some(toml::Value::Float(f)) => parse_margin(&f.to_string()),
            Some(toml::Value::Integer(n)) => parse_margin(&format!("{n}%")),
            Some(_) => Err("is not a margin like \"10%\"".to_string()),
        }
        .map_err(|_| {
            err(
                key("resolve_margin"),
                "is not a margin from 0% to 1000% like \"10%\"",
            )
        })?;
        rules.push(AlertRule {
            name,
            schedule,
            timezone,
            channel_id,
            scope: Scope {
                categories: r.categories.clone(),
                suppliers: r.suppliers.clone(),
                sku_prefix: r
                    .sku_prefix
                    .as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            },
            min_severity,
            repeat_interval,
            resolve_margin,
        });
    }
    Ok(AlertSettings {
        catch_up,
        rules,
        mention_role: (raw.mention_role != 0).then_some(raw.mention_role),
    })
}

/// A parser's message with the value it quotes replaced: config errors name the key, never the
/// value (it may be a misplaced secret).
fn redact(msg: impl std::fmt::Display, raw: &str) -> String {
    let msg = msg.to_string();
    let raw = raw.trim();
    if raw.is_empty() {
        return msg;
    }
    msg.replace(&format!("\"{raw}\""), "the value")
        .replace(raw, "…")
}

/// A TOML syntax error as "FILE line N (key K): what", never the offending text: the line may
/// hold a secret (toml's own `Display` prints the source line).
fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, key) = e
        .span()
        .map(|span| locate(text, span.start))
        .unwrap_or((0, None));
    let mut at = file.to_string();
    if line > 0 {
        at.push_str(&format!(" line {line}"));
    }
    if let Some(key) = key {
        at.push_str(&format!(" (key {key})"));
    }
    err(at, without_values(e.message()))
}

/// The 1-based line of byte `offset` in `text`, and the dotted key set on that line if one can
/// be read from it (`[section]` headers above, `key =` on the line).
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let before = &text[..offset.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let mut section = String::new();
    let mut key = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if i + 1 == line_no {
            key = t
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
            break;
        }
        if t.starts_with('[') {
            section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let key = key.map(|k| {
        if section.is_empty() {
            k
        } else {
            format!("{section}.{k}")
        }
    });
    (line_no, key)
}

/// A TOML/serde message without the value it quotes (`invalid type: string "…", expected u32`
/// becomes `has the wrong type, expected u32`).
fn without_values(msg: &str) -> String {
    let msg = msg.trim();
    if let Some((_, expected)) = msg.split_once(", expected ") {
        if msg.starts_with("invalid type") {
            return format!("has the wrong type, expected {expected}");
        }
        if msg.starts_with("invalid value") || msg.starts_with("invalid length") {
            return format!("is not valid, expected {expected}");
        }
    }
    if msg.contains('"') || msg.contains('\'') {
        "is not valid TOML here".to_string()
    } else {
        msg.to_string()
    }
}

fn merge(base: &mut toml::Table, overlay: toml::Table, prefix: &str) -> Result<(), ConfigError> {
    for (k, v) in overlay {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o, &key)?,
            (Some(slot), v) => *slot = v,
            (None, _) => return Err(err(key, "unknown setting")),
        }
    }
    Ok(())
}

/// `database.reader_connections = 0`: twice the cores the machine offers this process. The
/// reads people wait on are CPU work on a file the OS caches: beyond a few per core, more
/// connections only make more threads wait in the OS's scheduler (at random) instead of in
/// the pool's queue (in turn); fewer make requests queue (docs/performance.md).
fn auto_reader_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).clamp(2, 64) as u32
}

fn apply_env(
    table: &mut toml::Table,
    var: &str,
    rest: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
    let [section, key] = parts.as_slice() else {
        return Err(err(var, "expected BACKORDER_BOT__<SECTION>__<KEY>"));
    };
    let slot = table
        .get_mut(section.as_str())
        .and_then(|s| s.as_table_mut())
        .and_then(|s| s.get_mut(key.as_str()))
        .ok_or_else(|| err(var, format!("unknown setting {section}.{key}")))?;
    // The value is never echoed: a misplaced secret must not reach a log.
    let bad = |what: &str| {
        err(
            format!("{section}.{key} (from {var})"),
            format!("is not {what}"),
        )
    };
    let v = value.trim();
    *slot = match slot {
        toml::Value::String(_) => toml::Value::String(v.to_string()),
        toml::Value::Integer(_) => {
            toml::Value::Integer(v.parse().map_err(|_| bad("a whole number"))?)
        }
        toml::Value::Float(_) => toml::Value::Float(v.parse().map_err(|_| bad("a number"))?),
        toml::Value::Boolean(_) => toml::Value::Boolean(match v {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => return Err(bad("true or false")),
        }),
        toml::Value::Array(_) => {
            // Comma-separated ids: `123,456`.
            let items: Result<Vec<toml::Value>, _> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<i64>().map(toml::Value::Integer))
                .collect();
            toml::Value::Array(items.map_err(|_| bad("a comma-separated list of ids"))?)
        }
        _ => return Err(err(var, "cannot be set from the environment")),
    };
    Ok(())
}

/// `[forecast]`: how demand forecasts are made (issue 20).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSettings {
    /// Smoothing constant of every method, or the grid search.
    pub alpha: crate::domain::forecast::AlphaChoice,
    /// The service level safety stock is set for.
    pub service_level: crate::domain::forecast::ServiceLevel,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        Self {
            alpha: crate::domain::forecast::AlphaChoice::default(),
            service_level: crate::domain::forecast::ServiceLevel::DEFAULT,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForecast {
    alpha: RawAlpha,
    service_level: f64,
}

impl Default for RawForecast {
    fn default() -> Self {
        let d = ForecastSettings::default();
        Self {
            alpha: RawAlpha::Number(crate::domain::forecast::Alpha::DEFAULT.get()),
            service_level: d.service_level.get(),
        }
    }
}

/// `alpha = 0.2` or `alpha = "optimize"` (or `"0.2"`, as an environment variable gives it).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawAlpha {
    Number(f64),
    Text(String),
}

fn forecast_settings(raw: &RawForecast) -> Result<ForecastSettings, ConfigError> {
    use crate::domain::forecast::{Alpha, AlphaChoice, ServiceLevel};
    let alpha = match &raw.alpha {
        RawAlpha::Number(v) => Alpha::new(*v).map(AlphaChoice::Fixed),
        RawAlpha::Text(t) => AlphaChoice::parse(t),
    }
    .map_err(|e| err("forecast.alpha", e.to_string()))?;
    let service_level = ServiceLevel::new(raw.service_level)
        .map_err(|e| err("forecast.service_level", e.to_string()))?;
    Ok(ForecastSettings {
        alpha,
        service_level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = vars.clone();
        Settings::load_from(None, &vars, &move |name| {
            lookup
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_load() {
        let s = load(&[]).unwrap();
        assert_eq!(s.http.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.discord.alert_channel_id, None);
        assert!(s.secrets.discord_token.is_none());
    }

    #[test]
    fn environment_overrides_with_typed_values() {
        let s = load(&[
            ("BACKORDER_BOT__HTTP__BIND", "0.0.0.0:9000"),
            ("BACKORDER_BOT__DISCORD__GUILD_IDS", "1,2"),
            ("BACKORDER_BOT__FULFILMENT__ALLOW_PARTIAL", "true"),
        ])
        .unwrap();
        assert_eq!(s.http.bind.port(), 9000);
        assert_eq!(s.discord.guild_ids, vec![1, 2]);
        assert!(s.fulfilment.allow_partial);
    }

    #[test]
    fn reader_connections_default_to_twice_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        let s = load(&[]).unwrap();
        assert_eq!(s.database.reader_connections, (2 * cores).max(2));
        assert_eq!(s.database.max_connections, 8);
        let s = load(&[("BACKORDER_BOT__DATABASE__READER_CONNECTIONS", "3")]).unwrap();
        assert_eq!(s.database.reader_connections, 3);
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = load(&[("BACKORDER_BOT__HTTP__BIND", "nowhere")]).unwrap_err();
        assert!(e.to_string().contains("http.bind"), "{e}");
        let e = load(&[("BACKORDER_BOT__DATABASE__MAX_CONNECTIONS", "many")]).unwrap_err();
        assert!(e.to_string().contains("database.max_connections"), "{e}");
        let e = load(&[("BACKORDER_BOT__HTTP__NOPE", "1")]).unwrap_err();
        assert!(e.to_string().contains("unknown setting http.nope"), "{e}");
        let e = load(&[("BACKORDER_BOT__SHOP__CURRENCY", "euro")]).unwrap_err();
        assert!(e.to_string().contains("shop.currency"), "{e}");
        let e = load(&[("BACKORDER_BOT__NOTIFY__QUIET_HOURS", "late")]).unwrap_err();
        assert!(e.to_string().contains("notify.quiet_hours"), "{e}");
        let e = load(&[("BACKORDER_BOT__EMAIL__TLS", "ssl3")]).unwrap_err();
        assert!(e.to_string().contains("email.tls"), "{e}");
        // 50 messages at 1 a second need 50 s of a 60 s lease.
        let e = load(&[("BACKORDER_BOT__SMS__PER_SECOND", "1")]).unwrap_err();
        assert!(e.to_string().contains("notify.batch_size"), "{e}");
        assert!(load(&[
            ("BACKORDER_BOT__SMS__PER_SECOND", "1"),
            ("BACKORDER_BOT__NOTIFY__BATCH_SIZE", "30"),
        ])
        .is_ok());
        let e = load(&[("BACKORDER_BOT__SMS__FROM", "12345")]).unwrap_err();
        assert!(e.to_string().contains("sms.from"), "{e}");
        assert!(!e.to_string().contains("12345"), "{e}");
    }

    #[test]
    fn notification_settings_load_from_the_environment() {
        let s = load(&[
            ("BACKORDER_BOT__SMS__BASE_URL", "http://127.0.0.1:9/"),
            ("BACKORDER_BOT__EMAIL__TLS", "none"),
            ("BACKORDER_BOT__NOTIFY__COALESCE_MINUTES", "3"),
            ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
            (
                "BACKORDER_BOT__HTTP__PUBLIC_URL",
                "https://bot.example.com/",
            ),
        ])
        .unwrap();
        assert_eq!(s.sms.base_url, "http://127.0.0.1:9");
        assert_eq!(s.email.tls, SmtpTls::None);
        assert_eq!(s.notify.coalesce.as_secs(), 180);
        assert_eq!(s.notify.quiet_hours, None);
        assert_eq!(
            s.http.public_url.as_deref(),
            Some("https://bot.example.com")
        );
        let d = load(&[]).unwrap();
        assert!(d.notify.quiet_hours.is_some());
        assert_eq!(d.notify.max_attempts, 8);
        assert_eq!(d.sms.max_segments, 2);
    }

    fn load_file(toml: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        Settings::load_from(Some(&path), &[], &|_| None)
    }

    #[test]
    fn alert_rules_parse_with_defaults() {
        let s = load_file(
            "[discord]\nalert_channel_id = 42\n[[alerts.rules]]\nname = \"nightly\"\nschedule = \"30 7 * * Mon-Fri\"\ntimezone = \"Europe/Berlin\"\ncategories = [\"tents\"]\n[[alerts.rules]]\nname = \"hourly\"\nschedule = \"0 0 * * * *\"\nchannel_id = 7\nmin_severity = \"critical\"\nrepeat_interval = \"2h\"\nresolve_margin = \"25%\"\n",
        )
        .unwrap();
        assert_eq!(s.alerts.catch_up, chrono::Duration::hours(6));
        let r = &s.alerts.rules[0];
        assert_eq!(r.channel_id, 42);
        assert_eq!(r.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(r.repeat_interval, chrono::Duration::hours(24));
        assert_eq!(r.resolve_margin, 0.1);
        assert_eq!(r.min_severity, Severity::AtRisk);
        assert_eq!(r.scope.categories, vec!["tents".to_string()]);
        let r = s.alerts.rule("HOURLY").unwrap();
        assert_eq!(r.channel_id, 7);
        assert_eq!(r.min_severity, Severity::Critical);
        assert_eq!(r.resolve_margin, 0.25);
    }

    #[test]
    fn bad_alert_rules_stop_start_up_naming_rule_and_key() {
        let e = load_file(
            "[[alerts.rules]]\nname = \"n\"\nschedule = \"61 * * * *\"\nchannel_id = 1\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("alerts.rules[0] (n).schedule"),
            "{e}"
        );
        let e = load_file("[[alerts.rules]]\nname = \"n\"\nschedule = \"0 7 * * *\"\ntimezone = \"Mars/Base\"\nchannel_id = 1\n").unwrap_err();
        assert!(
            e.to_string().contains("alerts.rules[0] (n).timezone"),
            "{e}"
        );
        let e =
            load_file("[[alerts.rules]]\nname = \"n\"\nschedule = \"0 7 * * *\"\n").unwrap_err();
        assert!(
            e.to_string().contains("alerts.rules[0] (n).channel_id"),
            "{e}"
        );
        let e = load_file("[alerts]\ncatch_up = \"later\"\n").unwrap_err();
        assert!(e.to_string().contains("alerts.catch_up"), "{e}");
        // Too long for the date arithmetic: an error naming the key, not a panic at start-up.
        let e = load_file("[alerts]\ncatch_up = \"2000000000000d\"\n").unwrap_err();
        assert!(e.to_string().contains("alerts.catch_up"), "{e}");
    }

    #[test]
    fn a_malformed_config_line_names_file_line_and_key_but_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("local.toml");
        std::fs::write(
            &file,
            "[shop]\nname = \"Mine\"\n\n[discord]\napi_base_url = sk_live_5up3r53cr3t\n",
        )
        .unwrap();
        let e = Settings::load_from(Some(&file), &[], &|_| None).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("line 5"), "{text}");
        assert!(text.contains("discord.api_base_url"), "{text}");
        assert!(!text.contains("sk_live"), "{text}");

        std::fs::write(
            &file,
            "[database]\nmax_connections = \"sk_live_5up3r53cr3t\"\n",
        )
        .unwrap();
        let text = Settings::load_from(Some(&file), &[], &|_| None)
            .unwrap_err()
            .to_string();
        assert!(text.contains("database.max_connections"), "{text}");
        assert!(!text.contains("sk_live"), "{text}");
    }

    #[test]
    fn a_bad_alert_rule_value_is_named_by_key_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alerts.toml");
        for (field, value) in [
            ("schedule", "sk_live_5up3r53cr3t"),
            ("timezone", "sk_live_5up3r53cr3t"),
            ("repeat_interval", "sk_live_5up3r53cr3t"),
            ("min_severity", "sk_live_5up3r53cr3t"),
            ("resolve_margin", "sk_live_5up3r53cr3t"),
        ] {
            let mut rule = vec![
                ("name", "low"),
                ("schedule", "0 0 8 * * *"),
                ("channel_id", "1"),
            ];
            rule.retain(|(k, _)| *k != field);
            let mut text = String::from("[[alerts.rules]]\n");
            for (k, v) in rule {
                if k == "channel_id" {
                    text.push_str(&format!("{k} = {v}\n"));
                } else {
                    text.push_str(&format!("{k} = \"{v}\"\n"));
                }
            }
            text.push_str(&format!("{field} = \"{value}\"\n"));
            std::fs::write(&file, text).unwrap();
            let e = Settings::load_from(Some(&file), &[], &|_| None).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(field), "{field}: {msg}");
            assert!(!msg.contains("sk_live"), "{field}: {msg}");
        }
    }

    #[test]
    fn bad_values_from_the_environment_are_not_echoed() {
        for (var, value) in [
            (
                "BACKORDER_BOT__DATABASE__MAX_CONNECTIONS",
                "sk_live_5up3r53cr3t",
            ),
            ("BACKORDER_BOT__HTTP__BIND", "sk_live_5up3r53cr3t"),
            ("BACKORDER_BOT__SHOP__CURRENCY", "sk_live_5up3r53cr3t"),
            (
                "BACKORDER_BOT__DISCORD__API_BASE_URL",
                "sk_live_5up3r53cr3t",
            ),
            ("BACKORDER_BOT__PRIORITY__GOLD", "-1"),
        ] {
            let text = load(&[(var, value)]).unwrap_err().to_string();
            assert!(!text.contains(value), "{var}: {text}");
        }
    }

    #[test]
    fn secrets_come_from_their_own_variables_and_do_not_print() {
        let s = load(&[("DISCORD_TOKEN", "very-secret")]).unwrap();
        assert!(s.secrets.discord_token.is_some());
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}

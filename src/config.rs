//! Settings: `config/default.toml`, then an optional file, then `BACKORDER_BOT__*` variables,
//! merged by figment into one raw struct per section. Each raw section becomes its typed settings
//! through a `TryFrom`, at start-up, so that a bad value fails at once naming its key and where it
//! was set. Every setting is documented once, in `config/default.toml`.

use crate::domain::alerts::{parse_margin, AlertRule, Scope, Severity};
use crate::domain::priority::PriorityWeights;
use crate::domain::promise::FulfilmentRules;
use crate::domain::schedule::{parse_timezone, CronSchedule};
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The checked-in defaults, compiled in so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Prefix of environment variables that override settings.
pub const ENV_PREFIX: &str = "BACKORDER_BOT__";

/// Longest duration a setting may hold: ten years. Any longer is a typo, and times that far away
/// overflow the date arithmetic (a panic at start-up instead of an error naming the key).
pub const MAX_DURATION: Duration = Duration::from_secs(3650 * 24 * 3600);

/// A setting that could not be used; names the key and where it was set, never the value (it may
/// be a misplaced secret).
#[derive(Debug, thiserror::Error)]
#[error("config: {key}{}: {reason}", .origin.as_deref().map(|s| format!(" ({s})")).unwrap_or_default())]
pub struct ConfigError {
    /// Dotted key (`http.bind`), or the variable or file that could not be read.
    pub key: String,
    /// Where the value came from: `from BACKORDER_BOT__HTTP__BIND`, `in local.toml`; `None` for
    /// the defaults and for errors that are not about one value.
    pub origin: Option<String>,
    /// What was wrong.
    pub reason: String,
}

fn err(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        origin: None,
        reason: reason.into(),
    }
}

/// All settings, typed. What each one means is documented once, in `config/default.toml`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub shop: ShopSettings,
    pub console: ConsoleSettings,
    pub discord: DiscordSettings,
    pub http: HttpSettings,
    pub priority: PriorityWeights,
    pub fulfilment: FulfilmentRules,
    pub shutdown: ShutdownSettings,
    pub notify: NotifySettings,
    pub sms: SmsSettings,
    pub email: EmailSettings,
    pub alerts: AlertSettings,
    /// `[forecast]`
    pub forecast: ForecastSettings,
    /// `[portal]`
    pub portal: PortalSettings,
    /// `[incentives]`: when a backorder earns a discount code.
    pub incentives: crate::domain::incentive::IncentiveRules,
    /// Secrets, from their own environment variables only.
    pub secrets: Secrets,
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Which engine `database.url` names.
    pub engine: Engine,
    /// The SQLite file: the one a `sqlite://` url names, else `database.path`.
    pub path: PathBuf,
    pub max_connections: u32,
    /// Never 0: the file's 0 is resolved to a count here.
    pub reader_connections: u32,
    pub busy_timeout: Duration,
    /// Serve from PostgreSQL before the whole store runs on it (the port's own tests; parts
    /// still answer "does not run on PostgreSQL yet").
    pub postgres_unfinished: bool,
}

/// `[shop]`
#[derive(Debug, Clone)]
pub struct ShopSettings {
    pub name: String,
    pub currency: String,
    pub demo_data_on_first_start: bool,
}

/// `[console]`
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    pub actor: String,
    pub page_size: u32,
}

/// `[discord]`
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// API root (no trailing slash).
    pub api_base_url: String,
    pub guild_ids: Vec<u64>,
    pub ops_role_ids: Vec<u64>,
    pub alert_channel_id: Option<u64>,
    /// Open the gateway connection (with `DISCORD_TOKEN`); false: interactions come over HTTP only.
    pub gateway: bool,
    /// How long a command over HTTP may run before its answer is deferred (under Discord's 3 s).
    pub answer_within: Duration,
    /// `DISCORD_PUBLIC_KEY`: verifies the signatures of interactions sent over HTTP.
    pub public_key: Option<ed25519_dalek::VerifyingKey>,
}

/// `[alerts]`
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub catch_up: chrono::Duration,
    /// How long the scheduler's lease lasts without renewal: when its holder dies, another
    /// process takes the schedule over within this (and completes the run it left).
    pub lease: chrono::Duration,
    /// `[[alerts.rules]]`, names unique.
    pub rules: Vec<AlertRule>,
    pub mention_role: Option<u64>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            catch_up: chrono::Duration::zero(),
            lease: chrono::Duration::seconds(crate::domain::schedule::LEASE_SECS),
            rules: Vec::new(),
            mention_role: None,
        }
    }
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
    pub bind: SocketAddr,
    pub max_body_bytes: usize,
    /// Public base URL as Twilio reaches it (no trailing slash).
    pub public_url: Option<String>,
    pub metrics: bool,
}

impl HttpSettings {
    /// The base of links customers follow: `public_url`, or `http://{bind}` when it is empty
    /// (a local run then links to a page that works on this machine).
    pub fn link_base(&self) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => format!("http://{}", self.bind),
        }
    }
}

/// `[portal]`: the customer's own page `/b/<token>` (issue 21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSettings {
    /// Days a link works after the message that carried it.
    pub link_days: u32,
    /// Requests to `/b/` per client address per minute.
    pub per_minute: u32,
}

/// `[notify]`
#[derive(Debug, Clone)]
pub struct NotifySettings {
    pub enabled: bool,
    pub poll: Duration,
    pub batch_size: u32,
    pub lease: Duration,
    pub max_attempts: u32,
    pub min_eta_shift_days: i64,
    pub coalesce: Duration,
    /// SMS quiet hours; `None` = off.
    pub quiet_hours: Option<crate::domain::notify::QuietHours>,
    pub templates_dir: Option<PathBuf>,
    /// When one change's updates wait for ops (`approval_min_customers`, `approval_min_shift_days`).
    pub approval: crate::domain::approval::ApprovalRule,
    /// When a held batch gets its one reminder.
    pub approval_remind_after: Duration,
}

/// `[sms]`
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// API root (no trailing slash).
    pub base_url: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub per_second: u32,
    pub max_segments: u32,
    pub timeout: Duration,
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
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub timeout: Duration,
}

/// `[shutdown]`
#[derive(Debug, Clone)]
pub struct ShutdownSettings {
    pub grace: Duration,
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
    /// `DISCORD_PUBLIC_KEY` as given (not secret); parsed into `discord.public_key`.
    pub discord_public_key: Option<String>,
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
            discord_public_key: get("DISCORD_PUBLIC_KEY")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        }
    }
}

impl Settings {
    /// Loads from the real environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_file, &vars, &|name| std::env::var(name).ok())
    }

    /// Loads from the given variables (tests pass their own). A deprecated key is read as its
    /// replacement, with a warning naming both.
    pub fn load_from(
        config_file: Option<&Path>,
        vars: &[(String, String)],
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut layers = vec![Layer::toml(
            Origin::Defaults,
            "config/default.toml",
            DEFAULT_TOML,
        )?];
        if let Some(path) = config_file {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| err(&name, format!("cannot read: {e}")))?;
            layers.push(Layer::toml(Origin::File, &name, &text)?);
        }
        layers.push(Layer::environment(vars)?);
        for layer in &mut layers {
            layer.upgrade()?;
        }
        let figment = layers.iter().fold(Figment::new(), Figment::merge);
        let layered = Layered { figment, layers };
        let raw: Raw = layered
            .figment
            .extract_lossy()
            .map_err(|e| layered.deserialize_error(e))?;
        Self::from_raw(raw, Secrets::from_env(get)).map_err(|e| layered.locate(e))
    }

    fn from_raw(raw: Raw, secrets: Secrets) -> Result<Self, ConfigError> {
        let default_channel =
            (raw.discord.alert_channel_id != 0).then_some(raw.discord.alert_channel_id);
        let notify = NotifySettings::try_from(raw.notify)?;
        let sms = SmsSettings::try_from(raw.sms)?;
        // A claimed batch must be sent well inside its lease, or another dispatcher would claim
        // the rows still waiting for the pacing and send them twice.
        if sms.per_second > 0
            && u128::from(notify.batch_size) * 2 * 1000
                > notify.lease.as_millis() * u128::from(sms.per_second)
        {
            return Err(err(
                "notify.batch_size",
                "a batch paced at sms.per_second takes more than half of notify.lease: lower the batch, or raise the lease or the rate",
            ));
        }
        let mut discord = DiscordSettings::try_from(raw.discord)?;
        discord.public_key = secrets
            .discord_public_key
            .as_deref()
            .map(parse_public_key)
            .transpose()?;
        Ok(Self {
            database: raw.database.try_into()?,
            shop: raw.shop.try_into()?,
            console: raw.console.try_into()?,
            discord,
            http: raw.http.try_into()?,
            priority: raw.priority.try_into()?,
            fulfilment: raw.fulfilment.into(),
            shutdown: raw.shutdown.try_into()?,
            alerts: raw.alerts.into_settings(default_channel)?,
            notify,
            sms,
            email: raw.email.try_into()?,
            forecast: raw.forecast.try_into()?,
            portal: raw.portal.try_into()?,
            incentives: raw.incentives.try_into()?,
            secrets,
        })
    }
}

/// Where a layer's values come from, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Defaults,
    File,
    Environment,
}

/// One source of settings, before merging.
struct Layer {
    origin: Origin,
    /// Unique among the layers: figment's metadata of a merged value names the layer it came from.
    name: String,
    data: Dict,
    /// Deprecated keys this layer set, as (replacement, deprecated key).
    renamed: Vec<(String, String)>,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// Keys that held a number in a unit of their own, each replaced by a humantime duration and
/// still read so that old files and environments keep working: (section, deprecated key,
/// replacement, unit of the old number).
const DEPRECATED: [(&str, &str, &str, &str); 7] = [
    ("database", "busy_timeout_ms", "busy_timeout", "ms"),
    ("shutdown", "grace_seconds", "grace", "s"),
    ("notify", "poll_ms", "poll", "ms"),
    ("notify", "lease_seconds", "lease", "s"),
    ("notify", "coalesce_minutes", "coalesce", "m"),
    ("sms", "timeout_ms", "timeout", "ms"),
    ("email", "timeout_ms", "timeout", "ms"),
];

impl Layer {
    fn toml(origin: Origin, name: &str, text: &str) -> Result<Self, ConfigError> {
        // Parsed here first for an error that names the line and key: figment's would quote
        // the line, which may hold a secret.
        text.parse::<toml::Table>()
            .map_err(|e| syntax_error(name, text, &e))?;
        let data = Toml::string(text)
            .data()
            .map_err(|_| err(name, "is not valid TOML"))?
            .remove(&Profile::Default)
            .unwrap_or_default();
        Ok(Self {
            origin,
            name: name.to_string(),
            data,
            renamed: Vec::new(),
        })
    }

    /// `BACKORDER_BOT__<SECTION>__<KEY>` variables. Values stay text: the setting's type decides
    /// how one reads (`+15005550006` is a sender number, not an integer).
    fn environment(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut data = Dict::new();
        for (var, value) in vars {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            let [section, key] = parts.as_slice() else {
                return Err(err(var, "expected BACKORDER_BOT__<SECTION>__<KEY>"));
            };
            if (section.as_str(), key.as_str()) == ("alerts", "rules") {
                return Err(err(var, "cannot be set from the environment"));
            }
            let table = data
                .entry(section.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, table) = table {
                table.insert(key.clone(), Value::from(value.trim().to_string()));
            }
        }
        Ok(Self {
            origin: Origin::Environment,
            name: "environment variables".to_string(),
            data,
            renamed: Vec::new(),
        })
    }

    /// Rewrites each deprecated key this layer sets into its replacement, in this layer, so that
    /// a later layer still overrides it; warns once per key.
    fn upgrade(&mut self) -> Result<(), ConfigError> {
        for (section, old, new, unit) in DEPRECATED {
            let old_key = format!("{section}.{old}");
            let new_key = format!("{section}.{new}");
            let origin = self.describe(&old_key);
            let Some(Value::Dict(_, table)) = self.data.get_mut(section) else {
                continue;
            };
            let Some(value) = table.remove(old) else {
                continue;
            };
            let error = |reason: String| ConfigError {
                key: old_key.clone(),
                origin: origin.clone(),
                reason,
            };
            if table.contains_key(new) {
                return Err(error(format!(
                    "is deprecated and {new_key} is set too: keep only {new_key}"
                )));
            }
            let n = value
                .to_num_lossy()
                .and_then(|n| n.to_u128_lossy())
                .ok_or_else(|| error("is not a whole number".to_string()))?;
            let duration = format!("{n}{unit}");
            let at = origin
                .as_deref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            tracing::warn!(
                "config: {old_key}{at} is deprecated: set {new_key} = \"{duration}\" instead"
            );
            table.insert(new.to_string(), Value::from(duration));
            self.renamed.push((new_key, old_key));
        }
        Ok(())
    }

    /// Where this layer sets `key`, as the user would look for it; `None` for the defaults.
    fn describe(&self, key: &str) -> Option<String> {
        match self.origin {
            Origin::Defaults => None,
            Origin::File => Some(format!("in {}", self.name)),
            Origin::Environment => Some(format!(
                "from {ENV_PREFIX}{}",
                key.replace('.', "__").to_ascii_uppercase()
            )),
        }
    }
}

/// The merged layers, kept to say where a bad value came from.
struct Layered {
    figment: Figment,
    layers: Vec<Layer>,
}

impl Layered {
    /// A figment error in our words: the key and a reason, never the value.
    fn deserialize_error(&self, e: figment::Error) -> ConfigError {
        use figment::error::Kind;
        let path = e.path.join(".");
        let field = |f: &str| {
            if path.is_empty() {
                f.to_string()
            } else {
                format!("{path}.{f}")
            }
        };
        let (key, reason) = match &e.kind {
            // figment's path already ends with the unknown key.
            Kind::UnknownField(f, _) if e.path.last() == Some(f) => {
                (path, "unknown setting".to_string())
            }
            Kind::UnknownField(f, _) => (field(f), "unknown setting".to_string()),
            Kind::MissingField(f) => (field(f), "is required".to_string()),
            Kind::InvalidType(_, expected) => (path, format!("is not {}", in_words(expected))),
            Kind::InvalidValue(_, expected) if in_words(expected) == "a whole number" => {
                (path, "is out of range".to_string())
            }
            Kind::InvalidValue(_, expected) | Kind::InvalidLength(_, expected) => (
                path,
                format!("is not valid, expected {}", in_words(expected)),
            ),
            Kind::UnknownVariant(..) => (path, "is not one of the accepted values".to_string()),
            Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => {
                (path, "is out of range".to_string())
            }
            // The messages of this module's own deserializers, which never quote the value.
            Kind::Message(m) => (path, m.clone()),
            _ => (path, "is not valid".to_string()),
        };
        self.locate(err(key, reason))
    }

    /// The error with the key the user set (the deprecated one, if that was it) and the file or
    /// variable it came from.
    fn locate(&self, mut e: ConfigError) -> ConfigError {
        if e.origin.is_some() {
            return e;
        }
        // `alerts.rules[0] (nightly).schedule` was set with `alerts.rules`.
        let setting = e.key.split(['[', ' ']).next().unwrap_or_default();
        let mut parts: Vec<&str> = setting.split('.').collect();
        let metadata = loop {
            if parts.is_empty() {
                return e;
            }
            if let Some(m) = self.figment.find_metadata(&parts.join(".")) {
                break m;
            }
            parts.pop();
        };
        let Some(layer) = self.layers.iter().find(|l| l.name == metadata.name) else {
            return e;
        };
        if let Some((_, old)) = layer.renamed.iter().find(|(new, _)| *new == e.key) {
            e.key = old.clone();
        }
        e.origin = layer.describe(&e.key);
        e
    }
}

/// serde's name of an expected type (`u32`, `a boolean`) as the user would say it.
fn in_words(expected: &str) -> String {
    let whole = [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    ];
    if whole.contains(&expected) {
        "a whole number".to_string()
    } else if expected == "f32" || expected == "f64" {
        "a number".to_string()
    } else if expected == "a boolean" {
        "true or false".to_string()
    } else if expected.starts_with("struct ") {
        "a table".to_string()
    } else {
        expected.to_string()
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
    forecast: RawForecast,
    portal: RawPortal,
    incentives: RawIncentives,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    path: String,
    max_connections: u32,
    reader_connections: u32,
    busy_timeout: String,
    postgres_unfinished: bool,
}

impl TryFrom<RawDatabase> for DatabaseSettings {
    type Error = ConfigError;

    fn try_from(raw: RawDatabase) -> Result<Self, ConfigError> {
        if raw.path.trim().is_empty() {
            return Err(err("database.path", "cannot be empty"));
        }
        if raw.max_connections == 0 {
            return Err(err("database.max_connections", "must be at least 1"));
        }
        let (engine, path) = match DatabaseUrl::parse(&raw.url)? {
            None => (Engine::Sqlite, PathBuf::from(raw.path.trim())),
            Some(DatabaseUrl::Sqlite(path)) => (Engine::Sqlite, path),
            Some(DatabaseUrl::Postgres(url)) => {
                (Engine::Postgres(url), PathBuf::from(raw.path.trim()))
            }
        };
        Ok(Self {
            engine,
            path,
            max_connections: raw.max_connections,
            reader_connections: match raw.reader_connections {
                0 => auto_reader_connections(),
                n => n,
            },
            busy_timeout: duration("database.busy_timeout", &raw.busy_timeout)?,
            postgres_unfinished: raw.postgres_unfinished,
        })
    }
}

/// The engine `database.url` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The SQLite file of [`DatabaseSettings::path`].
    Sqlite,
    Postgres(PostgresUrl),
}

/// A parsed `database.url` (empty: none, the SQLite file of `database.path`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

impl DatabaseUrl {
    /// Reads `sqlite://FILE` (`sqlite:///abs/FILE` for an absolute path) or
    /// `postgres://[user[:password]@]host[:port]/database[?options]`; `None` for an empty url.
    /// Errors name `database.url` and never hold the url (it may carry a password).
    pub fn parse(raw: &str) -> Result<Option<Self>, ConfigError> {
        const KEY: &str = "database.url";
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        let Some((scheme, _)) = raw.split_once(':') else {
            return Err(err(
                KEY,
                "is not a url: expected sqlite://FILE or postgres://HOST/DATABASE",
            ));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let file = raw["sqlite:".len()..].trim_start_matches("//");
                if file.contains('?') {
                    return Err(err(
                        KEY,
                        "takes no options after `?` for SQLite: the other database keys set them",
                    ));
                }
                if file.is_empty() {
                    return Err(err(KEY, "names no SQLite file: expected sqlite://FILE"));
                }
                Ok(Some(Self::Sqlite(PathBuf::from(file))))
            }
            "postgres" | "postgresql" => {
                PostgresUrl::parse(KEY, raw).map(|u| Some(Self::Postgres(u)))
            }
            _ => Err(err(
                KEY,
                "names an engine the bot does not know: expected sqlite:// or postgres://",
            )),
        }
    }
}

/// A `postgres://` url. It may carry a password, so `Debug` and [`PostgresUrl::redacted`] show
/// it with the password replaced; [`PostgresUrl::expose`] is for connecting only.
#[derive(Clone)]
pub struct PostgresUrl {
    secret: SecretString,
    redacted: String,
}

impl PostgresUrl {
    /// Checks the parts a connection needs: a host and a database name. `key` names the setting
    /// or argument in errors.
    pub fn parse(key: &str, raw: &str) -> Result<Self, ConfigError> {
        let mut url = url::Url::parse(raw.trim())
            .map_err(|e| err(key, format!("is not a valid postgres:// url ({e})")))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(err(key, "is not a postgres:// url"));
        }
        if url.host_str().map_or(true, str::is_empty) {
            return Err(err(key, "names no host: expected postgres://HOST/DATABASE"));
        }
        let database = url.path().trim_start_matches('/');
        if database.is_empty() || database.contains('/') {
            return Err(err(
                key,
                "names no database: expected postgres://HOST/DATABASE (one path segment)",
            ));
        }
        let secret = SecretString::from(raw.trim().to_string());
        if url.password().is_some() {
            // Infallible for a url with a host.
            let _ = url.set_password(Some("***"));
        }
        Ok(Self {
            secret,
            redacted: url.to_string(),
        })
    }

    /// The url to connect with.
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.secret.expose_secret()
    }

    /// The url with its password (if any) shown as `***`: for messages and logs.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl PartialEq for PostgresUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for PostgresUrl {}

/// `database.reader_connections = 0`: twice the cores the machine offers this process. The
/// reads people wait on are CPU work on a file the OS caches: beyond a few per core, more
/// connections only make more threads wait in the OS's scheduler (at random) instead of in
/// the pool's queue (in turn); fewer make requests queue (docs/performance.md).
fn auto_reader_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (2 * cores).clamp(2, 64) as u32
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShop {
    name: String,
    currency: String,
    demo_data_on_first_start: bool,
}

impl TryFrom<RawShop> for ShopSettings {
    type Error = ConfigError;

    fn try_from(raw: RawShop) -> Result<Self, ConfigError> {
        let currency = raw.currency.trim().to_string();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(err(
                "shop.currency",
                "is not a three-letter ISO 4217 code like EUR",
            ));
        }
        Ok(Self {
            name: raw.name,
            currency,
            demo_data_on_first_start: raw.demo_data_on_first_start,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    actor: String,
    page_size: u32,
}

impl TryFrom<RawConsole> for ConsoleSettings {
    type Error = ConfigError;

    fn try_from(raw: RawConsole) -> Result<Self, ConfigError> {
        if raw.page_size == 0 || raw.page_size > 25 {
            return Err(err("console.page_size", "must be between 1 and 25"));
        }
        Ok(Self {
            actor: raw.actor,
            page_size: raw.page_size,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscord {
    api_base_url: String,
    guild_ids: Ids,
    ops_role_ids: Ids,
    alert_channel_id: u64,
    gateway: bool,
    answer_within: String,
}

impl TryFrom<RawDiscord> for DiscordSettings {
    type Error = ConfigError;

    fn try_from(raw: RawDiscord) -> Result<Self, ConfigError> {
        Ok(Self {
            api_base_url: http_url("discord.api_base_url", &raw.api_base_url)?,
            guild_ids: raw.guild_ids.parse("discord.guild_ids")?,
            ops_role_ids: raw.ops_role_ids.parse("discord.ops_role_ids")?,
            alert_channel_id: (raw.alert_channel_id != 0).then_some(raw.alert_channel_id),
            gateway: raw.gateway,
            answer_within: {
                let d = duration("discord.answer_within", &raw.answer_within)?;
                if d > Duration::from_millis(2500) {
                    return Err(err(
                        "discord.answer_within",
                        "must be at most 2500ms: Discord waits 3s for the first answer",
                    ));
                }
                d
            },
            public_key: None,
        })
    }
}

/// `DISCORD_PUBLIC_KEY`: the application's Ed25519 public key, 64 hex digits as the developer
/// portal shows it.
fn parse_public_key(hex: &str) -> Result<ed25519_dalek::VerifyingKey, ConfigError> {
    const KEY: &str = "DISCORD_PUBLIC_KEY";
    let bytes = decode_hex::<32>(hex).ok_or_else(|| {
        err(
            KEY,
            "is not 64 hexadecimal digits (the application's public key)",
        )
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| err(KEY, "is not a valid Ed25519 public key"))
}

/// Exactly `N` bytes written as `2 N` hexadecimal digits (either case); `None` otherwise.
pub fn decode_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    let digits = hex.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    for (b, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        *b = (high * 16 + low) as u8;
    }
    Some(bytes)
}

/// Discord ids: a TOML array, or `123,456` from an environment variable.
#[derive(Deserialize)]
#[serde(untagged, expecting = "is not a list of ids")]
enum Ids {
    List(Vec<u64>),
    Text(String),
}

impl Ids {
    fn parse(self, key: &str) -> Result<Vec<u64>, ConfigError> {
        match self {
            Ids::List(ids) => Ok(ids),
            Ids::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| err(key, "is not a comma-separated list of ids")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    bind: String,
    max_body_bytes: usize,
    public_url: String,
    metrics: bool,
}

impl TryFrom<RawHttp> for HttpSettings {
    type Error = ConfigError;

    fn try_from(raw: RawHttp) -> Result<Self, ConfigError> {
        let bind: SocketAddr = raw
            .bind
            .trim()
            .parse()
            .map_err(|_| err("http.bind", "is not an address like 127.0.0.1:8080"))?;
        if raw.max_body_bytes < 1024 {
            return Err(err("http.max_body_bytes", "must be at least 1024"));
        }
        let public_url = non_empty(&raw.public_url)
            .map(|u| http_url("http.public_url", &u))
            .transpose()?;
        Ok(Self {
            bind,
            max_body_bytes: raw.max_body_bytes,
            public_url,
            metrics: raw.metrics,
        })
    }
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

impl TryFrom<RawPriority> for PriorityWeights {
    type Error = ConfigError;

    fn try_from(p: RawPriority) -> Result<Self, ConfigError> {
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
        Ok(Self {
            tier_points: [p.standard, p.silver, p.gold, p.vip],
            per_currency_unit: p.per_currency_unit,
            per_day: p.per_day,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFulfilment {
    allow_partial: bool,
    skip_blocked: bool,
}

impl From<RawFulfilment> for FulfilmentRules {
    fn from(raw: RawFulfilment) -> Self {
        Self {
            allow_partial: raw.allow_partial,
            skip_blocked: raw.skip_blocked,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShutdown {
    grace: String,
}

impl TryFrom<RawShutdown> for ShutdownSettings {
    type Error = ConfigError;

    fn try_from(raw: RawShutdown) -> Result<Self, ConfigError> {
        let grace = duration("shutdown.grace", &raw.grace)?;
        if grace > Duration::from_secs(600) {
            return Err(err("shutdown.grace", "must be at most 10m"));
        }
        Ok(Self { grace })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    enabled: bool,
    poll: String,
    batch_size: u32,
    lease: String,
    max_attempts: u32,
    min_eta_shift_days: i64,
    coalesce: String,
    quiet_hours: String,
    templates_dir: String,
    approval_min_customers: u32,
    approval_min_shift_days: i64,
    approval_remind_after: String,
}

impl TryFrom<RawNotify> for NotifySettings {
    type Error = ConfigError;

    fn try_from(raw: RawNotify) -> Result<Self, ConfigError> {
        let poll = duration("notify.poll", &raw.poll)?;
        if poll.is_zero() {
            return Err(err("notify.poll", "must be longer than 0s"));
        }
        if raw.batch_size == 0 || raw.batch_size > 10_000 {
            return Err(err("notify.batch_size", "must be between 1 and 10000"));
        }
        let lease = duration("notify.lease", &raw.lease)?;
        if lease < Duration::from_secs(1) {
            return Err(err("notify.lease", "must be at least 1s"));
        }
        if raw.max_attempts == 0 {
            return Err(err("notify.max_attempts", "must be at least 1"));
        }
        if raw.approval_min_shift_days < 0 {
            return Err(err("notify.approval_min_shift_days", "cannot be negative"));
        }
        if raw.min_eta_shift_days < 0 {
            return Err(err("notify.min_eta_shift_days", "cannot be negative"));
        }
        let quiet_hours =
            crate::domain::notify::QuietHours::parse(&raw.quiet_hours).map_err(|_| {
                err(
                    "notify.quiet_hours",
                    "is not a window like 21:00-08:00 (or \"\")",
                )
            })?;
        Ok(Self {
            enabled: raw.enabled,
            poll,
            batch_size: raw.batch_size,
            lease,
            max_attempts: raw.max_attempts,
            min_eta_shift_days: raw.min_eta_shift_days,
            coalesce: duration("notify.coalesce", &raw.coalesce)?,
            quiet_hours,
            templates_dir: non_empty(&raw.templates_dir).map(PathBuf::from),
            approval: crate::domain::approval::ApprovalRule {
                min_customers: raw.approval_min_customers,
                min_shift_days: raw.approval_min_shift_days,
            },
            approval_remind_after: duration(
                "notify.approval_remind_after",
                &raw.approval_remind_after,
            )?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSms {
    base_url: String,
    from: String,
    messaging_service_sid: String,
    per_second: u32,
    max_segments: u32,
    timeout: String,
}

impl TryFrom<RawSms> for SmsSettings {
    type Error = ConfigError;

    fn try_from(raw: RawSms) -> Result<Self, ConfigError> {
        let base_url = http_url("sms.base_url", &raw.base_url)?;
        let from = non_empty(&raw.from);
        if let Some(f) = &from {
            crate::domain::PhoneNumber::parse(f)
                .map_err(|_| err("sms.from", "is not an E.164 phone number"))?;
        }
        if raw.max_segments == 0 || raw.max_segments > 10 {
            return Err(err("sms.max_segments", "must be between 1 and 10"));
        }
        let timeout = duration("sms.timeout", &raw.timeout)?;
        if timeout.is_zero() {
            return Err(err("sms.timeout", "must be longer than 0s"));
        }
        Ok(Self {
            base_url,
            from,
            messaging_service_sid: non_empty(&raw.messaging_service_sid),
            per_second: raw.per_second,
            max_segments: raw.max_segments,
            timeout,
        })
    }
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
    timeout: String,
}

impl TryFrom<RawEmail> for EmailSettings {
    type Error = ConfigError;

    fn try_from(raw: RawEmail) -> Result<Self, ConfigError> {
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
        Ok(Self {
            host: non_empty(&raw.host),
            port: raw.port,
            tls,
            username: non_empty(&raw.username),
            from: raw.from.trim().to_string(),
            reply_to,
            timeout: duration("email.timeout", &raw.timeout)?.max(Duration::from_millis(1)),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    catch_up: String,
    lease: String,
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
    resolve_margin: Option<Value>,
}

impl RawAlerts {
    /// A rule without a channel posts to `default_channel` (`discord.alert_channel_id`).
    fn into_settings(self, default_channel: Option<u64>) -> Result<AlertSettings, ConfigError> {
        let mut rules: Vec<AlertRule> = Vec::new();
        for (i, r) in self.rules.into_iter().enumerate() {
            let rule = r.try_into_rule(i, default_channel)?;
            if rules
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&rule.name))
            {
                return Err(err(
                    format!("alerts.rules[{i}] ({}).name", rule.name),
                    "another rule has this name",
                ));
            }
            rules.push(rule);
        }
        let lease = chrono_duration("alerts.lease", &self.lease)?;
        if lease < chrono::Duration::seconds(1) {
            return Err(err("alerts.lease", "must be at least 1s"));
        }
        Ok(AlertSettings {
            catch_up: chrono_duration("alerts.catch_up", &self.catch_up)?,
            lease,
            rules,
            mention_role: (self.mention_role != 0).then_some(self.mention_role),
        })
    }
}

impl RawRule {
    fn try_into_rule(
        self,
        i: usize,
        default_channel: Option<u64>,
    ) -> Result<AlertRule, ConfigError> {
        let name = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| err(format!("alerts.rules[{i}].name"), "is required"))?
            .to_string();
        let key = |k: &str| format!("alerts.rules[{i}] ({name}).{k}");
        let raw_schedule = self
            .schedule
            .as_deref()
            .ok_or_else(|| err(key("schedule"), "is required"))?;
        let schedule = CronSchedule::parse(raw_schedule)
            .map_err(|e| err(key("schedule"), redact(e, raw_schedule)))?;
        let raw_tz = self.timezone.as_deref().unwrap_or("UTC");
        let timezone =
            parse_timezone(raw_tz).map_err(|e| err(key("timezone"), redact(e, raw_tz)))?;
        let channel_id = self
            .channel_id
            .filter(|c| *c != 0)
            .or(default_channel)
            .ok_or_else(|| {
                err(
                    key("channel_id"),
                    "no channel: set it or discord.alert_channel_id",
                )
            })?;
        let raw_severity = self.min_severity.as_deref().unwrap_or("at_risk");
        let min_severity = Severity::parse(raw_severity)
            .map_err(|e| err(key("min_severity"), redact(e, raw_severity)))?;
        let repeat_interval = chrono_duration(
            &key("repeat_interval"),
            self.repeat_interval.as_deref().unwrap_or("24h"),
        )?;
        let resolve_margin = match &self.resolve_margin {
            None => Ok(0.1),
            Some(Value::String(_, s)) => parse_margin(s),
            // `0.25` is a fraction and `25` a percentage, as they read.
            Some(Value::Num(_, n)) => match (n.to_f64(), n.to_u128_lossy()) {
                (Some(f), _) => parse_margin(&f.to_string()),
                (None, Some(percent)) => parse_margin(&format!("{percent}%")),
                (None, None) => Err(String::new()),
            },
            Some(_) => Err(String::new()),
        }
        .map_err(|_| {
            err(
                key("resolve_margin"),
                "is not a margin from 0% to 1000% like \"10%\"",
            )
        })?;
        Ok(AlertRule {
            name,
            schedule,
            timezone,
            channel_id,
            scope: Scope {
                categories: self.categories,
                suppliers: self.suppliers,
                sku_prefix: self
                    .sku_prefix
                    .as_deref()
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string),
            },
            min_severity,
            repeat_interval,
            resolve_margin,
        })
    }
}

/// A humantime duration (`90s`, `30m`, `6h`, `1h30m`, `7d`) of at most [`MAX_DURATION`].
fn duration(key: &str, raw: &str) -> Result<Duration, ConfigError> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|_| err(key, "is not a duration like 90s, 30m or 6h"))?;
    if d > MAX_DURATION {
        return Err(err(key, "is longer than 3650 days"));
    }
    Ok(d)
}

/// [`duration`] for date arithmetic.
fn chrono_duration(key: &str, raw: &str) -> Result<chrono::Duration, ConfigError> {
    chrono::Duration::from_std(duration(key, raw)?).map_err(|_| err(key, "is too long"))
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// An http(s) URL without its trailing slash, ready for paths to be appended.
fn http_url(key: &str, raw: &str) -> Result<String, ConfigError> {
    let url = raw.trim().trim_end_matches('/');
    if (url.starts_with("http://") || url.starts_with("https://")) && url.len() >= 10 {
        Ok(url.to_string())
    } else {
        Err(err(key, "is not an http(s) URL"))
    }
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
        .map(|span| line_and_key(text, span.start))
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
fn line_and_key(text: &str, offset: usize) -> (usize, Option<String>) {
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

/// `[forecast]`: how demand forecasts are made (issue 20).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastSettings {
    pub alpha: crate::domain::forecast::AlphaChoice,
    pub service_level: crate::domain::forecast::ServiceLevel,
    /// When the stored forecasts are refreshed (UTC); `None` (`schedule = ""`): never by itself.
    pub schedule: Option<CronSchedule>,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        Self {
            alpha: crate::domain::forecast::AlphaChoice::default(),
            service_level: crate::domain::forecast::ServiceLevel::DEFAULT,
            schedule: CronSchedule::parse(DEFAULT_FORECAST_SCHEDULE).ok(),
        }
    }
}

/// `[forecast] schedule` when not configured: nightly at 03:00 UTC.
const DEFAULT_FORECAST_SCHEDULE: &str = "0 3 * * *";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForecast {
    alpha: RawAlpha,
    service_level: f64,
    schedule: String,
}

/// `alpha = 0.2` or `alpha = "optimize"` (or `"0.2"`, as an environment variable gives it).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawAlpha {
    Number(f64),
    Text(String),
}

impl TryFrom<RawForecast> for ForecastSettings {
    type Error = ConfigError;

    fn try_from(raw: RawForecast) -> Result<Self, ConfigError> {
        use crate::domain::forecast::{Alpha, AlphaChoice, ServiceLevel};
        let alpha = match &raw.alpha {
            RawAlpha::Number(v) => Alpha::new(*v).map(AlphaChoice::Fixed),
            RawAlpha::Text(t) => AlphaChoice::parse(t),
        }
        .map_err(|e| err("forecast.alpha", e.to_string()))?;
        let service_level = ServiceLevel::new(raw.service_level)
            .map_err(|e| err("forecast.service_level", e.to_string()))?;
        let schedule = match raw.schedule.trim() {
            "" => None,
            cron => Some(
                CronSchedule::parse(cron)
                    .map_err(|e| err("forecast.schedule", redact(e, &raw.schedule)))?,
            ),
        };
        Ok(Self {
            alpha,
            service_level,
            schedule,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncentives {
    after_days: i64,
    slip_days: i64,
}

impl TryFrom<RawIncentives> for crate::domain::incentive::IncentiveRules {
    type Error = ConfigError;

    fn try_from(raw: RawIncentives) -> Result<Self, ConfigError> {
        let days = |key: &str, v: i64| {
            u32::try_from(v)
                .ok()
                .filter(|d| *d <= 3650)
                .ok_or_else(|| err(key, "must be a whole number of days from 0 (off) to 3650"))
        };
        Ok(Self {
            after_days: days("incentives.after_days", raw.after_days)?,
            slip_days: days("incentives.slip_days", raw.slip_days)?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    link_days: u32,
    per_minute: u32,
}

impl TryFrom<RawPortal> for PortalSettings {
    type Error = ConfigError;

    fn try_from(raw: RawPortal) -> Result<Self, ConfigError> {
        if !(1..=365).contains(&raw.link_days) {
            return Err(err("portal.link_days", "must be 1 to 365 (days)"));
        }
        if raw.per_minute == 0 {
            return Err(err("portal.per_minute", "must be at least 1"));
        }
        Ok(Self {
            link_days: raw.link_days,
            per_minute: raw.per_minute,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_public_key_and_gateway_are_read_and_checked() {
        let s = load(&[]).unwrap();
        assert!(s.discord.gateway, "on by default");
        assert_eq!(s.discord.answer_within, Duration::from_secs(2));
        let e = load(&[("BACKORDER_BOT__DISCORD__ANSWER_WITHIN", "3s")]).unwrap_err();
        assert_eq!(e.key, "discord.answer_within");
        assert!(s.discord.public_key.is_none());
        // The public key of the secret key 32 × 0x01 (RFC 8032 style test vector).
        let hex = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
        let s = load(&[
            ("DISCORD_PUBLIC_KEY", hex),
            ("BACKORDER_BOT__DISCORD__GATEWAY", "false"),
        ])
        .unwrap();
        assert!(!s.discord.gateway);
        assert_eq!(
            s.discord.public_key.unwrap().to_bytes(),
            decode_hex::<32>(hex).unwrap()
        );
        let upper = hex.to_uppercase();
        assert!(load(&[("DISCORD_PUBLIC_KEY", upper.as_str())]).is_ok());
        for bad in ["abc", &hex[..62], &format!("{}zz", &hex[..62])] {
            let e = load(&[("DISCORD_PUBLIC_KEY", bad)]).unwrap_err();
            assert_eq!(e.key, "DISCORD_PUBLIC_KEY", "{bad}");
            assert!(e.reason.contains("64 hexadecimal digits"), "{e:?}");
        }
    }

    #[test]
    fn hex_decodes_exact_lengths_only() {
        assert_eq!(decode_hex::<2>("0aFf"), Some([0x0a, 0xff]));
        assert_eq!(decode_hex::<2>("0aF"), None);
        assert_eq!(decode_hex::<2>("0aFfe"), None);
        assert_eq!(decode_hex::<1>("g0"), None);
        assert_eq!(decode_hex::<1>("é"), None);
    }

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
        assert!(s.http.metrics);
        assert_eq!(s.discord.alert_channel_id, None);
        assert!(s.secrets.discord_token.is_none());
    }

    #[test]
    fn environment_overrides_with_typed_values() {
        let s = load(&[
            ("BACKORDER_BOT__HTTP__BIND", "0.0.0.0:9000"),
            ("BACKORDER_BOT__DISCORD__GUILD_IDS", "1,2"),
            ("BACKORDER_BOT__FULFILMENT__ALLOW_PARTIAL", "true"),
            ("BACKORDER_BOT__HTTP__METRICS", "false"),
        ])
        .unwrap();
        assert_eq!(s.http.bind.port(), 9000);
        assert!(!s.http.metrics);
        assert_eq!(s.discord.guild_ids, vec![1, 2]);
        assert!(s.fulfilment.allow_partial);
    }

    #[test]
    fn database_url_chooses_the_engine_and_keeps_database_path_working() {
        let s = load(&[]).unwrap();
        assert_eq!(s.database.engine, Engine::Sqlite);
        assert_eq!(s.database.path, PathBuf::from("data/backorder-bot.db"));
        let s = load(&[("BACKORDER_BOT__DATABASE__PATH", "/srv/shop.db")]).unwrap();
        assert_eq!(s.database.path, PathBuf::from("/srv/shop.db"));
        let s = load(&[("BACKORDER_BOT__DATABASE__URL", "sqlite://data/other.db")]).unwrap();
        assert_eq!(
            (s.database.engine, s.database.path),
            (Engine::Sqlite, PathBuf::from("data/other.db"))
        );
        let s = load(&[("BACKORDER_BOT__DATABASE__URL", "sqlite:///srv/abs.db")]).unwrap();
        assert_eq!(s.database.path, PathBuf::from("/srv/abs.db"));
        let s = load(&[(
            "BACKORDER_BOT__DATABASE__URL",
            "postgres://shop:pa55word@db.example:5433/backorders",
        )])
        .unwrap();
        let Engine::Postgres(url) = &s.database.engine else {
            panic!("{:?}", s.database.engine)
        };
        assert_eq!(
            url.redacted(),
            "postgres://shop:***@db.example:5433/backorders"
        );
        assert!(url.expose().contains("pa55word"));
        assert!(!format!("{s:?}").contains("pa55word"));
    }

    #[test]
    fn a_bad_database_url_names_the_key_and_never_the_password() {
        for (url, reason) in [
            ("mysql://u:pa55word@h/db", "engine the bot does not know"),
            ("postgres://u:pa55word@/db", "empty host"),
            ("postgres://u:pa55word@h", "names no database"),
            ("postgres://u:pa55word@h/a/b", "names no database"),
            ("sqlite://", "names no SQLite file"),
            ("sqlite://x.db?mode=ro", "takes no options"),
            ("pa55word", "is not a url"),
            (
                "postgres://u:pa55word@h:99999/db",
                "is not a valid postgres:// url",
            ),
        ] {
            let e = load(&[("BACKORDER_BOT__DATABASE__URL", url)]).unwrap_err();
            let text = e.to_string();
            assert!(
                text.starts_with("config: database.url (from BACKORDER_BOT__DATABASE__URL): "),
                "{url}: {text}"
            );
            assert!(text.contains(reason), "{url}: {text}");
            assert!(!text.contains("pa55word"), "{url}: {text}");
        }
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
        assert_eq!(
            e.to_string(),
            "config: http.nope (from BACKORDER_BOT__HTTP__NOPE): unknown setting"
        );
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
        assert!(e.to_string().contains("longer than 3650 days"), "{e}");
        let e = load(&[("BACKORDER_BOT__SMS__TIMEOUT", "2000000000000d")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: sms.timeout (from BACKORDER_BOT__SMS__TIMEOUT): is longer than 3650 days"
        );
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

    /// Runs `f` with a subscriber that keeps what is logged.
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .finish();
        let out = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        (out, text)
    }

    fn load_both(file: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        std::fs::write(&path, file).unwrap();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_from(Some(&path), &vars, &|_| None)
    }

    #[test]
    fn the_file_overrides_the_defaults_and_the_environment_overrides_both() {
        let s = load_both(
            "[http]\nbind = \"127.0.0.1:9000\"\n[console]\npage_size = 5\n",
            &[("BACKORDER_BOT__HTTP__BIND", "0.0.0.0:9100")],
        )
        .unwrap();
        assert_eq!(s.http.bind.to_string(), "0.0.0.0:9100");
        assert_eq!(s.console.page_size, 5);
        assert_eq!(s.console.actor, "console");
        assert_eq!(s.http.max_body_bytes, 65536);
    }

    #[test]
    fn a_bad_value_names_the_file_or_variable_it_came_from() {
        let e = load_both("[console]\npage_size = 99\n", &[]).unwrap_err();
        assert!(e.key == "console.page_size", "{e}");
        let origin = e.origin.as_deref().unwrap();
        assert!(
            origin.starts_with("in ") && origin.ends_with("local.toml"),
            "{e}"
        );
        let e = load_both(
            "[console]\npage_size = 99\n",
            &[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "0")],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: console.page_size (from BACKORDER_BOT__CONSOLE__PAGE_SIZE): must be between 1 and 25"
        );
        let e = load_both("[notify]\nlease = \"soon\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "notify.lease");
        assert!(e.to_string().contains("is not a duration like 90s"), "{e}");
        let e = load_both("[shop]\nnope = 1\n", &[]).unwrap_err();
        assert_eq!(e.key, "shop.nope");
        assert!(
            e.to_string().ends_with("local.toml): unknown setting"),
            "{e}"
        );
        let e =
            load_both("[discord]\nops_role_ids = [\"sk_live_5up3r53cr3t\"]\n", &[]).unwrap_err();
        assert_eq!(e.key, "discord.ops_role_ids");
        assert!(
            e.to_string().ends_with("local.toml): is not a list of ids"),
            "{e}"
        );
        let e = load(&[("BACKORDER_BOT__EMAIL__PORT", "70000")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: email.port (from BACKORDER_BOT__EMAIL__PORT): is out of range"
        );
        let e = load(&[("BACKORDER_BOT__DISCORD__GUILD_IDS", "1,two")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: discord.guild_ids (from BACKORDER_BOT__DISCORD__GUILD_IDS): is not a comma-separated list of ids"
        );
    }

    #[test]
    fn forecast_alpha_is_a_number_or_optimize_from_the_environment_too() {
        use crate::domain::forecast::AlphaChoice;
        let s = load(&[("BACKORDER_BOT__FORECAST__ALPHA", "optimize")]).unwrap();
        assert_eq!(s.forecast.alpha, AlphaChoice::Optimize);
        let s = load(&[("BACKORDER_BOT__FORECAST__ALPHA", "0.3")]).unwrap();
        assert!(matches!(s.forecast.alpha, AlphaChoice::Fixed(a) if (a.get() - 0.3).abs() < 1e-12));
        let e = load(&[("BACKORDER_BOT__FORECAST__ALPHA", "1.5")]).unwrap_err();
        assert_eq!(e.key, "forecast.alpha");
        let e = load(&[("BACKORDER_BOT__FORECAST__SERVICE_LEVEL", "1")]).unwrap_err();
        assert_eq!(e.key, "forecast.service_level");
    }

    #[test]
    fn the_forecast_refresh_runs_nightly_unless_its_schedule_is_empty() {
        let s = load(&[]).unwrap();
        assert_eq!(
            s.forecast.schedule.as_ref().map(|c| c.as_str()),
            Some("0 3 * * *")
        );
        assert_eq!(s.forecast, ForecastSettings::default());
        let s = load(&[("BACKORDER_BOT__FORECAST__SCHEDULE", "")]).unwrap();
        assert_eq!(s.forecast.schedule, None);
        let e = load(&[("BACKORDER_BOT__FORECAST__SCHEDULE", "nightly")]).unwrap_err();
        assert_eq!(e.key, "forecast.schedule");
    }

    #[test]
    fn durations_are_humantime() {
        let s = load(&[
            ("BACKORDER_BOT__DATABASE__BUSY_TIMEOUT", "1m 30s"),
            ("BACKORDER_BOT__SHUTDOWN__GRACE", "90s"),
            ("BACKORDER_BOT__NOTIFY__POLL", "250ms"),
            ("BACKORDER_BOT__NOTIFY__LEASE", "2m"),
            ("BACKORDER_BOT__NOTIFY__COALESCE", "1h30m"),
            ("BACKORDER_BOT__SMS__TIMEOUT", "5s"),
            ("BACKORDER_BOT__EMAIL__TIMEOUT", "2s"),
            ("BACKORDER_BOT__ALERTS__CATCH_UP", "2d"),
        ])
        .unwrap();
        assert_eq!(s.database.busy_timeout, Duration::from_secs(90));
        assert_eq!(s.shutdown.grace, Duration::from_secs(90));
        assert_eq!(s.notify.poll, Duration::from_millis(250));
        assert_eq!(s.notify.lease, Duration::from_secs(120));
        assert_eq!(s.notify.coalesce, Duration::from_secs(5400));
        assert_eq!(s.sms.timeout, Duration::from_secs(5));
        assert_eq!(s.email.timeout, Duration::from_secs(2));
        assert_eq!(s.alerts.catch_up, chrono::Duration::days(2));
        let s = load(&[("BACKORDER_BOT__ALERTS__CATCH_UP", "3650d")]).unwrap();
        assert_eq!(s.alerts.catch_up, chrono::Duration::days(3650));
        let d = load(&[]).unwrap();
        assert_eq!(d.database.busy_timeout, Duration::from_secs(30));
        assert_eq!(d.shutdown.grace, Duration::from_secs(10));
        assert_eq!(d.notify.poll, Duration::from_secs(1));
        assert_eq!(d.notify.lease, Duration::from_secs(60));
        assert_eq!(d.notify.coalesce, Duration::from_secs(600));
        assert_eq!(d.sms.timeout, Duration::from_secs(10));
        assert_eq!(d.email.timeout, Duration::from_secs(10));
        for (var, value) in [
            ("BACKORDER_BOT__NOTIFY__POLL", "1000"),
            ("BACKORDER_BOT__NOTIFY__POLL", "0s"),
            ("BACKORDER_BOT__NOTIFY__LEASE", "500ms"),
            ("BACKORDER_BOT__SHUTDOWN__GRACE", "11m"),
            ("BACKORDER_BOT__ALERTS__CATCH_UP", "24"),
            ("BACKORDER_BOT__ALERTS__CATCH_UP", "soon"),
            ("BACKORDER_BOT__ALERTS__CATCH_UP", "3650d 1s"),
        ] {
            let e = load(&[(var, value)]).unwrap_err();
            assert_eq!(e.origin.as_deref(), Some(&*format!("from {var}")), "{e}");
        }
    }

    #[test]
    fn each_deprecated_key_is_read_as_its_replacement_with_a_warning() {
        for (var, old, new, check) in [
            (
                "BACKORDER_BOT__DATABASE__BUSY_TIMEOUT_MS",
                "database.busy_timeout_ms",
                "database.busy_timeout = \"1500ms\"",
                (|s: &Settings| s.database.busy_timeout == Duration::from_millis(1500))
                    as fn(&Settings) -> bool,
            ),
            (
                "BACKORDER_BOT__SHUTDOWN__GRACE_SECONDS",
                "shutdown.grace_seconds",
                "shutdown.grace = \"1500s\"",
                |s| s.shutdown.grace == Duration::from_secs(1500),
            ),
            (
                "BACKORDER_BOT__NOTIFY__POLL_MS",
                "notify.poll_ms",
                "notify.poll = \"1500ms\"",
                |s| s.notify.poll == Duration::from_millis(1500),
            ),
            (
                "BACKORDER_BOT__NOTIFY__LEASE_SECONDS",
                "notify.lease_seconds",
                "notify.lease = \"1500s\"",
                |s| s.notify.lease == Duration::from_secs(1500),
            ),
            (
                "BACKORDER_BOT__NOTIFY__COALESCE_MINUTES",
                "notify.coalesce_minutes",
                "notify.coalesce = \"1500m\"",
                |s| s.notify.coalesce == Duration::from_secs(1500 * 60),
            ),
            (
                "BACKORDER_BOT__SMS__TIMEOUT_MS",
                "sms.timeout_ms",
                "sms.timeout = \"1500ms\"",
                |s| s.sms.timeout == Duration::from_millis(1500),
            ),
            (
                "BACKORDER_BOT__EMAIL__TIMEOUT_MS",
                "email.timeout_ms",
                "email.timeout = \"1500ms\"",
                |s| s.email.timeout == Duration::from_millis(1500),
            ),
        ] {
            // The grace may not pass 10m: that is checked on the value read from the old key.
            let value = if old == "shutdown.grace_seconds" {
                "600"
            } else {
                "1500"
            };
            let (settings, log) = logged(|| load(&[(var, value)]));
            let settings = settings.unwrap();
            if old == "shutdown.grace_seconds" {
                assert_eq!(settings.shutdown.grace, Duration::from_secs(600));
                let e = load(&[(var, "1500")]).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    format!("config: {old} (from {var}): must be at most 10m")
                );
            } else {
                assert!(check(&settings), "{old}");
            }
            let new = new.replace("1500", value);
            assert_eq!(log.matches("WARN").count(), 1, "{log}");
            assert!(
                log.contains(&format!(
                    "config: {old} (from {var}) is deprecated: set {new} instead"
                )),
                "{log}"
            );
        }
    }

    #[test]
    fn a_deprecated_key_in_a_file_is_overridden_by_its_replacement_in_the_environment() {
        let file = "[notify]\ncoalesce_minutes = 3\n";
        let (s, log) = logged(|| load_both(file, &[]));
        assert_eq!(s.unwrap().notify.coalesce, Duration::from_secs(180));
        assert!(log.contains("notify.coalesce_minutes (in "), "{log}");
        assert!(
            log.contains("set notify.coalesce = \"3m\" instead"),
            "{log}"
        );
        let s = load_both(file, &[("BACKORDER_BOT__NOTIFY__COALESCE", "0s")]).unwrap();
        assert_eq!(s.notify.coalesce, Duration::ZERO);
        // Both in one place: which was meant is unclear, so start-up stops.
        let e = load_both("[notify]\ncoalesce_minutes = 3\ncoalesce = \"5m\"\n", &[]).unwrap_err();
        assert_eq!(e.key, "notify.coalesce_minutes");
        assert!(e.to_string().contains("keep only notify.coalesce"), "{e}");
        let e = load(&[("BACKORDER_BOT__NOTIFY__LEASE_SECONDS", "soon")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: notify.lease_seconds (from BACKORDER_BOT__NOTIFY__LEASE_SECONDS): is not a whole number"
        );
    }

    #[test]
    fn secrets_come_from_their_own_variables_and_do_not_print() {
        let s = load(&[("DISCORD_TOKEN", "very-secret")]).unwrap();
        assert!(s.secrets.discord_token.is_some());
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}

//! Metrics for operators: what `GET /metrics` exposes, in the Prometheus text format
//! (`prometheus-client` writes it).
//!
//! [`Metrics`] is the one registry of this process; [`crate::app::App`] holds it, so every
//! adapter records through `app.metrics`: the command layer (each command handled and its
//! latency), the dispatcher and the Discord poster (failed delivery attempts), the alert
//! scheduler (each rule run) and the forecast job ([`Metrics::forecast_run`]). The shop's own
//! figures (open backorders, alerts firing, queue depths) are not kept here: they are read from
//! the store at each scrape ([`crate::app::figures::read`]) and written beside the counters by
//! [`Metrics::encode`]. Labels hold names from the command table, the config and fixed words,
//! never text a user typed nor anything about a customer.

use crate::domain::figures::ShopFigures;
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::encode`]'s text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Every metric name starts with this and `_`.
pub const PREFIX: &str = "backorderbot";

/// Upper bounds of the command latency buckets, in seconds: a lookup takes milliseconds, a
/// deferred Discord command (an alert run by hand) seconds.
const COMMAND_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How a run of a scheduled job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// It ran to the end.
    Done,
    /// It was not started (another process has it, or it already ran).
    Skipped,
    /// It failed (the error is in the log).
    Failed,
}

impl JobOutcome {
    /// Every outcome.
    pub const ALL: [JobOutcome; 3] = [JobOutcome::Done, JobOutcome::Skipped, JobOutcome::Failed];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Skipped => "skipped",
            JobOutcome::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleRunLabels {
    rule: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CurrencyLabels {
    currency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    rule: String,
    severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueOnly {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    queue: &'static str,
    status: &'static str,
}

fn command_histogram() -> Histogram {
    Histogram::new(COMMAND_BUCKETS)
}

/// The counters and histograms this process has recorded since it started. Cheap to share:
/// each metric is behind its own atomics.
#[derive(Debug)]
pub struct Metrics {
    commands: Family<CommandLabels, Counter>,
    command_seconds: Family<CommandLabels, Histogram, fn() -> Histogram>,
    delivery_failures: Family<ChannelLabels, Counter>,
    scheduler_runs: Family<RuleRunLabels, Counter>,
    forecast_runs: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    /// Metrics at zero, the counters that can be known in advance already there: delivery
    /// failures per channel, runs of each of `rules` and of the forecast job per outcome.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a str>) -> Self {
        let m = Self {
            commands: Family::default(),
            command_seconds: Family::new_with_constructor(command_histogram),
            delivery_failures: Family::default(),
            scheduler_runs: Family::default(),
            forecast_runs: Family::default(),
        };
        for channel in ["sms", "email", "discord"] {
            let _ = m
                .delivery_failures
                .get_or_create(&ChannelLabels { channel });
        }
        for rule in rules {
            for outcome in JobOutcome::ALL {
                let _ = m.scheduler_runs.get_or_create(&RuleRunLabels {
                    rule: rule.to_string(),
                    outcome: outcome.as_str(),
                });
            }
        }
        for outcome in JobOutcome::ALL {
            let _ = m.forecast_runs.get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            });
        }
        m
    }

    /// A command handled: `command` is its name in the command table (`backorder cancel`, or
    /// `unknown`), `outcome` how it ended (`ok`, `user_error`, `internal`).
    pub fn command(&self, command: &str, outcome: &'static str, elapsed: Duration) {
        let labels = CommandLabels {
            command: command.to_string(),
            outcome,
        };
        self.commands.get_or_create(&labels).inc();
        self.command_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// A delivery attempt that failed, whether it will be tried again or not: `channel` is
    /// `sms`, `email` or `discord`.
    pub fn delivery_failed(&self, channel: &'static str) {
        self.delivery_failures
            .get_or_create(&ChannelLabels { channel })
            .inc();
    }

    /// A run of the alert rule `rule` that the scheduler started.
    pub fn scheduler_run(&self, rule: &str, outcome: JobOutcome) {
        let labels = RuleRunLabels {
            rule: rule.to_string(),
            outcome: outcome.as_str(),
        };
        self.scheduler_runs.get_or_create(&labels).inc();
    }

    /// A run of the forecast job: the job calls this once per run it attempted
    /// (`app.metrics.forecast_run(JobOutcome::Done)`).
    pub fn forecast_run(&self, outcome: JobOutcome) {
        self.forecast_runs
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// The Prometheus text of the counters recorded so far and of `figures`, the shop's state
    /// at this scrape (the value in `currency` units).
    pub fn encode(&self, figures: &ShopFigures, currency: &str) -> String {
        let mut r = Registry::with_prefix(PREFIX);
        r.register(
            "backorders_open",
            "Backorders waiting for stock (status open)",
            gauge(figures.open_backorders),
        );
        r.register(
            "backorders_open_units",
            "Units still owed to the open backorders",
            gauge(figures.open_units),
        );
        let value = Family::<CurrencyLabels, Gauge<f64, AtomicU64>>::default();
        value
            .get_or_create(&CurrencyLabels {
                currency: currency.to_string(),
            })
            .set(figures.open_value.in_units());
        r.register(
            "backorders_open_value",
            "Value of the units still owed to the open backorders (at their order lines' prices), in currency units",
            value,
        );
        let firing = Family::<AlertLabels, Gauge>::default();
        for (rule, severity, n) in &figures.alerts_firing {
            let labels = AlertLabels {
                rule: rule.clone(),
                severity: severity.as_str(),
            };
            firing.get_or_create(&labels).set(*n);
        }
        r.register(
            "alerts_firing",
            "SKUs in alert per alert rule and severity, as the last runs left them",
            firing,
        );
        let depth = Family::<QueueLabels, Gauge>::default();
        let failed = Family::<QueueOnly, Gauge>::default();
        let queues = [
            ("customer_updates", &figures.customer_updates),
            ("channel_posts", &figures.channel_posts),
        ];
        for (queue, q) in queues {
            for (status, n) in &q.waiting {
                depth.get_or_create(&QueueLabels { queue, status }).set(*n);
            }
            failed.get_or_create(&QueueOnly { queue }).set(q.failed);
        }
        r.register(
            "outbox_depth",
            "Messages waiting to go out, per queue (customer updates, Discord channel posts) and status",
            depth,
        );
        r.register(
            "outbox_failed",
            "Messages given up on (dead letters), per queue",
            failed,
        );
        r.register(
            "delivery_failures",
            "Delivery attempts that failed since start, per channel (retried or not)",
            self.delivery_failures.clone(),
        );
        r.register(
            "commands",
            "Commands handled since start (Discord and console), per command and outcome",
            self.commands.clone(),
        );
        r.register(
            "command_duration_seconds",
            "Time to handle a command, per command and outcome",
            self.command_seconds.clone(),
        );
        r.register(
            "scheduler_runs",
            "Alert rule runs the scheduler started since start, per rule and outcome",
            self.scheduler_runs.clone(),
        );
        r.register(
            "forecast_runs",
            "Forecast job runs since start, per outcome",
            self.forecast_runs.clone(),
        );
        let mut out = String::new();
        prometheus_text::encode(&mut out, &r).expect("writing to a String cannot fail");
        out
    }
}

fn gauge(v: i64) -> Gauge {
    let g = Gauge::default();
    g.set(v);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(m: &Metrics) -> Vec<String> {
        m.encode(&ShopFigures::default(), "EUR")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn has(lines: &[String], line: &str) -> bool {
        lines.iter().any(|l| l == line)
    }

    #[test]
    fn known_counters_start_at_zero_and_count_by_their_labels() {
        let m = Metrics::new(["nightly"]);
        let before = lines(&m);
        for line in [
            "backorderbot_delivery_failures_total{channel=\"sms\"} 0",
            "backorderbot_scheduler_runs_total{rule=\"nightly\",outcome=\"failed\"} 0",
            "backorderbot_forecast_runs_total{outcome=\"done\"} 0",
        ] {
            assert!(has(&before, line), "{line} in {before:#?}");
        }
        m.delivery_failed("sms");
        m.delivery_failed("sms");
        m.scheduler_run("nightly", JobOutcome::Done);
        m.forecast_run(JobOutcome::Failed);
        let after = lines(&m);
        for line in [
            "backorderbot_delivery_failures_total{channel=\"sms\"} 2",
            "backorderbot_delivery_failures_total{channel=\"discord\"} 0",
            "backorderbot_scheduler_runs_total{rule=\"nightly\",outcome=\"done\"} 1",
            "backorderbot_forecast_runs_total{outcome=\"failed\"} 1",
            "backorderbot_forecast_runs_total{outcome=\"done\"} 0",
        ] {
            assert!(has(&after, line), "{line} in {after:#?}");
        }
    }

    #[test]
    fn a_command_lands_in_its_latency_bucket() {
        let m = Metrics::new([]);
        m.command("stock", "ok", Duration::from_millis(30));
        let out = lines(&m);
        let bucket = |le: &str| {
            format!(
                "backorderbot_command_duration_seconds_bucket{{command=\"stock\",outcome=\"ok\",le=\"{le}\"}}"
            )
        };
        assert!(has(&out, &format!("{} 0", bucket("0.025"))), "{out:#?}");
        assert!(has(&out, &format!("{} 1", bucket("0.05"))), "{out:#?}");
        assert!(has(
            &out,
            "backorderbot_commands_total{command=\"stock\",outcome=\"ok\"} 1"
        ));
    }
}

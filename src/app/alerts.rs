//! Low-stock alert use cases: evaluate a rule (no state change), run it (post what changed),
//! snooze and unsnooze.

use super::posts::{self, Components};
use super::{Actor, App, AppError, AppResult};
use crate::domain::alerts::{
    build_message, daily_sales_rate, step, AlertLine, AlertMessage, AlertRule, Change, Finding,
    RateSource, Severity, CONTENT_LIMIT, SALES_WINDOW_DAYS,
};
use crate::domain::audit::AuditEntry;
use crate::domain::{AlertRunId, PostId, ProductId};
use crate::store::alerts::{
    self as store, Candidates, NotStarted, RunCounts, SalesWindow, Trigger,
};
use crate::store::{audit, Conn};
use chrono::{DateTime, Duration, Utc};

/// What a rule finds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Rule name.
    pub rule: String,
    /// SKUs looked at closely (at or near their thresholds, or with alert state).
    pub evaluated: usize,
    /// Firing SKUs at or above the rule's minimum, most severe first.
    pub findings: Vec<Finding>,
}

/// The figures of the SKUs that fire for the rule now, plus those in `with_state` (which may
/// resolve).
async fn figures(
    conn: &mut Conn,
    rule: &AlertRule,
    now: DateTime<Utc>,
    with_state: &std::collections::HashSet<ProductId>,
) -> anyhow::Result<Vec<crate::domain::alerts::SkuFigures>> {
    let today = now.date_naive();
    let keep = |f: &mut crate::domain::alerts::SkuFigures, sold: i64| {
        if f.rate_source == RateSource::SalesMean {
            f.daily_sales = daily_sales_rate(sold, SALES_WINDOW_DAYS);
        }
        with_state.contains(&f.product_id)
            || f.severity(today).is_some_and(|s| s >= rule.min_severity)
    };
    let figs = store::evaluation_figures(
        conn,
        &rule.name,
        &rule.scope,
        Candidates {
            at_risk: rule.min_severity == Severity::AtRisk,
        },
        today,
        SalesWindow {
            last: today,
            days: SALES_WINDOW_DAYS,
        },
        &keep,
    )
    .await?;
    Ok(figs)
}

/// Evaluates a rule now, changing no state (`/lowstock`, `backorder-bot check`).
pub async fn evaluate(app: &App, rule: &AlertRule) -> AppResult<Evaluation> {
    let now = app.clock.now();
    let mut conn = app.store.conn().await?;
    let figs = figures(&mut conn, rule, now, &Default::default()).await?;
    let evaluated = figs.len();
    let mut findings: Vec<Finding> = figs
        .into_iter()
        .filter_map(|f| {
            let sev = f
                .severity(now.date_naive())
                .filter(|s| *s >= rule.min_severity)?;
            Some(Finding {
                figures: f,
                severity: Some(sev),
            })
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.figures.sku.cmp(&b.figures.sku))
    });
    Ok(Evaluation {
        rule: rule.name.clone(),
        evaluated,
        findings,
    })
}

/// The rule of this name, or a user-facing error listing the rules.
pub fn rule<'a>(app: &'a App, name: &str) -> AppResult<&'a AlertRule> {
    app.settings.alerts.rule(name).ok_or_else(|| {
        let names: Vec<&str> = app
            .settings
            .alerts
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        AppError::invalid(
            "rule",
            format!(
                "\"{name}\" is not an alert rule ({})",
                if names.is_empty() {
                    "none are configured".to_string()
                } else {
                    format!("the rules are {}", names.join(", "))
                }
            ),
        )
    })
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Run id.
    pub run_id: AlertRunId,
    /// Counts.
    pub counts: RunCounts,
    /// The queued post, if anything was worth posting.
    pub post_id: Option<PostId>,
    /// Its message.
    pub message: Option<AlertMessage>,
}

/// A run that happened, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    /// It ran.
    Done(RunReport),
    /// It did not start.
    Skipped(NotStarted),
}

/// A run older than this is taken for dead (its process crashed).
const STALE_RUN: i64 = 30;

/// Runs a rule: evaluates, moves each SKU's alert state, queues one message with what started
/// firing, got worse, is due for a repeat or resolved, and records the run. Never two runs of
/// one rule at once, and a cron time (`scheduled_for`) at most once, across processes.
#[tracing::instrument(skip_all, fields(rule = %rule.name), err)]
pub async fn run_rule(
    app: &App,
    rule: &AlertRule,
    trigger: Trigger,
    scheduled_for: Option<DateTime<Utc>>,
) -> AppResult<RunOutcome> {
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let started = store::start_run(
        &mut tx,
        &rule.name,
        scheduled_for,
        trigger,
        now,
        now - Duration::minutes(STALE_RUN),
    )
    .await?;
    tx.commit().await?;
    let run_id = match started {
        Ok(id) => id,
        Err(why) => return Ok(RunOutcome::Skipped(why)),
    };
    complete(app, rule, run_id, now).await.map(RunOutcome::Done)
}

/// Completes a scheduled run its process left running (it died mid-run: the scheduler's lease
/// ran out): the run is taken over, evaluated again from the stored states and recorded under
/// its own cron time. `None` if it finished meanwhile. Its writes (states, post, record) are
/// one transaction, so the dead process posted nothing of it; should that process still be
/// alive, its own finish finds the run taken over and writes nothing.
#[tracing::instrument(skip_all, fields(rule = %rule.name, run_id = run_id.0), err)]
pub async fn resume_run(
    app: &App,
    rule: &AlertRule,
    run_id: AlertRunId,
) -> AppResult<Option<RunReport>> {
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let taken = store::take_over_run(&mut tx, run_id, now).await?;
    tx.commit().await?;
    if !taken {
        return Ok(None);
    }
    complete(app, rule, run_id, now).await.map(Some)
}

/// Runs the run started (or taken over) at `started` to its end, recording a failure.
async fn complete(
    app: &App,
    rule: &AlertRule,
    run_id: AlertRunId,
    started: DateTime<Utc>,
) -> AppResult<RunReport> {
    match execute(app, rule, run_id, started).await {
        Ok(report) => Ok(report),
        Err(e) => {
            let mut conn = app.store.conn().await?;
            let counts = RunCounts::default();
            // Taken over meanwhile: the failure is not this process's to record.
            store::finish_run(
                &mut conn,
                run_id,
                started,
                false,
                &counts,
                "failed",
                None,
                &[],
                app.clock.now(),
            )
            .await?;
            Err(e)
        }
    }
}

/// What a run would do, computed without writing.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Counts.
    pub counts: RunCounts,
    /// States to write.
    pub upserts: Vec<(ProductId, crate::domain::alerts::AlertState)>,
    /// States to delete.
    pub deletes: Vec<ProductId>,
    /// Lines to post.
    pub lines: Vec<AlertLine>,
    /// Firing SKUs at or above the minimum (posted or not), most severe first.
    pub firing: Vec<Firing>,
}

/// A SKU firing at or above a rule's minimum, and the line a run now would post for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// The figures.
    pub figures: crate::domain::alerts::SkuFigures,
    /// Severity now.
    pub severity: Severity,
    /// What a run would post about it (`None`: already posted, or snoozed); never `Resolved`.
    pub post: Option<Change>,
}

/// Evaluates a rule against its stored alert state: what a run now would post. Changes nothing.
pub async fn plan(app: &App, rule: &AlertRule, now: DateTime<Utc>) -> AppResult<Plan> {
    let today = now.date_naive();
    let mut conn = app.store.conn().await?;
    let mut states = store::states(&mut conn, &rule.name).await?;
    let with_state = states.keys().copied().collect();
    let figs = figures(&mut conn, rule, now, &with_state).await?;
    let snoozed = store::snoozed(&mut conn, &rule.name, now).await?;
    drop(conn);

    let mut counts = RunCounts {
        evaluated: figs.len() as i64,
        ..RunCounts::default()
    };
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    let mut lines = Vec::new();
    let mut firing_list = Vec::new();
    for f in figs {
        let prev = states.remove(&f.product_id);
        let firing = f.severity(today).filter(|s| *s >= rule.min_severity);
        let s = step(
            prev.as_ref(),
            firing,
            f.recovered(rule.resolve_margin),
            snoozed.contains(&f.product_id),
            now,
            rule.repeat_interval,
        );
        match (&s.state, &prev) {
            (Some(new), Some(old)) if new == old => {}
            (Some(new), _) => upserts.push((f.product_id, new.clone())),
            (None, Some(_)) => deletes.push(f.product_id),
            (None, None) => {}
        }
        if let Some(change) = s.post {
            let severity = firing
                .or(prev.as_ref().map(|p| p.severity))
                .unwrap_or(Severity::Low);
            if change == Change::Resolved {
                counts.resolved += 1;
            } else {
                counts.posted_lines += 1;
            }
            lines.push(AlertLine {
                change,
                severity,
                figures: f.clone(),
            });
        }
        if let Some(severity) = firing {
            counts.firing += 1;
            // Carried here rather than found again among the lines: the caller needs it for
            // every firing SKU, and a lookup per SKU made `check --json` quadratic.
            firing_list.push(Firing {
                figures: f,
                severity,
                post: s.post,
            });
        }
    }
    // States of SKUs the query no longer returns (left the rule's scope): drop them quietly.
    deletes.extend(states.keys().copied());
    crate::domain::alerts::sort_lines(&mut lines);
    firing_list.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.figures.sku.cmp(&b.figures.sku))
    });
    Ok(Plan {
        counts,
        upserts,
        deletes,
        lines,
        firing: firing_list,
    })
}

async fn execute(
    app: &App,
    rule: &AlertRule,
    run_id: AlertRunId,
    now: DateTime<Utc>,
) -> AppResult<RunReport> {
    let Plan {
        counts,
        upserts,
        deletes,
        lines,
        ..
    } = plan(app, rule, now).await?;
    let message = (!lines.is_empty()).then(|| match app.settings.alerts.mention_role {
        // The configured role, pinged on purpose (the poster allows exactly this mention).
        Some(role) => {
            let ping = format!("<@&{role}> ");
            let mut m = build_message(&rule.name, &lines, CONTENT_LIMIT - ping.chars().count());
            m.content.insert_str(0, &ping);
            m
        }
        None => build_message(&rule.name, &lines, CONTENT_LIMIT),
    });
    let posted: Vec<ProductId> = lines
        .iter()
        .filter(|l| l.change != Change::Resolved)
        .map(|l| l.figures.product_id)
        .collect();
    let mut tx = app.store.begin_write().await?;
    store::save_states(&mut tx, &rule.name, &upserts, &deletes).await?;
    let post_id = match &message {
        Some(m) => {
            let components = (!posted.is_empty()).then(|| Components {
                snooze_run: run_id,
                skus: {
                    lines
                        .iter()
                        .filter(|l| l.change != Change::Resolved)
                        .take(25)
                        .map(|l| l.figures.sku.clone())
                        .collect()
                },
            });
            let attachment = m
                .attachment
                .as_ref()
                .map(|(name, csv)| (name.as_str(), csv.as_bytes()));
            Some(
                posts::enqueue_with(
                    &mut tx,
                    rule.channel_id,
                    &m.content,
                    attachment,
                    components.as_ref(),
                )
                .await?,
            )
        }
        None => None,
    };
    let summary = match &message {
        Some(m) => m.content.clone(),
        None => format!(
            "nothing new to post ({} firing, already posted or snoozed)",
            counts.firing
        ),
    };
    let finished = store::finish_run(
        &mut tx,
        run_id,
        now,
        true,
        &counts,
        &summary,
        post_id,
        &posted,
        app.clock.now(),
    )
    .await?;
    if !finished {
        // Another process took the run over (this one outlived the scheduler's lease): it
        // posts and records the run; this one's writes are dropped.
        tx.rollback().await?;
        return Err(
            anyhow::anyhow!("alert run {} was taken over by another process", run_id.0).into(),
        );
    }
    tx.commit().await?;
    tracing::info!(
        run_id = run_id.0,
        evaluated = counts.evaluated,
        firing = counts.firing,
        posted = counts.posted_lines,
        resolved = counts.resolved,
        "alert rule ran"
    );
    Ok(RunReport {
        run_id,
        counts,
        post_id,
        message,
    })
}

fn require_ops(actor: &Actor) -> AppResult<()> {
    actor.require_ops(|| "only the ops role may snooze alerts".into())
}

fn snooze_days(days: i64) -> AppResult<Duration> {
    if !(1..=365).contains(&days) {
        return Err(AppError::invalid("days", "must be between 1 and 365"));
    }
    Ok(Duration::days(days))
}

/// Snoozes a SKU for every rule for `days`; returns until when.
pub async fn snooze_sku(
    app: &App,
    actor: &Actor,
    sku: &str,
    days: i64,
) -> AppResult<(String, DateTime<Utc>)> {
    require_ops(actor)?;
    let span = snooze_days(days)?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let p = app.product(&mut tx, sku).await?;
    let until = now + span;
    store::snooze(&mut tx, "*", &[p.id], until, &actor.name, now).await?;
    audit::record(
        &mut tx,
        &AuditEntry::ok(&actor.name, "alerts.snooze", &p.sku).because(format!("{days} days")),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((p.sku, until))
}

/// Ends a SKU's snoozes; returns the SKU and how many there were.
pub async fn unsnooze_sku(app: &App, actor: &Actor, sku: &str) -> AppResult<(String, u64)> {
    require_ops(actor)?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let p = app.product(&mut tx, sku).await?;
    let n = store::unsnooze(&mut tx, p.id).await?;
    audit::record(
        &mut tx,
        &AuditEntry::ok(&actor.name, "alerts.unsnooze", &p.sku),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((p.sku, n))
}

/// The "Snooze 7 days" button: snoozes every SKU a run posted, for that run's rule.
pub async fn snooze_run(
    app: &App,
    actor: &Actor,
    run_id: AlertRunId,
    days: i64,
) -> AppResult<usize> {
    require_ops(actor)?;
    let span = snooze_days(days)?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let run = store::run_by_id(&mut tx, run_id)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "alert run",
            id: run_id.to_string(),
        })?;
    store::snooze(
        &mut tx,
        &run.rule,
        &run.posted_products,
        now + span,
        &actor.name,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &AuditEntry::ok(
            &actor.name,
            "alerts.snooze",
            format!("run {run_id} ({})", run.rule),
        )
        .because(format!("{} SKUs, {days} days", run.posted_products.len())),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(run.posted_products.len())
}

/// The snooze select menu: snoozes chosen SKUs of a run, for that run's rule.
pub async fn snooze_run_skus(
    app: &App,
    actor: &Actor,
    run_id: AlertRunId,
    skus: &[String],
    days: i64,
) -> AppResult<Vec<String>> {
    require_ops(actor)?;
    let span = snooze_days(days)?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let run = store::run_by_id(&mut tx, run_id)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "alert run",
            id: run_id.to_string(),
        })?;
    let mut ids = Vec::new();
    let mut names = Vec::new();
    for sku in skus {
        let p = app.product(&mut tx, sku).await?;
        ids.push(p.id);
        names.push(p.sku);
    }
    store::snooze(&mut tx, &run.rule, &ids, now + span, &actor.name, now).await?;
    audit::record(
        &mut tx,
        &AuditEntry::ok(&actor.name, "alerts.snooze", names.join(","))
            .because(format!("rule {}, {days} days", run.rule)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(names)
}

/// One rule's line in `/alerts list`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleStatus {
    /// The rule.
    pub rule: AlertRule,
    /// Next fire time.
    pub next_run: Option<DateTime<Utc>>,
    /// The latest run.
    pub last_run: Option<store::RunRow>,
}

/// Every rule with its next and last run.
pub async fn list(app: &App) -> AppResult<Vec<RuleStatus>> {
    let now = app.clock.now();
    let mut conn = app.store.conn().await?;
    let mut out = Vec::new();
    for r in &app.settings.alerts.rules {
        out.push(RuleStatus {
            next_run: r.schedule.next_after(r.timezone, now),
            last_run: store::last_run(&mut conn, &r.name).await?,
            rule: r.clone(),
        });
    }
    Ok(out)
}

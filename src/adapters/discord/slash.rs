//! Slash commands generated from the [`commands::COMMANDS`] table, so Discord and the console
//! cannot drift.
//!
//! [`framework_commands`] is the one builder: it turns the table into `poise::Command`s (one per
//! top-level name, subcommands nested), which poise dispatches; [`registration`] is what poise
//! makes of that same list, sent to Discord as the command registration. Every command shares
//! [`slash_action`] (options → [`Invocation`] → [`commands::run`] → embed) and [`autocomplete`]
//! (→ [`commands::suggest`]).

use super::components::Click;
use super::{render, Data, Error};
use crate::app::Actor;
use crate::commands::{self, CommandSpec, Invocation, OptionKind, OptionSpec, Reply};
use crate::domain::markup::visible;
use poise::serenity_prelude as serenity;
use std::sync::atomic::Ordering;

type Ctx<'a> = poise::ApplicationContext<'a, Data, Error>;

/// Discord's limit on command and option descriptions.
const DESCRIPTION_MAX: usize = 100;

/// Discord's option type for a string option.
const STRING_OPTION: u64 = 3;

/// Discord's option type for a subcommand.
const SUB_COMMAND: u64 = 1;

/// Top-level command names in table order (`backorder` once).
fn top_level_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for c in commands::specs() {
        if !names.contains(&c.name) {
            names.push(c.name);
        }
    }
    names
}

type TypeSetter = fn(serenity::CreateCommandOption) -> serenity::CreateCommandOption;

fn type_setter(kind: OptionKind) -> TypeSetter {
    match kind {
        OptionKind::Integer => |b| b.kind(serenity::CommandOptionType::Integer),
        OptionKind::Boolean => |b| b.kind(serenity::CommandOptionType::Boolean),
        OptionKind::Text | OptionKind::Date => |b| b.kind(serenity::CommandOptionType::String),
    }
}

fn describe(text: &str) -> String {
    commands::reply::truncate(text, DESCRIPTION_MAX)
}

/// Discord wants required options before optional ones: the console's positional order.
fn ordered_options(c: &CommandSpec) -> Vec<&'static OptionSpec> {
    commands::positional_order(c)
}

fn parent_description(name: &str) -> String {
    let subs: Vec<&str> = commands::subcommands(name)
        .iter()
        .filter_map(|c| c.sub)
        .collect();
    format!("One {name}: {}", subs.join(", "))
}

fn parameters(c: &CommandSpec) -> Vec<poise::CommandParameter<Data, Error>> {
    ordered_options(c)
        .into_iter()
        .map(|o| poise::CommandParameter {
            name: o.name.into(),
            name_localizations: Default::default(),
            description: Some(describe(o.description).into()),
            description_localizations: Default::default(),
            required: o.required,
            channel_types: None,
            choices: o
                .choices
                .iter()
                .map(|c| poise::CommandParameterChoice {
                    name: (*c).into(),
                    localizations: Default::default(),
                    __non_exhaustive: (),
                })
                .collect(),
            type_setter: Some(type_setter(o.kind)),
            autocomplete_callback: o
                .suggest
                .filter(|_| o.choices.is_empty())
                .map(|_| autocomplete as _),
            __non_exhaustive: (),
        })
        .collect()
}

fn leaf(c: &'static CommandSpec, name: &'static str) -> poise::Command<Data, Error> {
    poise::Command {
        name: name.into(),
        qualified_name: name.into(),
        identifying_name: name.into(),
        source_code_name: name.into(),
        description: Some(describe(c.description).into()),
        slash_action: Some(slash_action),
        parameters: parameters(c),
        custom_data: Box::new(c),
        ..Default::default()
    }
}

/// The poise commands, one per top-level name, subcommands nested.
pub fn framework_commands() -> Vec<poise::Command<Data, Error>> {
    top_level_names()
        .into_iter()
        .map(|name| {
            let subs = commands::subcommands(name);
            if subs.is_empty() {
                let c = commands::find(name, None).expect("top-level command");
                leaf(c.spec, name)
            } else {
                poise::Command {
                    name: name.into(),
                    qualified_name: name.into(),
                    identifying_name: name.into(),
                    source_code_name: name.into(),
                    description: Some(describe(&parent_description(name)).into()),
                    // Discord never invokes a parent alone, but poise needs an action to match it.
                    slash_action: Some(slash_action),
                    subcommand_required: true,
                    subcommands: subs
                        .into_iter()
                        .map(|c| leaf(c, c.sub.expect("subcommand")))
                        .collect(),
                    ..Default::default()
                }
            }
        })
        .collect()
}

/// The registration payload for `commands`, as poise builds it.
///
/// poise registers choices as integer indexes (its derive macro maps them back); ours are text
/// options that take the choice itself, so each string option's choice becomes
/// `{"name": label, "value": label}`.
pub fn registration(commands: &[poise::Command<Data, Error>]) -> serde_json::Value {
    let mut payload = serde_json::to_value(poise::builtins::create_application_commands(commands))
        .expect("command builders serialize");
    fn text_choices(options: Option<&mut serde_json::Value>) {
        for o in options.and_then(|o| o.as_array_mut()).into_iter().flatten() {
            if o.get("type").and_then(|t| t.as_u64()) == Some(STRING_OPTION) {
                let choices = o.get_mut("choices").and_then(|c| c.as_array_mut());
                for c in choices.into_iter().flatten() {
                    *c = serde_json::json!({"name": c["name"], "value": c["name"]});
                }
            }
            text_choices(o.get_mut("options"));
        }
    }
    // poise's parameters have no place for limits: add each option's from its spec.
    fn limits(options: Option<&mut serde_json::Value>, spec: Option<&CommandSpec>, name: &str) {
        for o in options.and_then(|o| o.as_array_mut()).into_iter().flatten() {
            let Some(opt_name) = o["name"].as_str().map(str::to_string) else {
                continue;
            };
            if o.get("type").and_then(|t| t.as_u64()) == Some(SUB_COMMAND) {
                let sub = commands::find(name, Some(&opt_name)).map(|c| c.spec);
                limits(o.get_mut("options"), sub, name);
                continue;
            }
            let Some(spec) = spec.and_then(|s| s.options.iter().find(|x| x.name == opt_name))
            else {
                continue;
            };
            if let Some(v) = spec.min_value {
                o["min_value"] = v.into();
            }
            if let Some(v) = spec.max_value {
                o["max_value"] = v.into();
            }
            if let Some(v) = spec.max_length {
                if spec.choices.is_empty() {
                    o["max_length"] = v.into();
                }
            }
        }
    }
    for c in payload.as_array_mut().into_iter().flatten() {
        text_choices(c.get_mut("options"));
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let spec = commands::find(&name, None).map(|c| c.spec);
        limits(c.get_mut("options"), spec, &name);
    }
    payload
}

/// The spec behind the invoked (leaf) command.
fn invoked_spec(ctx: Ctx<'_>) -> Option<&'static CommandSpec> {
    ctx.command()
        .custom_data
        .downcast_ref::<&'static CommandSpec>()
        .copied()
}

/// The options Discord sent, as text.
fn invocation(ctx: Ctx<'_>) -> Invocation {
    let (command, sub) = match ctx.command_tree {
        [parent, leaf, ..] => (parent.name.to_string(), Some(leaf.name.to_string())),
        [only] => (only.name.to_string(), None),
        [] => (ctx.interaction.data.name.clone(), None),
    };
    Invocation {
        command,
        sub,
        options: option_texts(ctx.args),
    }
}

/// A command interaction's name, subcommand and options as text: what [`invocation`] makes of
/// poise's view, read from the interaction itself (the HTTP endpoint has no poise).
pub fn invocation_of(data: &serenity::CommandData) -> Invocation {
    let options = data.options();
    let (sub, leaf) = match options.as_slice() {
        [serenity::ResolvedOption {
            name,
            value: serenity::ResolvedValue::SubCommand(inner),
            ..
        }] => (Some(name.to_string()), option_texts(inner)),
        other => (None, option_texts(other)),
    };
    Invocation {
        command: data.name.clone(),
        sub,
        options: leaf,
    }
}

fn option_texts(options: &[serenity::ResolvedOption<'_>]) -> Vec<(String, String)> {
    options
        .iter()
        .filter_map(|o| {
            let v = match &o.value {
                serenity::ResolvedValue::String(s) => s.to_string(),
                serenity::ResolvedValue::Integer(i) => i.to_string(),
                serenity::ResolvedValue::Boolean(b) => b.to_string(),
                serenity::ResolvedValue::Number(n) => n.to_string(),
                serenity::ResolvedValue::Autocomplete { value, .. } => value.to_string(),
                _ => return None,
            };
            Some((o.name.to_string(), v))
        })
        .collect()
}

/// The spec an invocation runs.
pub fn spec_of(inv: &Invocation) -> Option<&'static CommandSpec> {
    commands::find(&inv.command, inv.sub.as_deref()).map(|c| c.spec)
}

/// The acting Discord user: may change data only as a guild member holding an ops role.
pub fn actor(
    user: &serenity::User,
    member: Option<&serenity::Member>,
    ops_role_ids: &[u64],
) -> Actor {
    let may_change =
        member.is_some_and(|m| m.roles.iter().any(|r| ops_role_ids.contains(&r.get())));
    Actor {
        name: format!("discord:{}", user.id),
        may_change,
    }
}

fn slash_action(
    ctx: Ctx<'_>,
) -> poise::BoxFuture<'_, Result<(), poise::FrameworkError<'_, Data, Error>>> {
    Box::pin(async move {
        handle_command(ctx).await.map_err(|error| {
            poise::FrameworkError::new_command(poise::Context::Application(ctx), error)
        })
    })
}

async fn handle_command(ctx: Ctx<'_>) -> Result<(), Error> {
    let data = ctx.framework.user_data;
    let interaction = ctx.interaction;
    let http = ctx.framework.serenity_context;
    let inv = invocation(ctx);
    let actor = actor(
        &interaction.user,
        interaction.member.as_deref(),
        &data.app.settings.discord.ops_role_ids,
    );
    tracing::info!(actor = %actor.name, command = %inv.to_line(), "discord command");
    let plan = Plan::of(invoked_spec(ctx), &actor);
    if plan.deferred {
        if plan.refused {
            interaction.defer_ephemeral(http).await?;
        } else {
            interaction.defer(http).await?;
        }
        ctx.has_sent_initial_response.store(true, Ordering::SeqCst);
    }
    let (reply, outcome) = commands::run(&data.app, &actor, &inv).await;
    tracing::debug!(?outcome, "discord command answered");
    let asker = interaction.user.id.get();
    if !plan.deferred {
        let msg = message(data, asker, &reply).await;
        interaction
            .create_response(http, serenity::CreateInteractionResponse::Message(msg))
            .await?;
        ctx.has_sent_initial_response.store(true, Ordering::SeqCst);
    } else {
        finish_deferred(
            &http.http,
            &interaction.token,
            data,
            asker,
            &reply,
            plan.refused,
        )
        .await?;
    }
    Ok(())
}

/// How a command is answered, known before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// A change asked for by someone without the ops role.
    pub refused: bool,
    /// Its spec defers (Discord is told to wait first).
    pub deferred: bool,
}

impl Plan {
    /// From the invoked spec and the actor. A refused change is deferred privately, so the
    /// refusal stays private.
    pub fn of(spec: Option<&CommandSpec>, actor: &Actor) -> Self {
        Self {
            refused: spec.is_some_and(|s| !actor.may(s.mutating)),
            deferred: spec.is_some_and(|s| s.defer),
        }
    }
}

/// A reply as an interaction message: the embed, paging buttons `asker` may press, the attached
/// file if any; private when the reply is.
pub async fn message(
    data: &Data,
    asker: u64,
    reply: &Reply,
) -> serenity::CreateInteractionResponseMessage {
    let mut msg = serenity::CreateInteractionResponseMessage::new()
        .embed(render::embed(reply))
        .components(components(data, asker, reply).await)
        .ephemeral(reply.ephemeral)
        .allowed_mentions(render::allowed_mentions(&[]));
    if let Some(file) = render::attachment(reply) {
        msg = msg.add_file(file);
    }
    msg
}

/// Prev/Next buttons for a paged reply `asker` may press (none for single-page replies). An
/// invocation too long for its button is kept in the database, so any process answers the click
/// ([`crate::app::page::page_keys`]); should that fail, the reply goes without buttons (logged
/// with a reference) rather than not at all.
pub async fn components(data: &Data, asker: u64, reply: &Reply) -> Vec<serenity::CreateActionRow> {
    let Some(targets) = render::page_targets(reply) else {
        return Vec::new();
    };
    let mut ids = targets.each_ref().map(|t| {
        render::inline_custom_id(asker, t.page, &t.invocation)
            // A disabled button is never pressed: nothing to keep.
            .or_else(|| {
                (!t.enabled).then(|| render::keyed_custom_id(asker, t.page, render::NO_KEY))
            })
    });
    let to_keep: Vec<usize> = (0..ids.len()).filter(|&i| ids[i].is_none()).collect();
    if !to_keep.is_empty() {
        let stored: Vec<String> = to_keep
            .iter()
            .map(|&i| render::stored_form(&targets[i].invocation))
            .collect();
        match crate::app::page::page_keys(&data.app, &stored).await {
            Ok(keys) => {
                for (&i, key) in to_keep.iter().zip(keys) {
                    ids[i] = Some(render::keyed_custom_id(asker, targets[i].page, key));
                }
            }
            Err(e) => {
                crate::app::report_unexpected(&anyhow::Error::new(e), "Discord paging buttons");
                return Vec::new();
            }
        }
    }
    render::buttons(&targets, ids.map(|id| id.expect("every button has its id")))
}

/// Answers a deferred interaction (`token`) with `reply` over REST: edits the original
/// response, or, when a public deferral meets a private reply, deletes it and follows up
/// privately. `http` needs the application id set.
pub async fn finish_deferred(
    http: &serenity::Http,
    token: &str,
    data: &Data,
    asker: u64,
    reply: &Reply,
    refused: bool,
) -> Result<(), serenity::Error> {
    use serenity::Builder;
    let embed = render::embed(reply);
    let file = render::attachment(reply);
    if reply.ephemeral && !refused {
        // The deferred "thinking…" message is public; answer privately instead.
        http.delete_original_interaction_response(token).await?;
        let mut follow = serenity::CreateInteractionResponseFollowup::new()
            .embed(embed)
            .ephemeral(true)
            .allowed_mentions(render::allowed_mentions(&[]));
        if let Some(file) = file {
            follow = follow.add_file(file);
        }
        follow.execute(http, (None, token)).await?;
    } else {
        let mut edit = serenity::EditInteractionResponse::new()
            .embed(embed)
            .components(components(data, asker, reply).await)
            .allowed_mentions(render::allowed_mentions(&[]));
        if let Some(file) = file {
            edit = edit.new_attachment(file);
        }
        edit.execute(http, token).await?;
    }
    Ok(())
}

fn autocomplete<'a>(
    ctx: Ctx<'a>,
    partial: &'a str,
) -> poise::BoxFuture<'a, serenity::CreateAutocompleteResponse> {
    Box::pin(async move {
        let focused = ctx.args.iter().find_map(|o| match &o.value {
            serenity::ResolvedValue::Autocomplete { .. } => Some(o.name),
            _ => None,
        });
        suggestions(
            &ctx.framework.user_data.app,
            invoked_spec(ctx),
            focused,
            partial,
        )
        .await
    })
}

/// The autocomplete choices for option `focused` of `spec`, typed so far as `partial`.
pub async fn suggestions(
    app: &crate::app::App,
    spec: Option<&CommandSpec>,
    focused: Option<&str>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let option = spec.and_then(|s| s.options.iter().find(|o| Some(o.name) == focused));
    let Some((kind, option)) = option.and_then(|o| o.suggest.map(|k| (k, o))) else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let choices = commands::suggest(app, kind, partial)
        .await
        .into_iter()
        .take(25)
        .filter_map(|(label, value)| {
            // Choice names show no Markdown: readable as typed, control characters escaped.
            let label = commands::reply::truncate(&visible(&label), 100);
            match option.kind {
                OptionKind::Integer => value
                    .parse::<i64>()
                    .ok()
                    .map(|n| serenity::AutocompleteChoice::new(label, n)),
                _ => Some(serenity::AutocompleteChoice::new(
                    label,
                    commands::reply::truncate(&value, 100),
                )),
            }
        })
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// The answer to a Prev/Next click (`None`: not a paging button): only the asker may page;
/// the list is re-run and the message updated.
pub async fn page_response(
    data: &Data,
    click: &Click,
) -> Result<Option<serenity::CreateInteractionResponse>, Error> {
    let Some(page) = render::parse_custom_id(&click.custom_id) else {
        return Ok(None);
    };
    let private = |reply: &Reply| {
        serenity::CreateInteractionResponse::Message(
            serenity::CreateInteractionResponseMessage::new()
                .embed(render::embed(reply))
                .ephemeral(true)
                .allowed_mentions(render::allowed_mentions(&[])),
        )
    };
    if page.asker != click.user_id {
        let text = "Only the person who ran this command can turn its pages; run it yourself to get your own copy.";
        return Ok(Some(private(&Reply::error(text.to_string()))));
    }
    let inv = match page.carried {
        render::Carried::Line(inv) => Some(inv),
        render::Carried::Key(key) => crate::app::page::invocation_for_key(&data.app, key)
            .await?
            .and_then(|text| render::from_stored(&text)),
    };
    let Some(inv) = inv else {
        let text = "This list has expired; run the command again.";
        return Ok(Some(private(&Reply::error(text.to_string()))));
    };
    // A keyed line (`after:`/`before:`) keeps its key; the page number only labels it.
    let inv = if inv
        .options
        .iter()
        .any(|(k, _)| k == "after" || k == "before")
    {
        let mut inv = inv;
        inv.options.retain(|(k, _)| k != "page");
        inv.options
            .push(("page".to_string(), page.page.to_string()));
        inv
    } else {
        inv.with_page(page.page)
    };
    tracing::info!(actor = %click.actor.name, command = %inv.to_line(), "discord page");
    let (reply, _) = commands::run(&data.app, &click.actor, &inv).await;
    Ok(Some(if reply.ephemeral {
        private(&reply)
    } else {
        serenity::CreateInteractionResponse::UpdateMessage(
            serenity::CreateInteractionResponseMessage::new()
                .embed(render::embed(&reply))
                .components(components(data, page.asker, &reply).await)
                .allowed_mentions(render::allowed_mentions(&[])),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_command_is_generated() {
        let reg = registration(&framework_commands());
        let names: Vec<&str> = reg
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "stock",
                "search",
                "backorders",
                "backorder",
                "po",
                "pos",
                "customer",
                "adjust",
                "eta",
                "receive",
                "lowstock",
                "report",
                "forecast",
                "alerts",
                "notifications",
                "approvals",
                "approve",
                "withhold",
                "help"
            ]
        );
        let fw = framework_commands();
        assert_eq!(fw.len(), names.len());
        let bo = fw.iter().find(|c| c.name == "backorder").unwrap();
        let subs: Vec<&str> = bo.subcommands.iter().map(|c| c.name.as_ref()).collect();
        assert_eq!(subs, ["show", "prioritize", "cancel", "fulfil"]);
    }

    #[test]
    fn options_carry_types_choices_and_autocomplete() {
        let reg = registration(&framework_commands());
        let cmd = |n: &str| {
            reg.as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == n)
                .unwrap()
                .clone()
        };
        let eta = cmd("eta");
        let opts: Vec<(&str, bool)> = eta["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap(),
                    o["required"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        // Required first (Discord rejects anything else).
        assert_eq!(
            opts,
            [
                ("po", true),
                ("date", true),
                ("reason", true),
                ("sku", false),
                ("preview", false)
            ]
        );
        assert_eq!(eta["options"][4]["type"], 5);
        let status = &cmd("backorders")["options"][2];
        assert_eq!(status["name"], "status");
        assert_eq!(
            status["choices"][0],
            serde_json::json!({"name": "open", "value": "open"})
        );
        let show = &cmd("backorder")["options"][0];
        assert_eq!(show["type"], 1);
        assert_eq!(show["options"][0]["type"], 4);
        assert_eq!(show["options"][0]["min_value"], 1);
        let backorders = cmd("backorders");
        let page = backorders["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "page")
            .unwrap();
        assert_eq!(page["min_value"], 1);
        assert_eq!(
            backorders["options"][0]["max_length"],
            crate::domain::Sku::MAX_LEN
        );
        assert!(status["max_length"].is_null(), "choices need no length");
        assert_eq!(
            eta["options"][2]["max_length"],
            crate::domain::text::MAX_REASON_CHARS
        );
        assert_eq!(show["options"][0]["autocomplete"], true);
        for c in reg.as_array().unwrap() {
            assert!(c["description"].as_str().unwrap().len() <= DESCRIPTION_MAX);
        }
    }
}

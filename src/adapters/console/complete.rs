//! Tab completion for the console: command and subcommand names, option names, fixed choices,
//! and values from [`commands::suggest`] — the source Discord's autocomplete uses.

use crate::commands::{self, CommandSpec, OptionKind, OptionSpec, Suggest};

/// One completion: what the list shows and what replaces the word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Shown when several candidates are listed.
    pub display: String,
    /// Replaces the word being completed.
    pub replacement: String,
}

/// What completing the last word of a line needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Byte offset where the word being completed starts.
    pub start: usize,
    /// Candidates known without the database.
    pub fixed: Vec<Candidate>,
    /// Values to look up: what to suggest, the partial value, and the text to put before each
    /// value (`sku:` when the option was named).
    pub lookup: Option<(Suggest, String, String)>,
}

impl Plan {
    /// The candidates, with the looked-up `(label, value)` pairs: values that start with what was
    /// typed first (only those when there are any, so completing never shortens the word).
    pub fn candidates(mut self, found: Vec<(String, String)>) -> Vec<Candidate> {
        if let Some((_, partial, prefix)) = &self.lookup {
            let starts = |v: &str| v.to_lowercase().starts_with(&partial.to_lowercase());
            let any_start = found.iter().any(|(_, v)| starts(v));
            for (label, value) in found {
                if !any_start || starts(&value) {
                    self.fixed.push(Candidate {
                        display: label,
                        replacement: format!("{prefix}{} ", quoted(&value)),
                    });
                }
            }
        }
        self.fixed
    }
}

fn quoted(v: &str) -> String {
    if v.contains(char::is_whitespace) {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

/// Splits the text before the cursor into finished words and the word being typed (with its
/// start), honouring quotes.
fn words(line: &str) -> (Vec<String>, usize, String) {
    let mut done = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    done.push(std::mem::take(&mut cur));
                }
                start = i + c.len_utf8();
            }
            (None, c) => cur.push(c),
        }
    }
    (done, start, cur)
}

fn choice_candidates(o: &OptionSpec, partial: &str, prefix: &str) -> Vec<Candidate> {
    let fixed: Vec<&str> = if !o.choices.is_empty() {
        o.choices.to_vec()
    } else if o.kind == OptionKind::Boolean {
        vec!["true", "false"]
    } else {
        Vec::new()
    };
    fixed
        .into_iter()
        .filter(|c| c.starts_with(&partial.to_ascii_lowercase()))
        .map(|c| Candidate {
            display: c.to_string(),
            replacement: format!("{prefix}{c} "),
        })
        .collect()
}

/// A command's subcommands that start with `partial`.
fn subcommand_plan(subs: &[&CommandSpec], start: usize, partial: &str) -> Plan {
    let partial = partial.to_ascii_lowercase();
    let fixed = subs
        .iter()
        .filter_map(|c| c.sub)
        .filter(|s| s.starts_with(&partial))
        .map(|s| Candidate {
            display: s.to_string(),
            replacement: format!("{s} "),
        })
        .collect();
    Plan {
        start,
        fixed,
        lookup: None,
    }
}

fn value_plan(o: &OptionSpec, start: usize, partial: &str, prefix: &str) -> Plan {
    Plan {
        start,
        fixed: choice_candidates(o, partial, prefix),
        lookup: o
            .suggest
            .filter(|_| o.choices.is_empty())
            .map(|s| (s, partial.to_string(), prefix.to_string())),
    }
}

/// What to complete at the end of `line` (the text before the cursor).
pub fn plan(line: &str) -> Plan {
    let (done, start, current) = words(line);
    let Some(first) = done.first() else {
        // The command name, with or without its `/`.
        let slash = if current.starts_with('/') { "/" } else { "" };
        let partial = current.trim_start_matches('/').to_ascii_lowercase();
        let mut names: Vec<&str> = commands::specs().map(|c| c.name).collect();
        names.dedup();
        let fixed = names
            .into_iter()
            .filter(|n| n.starts_with(&partial))
            .map(|n| Candidate {
                display: format!("/{n}"),
                replacement: format!("{slash}{n} "),
            })
            .collect();
        return Plan {
            start,
            fixed,
            lookup: None,
        };
    };
    let command = first.trim_start_matches('/').to_ascii_lowercase();
    let subs = commands::subcommands(&command);
    let mut rest = &done[1..];
    let mut sub = None;
    if !subs.is_empty() {
        match rest.first() {
            None if !current.contains(':') => return subcommand_plan(&subs, start, &current),
            Some(w)
                if subs
                    .iter()
                    .any(|c| c.sub == Some(w.to_ascii_lowercase().as_str())) =>
            {
                sub = Some(w.to_ascii_lowercase());
                rest = &rest[1..];
            }
            _ => sub = Some("show".to_string()),
        }
    }
    let Some(spec) = commands::find(&command, sub.as_deref()).map(|c| c.spec) else {
        return Plan::default();
    };
    let option = |name: &str| {
        spec.options
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    };
    // `name:partial`: that option's values.
    if let Some((k, v)) = current.split_once(':') {
        return match option(k) {
            Some(o) => value_plan(o, start, v, &format!("{}:", o.name)),
            None => Plan::default(),
        };
    }
    let mut named = Vec::new();
    let mut positional = Vec::new();
    for w in rest {
        match w.split_once(':') {
            Some((k, v))
                if commands::is_option_name(Some(spec), k) || commands::looks_named(k, v) =>
            {
                named.push(k.to_ascii_lowercase())
            }
            _ => positional.push(w.as_str()),
        }
    }
    let free = || {
        commands::positional_order(spec)
            .into_iter()
            .filter(|o| !named.iter().any(|n| n == o.name))
    };
    // `/help backorder sh`: the second word of a command name is one of its subcommands.
    if let ([top], Some(o)) = (&positional[..], free().next()) {
        let subs = commands::subcommands(&top.trim_start_matches('/').to_ascii_lowercase());
        if o.suggest == Some(Suggest::Command) && !subs.is_empty() {
            return subcommand_plan(&subs, start, &current);
        }
    }
    // The next positional slot's values, and the option names not given yet.
    let mut plan = match free().nth(positional.len()) {
        Some(o) => value_plan(o, start, &current, ""),
        None => Plan {
            start,
            ..Plan::default()
        },
    };
    plan.fixed.extend(
        spec.options
            .iter()
            .filter(|o| !o.hidden && !named.iter().any(|n| n == o.name))
            .filter(|o| !current.is_empty() && o.name.starts_with(&current.to_ascii_lowercase()))
            .map(|o| Candidate {
                display: format!("{}:", o.name),
                replacement: format!("{}:", o.name),
            }),
    );
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replacements(line: &str) -> Vec<String> {
        plan(line)
            .fixed
            .into_iter()
            .map(|c| c.replacement)
            .collect()
    }

    #[test]
    fn command_names_complete_with_or_without_the_slash() {
        assert_eq!(replacements("/sto"), ["/stock "]);
        assert_eq!(replacements("sto"), ["stock "]);
        assert_eq!(plan("/sto").start, 0);
        let back = replacements("/back");
        assert!(
            back.contains(&"/backorders ".to_string()) && back.contains(&"/backorder ".to_string())
        );
    }

    #[test]
    fn subcommands_options_and_choices_complete() {
        assert_eq!(replacements("/backorder can"), ["cancel "]);
        assert_eq!(replacements("/backorders st"), ["status:"]);
        assert_eq!(replacements("/backorders sort:a"), ["sort:age "]);
        assert_eq!(plan("/backorders sort:a").start, "/backorders ".len());
        assert_eq!(replacements("/pos late:t"), ["late:true "]);
        assert_eq!(replacements("/backorder prioritize 5 t"), ["top "]);
        // A command name's second word for /help.
        assert_eq!(replacements("/help backorder sh"), ["show "]);
        assert_eq!(replacements("help /alerts un"), ["unsnooze "]);
        assert_eq!(plan("/help backorder sh").start, "/help backorder ".len());
    }

    #[test]
    fn backorder_ids_complete_from_what_the_subcommand_accepts() {
        let kind = |line: &str| plan(line).lookup.map(|(k, _, _)| k);
        assert_eq!(
            kind("/backorder fulfil "),
            Some(Suggest::AllocatedBackorder)
        );
        assert_eq!(kind("/backorder cancel "), Some(Suggest::ActiveBackorder));
        assert_eq!(kind("/backorder prioritize "), Some(Suggest::Backorder));
    }

    #[test]
    fn positional_and_named_values_ask_the_suggestion_source() {
        let p = plan("/stock KB-1");
        assert_eq!(p.lookup, Some((Suggest::Sku, "KB-1".into(), String::new())));
        assert_eq!(p.start, "/stock ".len());
        let p = plan("/eta po:PO-1");
        assert_eq!(p.lookup, Some((Suggest::Po, "PO-1".into(), "po:".into())));
        // After po, the next positional slot is date: nothing to look up.
        assert_eq!(plan("/eta PO-1001 2").lookup, None);
        let found = vec![
            ("KB-101 — Keyboard".to_string(), "KB-101".to_string()),
            ("KB-9 — Mouse with keyboard".to_string(), "KB-9".to_string()),
        ];
        let c = plan("/stock KB-1").candidates(found);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].replacement, "KB-101 ");
    }
}

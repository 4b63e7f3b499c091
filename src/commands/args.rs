//! What a handler gets: who runs it ([`Ctx`]) and the options checked against its spec ([`Args`]).

use super::spec::{CommandSpec, OptionKind, OptionSpec, Suggest};
use super::Invocation;
use crate::app::page::PageRequest;
use crate::app::{Actor, App, AppError};
use crate::domain::date::parse_date;
use chrono::NaiveDate;
use std::collections::HashMap;

/// Everything a handler may use besides its options.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The use cases.
    pub app: &'a App,
    /// Who runs the command (audit name, may they change data).
    pub actor: &'a Actor,
    /// The command as typed (paged replies re-run it with another `page:`).
    pub inv: &'a Invocation,
}

/// A command's options, checked against its spec: known names, each at most once, required ones
/// present, integers, booleans, dates and choices well formed.
///
/// The getters return `Result`: a wrong value is the user's error naming the option; asking for an
/// option the spec does not declare is a bug in the handler (an internal error, not an empty string).
#[derive(Debug)]
pub struct Args {
    spec: &'static CommandSpec,
    values: HashMap<&'static str, String>,
}

impl Args {
    /// Checks `inv`'s options against `spec`.
    pub fn parse(spec: &'static CommandSpec, inv: &Invocation) -> Result<Self, AppError> {
        let mut values = HashMap::new();
        for (name, value) in &inv.options {
            let Some(o) = spec.options.iter().find(|o| o.name == name.as_str()) else {
                let known: Vec<String> = spec
                    .options
                    .iter()
                    .filter(|o| !o.hidden)
                    .map(|o| format!("{}:", o.name))
                    .collect();
                return Err(AppError::invalid(
                    name.clone(),
                    format!(
                        "unknown option for {}; it takes {}",
                        super::usage_name(spec),
                        if known.is_empty() {
                            "no options".to_string()
                        } else {
                            known.join(" ")
                        }
                    ),
                ));
            };
            if values.contains_key(o.name) {
                return Err(AppError::invalid(o.name, "is given twice"));
            }
            let v = value.trim();
            // Ids may be written as lists print them: `#4`.
            let v = match v.strip_prefix('#') {
                Some(digits) if is_id(o) && digits.starts_with(|c: char| c.is_ascii_digit()) => {
                    digits
                }
                _ => v,
            };
            match o.kind {
                OptionKind::Integer if v.parse::<i64>().is_err() => {
                    return Err(AppError::invalid(o.name, not_a_number(o, v)))
                }
                OptionKind::Boolean if parse_bool(v).is_none() => {
                    return Err(AppError::invalid(
                        o.name,
                        format!("\"{v}\" is not true or false"),
                    ))
                }
                OptionKind::Date => {
                    parse_date(v).map_err(|e| AppError::invalid(o.name, e))?;
                }
                _ => {}
            }
            if let Ok(n) = v.parse::<i64>() {
                if o.kind == OptionKind::Integer {
                    if let Some(min) = o.min_value.filter(|min| n < *min) {
                        return Err(AppError::invalid(o.name, format!("must be at least {min}")));
                    }
                    if let Some(max) = o.max_value.filter(|max| n > *max) {
                        return Err(AppError::invalid(o.name, format!("must be at most {max}")));
                    }
                }
            }
            if let Some(max) = o.max_length {
                if v.chars().count() > usize::from(max) {
                    return Err(AppError::invalid(
                        o.name,
                        format!("is longer than {max} characters"),
                    ));
                }
            }
            if !o.choices.is_empty() && !o.choices.contains(&v.to_ascii_lowercase().as_str()) {
                return Err(AppError::invalid(
                    o.name,
                    format!("\"{v}\" is not one of {}", o.choices.join(", ")),
                ));
            }
            values.insert(o.name, v.to_string());
        }
        if let Some(missing) = spec
            .options
            .iter()
            .find(|o| o.required && !values.contains_key(o.name))
        {
            return Err(AppError::invalid(
                missing.name,
                format!("is required: {}", super::usage(spec)),
            ));
        }
        Ok(Self { spec, values })
    }

    /// The value as given, if any.
    pub fn text(&self, name: &str) -> Result<Option<&str>, AppError> {
        self.declared(name)?;
        Ok(self.values.get(name).map(String::as_str))
    }

    /// The value; "is required" when absent.
    pub fn req(&self, name: &str) -> Result<&str, AppError> {
        self.text(name)?
            .ok_or_else(|| AppError::invalid(name, "is required"))
    }

    /// A whole number, if given.
    pub fn int(&self, name: &str) -> Result<Option<i64>, AppError> {
        self.text(name)?
            .map(|v| {
                v.parse()
                    .map_err(|_| AppError::invalid(name, format!("\"{v}\" is not a whole number")))
            })
            .transpose()
    }

    /// `true`/`yes` → true, `false`/`no` or absent → false.
    pub fn flag(&self, name: &str) -> Result<bool, AppError> {
        match self.text(name)? {
            None => Ok(false),
            Some(v) => parse_bool(v)
                .ok_or_else(|| AppError::invalid(name, format!("\"{v}\" is not true or false"))),
        }
    }

    /// A `YYYY-MM-DD` date, if given.
    pub fn date(&self, name: &str) -> Result<Option<NaiveDate>, AppError> {
        self.text(name)?
            .map(|v| parse_date(v).map_err(|e| AppError::invalid(name, e)))
            .transpose()
    }

    /// `page:` (1 when absent).
    pub fn page(&self) -> Result<u32, AppError> {
        match self.int("page")? {
            None => Ok(1),
            Some(p) if (1..=100_000).contains(&p) => Ok(p as u32),
            Some(p) => Err(AppError::invalid(
                "page",
                format!("{p} is not a page number"),
            )),
        }
    }

    /// Which page of a list: `page:`, or the row key of `after:` or `before:` (a paging button's).
    pub fn paging(&self) -> Result<PageRequest<'_>, AppError> {
        Ok(PageRequest {
            page: self.page()?,
            after: self.text("after")?,
            before: self.text("before")?,
        })
    }

    fn declared(&self, name: &str) -> Result<(), AppError> {
        if self.spec.options.iter().any(|o| o.name == name) {
            Ok(())
        } else {
            Err(AppError::Unexpected(anyhow::anyhow!(
                "the handler of {} asked for option {name:?}, which its spec does not declare",
                super::usage_name(self.spec)
            )))
        }
    }
}

/// An option naming a backorder by its id.
fn is_id(o: &OptionSpec) -> bool {
    o.kind == OptionKind::Integer
        && (o.suggest.is_some_and(Suggest::is_backorder) || o.name == "backorder")
}

/// Why `v` is not a value of integer option `o`: too large or small to be one, or no number.
fn not_a_number(o: &OptionSpec, v: &str) -> String {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return format!("\"{v}\" is not a whole number");
    }
    if v.starts_with('-') {
        format!(
            "{v} is too small (at least {})",
            o.min_value.unwrap_or(i64::MIN)
        )
    } else {
        format!(
            "{v} is too large (at most {})",
            o.max_value.unwrap_or(i64::MAX)
        )
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::spec::{opt, PAGE};

    static SPEC: CommandSpec = CommandSpec {
        name: "try",
        sub: None,
        description: "A command for these tests",
        options: &[
            opt("name", "Text", OptionKind::Text, true),
            opt("n", "Number", OptionKind::Integer, false),
            opt("on", "Flag", OptionKind::Boolean, false),
            opt("day", "Date", OptionKind::Date, false),
            PAGE,
        ],
        mutating: false,
        defer: false,
    };

    fn args(options: &[(&str, &str)]) -> Result<Args, AppError> {
        Args::parse(&SPEC, &Invocation::new("try", None, options))
    }

    fn field(e: AppError) -> String {
        match e {
            AppError::Invalid { field, .. } => field,
            other => panic!("expected an invalid option, got {other:?}"),
        }
    }

    #[test]
    fn getters_return_the_typed_values_given() {
        let a = args(&[
            ("name", " lamp "),
            ("n", "-3"),
            ("on", "YES"),
            ("day", "2026-12-10"),
            ("page", "2"),
        ])
        .unwrap();
        assert_eq!(a.req("name").unwrap(), "lamp");
        assert_eq!(a.text("name").unwrap(), Some("lamp"));
        assert_eq!(a.int("n").unwrap(), Some(-3));
        assert!(a.flag("on").unwrap());
        assert_eq!(
            a.date("day").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 10)
        );
        assert_eq!(a.page().unwrap(), 2);
    }

    #[test]
    fn absent_optional_options_are_none_false_and_page_one() {
        let a = args(&[("name", "x")]).unwrap();
        assert_eq!(a.int("n").unwrap(), None);
        assert!(!a.flag("on").unwrap());
        assert_eq!(a.date("day").unwrap(), None);
        assert_eq!(a.page().unwrap(), 1);
    }

    #[test]
    fn a_missing_required_option_is_refused_naming_it_and_the_usage() {
        let e = args(&[("n", "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "name: is required: /try name: [n:] [on:] [day:] [page:]"
        );
    }

    #[test]
    fn malformed_values_are_refused_naming_the_option() {
        assert_eq!(
            field(args(&[("name", "x"), ("n", "1.5")]).unwrap_err()),
            "n"
        );
        assert_eq!(
            field(args(&[("name", "x"), ("on", "maybe")]).unwrap_err()),
            "on"
        );
        assert_eq!(
            field(args(&[("name", "x"), ("day", "10/12")]).unwrap_err()),
            "day"
        );
        assert_eq!(
            field(args(&[("name", "x"), ("page", "0")]).unwrap_err()),
            "page"
        );
        assert_eq!(
            field(args(&[("name", "x"), ("name", "y")]).unwrap_err()),
            "name"
        );
        assert_eq!(
            field(args(&[("name", "x"), ("colour", "red")]).unwrap_err()),
            "colour"
        );
    }

    #[test]
    fn limits_from_the_spec_are_enforced_naming_the_option() {
        let e = args(&[("name", "x"), ("page", "0")]).unwrap_err();
        assert_eq!(e.to_string(), "page: must be at least 1");
        let long = "x".repeat(usize::from(crate::commands::spec::TEXT_MAX_LENGTH) + 1);
        let e = args(&[("name", &long)]).unwrap_err();
        assert_eq!(e.to_string(), "name: is longer than 100 characters");
        assert!(args(&[("name", &long[1..]), ("page", "1")]).is_ok());
    }

    #[test]
    fn a_number_too_large_or_small_says_so_with_the_limit() {
        let e = args(&[("name", "x"), ("page", "99999999999999999999")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "page: 99999999999999999999 is too large (at most 100000)"
        );
        let e = args(&[("name", "x"), ("n", "-99999999999999999999")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "n: -99999999999999999999 is too small (at least {})",
                i64::MIN
            )
        );
        let e = args(&[("name", "x"), ("n", "12a")]).unwrap_err();
        assert_eq!(e.to_string(), "n: \"12a\" is not a whole number");
    }

    #[test]
    fn asking_for_an_undeclared_option_is_an_internal_error_not_an_empty_string() {
        let a = args(&[("name", "x")]).unwrap();
        assert!(matches!(a.req("nmae"), Err(AppError::Unexpected(_))));
        assert!(matches!(a.text("nmae"), Err(AppError::Unexpected(_))));
        assert!(matches!(a.int("nmae"), Err(AppError::Unexpected(_))));
    }
}

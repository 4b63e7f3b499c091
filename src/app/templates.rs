//! Customer message templates (minijinja): the files in `config/templates/` are compiled in; a
//! file of the same name in `[notify] templates_dir` replaces one.

use crate::domain::notify::{fit_sms, shorten, sms_segments, UpdateKind};
use anyhow::Context;
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use std::path::Path;

/// Built-in templates: (file name, source).
pub const BUILT_IN: [(&str, &str); 24] = [
    (
        "backordered.sms.txt",
        include_str!("../../config/templates/backordered.sms.txt"),
    ),
    (
        "backordered.subject.txt",
        include_str!("../../config/templates/backordered.subject.txt"),
    ),
    (
        "backordered.email.txt",
        include_str!("../../config/templates/backordered.email.txt"),
    ),
    (
        "backordered.email.html",
        include_str!("../../config/templates/backordered.email.html"),
    ),
    (
        "eta_changed.sms.txt",
        include_str!("../../config/templates/eta_changed.sms.txt"),
    ),
    (
        "eta_changed.subject.txt",
        include_str!("../../config/templates/eta_changed.subject.txt"),
    ),
    (
        "eta_changed.email.txt",
        include_str!("../../config/templates/eta_changed.email.txt"),
    ),
    (
        "eta_changed.email.html",
        include_str!("../../config/templates/eta_changed.email.html"),
    ),
    (
        "allocated.sms.txt",
        include_str!("../../config/templates/allocated.sms.txt"),
    ),
    (
        "allocated.subject.txt",
        include_str!("../../config/templates/allocated.subject.txt"),
    ),
    (
        "allocated.email.txt",
        include_str!("../../config/templates/allocated.email.txt"),
    ),
    (
        "allocated.email.html",
        include_str!("../../config/templates/allocated.email.html"),
    ),
    (
        "cancelled.sms.txt",
        include_str!("../../config/templates/cancelled.sms.txt"),
    ),
    (
        "cancelled.subject.txt",
        include_str!("../../config/templates/cancelled.subject.txt"),
    ),
    (
        "cancelled.email.txt",
        include_str!("../../config/templates/cancelled.email.txt"),
    ),
    (
        "cancelled.email.html",
        include_str!("../../config/templates/cancelled.email.html"),
    ),
    (
        "switched.sms.txt",
        include_str!("../../config/templates/switched.sms.txt"),
    ),
    (
        "switched.subject.txt",
        include_str!("../../config/templates/switched.subject.txt"),
    ),
    (
        "switched.email.txt",
        include_str!("../../config/templates/switched.email.txt"),
    ),
    (
        "switched.email.html",
        include_str!("../../config/templates/switched.email.html"),
    ),
    (
        "kept_waiting.sms.txt",
        include_str!("../../config/templates/kept_waiting.sms.txt"),
    ),
    (
        "kept_waiting.subject.txt",
        include_str!("../../config/templates/kept_waiting.subject.txt"),
    ),
    (
        "kept_waiting.email.txt",
        include_str!("../../config/templates/kept_waiting.email.txt"),
    ),
    (
        "kept_waiting.email.html",
        include_str!("../../config/templates/kept_waiting.email.html"),
    ),
];

/// One backorder in a message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Item {
    /// Product name (an SMS may shorten it).
    pub product: String,
    /// Units.
    pub qty: i64,
    /// The date in words (`Wed 17 Feb`), `None` when unknown.
    pub eta: Option<String>,
    /// The date is an estimate.
    pub estimated: bool,
    /// The product taken instead (a `switched` confirmation).
    pub instead: Option<String>,
}

/// A discount code a message offers (`[incentives]`, docs/incentives.md).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CodeLine {
    /// The code, as imported: never shortened.
    pub code: String,
    /// What it gives, in words: `10% off your next order`.
    pub offer: String,
}

/// What a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct MessageContext {
    /// Shop name.
    pub shop: String,
    /// The customer's first name.
    pub name: String,
    /// The backorders, in id order.
    pub items: Vec<Item>,
    /// The customer's page, `{http.public_url}/b/<token>` (empty: no link).
    pub link: String,
    /// An SMS's "reply 1" offer: the in-stock product a reply `1` switches to.
    pub offer: Option<String>,
    /// Discount codes offered for the wait (usually none).
    pub codes: Vec<CodeLine>,
    /// A sentence ops added to the message when approving its batch.
    pub note: Option<String>,
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailBody {
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// How a template's values are escaped, by its file name: HTML for `.html`, none otherwise.
pub fn auto_escape(name: &str) -> AutoEscape {
    if name.ends_with(".html") {
        AutoEscape::Html
    } else {
        AutoEscape::None
    }
}

/// Outside text → HTML text or attribute value. It is minijinja's own escaper, the one every
/// value of an `*.html` template goes through, so the e-mail and the customer's page
/// (`adapters::portal_html`) escape alike: `&`, `<`, `>`, quotes and `/` become entities.
pub fn html_escape(raw: &str) -> String {
    minijinja::HtmlEscape(raw).to_string()
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles the built-in templates, each replaced by a same-named file in `dir` if present.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // Said here rather than left to minijinja's default: the HTML part escapes every value
        // (names come from outside), the text parts, subjects and SMS bodies show it as typed.
        env.set_auto_escape_callback(auto_escape);
        for (name, source) in BUILT_IN {
            let custom = match dir {
                Some(d) if d.join(name).is_file() => Some(
                    std::fs::read_to_string(d.join(name))
                        .with_context(|| format!("cannot read template {name}"))?,
                ),
                _ => None,
            };
            match custom {
                Some(text) => env.add_template_owned(name, text),
                None => env.add_template(name, source),
            }
            .with_context(|| format!("template {name} does not compile"))?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, cx: &MessageContext) -> anyhow::Result<String> {
        let t = self.env.get_template(name)?;
        Ok(t.render(cx)
            .with_context(|| format!("template {name} failed"))?
            .trim()
            .to_string())
    }

    /// The SMS body, with item names shortened until it fits in `max_segments`, and then the
    /// note, if even the shortest names leave it too long. Everything else the template writes
    /// (dates, discount codes) counts in full and is never cut.
    pub fn sms(
        &self,
        kind: UpdateKind,
        cx: &MessageContext,
        max_segments: u32,
    ) -> anyhow::Result<String> {
        let body = self.sms_fitting_names(kind, cx, max_segments)?;
        let Some(note) = cx.note.as_deref() else {
            return Ok(body);
        };
        if sms_segments(&body).1 <= max_segments {
            return Ok(body);
        }
        let mut best = body;
        for limit in (8..note.chars().count()).rev().step_by(4) {
            let mut short = cx.clone();
            short.note = Some(shorten(note, limit));
            best = self.sms_fitting_names(kind, &short, max_segments)?;
            if sms_segments(&best).1 <= max_segments {
                return Ok(best);
            }
        }
        let mut without = cx.clone();
        without.note = None;
        let plain = self.sms_fitting_names(kind, &without, max_segments)?;
        Ok(if sms_segments(&plain).1 < sms_segments(&best).1 {
            plain
        } else {
            best
        })
    }

    fn sms_fitting_names(
        &self,
        kind: UpdateKind,
        cx: &MessageContext,
        max_segments: u32,
    ) -> anyhow::Result<String> {
        let name = format!("{}.sms.txt", kind.as_str());
        // Render once to surface template errors; the fitting closure cannot return them.
        self.render(&name, cx)?;
        // Every name an item shows shortens: the product, then the one taken instead (a
        // `switched` confirmation); the link never does.
        let n = cx.items.len();
        let names: Vec<String> = cx
            .items
            .iter()
            .map(|i| i.product.clone())
            .chain(
                cx.items
                    .iter()
                    .map(|i| i.instead.clone().unwrap_or_default()),
            )
            .collect();
        let render = |names: &[String]| {
            let mut short = cx.clone();
            for (i, item) in short.items.iter_mut().enumerate() {
                item.product = names[i].clone();
                if item.instead.is_some() {
                    item.instead = Some(names[n + i].clone());
                }
            }
            self.render(&name, &short).unwrap_or_default()
        };
        Ok(fit_sms(&names, max_segments, &render))
    }

    /// The e-mail: subject, text and HTML.
    pub fn email(&self, kind: UpdateKind, cx: &MessageContext) -> anyhow::Result<EmailBody> {
        let k = kind.as_str();
        Ok(EmailBody {
            subject: self.render(&format!("{k}.subject.txt"), cx)?,
            text: self.render(&format!("{k}.email.txt"), cx)?,
            html: self.render(&format!("{k}.email.html"), cx)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(products: &[&str]) -> MessageContext {
        MessageContext {
            shop: "Demo Shop".into(),
            name: "Jane".into(),
            items: products
                .iter()
                .map(|p| Item {
                    product: p.to_string(),
                    qty: 2,
                    eta: Some("Wed 17 Feb".into()),
                    estimated: false,
                    instead: Some("Basecamp Tent".into()),
                })
                .collect(),
            link: String::new(),
            offer: None,
            codes: vec![],
            note: None,
        }
    }

    #[test]
    fn a_note_is_in_every_part_and_the_sms_still_fits() {
        let t = Templates::load(None).unwrap();
        let mut c = cx(&["Wireless Mouse"]);
        c.note = Some("Our supplier's ship was held in port <b>".into());
        for kind in UpdateKind::ALL {
            let sms = t.sms(kind, &c, 2).unwrap();
            assert!(
                sms.contains("Our supplier's ship was held in port <b>"),
                "{sms}"
            );
            let mail = t.email(kind, &c).unwrap();
            assert!(mail.text.contains("held in port <b>"), "{}", mail.text);
            assert!(
                mail.html.contains("held in port &lt;b&gt;"),
                "{}",
                mail.html
            );
        }
        let long = "Professional Noise Cancelling Over-Ear Studio Headphones Deluxe Edition";
        let mut c = cx(&[long, long, long, long]);
        c.note = Some("x".repeat(200));
        let body = t.sms(UpdateKind::EtaChanged, &c, 2).unwrap();
        assert!(sms_segments(&body).1 <= 2, "{body}");
        assert_eq!(body.matches("Wed 17 Feb").count(), 4, "{body}");
        c.note = Some("A short note.".into());
        let body = t.sms(UpdateKind::EtaChanged, &c, 2).unwrap();
        assert!(body.contains("A short note."), "{body}");
        assert!(sms_segments(&body).1 <= 2, "{body}");
    }

    #[test]
    fn every_kind_renders_sms_and_both_email_parts() {
        let t = Templates::load(None).unwrap();
        for kind in UpdateKind::ALL {
            let sms = t.sms(kind, &cx(&["Wireless Mouse"]), 2).unwrap();
            assert!(sms.starts_with("Demo Shop:"), "{sms}");
            assert!(sms.contains("Wireless Mouse"), "{sms}");
            let mail = t.email(kind, &cx(&["Wireless Mouse", "USB Hub"])).unwrap();
            assert!(mail.text.contains("Hello Jane"), "{}", mail.text);
            let line = if kind == UpdateKind::Switched {
                "<li>2 × Basecamp Tent instead of USB Hub"
            } else {
                "<li>2 × USB Hub"
            };
            assert!(mail.html.contains(line), "{}", mail.html);
            assert!(!mail.subject.contains('\n'));
        }
        let sms = t
            .sms(UpdateKind::EtaChanged, &cx(&["Wireless Mouse"]), 2)
            .unwrap();
        assert_eq!(
            sms,
            "Demo Shop: your Wireless Mouse: now expected Wed 17 Feb. Reply STOP to opt out."
        );
        let sms = t
            .sms(UpdateKind::Backordered, &cx(&["Wireless Mouse"]), 2)
            .unwrap();
        assert_eq!(
            sms,
            "Demo Shop: your Wireless Mouse is on backorder, expected Wed 17 Feb. Reply STOP to opt out."
        );
    }

    #[test]
    fn every_message_carries_the_link_whole_and_names_shorten_first() {
        let t = Templates::load(None).unwrap();
        let link = "https://bot.example.com/b/AAAAAAAAAAAAAAAAAAAAAA";
        let long = "Professional Noise Cancelling Over-Ear Studio Headphones Deluxe Edition";
        for kind in UpdateKind::ALL {
            let mut c = cx(&[long, long, long]);
            c.link = link.into();
            let sms = t.sms(kind, &c, 2).unwrap();
            assert!(sms.contains(link), "{kind}: {sms}");
            assert!(sms_segments(&sms).1 <= 2, "{kind}: {sms}");
            assert!(!sms.contains(long), "{kind}: names shortened: {sms}");
            let mail = t.email(kind, &c).unwrap();
            assert!(mail.text.contains(link), "{kind}: {}", mail.text);
            assert!(
                // minijinja writes `/` as `&#x2f;` in HTML; a browser reads the same link.
                mail.html
                    .contains(&format!("href=\"{}\"", link.replace('/', "&#x2f;"))),
                "{kind}: {}",
                mail.html
            );
        }
        let mut c = cx(&["Trailhead Tent"]);
        c.link = link.into();
        c.offer = Some("Basecamp Tent".into());
        let sms = t.sms(UpdateKind::EtaChanged, &c, 2).unwrap();
        assert_eq!(
            sms,
            format!("Demo Shop: your Trailhead Tent: now expected Wed 17 Feb. Reply 1 to take Basecamp Tent instead. Your orders: {link} Reply STOP to opt out.")
        );
    }

    #[test]
    fn html_escapes_product_names() {
        let t = Templates::load(None).unwrap();
        let mail = t
            .email(UpdateKind::Allocated, &cx(&["<b>Mouse</b>"]))
            .unwrap();
        assert!(mail.html.contains("&lt;b&gt;Mouse"), "{}", mail.html);
        assert!(mail.text.contains("<b>Mouse</b>"));
        let hostile = "<script>alert(1)</script> O'Brien & Sons";
        let mut c = cx(&[hostile]);
        c.name = "<script>alert(1)</script>".into();
        let mail = t.email(UpdateKind::Backordered, &c).unwrap();
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html
                .contains("Hello &lt;script&gt;alert(1)&lt;&#x2f;script&gt;,"),
            "{}",
            mail.html
        );
        assert!(
            mail.html.contains("O&#x27;Brien &amp; Sons"),
            "{}",
            mail.html
        );
        assert!(mail.text.contains(hostile), "{}", mail.text);
        assert!(mail.subject.contains(hostile), "{}", mail.subject);
    }

    #[test]
    fn only_html_templates_escape() {
        for (name, _) in BUILT_IN {
            let html = matches!(auto_escape(name), AutoEscape::Html);
            assert_eq!(html, name.ends_with(".email.html"), "{name}");
        }
    }

    #[test]
    fn long_sms_keeps_within_max_segments_and_keeps_dates() {
        let t = Templates::load(None).unwrap();
        let long = "Professional Noise Cancelling Over-Ear Studio Headphones Deluxe Edition";
        let body = t
            .sms(UpdateKind::EtaChanged, &cx(&[long, long, long, long]), 2)
            .unwrap();
        assert!(sms_segments(&body).1 <= 2, "{body}");
        assert_eq!(body.matches("Wed 17 Feb").count(), 4, "{body}");
    }

    fn with_code(mut c: MessageContext, code: &str) -> MessageContext {
        c.codes.push(CodeLine {
            code: code.into(),
            offer: "10% off your next order".into(),
        });
        c
    }

    #[test]
    fn a_code_is_offered_by_news_kinds_and_counts_in_full_when_an_sms_is_fitted() {
        let t = Templates::load(None).unwrap();
        let sms = t
            .sms(
                UpdateKind::EtaChanged,
                &with_code(cx(&["Wireless Mouse"]), "SORRY-7F3K"),
                2,
            )
            .unwrap();
        assert_eq!(
            sms,
            "Demo Shop: your Wireless Mouse: now expected Wed 17 Feb. Thanks for waiting: code SORRY-7F3K gives 10% off your next order. Reply STOP to opt out."
        );
        for kind in [UpdateKind::Backordered, UpdateKind::Allocated] {
            let c = with_code(cx(&["Wireless Mouse"]), "SORRY-7F3K");
            assert!(t
                .sms(kind, &c, 2)
                .unwrap()
                .contains("code SORRY-7F3K gives 10% off"));
            let mail = t.email(kind, &c).unwrap();
            assert!(
                mail.text.contains(
                    "\n\nThanks for waiting: code SORRY-7F3K gives 10% off your next order.\n\n"
                ),
                "{}",
                mail.text
            );
            assert!(
                mail.html.contains("code <strong>SORRY-7F3K</strong>"),
                "{}",
                mail.html
            );
        }
        // One segment without the code, two with it: the names shorten, the code stays whole.
        let long = "Professional Noise Cancelling Over-Ear Studio Headphones";
        let plain = t.sms(UpdateKind::EtaChanged, &cx(&[long]), 1).unwrap();
        assert_eq!(sms_segments(&plain).1, 1, "{plain}");
        assert!(plain.contains(long));
        let code = "WAIT-ABCDEFGHIJKLMNOPQRSTUV";
        let fitted = t
            .sms(UpdateKind::EtaChanged, &with_code(cx(&[long]), code), 1)
            .unwrap();
        assert_eq!(sms_segments(&fitted).1, 1, "{fitted}");
        assert!(fitted.contains(code), "{fitted}");
        assert!(fitted.contains("Wed 17 Feb"), "{fitted}");
        assert!(!fitted.contains(long), "the name was shortened: {fitted}");
    }

    #[test]
    fn a_code_is_outside_text_escaped_in_html_and_as_typed_elsewhere() {
        let t = Templates::load(None).unwrap();
        let c = with_code(cx(&["Mouse"]), "<b>&X'");
        let mail = t.email(UpdateKind::EtaChanged, &c).unwrap();
        assert!(
            mail.html.contains("<strong>&lt;b&gt;&amp;X&#x27;</strong>"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>&X"), "{}", mail.html);
        assert!(mail.text.contains("code <b>&X' gives"), "{}", mail.text);
        // Cancellations offer nothing even if handed a code.
        assert!(!t.sms(UpdateKind::Cancelled, &c, 2).unwrap().contains("<b>"));
    }

    #[test]
    fn a_templates_dir_overrides_single_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cancelled.sms.txt"), "Sorry {{ name }}!").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        assert_eq!(
            t.sms(UpdateKind::Cancelled, &cx(&["X"]), 2).unwrap(),
            "Sorry Jane!"
        );
        assert!(t
            .sms(UpdateKind::Allocated, &cx(&["X"]), 2)
            .unwrap()
            .contains("on its way"));
        std::fs::write(dir.path().join("allocated.sms.txt"), "{% if %}").unwrap();
        assert!(Templates::load(Some(dir.path())).is_err());
    }
}

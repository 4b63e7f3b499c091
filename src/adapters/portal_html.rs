//! The customer's page as HTML: server-rendered, no JavaScript, readable on a phone, and every
//! value from outside (names, SKUs, outcomes) escaped. What it shows is decided in
//! [`crate::app::portal`]; this only writes it out.

use crate::app::portal::{Form, Page, PageBackorder};
use crate::app::templates::html_escape;
use crate::domain::portal::CancelReason;
use crate::domain::EtaKind;
use chrono::NaiveDate;
use std::fmt::Write;

/// Plain, high-contrast, large tap targets; visible focus for keyboard users.
const STYLE: &str = "body{font-family:system-ui,sans-serif;font-size:1.05rem;line-height:1.5;\
color:#1a1a1a;background:#fff;margin:0 auto;max-width:40rem;padding:1rem}\
h1{font-size:1.5rem}h2{font-size:1.2rem;margin:0 0 .5rem}\
section.bo{border:1px solid #767676;border-radius:6px;padding:1rem;margin:1rem 0}\
fieldset{border:1px solid #767676;border-radius:4px;margin:.75rem 0;padding:.5rem .75rem}\
legend{font-weight:600}label{display:block;padding:.35rem 0}\
button{font:inherit;min-height:44px;padding:.5rem 1rem;border:0;border-radius:4px;\
background:#0b5394;color:#fff;cursor:pointer;margin-top:.5rem}\
button.quiet{background:#fff;color:#0b5394;border:2px solid #0b5394}\
select{font:inherit;min-height:44px;max-width:100%}\
:focus-visible{outline:3px solid #b35c00;outline-offset:2px}\
.notice{border-left:6px solid #0b5394;background:#eef4fb;padding:.75rem;margin:1rem 0}\
.muted{color:#4a4a4a}ul.moves{margin:.25rem 0 .5rem;padding-left:1.25rem}";

fn date(d: NaiveDate) -> String {
    d.format("%a %-d %b %Y").to_string()
}

fn doc(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\">\
<title>{}</title><style>{STYLE}</style></head>\n<body><main>\n{body}</main></body></html>\n",
        html_escape(title)
    )
}

/// A page that only says what went wrong (404, 410, 403, 429, 500): nothing about any customer.
pub fn message(title: &str, text: &str) -> String {
    doc(
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n",
            html_escape(title),
            html_escape(text)
        ),
    )
}

/// A notice above the page: what the customer's choice did.
#[derive(Debug, Clone)]
pub struct Notice<'a> {
    pub text: &'a str,
}

/// The customer's page, with an optional notice.
pub fn page(p: &Page, notice: Option<Notice<'_>>) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{}: your backorders</h1>\n<p>Hello {},</p>\n",
        html_escape(&p.shop),
        html_escape(&p.first_name)
    );
    if let Some(n) = notice {
        let _ = writeln!(
            b,
            "<p class=\"notice\" role=\"status\">{}</p>",
            html_escape(n.text)
        );
    }
    if !p.contacts.is_empty() {
        let _ = writeln!(
            b,
            "<p class=\"muted\">We write to you at {}.</p>",
            html_escape(&p.contacts.join(" and "))
        );
    }
    if p.backorders.is_empty() {
        b.push_str("<p>You have no open backorders with us.</p>\n");
    }
    for bo in &p.backorders {
        backorder(&mut b, &p.token, bo);
    }
    doc(&format!("{}: your backorders", p.shop), &b)
}

fn hidden(b: &mut String, id: i64, f: &Form) {
    let _ = write!(
        b,
        "<input type=\"hidden\" name=\"nonce\" value=\"{}\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<input type=\"hidden\" name=\"backorder\" value=\"{id}\">",
        html_escape(&f.nonce),
        html_escape(&f.csrf)
    );
}

fn backorder(b: &mut String, token: &str, bo: &PageBackorder) {
    let id = bo.id.0;
    let action = format!("/b/{}", html_escape(token));
    let _ = write!(
        b,
        "<section class=\"bo\" aria-labelledby=\"bo{id}\">\n<h2 id=\"bo{id}\">{} × {}</h2>\n",
        bo.qty,
        html_escape(&bo.product)
    );
    let promise = match (bo.eta, bo.eta_kind) {
        (Some(d), EtaKind::Confirmed) => format!(
            "Expected <strong>{}</strong> (confirmed by the supplier).",
            date(d)
        ),
        (Some(d), _) => format!(
            "Expected around <strong>{}</strong> (our estimate).",
            date(d)
        ),
        (None, _) => "The date is not known yet; we will tell you as soon as it is.".to_string(),
    };
    let _ = writeln!(b, "<p>{promise}</p>");
    if let Some(c) = &bo.code {
        let _ = writeln!(
            b,
            "<p>Thanks for waiting: code <strong>{}</strong> gives {}.</p>",
            html_escape(&c.code),
            c.value.in_words()
        );
    }
    if !bo.history.is_empty() {
        b.push_str("<p class=\"muted\">How the date moved:</p>\n<ul class=\"moves\">\n");
        for m in &bo.history {
            let word = |d: Option<NaiveDate>| d.map_or("not known".to_string(), date);
            let _ = writeln!(
                b,
                "<li>{}: {} → {}</li>",
                m.at.format("%-d %b %Y"),
                word(m.from),
                word(m.to)
            );
        }
        b.push_str("</ul>\n");
    }
    if !bo.offers.is_empty() {
        let _ = write!(b, "<form method=\"post\" action=\"{action}\">");
        hidden(b, id, &bo.switch_form);
        b.push_str(
            "<input type=\"hidden\" name=\"action\" value=\"switch\">\
<fieldset><legend>Take one in stock instead</legend>\n",
        );
        for (i, o) in bo.offers.iter().enumerate() {
            let _ = writeln!(
                b,
                "<label><input type=\"radio\" name=\"sku\" value=\"{}\"{}> {} — {}{}</label>",
                html_escape(&o.sku),
                if i == 0 { " checked" } else { "" },
                html_escape(&o.name),
                html_escape(&o.price),
                if o.substitute {
                    " (recommended substitute)"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(
            b,
            "<button type=\"submit\">Switch to the chosen item</button></fieldset></form>"
        );
    }
    let _ = write!(b, "<form method=\"post\" action=\"{action}\">");
    hidden(b, id, &bo.cancel_form);
    let _ = write!(
        b,
        "<input type=\"hidden\" name=\"action\" value=\"cancel\">\
<fieldset><legend>Cancel this backorder</legend>\
<label for=\"reason{id}\">Why do you cancel?</label>\
<select id=\"reason{id}\" name=\"reason\" required><option value=\"\">Choose a reason</option>"
    );
    for r in CancelReason::ALL {
        let _ = write!(
            b,
            "<option value=\"{}\">{}</option>",
            r.as_str(),
            html_escape(r.label())
        );
    }
    b.push_str("</select>\n<button type=\"submit\" class=\"quiet\">Cancel the backorder</button></fieldset></form>\n");
    let _ = write!(b, "<form method=\"post\" action=\"{action}\">");
    hidden(b, id, &bo.wait_form);
    b.push_str(
        "<input type=\"hidden\" name=\"action\" value=\"wait\">\
<button type=\"submit\" class=\"quiet\">Keep waiting</button></form>\n</section>\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::incentives::IssuedCode;
    use crate::app::portal::{Moved, Offer};
    use crate::domain::incentive::CodeValue;
    use crate::domain::BackorderId;

    fn form() -> Form {
        Form {
            nonce: "n\"><script>".into(),
            csrf: "c".into(),
        }
    }

    #[test]
    fn everything_from_outside_is_escaped() {
        let hostile = "<script>alert(1)</script> O'Brien & \"Sons\"";
        let p = Page {
            shop: hostile.into(),
            first_name: hostile.into(),
            contacts: vec!["+44 •••• 0123".into()],
            token: "tok".into(),
            backorders: vec![PageBackorder {
                id: BackorderId(7),
                product: hostile.into(),
                qty: 2,
                eta: NaiveDate::from_ymd_opt(2027, 2, 17),
                eta_kind: EtaKind::Estimated,
                history: vec![Moved {
                    at: chrono::Utc::now(),
                    from: None,
                    to: NaiveDate::from_ymd_opt(2027, 2, 17),
                }],
                code: Some(IssuedCode {
                    backorder_id: BackorderId(7),
                    sku: hostile.into(),
                    code: hostile.into(),
                    value: CodeValue::PercentOff(10),
                    issued_at: chrono::Utc::now(),
                    told: None,
                }),
                offers: vec![Offer {
                    sku: hostile.into(),
                    name: hostile.into(),
                    price: "€12.00".into(),
                    substitute: true,
                }],
                switch_form: form(),
                cancel_form: form(),
                wait_form: form(),
            }],
        };
        let html = page(&p, Some(Notice { text: hostile }));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains(
            "&lt;script&gt;alert(1)&lt;&#x2f;script&gt; O&#x27;Brien &amp; &quot;Sons&quot;"
        ));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("name=\"viewport\""));
        assert!(html.contains("Expected around <strong>Wed 17 Feb 2027</strong>"));
        assert!(html.contains("<label for=\"reason7\">"));
        assert_eq!(html.matches("<form method=\"post\"").count(), 3);
    }

    #[test]
    fn an_error_page_names_nobody() {
        let html = message("Link expired", "Ask us for a new one.");
        assert!(html.contains("<h1>Link expired</h1>"));
        assert!(!html.contains("<form"));
    }
}

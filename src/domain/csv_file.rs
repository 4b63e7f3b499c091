//! The one way the bot writes a CSV file (the alert's attachment): the `csv` crate quotes what
//! needs quoting (a comma, a quote, a CR or LF inside a cell), and text cells are kept from
//! becoming formulas when the file is opened in a spreadsheet.
//!
//! OWASP's advice on CSV injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a CR is
//! read as a formula by Excel, LibreOffice and Google Sheets; a leading `'` makes it text again.
//! Only text cells are guarded: a number such as `-3` is written as a number.

use std::borrow::Cow;

/// One cell: text (guarded) or a number (written as is). Numbers can be made only from numbers,
/// so outside text cannot slip past the guard as one.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell<'a>(Kind<'a>);

#[derive(Debug, Clone, PartialEq)]
enum Kind<'a> {
    Text(Cow<'a, str>),
    Number(String),
}

impl<'a> Cell<'a> {
    /// A text cell: names, codes, labels, dates.
    pub fn text(s: impl Into<Cow<'a, str>>) -> Self {
        Self(Kind::Text(s.into()))
    }

    /// An empty cell.
    pub fn empty() -> Self {
        Self(Kind::Text(Cow::Borrowed("")))
    }

    /// A whole number.
    pub fn int(n: i64) -> Self {
        Self(Kind::Number(n.to_string()))
    }

    /// A number with `places` decimals.
    pub fn decimal(n: f64, places: usize) -> Self {
        Self(Kind::Number(format!("{n:.places$}")))
    }

    fn as_field(&self) -> Cow<'_, str> {
        match &self.0 {
            Kind::Text(s) => guard_formula(s),
            Kind::Number(n) => Cow::Borrowed(n),
        }
    }
}

/// A text cell as a spreadsheet shows it: with a leading `'` when it would otherwise start a
/// formula.
pub fn guard_formula(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A whole CSV file: the header, then one record per row, each line ending in `\n`.
pub fn write<'a>(header: &[&str], rows: impl IntoIterator<Item = Vec<Cell<'a>>>) -> String {
    // Flexible: a record's width is the caller's business, so the only error left would be
    // one of I/O, and a Vec takes every byte.
    const IN_MEMORY: &str = "writing CSV to memory cannot fail";
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(header.iter().map(|h| guard_formula(h).into_owned()))
        .expect(IN_MEMORY);
    for row in rows {
        w.write_record(
            row.iter()
                .map(Cell::as_field)
                .collect::<Vec<_>>()
                .iter()
                .map(|f| f.as_bytes()),
        )
        .expect(IN_MEMORY);
    }
    let bytes = w.into_inner().expect(IN_MEMORY);
    // The writer copies the UTF-8 it was given and adds ASCII quotes, commas and newlines.
    String::from_utf8(bytes).expect("CSV built from UTF-8 cells is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(file: &str) -> Vec<Vec<String>> {
        csv::Reader::from_reader(file.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    #[test]
    fn text_that_would_start_a_formula_gets_a_quote_and_numbers_stay_numbers() {
        let names = [
            "=1+1",
            "+x",
            "-2",
            "@SUM(A1)",
            "\tTab",
            "\rCR",
            "Mouse",
            "O'Brien & Sons — Café 東京 🙂",
        ];
        let file = write(
            &["name", "delta", "cover"],
            names
                .iter()
                .map(|n| vec![Cell::text(*n), Cell::int(-3), Cell::decimal(-1.26, 1)]),
        );
        let rows = read(&file);
        let got: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(
            got,
            [
                "'=1+1",
                "'+x",
                "'-2",
                "'@SUM(A1)",
                "'\tTab",
                "'\rCR",
                "Mouse",
                "O'Brien & Sons — Café 東京 🙂"
            ]
        );
        assert!(rows.iter().all(|r| r[1] == "-3" && r[2] == "-1.3"));
    }

    #[test]
    fn separators_quotes_and_line_breaks_stay_inside_their_cell() {
        let odd = "a,b \"c\"\r\nd\re";
        let file = write(
            &["name", "n"],
            [
                vec![Cell::text(odd), Cell::int(1)],
                vec![Cell::empty(), Cell::int(2)],
            ],
        );
        assert_eq!(read(&file), [vec![odd, "1"], vec!["", "2"]]);
        assert!(file.ends_with("\n,2\n"), "{file:?}");
    }
}

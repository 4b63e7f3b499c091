//! The README's first session runs as written: every `> /command` line between the
//! `<!-- first-session … -->` and `<!-- /first-session -->` markers is run on the demo shop, and
//! the lines shown under it must be the start of its answer, line for line.
//!
//! Format of a block (an indented code block, so the 4-space indent is stripped first):
//! - `> LINE` is what the user types at the prompt;
//! - `…` alone stands for any number of answer lines left out;
//! - any other line must equal the next answer line (trailing spaces ignored), where `…` inside a
//!   line stands for any text (dates and scores, which move with the day).

mod common;

const README: &str = include_str!("../README.md");
const START: &str = "<!-- first-session";
const END: &str = "<!-- /first-session -->";

#[derive(Debug, PartialEq)]
enum Expect {
    Gap,
    Line(String),
}

#[derive(Debug)]
struct Step {
    command: String,
    expect: Vec<Expect>,
}

/// The first-session steps of a README, with the (1-based) line each block starts on.
fn first_session(readme: &str) -> Vec<(usize, Vec<Step>)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, Vec<Step>)> = None;
    for (i, raw) in readme.lines().enumerate() {
        let n = i + 1;
        if raw.starts_with(START) {
            assert!(
                current.is_none(),
                "README line {n}: first-session block inside another"
            );
            current = Some((n, Vec::new()));
            continue;
        }
        if raw.starts_with(END) {
            let block = current
                .take()
                .unwrap_or_else(|| panic!("README line {n}: {END} without a {START} before it"));
            assert!(
                !block.1.is_empty(),
                "README line {n}: an empty first-session block"
            );
            blocks.push(block);
            continue;
        }
        let Some((_, steps)) = current.as_mut() else {
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        let line = raw.strip_prefix("    ").unwrap_or_else(|| {
            panic!("README line {n}: inside the first session every line is indented 4 spaces: {raw:?}")
        });
        if let Some(command) = line.strip_prefix("> ") {
            steps.push(Step {
                command: command.trim().to_string(),
                expect: Vec::new(),
            });
            continue;
        }
        let step = steps
            .last_mut()
            .unwrap_or_else(|| panic!("README line {n}: output shown before any `> ` command"));
        if line.trim() == "…" {
            step.expect.push(Expect::Gap);
        } else {
            step.expect.push(Expect::Line(line.trim_end().to_string()));
        }
    }
    assert!(current.is_none(), "README: {START} never closed by {END}");
    blocks
}

/// Does one answer line match one shown line (`…` inside it stands for any text)?
fn line_matches(shown: &str, actual: &str) -> bool {
    let actual = actual.trim_end();
    let pieces: Vec<&str> = shown.split('…').collect();
    if pieces.len() == 1 {
        return actual == shown;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Does the answer match the shown excerpt from its first line on?
fn answer_matches(expect: &[Expect], answer: &[&str]) -> bool {
    match expect.split_first() {
        None => true,
        Some((Expect::Gap, rest)) => {
            (0..=answer.len()).any(|skip| answer_matches(rest, &answer[skip..]))
        }
        Some((Expect::Line(shown), rest)) => match answer.split_first() {
            Some((actual, more)) => line_matches(shown, actual) && answer_matches(rest, more),
            None => false,
        },
    }
}

#[tokio::test]
async fn the_readme_first_session_runs_as_written() {
    let blocks = first_session(README);
    assert!(!blocks.is_empty(), "README has no {START} block");
    assert!(
        blocks[0].0 <= 40,
        "the first session starts on README line {}, off the first screen",
        blocks[0].0
    );
    let steps: Vec<&Step> = blocks.iter().flat_map(|(_, steps)| steps).collect();
    assert!(
        (4..=8).contains(&steps.len()),
        "the first session has {} commands",
        steps.len()
    );

    // One demo shop for the whole session, as a new user has it.
    let app = common::spawn_demo_app().await;
    for step in steps {
        assert!(
            step.expect.iter().any(|e| matches!(e, Expect::Line(_))),
            "README shows nothing under `> {}`",
            step.command
        );
        let answer = app.ok(&step.command).await;
        let lines: Vec<&str> = answer.lines().collect();
        assert!(
            answer_matches(&step.expect, &lines),
            "the README's answer to `> {}` no longer appears.\nREADME shows:\n{}\nthe bot answers:\n{answer}",
            step.command,
            step.expect
                .iter()
                .map(|e| match e {
                    Expect::Gap => "…",
                    Expect::Line(l) => l.as_str(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
}

#[test]
fn the_matcher_refuses_what_the_bot_did_not_say() {
    let readme = "x\n<!-- first-session -->\n\n    > /stock A\n    Status: …\n    …\n      Open: 3\n<!-- /first-session -->\n";
    let blocks = first_session(readme);
    assert_eq!(blocks.len(), 1);
    let step = &blocks[0].1[0];
    assert_eq!(step.command, "/stock A");
    let ok = ["Status: BACKORDERED", "  On hand: 0", "  Open: 3", "  more"];
    assert!(answer_matches(&step.expect, &ok));
    // A changed value, a missing line, a line that moved to the front.
    assert!(!answer_matches(&step.expect, &["Status: X", "  Open: 4"]));
    assert!(!answer_matches(&step.expect, &["Status: X"]));
    assert!(!answer_matches(&step.expect, &["  Open: 3", "Status: X"]));
    // The first shown line must be the answer's first line unless `…` comes before it.
    assert!(!answer_matches(
        &step.expect,
        &["header", "Status: X", "  Open: 3"]
    ));
    // `…` within a line: the pieces in order, anchored at both ends.
    assert!(line_matches("a … b … c", "a 1 b 2 c"));
    assert!(!line_matches("a … b … c", "a 1 c 2 b"));
    assert!(!line_matches("a … c", "a 1 c d"));
    assert!(!line_matches("ab…ba", "aba"));
}

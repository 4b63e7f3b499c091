//! The real binary's console in a pseudo-terminal: Tab completion, history recall, positional
//! values, and replies without Markdown. (rexpect reads bytes as Latin-1: needles stay ASCII.)
//! On the test's engine ([`common::BotDb`]); history and log go beside `database.path` on both.

mod common;

use common::BotDb;
use rexpect::reader::Options;
use rexpect::session::spawn_with_options;
use std::process::Command;

const PRODUCTS: &str =
    "sku,name,unit_price,on_hand\nKB-101,Keyboard,49.00,3\nMS-200,Mouse,19.00,0\n";

fn bot(db: &BotDb) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backorder-bot"));
    c.args(db.args()).envs(db.env());
    with_env(&mut c);
    c
}

fn with_env(c: &mut Command) {
    c.env("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")
        .env("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false")
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .env_remove("DISCORD_TOKEN")
        .env_remove("INGEST_API_TOKEN");
}

/// The real binary's console in a pseudo-terminal.
fn console(db: &BotDb) -> rexpect::session::PtySession {
    let mut console = bot(db);
    console.arg("console");
    spawn_with_options(
        console,
        Options::default()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap()
}

#[test]
fn tab_completes_up_recalls_and_positional_values_answer_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("console.db"));
    let csv = dir.path().join("products.csv");
    std::fs::write(&csv, PRODUCTS).unwrap();
    let out = bot(&db)
        .args(["import", "products"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let mut p = console(&db);
    let mut seen = p.exp_string("Logs go to").unwrap();
    seen += &p.exp_string("> ").unwrap();

    // `/sto` Tab → `/stock `, `KB-1` Tab → `KB-101 `: the line that runs is `/stock KB-101`.
    p.send("/sto").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("/stock ").unwrap();
    p.send("KB-1").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("KB-101 ").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("Keyboard").unwrap();
    seen += &p.exp_string("Available: 3").unwrap();
    seen += &p.exp_string("> ").unwrap();

    // Up recalls the previous command; Enter runs it again.
    p.send("\x1b[A").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("/stock KB-101").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("Keyboard").unwrap();
    seen += &p.exp_string("> ").unwrap();

    // Ctrl-C clears the half-typed line: what runs next is only what follows.
    p.send("/adjust nonsense").unwrap();
    p.send_control('c').unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("> ").unwrap();

    // Typed in full, positional, without the slash.
    p.send("stock MS-200\r").unwrap();
    p.flush().unwrap();
    seen += &p.exp_string("Mouse").unwrap();
    seen += &p.exp_string("Status: ").unwrap();
    seen += &p.exp_string("> ").unwrap();

    // Ctrl-D quits.
    p.send_control('d').unwrap();
    seen += &p.exp_eof().unwrap();
    assert!(!seen.contains("**"), "{seen}");
    assert!(!seen.contains("unknown command"), "{seen}");

    let history = std::fs::read_to_string(dir.path().join("console_history")).unwrap();
    assert!(history.contains("/stock KB-101"), "{history}");
    assert!(history.contains("stock MS-200"), "{history}");
    assert!(dir.path().join("backorder-bot.log").exists());
}

/// A SIGTERM while the prompt waits for a key (the line editor has the terminal in raw mode)
/// ends the service, and the terminal is as it was before: line editing, echo, signal keys,
/// input and output processing. (A SIGINT at the prompt is the line editor's: like Ctrl-C, it
/// clears the line.)
#[test]
fn a_signal_at_the_prompt_gives_the_terminal_back_as_it_was() {
    use nix::sys::signal::Signal;
    use nix::sys::termios::{tcgetattr, InputFlags, LocalFlags, OutputFlags};
    let cooked = LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN;
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("console.db"));
    // rexpect turns echo off in the child before it starts the program: `stty echo` turns
    // it back on, so the console starts on a terminal in the usual cooked mode.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("stty echo && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_backorder-bot"))
        .args(db.args())
        .arg("console")
        .envs(db.env());
    with_env(&mut c);
    let mut p = spawn_with_options(
        c,
        Options::default()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(true),
    )
    .unwrap();
    p.exp_string("> ").unwrap();
    let waiting = tcgetattr(&p.process.pty).unwrap();
    assert!(
        !waiting
            .local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO),
        "the prompt reads keys in raw mode"
    );
    p.process.signal(Signal::SIGTERM).unwrap();
    p.exp_eof().unwrap();
    let after = tcgetattr(&p.process.pty).unwrap();
    assert!(
        after.local_flags.contains(cooked),
        "line editing, echo and signal keys are back: {:?}",
        after.local_flags
    );
    assert!(
        after.input_flags.contains(InputFlags::ICRNL),
        "{:?}",
        after.input_flags
    );
    assert!(
        after.output_flags.contains(OutputFlags::OPOST),
        "{:?}",
        after.output_flags
    );
}

/// From start (the demo shop loaded on first start) to exit (every task stopped), `console`
/// and `run` at a terminal print no log line, even with `RUST_LOG=info`: the lines are in
/// `backorder-bot.log` beside the database.
#[test]
fn no_log_line_reaches_the_terminal_from_start_to_exit() {
    for command in ["console", "run"] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = bot(&BotDb::at(dir.path().join("shop.db")));
        c.arg(command)
            .env("RUST_LOG", "info")
            .env("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "true");
        let mut p = spawn_with_options(
            c,
            Options::default()
                .timeout_ms(Some(30_000))
                .strip_ansi_escape_codes(true),
        )
        .unwrap();
        let mut seen = p.exp_string("> ").unwrap();
        p.send("/stock TENT-2P\r").unwrap();
        p.flush().unwrap();
        seen += &p.exp_string("Available:").unwrap();
        seen += &p.exp_string("> ").unwrap();
        p.send_control('d').unwrap();
        seen += &p.exp_eof().unwrap();
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
            assert!(
                !seen.contains(level),
                "{command}: {level} on screen: {seen}"
            );
        }
        let log = std::fs::read_to_string(dir.path().join("backorder-bot.log")).unwrap();
        assert!(log.contains("loaded the demo shop"), "{command}: {log}");
        assert!(log.contains("task=\"console\""), "{command}: {log}");
    }
}

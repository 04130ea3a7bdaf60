//! `casl2 challenger` and `casl2 devnet --scenario fraud` as a watcher uses them: the devnet's
//! sequencers anchor a bad batch, its challenger wins the game (seen in the JSON event stream),
//! and `casl2 challenger status|games|game` report it from the data directory. Bad input gets
//! one-line errors.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::Killed;

fn casl2(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(args)
        .output()
        .unwrap()
}

fn fails_with(args: &[&str], needle: &str) {
    let out = casl2(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn the_devnet_challenger_wins_the_fraud_scenario_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("net");
    let mut child = Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args([
            "--json",
            "devnet",
            "--port",
            "0",
            "--www-port",
            "0",
            "--run-for",
            "90",
            "--l1-block-ms",
            "300",
            "--scenario",
            "fraud",
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _c = Killed(child);
    let t0 = Instant::now();
    let mut won = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if v["challenger"]["event"] == "gameOver" {
            won = Some(v["challenger"].clone());
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(80), "no game ended");
    }
    let ev = won.expect("the devnet stopped before a game ended");
    assert_eq!(ev["result"], "fraudProven", "{ev}");
    let game = ev["game"].as_u64().unwrap().to_string();
    let cdir = data.join("challenger");
    let cdir = cdir.to_str().unwrap();
    // The state file is written after the tick that saw the result.
    let t1 = Instant::now();
    let status = loop {
        let out = casl2(&["--json", "challenger", "status", "--data-dir", cdir]);
        assert!(out.status.success());
        let s: Value = serde_json::from_slice(&out.stdout).unwrap();
        if s["stats"]["gamesWon"].as_u64() >= Some(1) {
            break s;
        }
        assert!(t1.elapsed() < Duration::from_secs(10), "{s}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["chainId"], 1);
    let out = casl2(&["--json", "challenger", "games", "--data-dir", cdir]);
    let games: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(games
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["game"]["result"] == "fraudProven"));
    let out = casl2(&[
        "challenger",
        "game",
        &game,
        "--data-dir",
        cdir,
        "--l1",
        "http://127.0.0.1:9/",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FraudProven") && text.contains("last tick"),
        "{text}"
    );
}

#[test]
fn bad_challenger_input_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    fails_with(&["challenger", "run", "--data-dir", d], "--key");
    fails_with(
        &["challenger", "run", "--data-dir", d, "--key", "12"],
        "--key",
    );
    fails_with(
        &[
            "challenger",
            "run",
            "--data-dir",
            d,
            "--l1",
            "ftp://x",
            "--key",
            "00",
        ],
        "http://",
    );
    fails_with(
        &["challenger", "status", "--data-dir", d],
        "no challenger state",
    );
    std::fs::write(dir.path().join("challenger.json"), "{ not json").unwrap();
    fails_with(
        &["challenger", "status", "--data-dir", d],
        "not a challenger state file",
    );
    fails_with(
        &[
            "challenger",
            "game",
            "7",
            "--data-dir",
            d,
            "--l1",
            "http://127.0.0.1:9/",
        ],
        "not a challenger state file",
    );
    fails_with(&["devnet", "--scenario", "chaos"], "unknown scenario");
    fails_with(
        &["devnet", "--scenario", "fraud", "--fraud", "lie"],
        "unknown kind",
    );
    fails_with(
        &["node", "--dishonest", "wrong-root", "--network", "testnet"],
        "refused",
    );
}

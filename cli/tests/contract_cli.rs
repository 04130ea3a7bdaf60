//! `casl2 contract deploy | send | call` against a `casl2 devnet` child process, with the
//! contracts of `verifier/tests/contracts/build.json`: a counter, an ERC-20 token with a
//! constructor argument, and a contract that reverts with a reason. Bad input is a one-line
//! error and exit 2.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use support::{casl2, devnet, fails, ok_json, sh};

fn init_code(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../verifier/tests/contracts/build.json"
    );
    let build: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    build["contracts"][name]["bytecode"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn contracts_are_deployed_sent_to_and_called_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    let (_net, info, _) = devnet(
        dir.path(),
        "--port 0 --no-www --sequencers 1 --l1-block-ms 300 --no-challenger --run-for 400",
    );
    let l1 = info["l1RpcUrl"].as_str().unwrap().to_string();
    let key = info["accounts"][0]["privateKey"]
        .as_str()
        .unwrap()
        .to_string();
    let run = |args: &str| -> Command {
        let mut c = casl2(&wallet);
        c.args(sh(args)).args(["--l1", &l1, "--timeout", "120"]);
        c
    };
    let with_key = |args: &str| -> Command {
        let mut c = run(args);
        c.args(["--key", &key]);
        c
    };
    ok_json(with_key("--json deposit 100"));

    // The counter from a file of hex, then increment() and count().
    let file = dir.path().join("Counter.bin");
    std::fs::write(&file, init_code("Counter") + "\n").unwrap();
    let mut c = with_key("--json contract deploy");
    c.arg(&file);
    let d = ok_json(c);
    assert_eq!(d["success"], json!(true), "{d}");
    let counter = d["contractAddress"].as_str().unwrap().to_string();
    let s = ok_json(with_key(&format!(
        "--json contract send {counter} increment()"
    )));
    assert_eq!(s["success"], json!(true), "{s}");
    assert!(s["gasUsed"].as_u64().unwrap() > 21_000);
    let out = run(&format!("contract call {counter} count()(uint256)"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");

    // The token: a constructor argument, a transfer with two arguments, logs, a decoded call.
    let bob = "0xd212302d186db2727ef9cbae6a8b718acbc570f4";
    let t = ok_json(with_key(&format!(
        "--json contract deploy {} constructor(uint256) 1000",
        init_code("Token")
    )));
    let token = t["contractAddress"].as_str().unwrap().to_string();
    assert_eq!(t["logs"].as_array().unwrap().len(), 1, "the mint: {t}");
    let s = ok_json(with_key(&format!(
        "--json contract send {token} transfer(address,uint256) {bob} 25"
    )));
    assert_eq!(s["logs"].as_array().unwrap().len(), 1, "{s}");
    let b = ok_json(run(&format!(
        "--json contract call {token} balanceOf(address)(uint256) {bob}"
    )));
    assert_eq!(b["decoded"], json!(["25"]), "{b}");
    // Raw calldata works too: balanceOf(bob) by hand, the raw word printed.
    let raw = format!("0x70a08231000000000000000000000000{}", &bob[2..]);
    let out = run(&format!("contract call {token} {raw}"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("0x{:064x}", 25)
    );

    // A revert: `call` exits 1 with the reason; `send` (gas given, so no estimate refuses it)
    // is included, pays, and fails with the reason.
    let r = ok_json(with_key(&format!(
        "--json contract deploy {}",
        init_code("Reverter")
    )));
    let reverter = r["contractAddress"].as_str().unwrap().to_string();
    let out = run(&format!("contract call {reverter} fail()"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope: reverted on purpose"));
    let out = with_key(&format!("contract send {reverter} fail()"))
        .output()
        .unwrap();
    fails(out, "would fail");
    let out = with_key(&format!(
        "--json contract send {reverter} fail() --gas-limit 100000"
    ))
    .output()
    .unwrap();
    fails(out, "nope: reverted on purpose");

    // Bad input: one line, exit 2, naming what was wrong.
    let bad: [(String, &str); 6] = [
        ("contract call 0x12 count()".into(), "the contract"),
        (format!("contract call {counter} count("), "signature"),
        (format!("contract call {counter} f(uint7)"), "signature"),
        (
            format!("contract call {token} balanceOf(address) 0x12"),
            "argument 1 (address)",
        ),
        (
            format!("contract call {token} transfer(address,uint256) {bob}"),
            "takes 2 argument(s), 1 given",
        ),
        (format!("contract call {token} 0xzz"), "calldata"),
    ];
    for (args, needle) in bad {
        fails(run(&args).output().unwrap(), needle);
    }
    let mut c = with_key("contract deploy");
    c.arg(Path::new("/nonexistent/Code.bin"));
    fails(c.output().unwrap(), "neither hex nor a readable file");
}

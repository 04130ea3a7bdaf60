//! `casl2 tree` driven as a user would: the binary, files, exit codes and messages.

use std::path::PathBuf;
use std::process::{Command, Output};

const ROOT: &str = "e6133a274a67b764d78a1264438d7b0623295800bb89b5925fa97103c998fd91";
const A: &str = "0x0102030405060708090a0b0c0d0e0f1011121314";
const B: &str = "0xff02030405060708090a0b0c0d0e0f10111213aa";

fn casl2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_casl2"))
        .args(args)
        .output()
        .expect("run casl2")
}

fn accounts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/accounts.json")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn root_of_the_example_is_the_nodes_root() {
    let o = casl2(&["tree", "root", "--accounts", accounts().to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), ROOT);
    let o = casl2(&[
        "--json",
        "tree",
        "root",
        "--accounts",
        accounts().to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["root"], ROOT);
    assert_eq!(v["accounts"], 2);
}

#[test]
fn prove_then_verify_both_formats_inclusion_and_exclusion() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["compact", "cascoind"] {
        for (addr, present) in [
            (A, true),
            (B, true),
            ("0x00000000000000000000000000000000000000ff", false),
        ] {
            let o = casl2(&[
                "tree",
                "prove",
                "--accounts",
                accounts().to_str().unwrap(),
                "--address",
                addr,
                "--format",
                format,
            ]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let p = dir.path().join(format!("{format}-{addr}.json"));
            std::fs::write(&p, &o.stdout).unwrap();
            let o = casl2(&[
                "--json",
                "tree",
                "verify",
                "--root",
                ROOT,
                "--proof",
                p.to_str().unwrap(),
                "--address",
                addr,
            ]);
            assert!(o.status.success(), "{}", text(&o.stderr));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["valid"], true);
            assert_eq!(v["inclusion"], present);

            // Against another root: invalid, exit 1, one line.
            let o = casl2(&[
                "tree",
                "verify",
                "--root",
                &"00".repeat(32),
                "--proof",
                p.to_str().unwrap(),
                "--address",
                addr,
            ]);
            assert_eq!(o.status.code(), Some(1));
            assert_eq!(text(&o.stderr).lines().count(), 1, "{}", text(&o.stderr));
            assert!(text(&o.stderr).contains("STATE_PROOF_INVALID"));
        }
    }
}

#[test]
fn verify_checks_the_expected_account() {
    let dir = tempfile::tempdir().unwrap();
    let o = casl2(&[
        "tree",
        "prove",
        "--accounts",
        accounts().to_str().unwrap(),
        "--address",
        B,
    ]);
    let p = dir.path().join("p.json");
    std::fs::write(&p, &o.stdout).unwrap();
    let ok = r#"{"balance":5,"hatScore":75,"lastActivity":42}"#;
    let o = casl2(&[
        "tree",
        "verify",
        "--root",
        ROOT,
        "--proof",
        p.to_str().unwrap(),
        "--address",
        B,
        "--account",
        ok,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let wrong = r#"{"balance":6,"hatScore":75,"lastActivity":42}"#;
    let o = casl2(&[
        "tree",
        "verify",
        "--root",
        ROOT,
        "--proof",
        p.to_str().unwrap(),
        "--address",
        B,
        "--account",
        wrong,
    ]);
    assert_eq!(o.status.code(), Some(1));
    // The proof is for B, not A.
    let o = casl2(&[
        "tree",
        "verify",
        "--root",
        ROOT,
        "--proof",
        p.to_str().unwrap(),
        "--address",
        A,
    ]);
    assert_eq!(o.status.code(), Some(1));
    // A tampered proof file.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    let enc = v["encoded"].as_str().unwrap().to_string();
    let mut bytes = hex::decode(&enc[2..]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    v["encoded"] = serde_json::Value::String(format!("0x{}", hex::encode(bytes)));
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let o = casl2(&[
        "tree",
        "verify",
        "--root",
        ROOT,
        "--proof",
        p.to_str().unwrap(),
        "--address",
        B,
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (r#"[{"address":"0x12"}]"#, "entry 0: field \"address\""),
        (
            r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314","balance":"x"}]"#,
            "entry 0: field \"balance\"",
        ),
        (
            r#"[{"address":"0x0102030405060708090a0b0c0d0e0f1011121314","hatScore":5000000000}]"#,
            "field \"hatScore\"",
        ),
        (
            r#"[{"balance":1}]"#,
            "entry 0: field \"address\" is missing",
        ),
        ("not json", "not valid JSON"),
    ];
    for (content, expect) in cases {
        let f = dir.path().join("a.json");
        std::fs::write(&f, content).unwrap();
        let o = casl2(&["tree", "root", "--accounts", f.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{content}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{err} should mention {expect}");
    }
    let o = casl2(&["tree", "root", "--accounts", "/nonexistent/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = casl2(&[
        "tree",
        "prove",
        "--accounts",
        accounts().to_str().unwrap(),
        "--address",
        "0xnothex",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let f = dir.path().join("garbage.json");
    std::fs::write(&f, r#"{"format":"compact","encoded":"0x00"}"#).unwrap();
    let o = casl2(&[
        "tree",
        "verify",
        "--root",
        ROOT,
        "--proof",
        f.to_str().unwrap(),
        "--address",
        A,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("encoded"));
}

//! The user's flows through the `casl2` binary against a `casl2 devnet` child process: wallet
//! new/import, deposit (escrow and burn), transfer, withdraw to finalisation (standard and fast
//! path, interrupted, lost and forgotten, then resumed), withdrawals — with value conserved on
//! L1 and L2 at every step (Property 4). Bad input to every command is a one-line error and
//! exit 2.

mod support;

use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::COIN;
use casl2_verifier::stf::rules::sequencer_pool_address;
use casl2_verifier::{Address, Encode, PrivateKey};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{call, casl2, devnet, fails, ok_json, sh};

/// The ledger the test checks: the chain's escrow on L1 against what the L2 holds.
struct Ledger {
    l1: String,
    node: String,
    accounts: Vec<Address>,
    /// Fees burned (10 % and the roundings) by the transactions the test made.
    burned: i64,
    /// Withdrawn on L2 and not yet paid on L1.
    in_flight: i64,
}

impl Ledger {
    fn l2(&self, a: &Address) -> i64 {
        call(&self.node, "l2_getbalance", json!([a]))
            .as_i64()
            .unwrap()
    }
    fn l1_balance(&self, a: &Address) -> i64 {
        call(&self.l1, "getbalance", json!([a])).as_i64().unwrap()
    }
    fn escrow(&self) -> i64 {
        call(&self.l1, "l2_getchain", json!([1]))["escrow"]
            .as_i64()
            .unwrap()
    }
    fn add_fee(&mut self, fee: i64) {
        self.burned += fee - fee * 70 / 100 - fee * 20 / 100;
    }
    /// Property 4: escrow = L2 balances + burned fees + withdrawals not yet paid.
    fn check(&self, step: &str) {
        let held: i64 = self.accounts.iter().map(|a| self.l2(a)).sum();
        assert_eq!(
            self.escrow(),
            held + self.burned + self.in_flight,
            "value not conserved after {step}: L2 holds {held}, burned {}, in flight {}",
            self.burned,
            self.in_flight
        );
    }
    fn fee_of(&self, hash: &Value) -> i64 {
        call(&self.node, "l2_gettransactionreceipt", json!([hash]))["receipt"]["fee"]
            .as_i64()
            .unwrap()
    }
}

#[test]
fn property_04_value_conserved_through_deposit_transfer_withdraw() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    let (_net, info, _) = devnet(
        dir.path(),
        "--port 0 --www-port 0 --sequencers 1 --l1-block-ms 300 --run-for 400",
    );
    let l1 = info["l1RpcUrl"].as_str().unwrap().to_string();
    let node = info["nodes"][0]["rpcUrl"].as_str().unwrap().to_string();
    let sequencer: Address = serde_json::from_value(info["nodes"][0]["sequencer"].clone()).unwrap();
    let dev_hex = info["accounts"][0]["privateKey"]
        .as_str()
        .unwrap()
        .to_string();
    let dev = PrivateKey::from_hex(&dev_hex).unwrap();
    let authority =
        PrivateKey::from_hex(info["authority"]["privateKey"].as_str().unwrap()).unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse battery\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "incorrect horse\n").unwrap();
    let keyfile = dir.path().join("dev.key");
    std::fs::write(&keyfile, format!("{dev_hex}\n")).unwrap();

    // Wait until the chain produces blocks (the flows need a live sequencer).
    let t0 = Instant::now();
    while call(&node, "l2_blocknumber", json!([]))
        .as_u64()
        .unwrap_or(0)
        < 2
    {
        assert!(t0.elapsed() < Duration::from_secs(60), "no L2 blocks");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Wallet: a new key and an imported one.
    let run = |args: &str| {
        let mut c = casl2(&wallet);
        c.args(sh(args)).arg("--passphrase-file").arg(&pass).args([
            "--l1",
            &l1,
            "--timeout",
            "120",
        ]);
        c
    };
    let mut c = casl2(&wallet);
    c.args(sh("--json wallet new alice --passphrase-file"))
        .arg(&pass);
    let alice: Address = serde_json::from_value(ok_json(c)["address"].clone()).unwrap();
    let mut c = casl2(&wallet);
    c.args(sh("--json wallet import dev --private-key-file"))
        .arg(&keyfile)
        .arg("--passphrase-file")
        .arg(&pass);
    assert_eq!(ok_json(c)["address"], json!(dev.address()));
    let mut c = casl2(&wallet);
    c.args(sh("--json wallet list"));
    let list = ok_json(c);
    assert_eq!(list["keys"].as_array().unwrap().len(), 2, "{list}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(wallet.join("keystore.json")).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
    }
    let mut c = casl2(&wallet);
    c.args(sh("wallet address alice"));
    let out = c.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), alice.to_hex());
    // A second key of the same name is refused; the first is kept.
    let mut c = casl2(&wallet);
    c.args(sh("wallet new alice --passphrase-file")).arg(&pass);
    fails(c.output().unwrap(), "already has a key named");
    // Wrong passphrase.
    let mut c = casl2(&wallet);
    c.args(sh("deposit 1 --key dev --passphrase-file"))
        .arg(&wrong)
        .args(["--l1", &l1]);
    fails(c.output().unwrap(), "wrong passphrase");

    let bob = Address([0xb0; 20]);
    let mut ledger = Ledger {
        l1: l1.clone(),
        node: node.clone(),
        accounts: vec![
            alice,
            dev.address(),
            bob,
            sequencer,
            sequencer_pool_address(),
        ],
        burned: 0,
        in_flight: 0,
    };
    let escrow0 = ledger.escrow();
    let dev_l1 = ledger.l1_balance(&dev.address());
    ledger.check("the start");

    // Deposit from the dev key to alice (escrow), then a burn deposit to the dev key itself.
    let d = ok_json(run(&format!("--json deposit 100 --key dev --to {alice}")));
    assert_eq!(d["credited"], json!(true), "{d}");
    assert_eq!(ledger.l2(&alice), 100 * COIN);
    assert_eq!(ledger.l1_balance(&dev.address()), dev_l1 - 100 * COIN);
    assert_eq!(ledger.escrow(), escrow0 + 100 * COIN);
    ledger.check("the deposit");
    let d = ok_json(run("--json deposit 3.5 --key dev --burn"));
    assert_eq!(d["kind"], json!("burn"));
    assert_eq!(ledger.l2(&dev.address()), 35 * COIN / 10);
    assert_eq!(ledger.l1_balance(&dev.address()), dev_l1 - 1035 * COIN / 10);
    ledger.check("the burn deposit");

    // Transfer on L2.
    let t = ok_json(run(&format!("--json transfer {bob} 10 --key alice")));
    assert_eq!(t["included"], json!(true), "{t}");
    let fee = t["fee"].as_i64().unwrap();
    assert_eq!(fee, 21_000, "21 000 gas at price 1, no discount at HAT 0");
    ledger.add_fee(fee);
    assert_eq!(ledger.l2(&bob), 10 * COIN);
    assert_eq!(ledger.l2(&alice), 90 * COIN - fee);
    ledger.check("the transfer");

    // A transfer and a deposit sent with --no-wait (as an interrupted run leaves them) are
    // waited for again with --resume, and not sent twice.
    let t = ok_json(run(&format!(
        "--json transfer {bob} 1 --key alice --no-wait"
    )));
    assert_eq!(t["included"], json!(false), "{t}");
    let t = ok_json(run(&format!(
        "--json transfer --resume {} --key alice",
        t["hash"].as_str().unwrap()
    )));
    assert_eq!(t["included"], json!(true), "{t}");
    assert_eq!(t["amount"], json!(COIN), "{t}");
    ledger.add_fee(t["fee"].as_i64().unwrap());
    assert_eq!(ledger.l2(&bob), 11 * COIN);
    let d = ok_json(run(&format!(
        "--json deposit 1 --key dev --to {alice} --no-wait"
    )));
    assert_eq!(d["credited"], json!(false), "{d}");
    let d = ok_json(run(&format!(
        "--json deposit --resume {} --key dev",
        d["deposit"].as_str().unwrap()
    )));
    assert_eq!(d["credited"], json!(true), "{d}");
    assert_eq!(d["amount"], json!(COIN), "{d}");
    assert_eq!(ledger.l1_balance(&dev.address()), dev_l1 - 1045 * COIN / 10);
    ledger.check("the resumed transfer and deposit");
    let alice_l2 = ledger.l2(&alice);

    // Withdraw (alice has HAT 0: the standard challenge period), interrupted by Ctrl-C while
    // it waits, then resumed to finalisation.
    let state = wallet.join("withdrawals.json");
    let child = run("--json withdraw 20 --key alice")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"stage\": \"included\"")) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the withdrawal never reached L2"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        // Finished before the signal came (a slow machine): nothing to check.
        Some(0) => {}
        // Interrupted in the wait: says so, and how to continue.
        Some(2) => assert!(
            err.contains("interrupted") && err.contains("--resume"),
            "{err}"
        ),
        c => panic!("exit {c:?}: {err}"),
    }
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let id = saved["withdrawals"][0]["id"].clone();
    let w = ok_json(run(&format!(
        "--json withdraw --key alice --resume {}",
        id.as_str().unwrap()
    )));
    assert_eq!(w["stage"], json!("paid"), "{w}");
    assert_eq!(w["path"], json!("standard"), "{w}");
    assert_eq!(w["id"], id);
    let wfee = ledger.fee_of(&id);
    assert_eq!(ledger.l2(&alice), alice_l2 - 20 * COIN - wfee);
    ledger.add_fee(wfee);
    assert_eq!(ledger.l1_balance(&alice), 20 * COIN);
    ledger.check("the standard withdrawal");
    let paid = call(&l1, "l2_getwithdrawals", json!([1]));
    assert_eq!(paid.as_array().unwrap().len(), 1);
    // Resuming a paid withdrawal pays nothing more.
    let again = ok_json(run(&format!(
        "--json withdraw --key alice --resume {}",
        id.as_str().unwrap()
    )));
    assert_eq!(again["stage"], json!("paid"));
    assert_eq!(ledger.l1_balance(&alice), 20 * COIN);
    ledger.check("a resumed paid withdrawal");

    // The fast path: the authority gives alice HAT 90 (≥ fastWithdrawalHat 80). Start with
    // --no-wait (an interruption), check the ledger mid-flight, then resume to payment.
    let nonce = call(&l1, "getaccount", json!([authority.address()]))["nextNonce"]
        .as_u64()
        .unwrap();
    let tx = L1Tx::signed(
        &authority,
        nonce,
        L1Op::SetHatScore {
            address: alice,
            score: 90,
        },
    )
    .unwrap();
    call(&l1, "sendrawtransaction", json!([hex::encode(tx.encode())]));
    let t0 = Instant::now();
    while call(&l1, "getaccount", json!([alice]))["hatScore"] != json!(90) {
        assert!(t0.elapsed() < Duration::from_secs(30), "HAT score not set");
        std::thread::sleep(Duration::from_millis(100));
    }
    let w2 = ok_json(run("--json withdraw 5 --key alice --no-wait"));
    assert_eq!(w2["stage"], json!("included"), "{w2}");
    let id2 = w2["id"].as_str().unwrap().to_string();
    let fee2 = ledger.fee_of(&w2["id"]);
    ledger.add_fee(fee2);
    ledger.in_flight = 5 * COIN;
    ledger.check("a withdrawal in flight");
    let mut c = casl2(&wallet);
    c.args(sh("--json withdrawals --proofs --key alice"))
        .args(["--l1", &l1]);
    let list = ok_json(c);
    let ws = list["withdrawals"].as_array().unwrap();
    assert_eq!(ws.len(), 2, "{list}");
    assert_eq!(ws[0]["status"], json!("paid"));
    assert!(
        ws[0]["proof"]["record"]["amount"] == json!(20 * COIN),
        "{list}"
    );
    assert_ne!(ws[1]["status"], json!("paid"));
    assert_eq!(
        ws[1]["proof"]["record"]["amount"],
        json!(5 * COIN),
        "{list}"
    );
    let w2 = ok_json(run(&format!("--json withdraw --key alice --resume {id2}")));
    assert_eq!(w2["stage"], json!("paid"), "{w2}");
    assert_eq!(w2["path"], json!("fast"), "{w2}");
    ledger.in_flight = 0;
    assert_eq!(ledger.l1_balance(&alice), 25 * COIN);
    ledger.check("the fast withdrawal");
    let mut c = casl2(&wallet);
    c.args(sh("--json withdrawals --key alice"))
        .args(["--l1", &l1]);
    let list = ok_json(c);
    for w in list["withdrawals"].as_array().unwrap() {
        assert_eq!(w["status"], json!("paid"), "{list}");
    }

    // A finalisation the L1 lost (its mempool is memory only): the saved stage says
    // "finalizing" with a transaction the L1 never saw; --resume signs a new one and is paid.
    let w3 = ok_json(run("--json withdraw 2 --key alice --no-wait"));
    let id3 = w3["id"].as_str().unwrap().to_string();
    ledger.add_fee(ledger.fee_of(&w3["id"]));
    ledger.in_flight = 2 * COIN;
    ledger.check("a third withdrawal in flight");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        for w in v["withdrawals"].as_array_mut().unwrap() {
            if w["id"] == json!(id3) {
                f(w);
            }
        }
        std::fs::write(&state, v.to_string()).unwrap();
    };
    let next = call(&l1, "getaccount", json!([alice]))["nextNonce"].clone();
    let height = call(&l1, "getblockcount", json!([]));
    edit(&|w| {
        w["stage"] = json!("finalizing");
        w["l1Tx"] = json!(format!("0x{}", "ab".repeat(32)));
        w["l1From"] = json!(alice);
        w["l1Nonce"] = next.clone();
        w["l1Since"] = height.clone();
    });
    let w3 = ok_json(run(&format!("--json withdraw --key alice --resume {id3}")));
    assert_eq!(w3["stage"], json!("paid"), "{w3}");
    assert_ne!(w3["l1Tx"], json!(format!("0x{}", "ab".repeat(32))));
    ledger.in_flight = 0;
    assert_eq!(ledger.l1_balance(&alice), 27 * COIN);
    ledger.check("the re-sent finalisation");
    // A paid withdrawal the wallet believes unpaid: --resume asks the L1 first and sends
    // nothing (no L1 transaction from alice, no second payment).
    let nonce_before = call(&l1, "getaccount", json!([alice]))["nextNonce"].clone();
    edit(&|w| w["stage"] = json!("included"));
    let w3 = ok_json(run(&format!("--json withdraw --key alice --resume {id3}")));
    assert_eq!(w3["stage"], json!("paid"), "{w3}");
    assert_eq!(
        call(&l1, "getaccount", json!([alice]))["nextNonce"],
        nonce_before
    );
    assert_eq!(ledger.l1_balance(&alice), 27 * COIN);
    assert_eq!(
        call(&l1, "l2_getwithdrawals", json!([1]))
            .as_array()
            .unwrap()
            .len(),
        3
    );
    ledger.check("a paid withdrawal the wallet forgot");

    // Errors that need the network: an unreachable node, an unknown chain, too little money.
    let mut c = run(&format!("transfer {bob} 1 --key alice"));
    c.args(["--node", "http://127.0.0.1:1/"]);
    fails(c.output().unwrap(), "cannot reach the L2 node");
    fails(
        run(&format!("transfer {bob} 1 --key alice --chain 77"))
            .output()
            .unwrap(),
        "no L2 chain 77",
    );
    fails(
        run(&format!("transfer {alice} 1000 --key alice"))
            .output()
            .unwrap(),
        "the transfer needs",
    );
    fails(
        run("withdraw 1000 --key alice").output().unwrap(),
        "the withdrawal needs",
    );
    ledger.check("the refused commands");
    // A node behind the chain (a fake one that says it is at block 0) is not read: the
    // command waits for it to catch up, then says so in plain words.
    let behind = support::fake_rpc::serve(|m| match m {
        "l2_getchaininfo" => Some(json!({"chainId": 1, "blockNumber": 0, "blockHash": null,
            "stateRoot": format!("0x{}", "00".repeat(32)), "sequencer": null, "l1Tip": 0,
            "status": "ACTIVE", "anchoredL2Block": 0, "finalizedL2Block": 0, "mempoolSize": 0,
            "peers": []})),
        "l2_blocknumber" => Some(json!(0)),
        _ => None,
    });
    let mut c = casl2(&wallet);
    c.args([
        "transfer",
        &sequencer.to_string(),
        "1",
        "--key",
        &dev_hex,
        "--l1",
        &l1,
    ])
    .args([
        "--node",
        &format!("http://127.0.0.1:{behind}/"),
        "--timeout",
        "2",
    ]);
    let out = c.output().unwrap();
    fails(out.clone(), "behind block");
    fails(out, "give --node of a node in sync");
}

#[test]
fn bad_input_to_every_user_command_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("w");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "pw one\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "pw two\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let raw = "0000000000000000000000000000000000000000000000000000000000000001";
    let to = "0x0102030405060708090a0b0c0d0e0f1011121314";
    let down = "http://127.0.0.1:1/";
    let run = |args: &[&str], file: Option<&PathBuf>| {
        let mut c = casl2(&wallet);
        c.args(args);
        if let Some(f) = file {
            c.arg("--passphrase-file").arg(f);
        }
        c.output().unwrap()
    };
    // A keystore key to be wrong about.
    let out = run(&["wallet", "new", "k"], Some(&pass));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Wallet.
    fails(
        run(&["wallet", "new", "bad name"], Some(&pass)),
        "may hold only",
    );
    fails(
        run(&["wallet", "new", "0xabc"], Some(&pass)),
        "may not start with 0x",
    );
    fails(run(&["wallet", "new", "k2"], Some(&empty)), "is empty");
    fails(run(&["wallet", "new", "k3"], None), "no passphrase");
    fails(
        run(
            &[
                "wallet",
                "import",
                "x",
                "--private-key-file",
                "/nonexistent/key",
            ],
            Some(&pass),
        ),
        "/nonexistent/key",
    );
    let badkey = dir.path().join("badkey");
    std::fs::write(&badkey, "zz\n").unwrap();
    fails(
        run(
            &[
                "wallet",
                "import",
                "x",
                "--private-key-file",
                badkey.to_str().unwrap(),
            ],
            Some(&pass),
        ),
        "the private key",
    );
    fails(
        run(&["wallet", "import", "x"], Some(&pass)),
        "no private key given",
    );
    fails(
        run(&["wallet", "address", "nobody"], None),
        "no key \"nobody\"",
    );
    let ks = dir.path().join("broken.json");
    std::fs::write(&ks, "{\"version\": 1, \"keys\": [").unwrap();
    fails(
        run(
            &["wallet", "list", "--keystore", ks.to_str().unwrap()],
            None,
        ),
        "not a casl2 keystore",
    );

    // Keys and passphrases (checked before any network).
    fails(
        run(
            &["transfer", to, "1", "--key", "k", "--l1", down],
            Some(&wrong),
        ),
        "wrong passphrase",
    );
    fails(
        run(&["transfer", to, "1", "--key", "k", "--l1", down], None),
        "no passphrase",
    );
    fails(
        run(
            &["transfer", to, "1", "--key", "nosuch", "--l1", down],
            Some(&pass),
        ),
        "no key \"nosuch\"",
    );
    fails(run(&["transfer", to, "1", "--key", "0x12"], None), "no key");

    // Addresses and amounts.
    for bad_to in [
        "0x1234",
        "0102030405060708090a0b0c0d0e0f1011121314",
        "0xzz02030405060708090a0b0c0d0e0f1011121314",
    ] {
        fails(
            run(&["transfer", bad_to, "1", "--key", raw], None),
            "is not an address",
        );
    }
    fails(
        run(&["deposit", "1", "--key", raw, "--to", "0x12"], None),
        "is not an address",
    );
    fails(
        run(&["withdraw", "1", "--key", raw, "--to", "bob"], None),
        "is not an address",
    );
    for cmd in [
        vec!["deposit", "1.00000001"],
        vec!["transfer", to, "1.00000001"],
        vec!["withdraw", "1.00000001"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--key", raw]);
        fails(run(&args, None), "decimals");
    }
    fails(run(&["deposit", "-1", "--key", raw], None), "not an amount");
    fails(run(&["deposit", "0", "--key", raw], None), "more than 0");
    fails(
        run(&["deposit", "1", "--key", raw, "--burn", "--to", to], None),
        "--burn credits the key itself",
    );
    fails(run(&["withdraw", "--key", raw], None), "give an amount");
    fails(
        run(&["deposit", "--key", raw, "--resume", "zz"], None),
        "not a transaction id",
    );
    fails(
        run(&["transfer", "--key", raw, "--resume", "0x12"], None),
        "not a transaction id",
    );
    fails(
        run(&["withdraw", "--key", raw, "--resume", "zz"], None),
        "not a withdrawal id",
    );
    fails(
        run(
            &[
                "withdraw",
                "--key",
                raw,
                "--resume",
                &format!("0x{}", "ab".repeat(32)),
            ],
            None,
        ),
        "no withdrawal",
    );
    fails(
        run(
            &[
                "transfer",
                to,
                "1",
                "--key",
                raw,
                "--gas-price",
                "9223372036854775807",
            ],
            None,
        ),
        "--gas-price",
    );

    // URLs: malformed and unreachable.
    fails(
        run(&["deposit", "1", "--key", raw, "--l1", "ftp://x"], None),
        "not an http:// URL",
    );
    fails(
        run(&["transfer", to, "1", "--key", raw, "--l1", down], None),
        "cannot reach the L1",
    );
    fails(
        run(&["deposit", "1", "--key", raw, "--l1", down], None),
        "cannot reach the L1",
    );
    fails(
        run(&["withdraw", "1", "--key", raw, "--l1", down], None),
        "cannot reach the L1",
    );
    fails(
        run(&["withdrawals", "--key", raw, "--l1", down], None),
        "cannot reach the L1",
    );
    fails(
        run(
            &[
                "transfer", to, "1", "--key", raw, "--l1", down, "--node", "nope",
            ],
            None,
        ),
        "--node",
    );

    // `casl2 exit`: bad key, bad or unreachable L1.
    let dev0 = "81a8aced78caa3058bbfb1587bd61197327107f7aa092f554650b73763473628";
    fails(
        casl2(&wallet)
            .args(["exit", "--key", dev0, "--l1", "ftp://x"])
            .output()
            .unwrap(),
        "not an http:// URL",
    );
    fails(
        casl2(&wallet)
            .args(["exit", "--key", dev0, "--l1", "http://127.0.0.1:9/"])
            .output()
            .unwrap(),
        "cannot reach the L1",
    );

    // `casl2 node --key` takes keystore names too, with the same errors.
    fails(
        run(&["node", "--key", "k", "--run-for", "1"], Some(&wrong)),
        "wrong passphrase",
    );
}

/// Property 12 end to end: `casl2 devnet --scenario emergency` stops its sequencers; once the
/// chain is in EMERGENCY every account with a balance in the last finalised root exits it in
/// full with `casl2 exit` (no L2 node: the state is rebuilt from L1), exactly once; an account
/// with nothing gets nothing; the escrow pays exactly what the L2 held.
#[test]
fn property_12_every_balance_exits_once_in_emergency() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("wallet");
    let (_net, info, _) = devnet(
        dir.path(),
        "--port 0 --no-www --l1-block-ms 300 --run-for 300 --scenario emergency --stop-after 2 --stop-after-deposits 3 --no-challenger",
    );
    let l1 = info["l1RpcUrl"].as_str().unwrap().to_string();
    let keys: Vec<String> = (0..4)
        .map(|i| {
            info["accounts"][i]["privateKey"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let addr = |k: &str| PrivateKey::from_hex(k).unwrap().address();
    let run = |args: &[&str]| {
        let mut c = casl2(&wallet);
        c.args(args).args(["--l1", &l1, "--timeout", "180"]);
        c
    };
    // Three accounts deposit different amounts; the fourth deposits nothing.
    for (i, k) in keys.iter().take(3).enumerate() {
        let amount = format!("{}", 10 * (i + 1));
        ok_json(run(&["--json", "deposit", &amount, "--key", k]));
    }
    // An exit before EMERGENCY is refused in plain words.
    fails(
        run(&["exit", "--key", &keys[0]]).output().unwrap(),
        "not in EMERGENCY",
    );
    let before: Vec<i64> = keys
        .iter()
        .map(|k| call(&l1, "getbalance", json!([addr(k)])).as_i64().unwrap())
        .collect();
    let escrow0 = call(&l1, "l2_getchain", json!([1]))["escrow"]
        .as_i64()
        .unwrap();
    // Wait for EMERGENCY, then exit each (the first waits for it with --wait).
    let first = ok_json(run(&["--json", "exit", "--wait", "--key", &keys[0]]));
    assert_eq!(first["exited"], true, "{first}");
    let mut paid = first["amount"].as_i64().unwrap();
    assert_eq!(paid, 10 * COIN);
    for (i, k) in keys.iter().enumerate().skip(1) {
        let v = ok_json(run(&["--json", "exit", "--key", k]));
        if i < 3 {
            assert_eq!(v["exited"], true, "{v}");
            assert_eq!(v["amount"].as_i64().unwrap(), 10 * (i as i64 + 1) * COIN);
            paid += v["amount"].as_i64().unwrap();
        } else {
            assert_eq!(v["exited"], false, "nothing to exit: {v}");
        }
    }
    // Exactly once: a second run pays nothing.
    let again = ok_json(run(&["--json", "exit", "--key", &keys[1]]));
    assert_eq!(again["alreadyPaid"], true, "{again}");
    let chain = call(&l1, "l2_getchain", json!([1]));
    assert_eq!(chain["info"]["status"], "EMERGENCY");
    assert_eq!(chain["totalExited"].as_i64().unwrap(), paid);
    assert_eq!(chain["escrow"].as_i64().unwrap(), escrow0 - paid);
    for (i, k) in keys.iter().enumerate().take(3) {
        let now = call(&l1, "getbalance", json!([addr(k)])).as_i64().unwrap();
        let want = 10 * (i as i64 + 1) * COIN;
        // The exit pays the balance; the L1 fees of the exit transaction are at most 0.01 CAS.
        assert!(
            now - before[i] > want - COIN / 100 && now - before[i] <= want,
            "account {i}: L1 balance moved by {}, exit of {want}",
            now - before[i]
        );
    }
}

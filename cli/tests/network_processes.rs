//! The network as operators run it: `casl2 l1 devnet`, and four `casl2 node` sequencers, each
//! its own process, set up with the commands an operator types (`chain register`, `l1 hat set`,
//! `sequencer announce`). One sequencer is killed with SIGKILL while users' transfers go through;
//! the other three (three of four is the chain's 67 % threshold) keep finalising; the killed one
//! is started again on its data directory and catches up; no final block is lost or changed.

mod support;

use casl2_fullnode::devnet::dev_key;
use serde_json::{json, Value};
use support::network::{all_reach, free_port, height, node, one_hash_per_height, try_call, Chain};
use support::{ok_json, Killed};

#[test]
fn four_sequencer_processes_survive_a_kill_and_the_killed_one_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    // The operator's set-up: a chain, four scored and announced sequencers.
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let endpoints: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}/"))
        .collect();
    let chain = Chain::start(dir.path(), &endpoints, 500);
    let l1 = chain.l1.clone();
    let mut nodes: Vec<Killed> = (1..=4u32)
        .map(|i| node(dir.path(), i, &l1, ports[i as usize - 1], None))
        .collect();
    all_reach(&ports, 2, 120, "the network to start");

    // A user deposits, then transfers while a sequencer is killed.
    let user = dev_key(6).unwrap().to_hex();
    let to = dev_key(7).unwrap().address().to_string();
    let user_cmd = |args: &[&str]| chain.user_cmd(ports[0], args);
    let d = ok_json(user_cmd(&[
        "deposit",
        "20",
        "--key",
        &user,
        "--timeout",
        "120",
    ]));
    assert_eq!(d["credited"], true, "{d}");
    let t = ok_json(user_cmd(&[
        "transfer",
        &to,
        "1",
        "--key",
        &user,
        "--timeout",
        "60",
    ]));
    let first_tx = t["hash"].clone();

    // SIGKILL sequencer 4 (no shutdown of any kind).
    let killed_at = height(ports[3]).unwrap_or(0);
    let _ = nodes[3].0.kill();
    let _ = nodes[3].0.wait();
    let live = &ports[..3];
    let before = live.iter().map(|p| height(*p).unwrap_or(0)).max().unwrap();
    let t = ok_json(user_cmd(&[
        "transfer",
        &to,
        "2",
        "--key",
        &user,
        "--timeout",
        "60",
    ]));
    let second_tx = t["hash"].clone();
    all_reach(live, before + 5, 90, "three of four to go on finalising");

    // Restarted on its data directory, the killed sequencer catches up.
    nodes[3] = node(dir.path(), 4, &l1, ports[3], None);
    let target = live.iter().map(|p| height(*p).unwrap_or(0)).max().unwrap();
    let hs = all_reach(&ports, target, 90, "the killed node to catch up");
    assert!(hs[3] > killed_at, "{hs:?}");

    // Nothing final lost or changed: one hash per height on every node, and both transfers
    // in exactly one final block.
    one_hash_per_height(&ports, *hs.iter().min().unwrap());
    for tx in [first_tx, second_tx] {
        for p in &ports {
            let r = try_call(*p, "l2_gettransactionreceipt", json!([tx])).unwrap_or(Value::Null);
            assert!(r["blockNumber"].as_u64().is_some(), "{tx} on {p}: {r}");
        }
    }
    drop(nodes);
}

//! The bodies of the `cargo fuzz` targets over the node's remote inputs: the JSON-RPC body
//! (`POST /`) and the peer message (`POST /p2p/message`). `fuzz/fuzz_targets/rpc_body.rs` and
//! `peer_message.rs` call these; `fullnode/tests/fuzz_corpus.rs` replays the corpus in
//! `fuzz/corpus/<target>/` through the same functions on the stable toolchain
//! (`docs/security.md`).
//!
//! Both go through the real HTTP server of a real node ([`FuzzNode`]: [`Node::start`] on
//! 127.0.0.1 with a registered chain in its L1 view and an L1 that does not answer), so the
//! body limit, the envelope, the method dispatch, the parameter parsing and the engine's
//! message handling are all the production code. The contract: no request makes the node
//! answer 500 (a handler that panicked) or stop answering; a JSON-RPC answer is JSON; a peer
//! message that parses survives a JSON round trip.

use crate::node::engine::Outgoing;
use crate::node::l1view::{L1View, SequencerEntry};
use crate::node::{Node, NodeConfig};
use casl2_lightclient::api::node as m;
use casl2_verifier::l1::{L2ChainInfo, L2Status, Sequencer, SequencerStatus};
use casl2_verifier::params::{ChainParams, Network};
use casl2_verifier::types::{L2BlockHeader, TxType, Vote, VoteType};
use casl2_verifier::{Encode, L2Block, L2Transaction, PrivateKey, H256};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The chain the fuzzed node follows.
const CHAIN: u64 = 1;

/// The key of the one registered sequencer of the fuzzed node's view (not the node's own).
pub fn sequencer_key() -> PrivateKey {
    PrivateKey::from_bytes(&[0x11; 32]).expect("a valid fixed key")
}

/// A running node to fuzz, on its own runtime and data directory (removed on drop).
#[derive(Debug)]
pub struct FuzzNode {
    rt: tokio::runtime::Runtime,
    node: Option<Node>,
    http: reqwest::Client,
    dir: PathBuf,
}

/// A view of an L1 on which chain [`CHAIN`] is active with [`sequencer_key`] as its one
/// sequencer.
fn view() -> L1View {
    let key = sequencer_key();
    let params = ChainParams::for_network(Network::Regtest);
    let mut v = L1View {
        tip: 20,
        ..Default::default()
    };
    for h in 0..=20u64 {
        v.blocks
            .insert(h, (H256([h as u8 + 1; 32]), 1_700_000_000 + 150 * h));
    }
    v.chain = Some(L2ChainInfo {
        chain_id: CHAIN,
        name: "fuzz".into(),
        deployer: key.address(),
        deployment_block: 1,
        params,
        deployer_stake: 0,
        status: L2Status::Active,
        genesis_root: casl2_verifier::smt::empty_root(),
        latest_state_root: casl2_verifier::smt::empty_root(),
        latest_l2_block: 0,
        latest_l1_anchor: 0,
        finalized_state_root: casl2_verifier::smt::empty_root(),
        finalized_l2_block: 0,
        activated_at: Some(2),
        emergency_since: None,
        frauds_proven: 0,
    });
    v.sequencers = vec![SequencerEntry {
        sequencer: Sequencer {
            address: key.address(),
            public_key: key.public_key(),
            stake: 100 * casl2_verifier::params::COIN,
            endpoint: "http://127.0.0.1:9/".into(),
            announced_at: 2,
            status: SequencerStatus::Active,
            slashed: 0,
            past_active: Vec::new(),
        },
        hat_score: 100,
    }];
    v
}

impl FuzzNode {
    /// Start a follower node (no key) on 127.0.0.1 with a fresh data directory under the
    /// system's temporary directory, an L1 URL nobody answers, no rate limit, and [`view`].
    pub fn start() -> Result<FuzzNode, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?;
        let dir = std::env::temp_dir().join(format!(
            "casl2-fuzz-node-{}-{}",
            std::process::id(),
            crate::node::now_ms()
        ));
        let mut cfg = NodeConfig::new(
            dir.clone(),
            CHAIN,
            "http://127.0.0.1:9/".into(),
            "127.0.0.1:0".parse().map_err(|e| format!("address: {e}"))?,
        );
        cfg.rpc_rate_limit = u64::MAX;
        cfg.l1_poll_ms = 60_000;
        let node = rt
            .block_on(Node::start(cfg))
            .map_err(|e| format!("node: {e}"))?;
        node.shared.set_view(view());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(FuzzNode {
            rt,
            node: Some(node),
            http,
            dir,
        })
    }

    /// POST `body` to `path` of the node; the status and the answer's bytes.
    pub fn post(&self, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.post_with(path, body, None)
    }

    /// [`post`](Self::post) with a peer signature header value `auth` (`x-casl2-peer`).
    pub fn post_with(
        &self,
        path: &str,
        body: &[u8],
        auth: Option<String>,
    ) -> Result<(u16, Vec<u8>), String> {
        let node = self.node.as_ref().ok_or("the node is stopped")?;
        let url = format!("{}{path}", node.url());
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(a) = auth {
            req = req.header(crate::node::peer::PEER_AUTH_HEADER, a);
        }
        self.rt.block_on(async {
            let r = req.send().await.map_err(|e| format!("no answer: {e}"))?;
            let status = r.status().as_u16();
            let bytes = r.bytes().await.map_err(|e| format!("no body: {e}"))?;
            Ok((status, bytes.to_vec()))
        })
    }
}

impl Drop for FuzzNode {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            self.rt.block_on(node.stop());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A JSON-RPC request body, posted to the node's `POST /`.
pub fn rpc_body(node: &FuzzNode, data: &[u8]) {
    let (status, body) = node
        .post("", data)
        .unwrap_or_else(|e| panic!("the node stopped answering RPC: {e}"));
    match status {
        200 => {
            let v: Result<Value, _> = serde_json::from_slice(&body);
            assert!(v.is_ok(), "RPC answered 200 with a body that is not JSON");
        }
        204 | 413 => {}
        other => panic!("RPC answered {other}: {}", String::from_utf8_lossy(&body)),
    }
}

/// A peer message, posted to the node's `POST /p2p/message`.
pub fn peer_message(node: &FuzzNode, data: &[u8]) {
    if let Ok(msg) = serde_json::from_slice::<Outgoing>(data) {
        let text = serde_json::to_vec(&msg).expect("a message serializes");
        let back: Outgoing = serde_json::from_slice(&text).expect("a message reads back its JSON");
        assert_eq!(back, msg, "JSON round trip changed a peer message");
    }
    // Signed by the view's registered sequencer, so the input passes the peer signature
    // check and reaches the engine; the same input unsigned must be refused unread or let
    // through only as relayed transactions.
    let auth =
        crate::node::peer::sign_peer_message(&sequencer_key(), CHAIN, crate::node::now_ms(), data)
            .expect("the fixed key signs");
    let (status, body) = node
        .post_with("p2p/message", data, Some(auth))
        .unwrap_or_else(|e| panic!("the node stopped answering peers: {e}"));
    assert!(
        matches!(status, 200 | 400 | 413 | 422),
        "peer message answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
    let (status, body) = node
        .post("p2p/message", data)
        .unwrap_or_else(|e| panic!("the node stopped answering peers: {e}"));
    assert!(
        matches!(status, 200 | 400 | 401 | 413 | 429),
        "unsigned peer message answered {status}: {}",
        String::from_utf8_lossy(&body)
    );
}

/// A target's body: one input against the running node.
pub type Body = fn(&FuzzNode, &[u8]);

/// The fuzz targets of this module, by name (the directory names under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Body)] = &[("rpc_body", rpc_body), ("peer_message", peer_message)];

fn request(method: &str, params: Value) -> Vec<u8> {
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
        .to_string()
        .into_bytes()
}

fn signed_tx(nonce: u64) -> L2Transaction {
    let key = sequencer_key();
    let mut tx = L2Transaction {
        from: key.address(),
        to: casl2_verifier::Address([0x22; 20]),
        value: 5,
        nonce,
        gas_limit: 21_000,
        gas_price: 1,
        max_fee_per_gas: 1,
        tx_type: TxType::Transfer,
        l2_chain_id: CHAIN,
        ..Default::default()
    };
    tx.sign(&key).expect("signing a transfer");
    tx
}

fn proposal() -> L2Block {
    let key = sequencer_key();
    let mut b = L2Block {
        header: L2BlockHeader {
            block_number: 1,
            sequencer: key.address(),
            timestamp: 1_700_000_003_000,
            gas_limit: 30_000_000,
            l2_chain_id: CHAIN,
            l1_anchor_block: 20,
            l1_anchor_hash: H256([21; 32]),
            slot_number: 1,
            ..Default::default()
        },
        transactions: vec![signed_tx(0)],
        ..Default::default()
    };
    b.header.transactions_root = b.transactions_root();
    b.sign(&key, 1_700_000_003).expect("signing a block");
    b
}

/// Valid inputs of both targets: (target name, input); the seed corpus is written from
/// these (`fullnode/tests/fuzz_corpus.rs`).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let key = sequencer_key();
    let addr = key.address().to_string();
    let tx = hex::encode(signed_tx(0).encode());
    let batch = json!([
        { "jsonrpc": "2.0", "id": 1, "method": m::L2_BLOCKNUMBER },
        { "jsonrpc": "2.0", "id": "b", "method": m::L2_GETBALANCE, "params": [addr] },
        { "jsonrpc": "2.0", "method": m::L2_GETCHAININFO }
    ]);
    let mut out = vec![
        ("rpc_body", request(m::L2_BLOCKNUMBER, json!([]))),
        ("rpc_body", request(m::L2_GETACCOUNT, json!([addr]))),
        ("rpc_body", request(m::L2_SENDRAWTRANSACTION, json!([tx]))),
        ("rpc_body", request(m::L2_GETPROOF, json!([addr, "latest"]))),
        ("rpc_body", request(m::L2_GETBLOCKBYNUMBER, json!([1]))),
        ("rpc_body", request(m::L2_GETLEADER, json!([]))),
        ("rpc_body", batch.to_string().into_bytes()),
    ];
    let block = proposal();
    let mut vote = Vote {
        block_hash: block.hash(),
        voter_address: key.address(),
        vote: VoteType::Accept,
        timestamp: 1_700_000_003,
        slot_number: 1,
        ..Default::default()
    };
    vote.sign(&key).expect("signing a vote");
    let messages = [
        Outgoing::Proposal {
            block: Box::new(block.clone()),
        },
        Outgoing::Vote {
            height: 1,
            vote,
            signature: block.signatures.first().cloned(),
        },
        Outgoing::Commit {
            block: Box::new(block),
        },
        Outgoing::Transactions {
            txs: vec![signed_tx(0), signed_tx(1)],
        },
    ];
    for msg in &messages {
        let bytes = serde_json::to_vec(msg).expect("a message serializes");
        out.push(("peer_message", bytes));
    }
    out
}

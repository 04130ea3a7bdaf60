//! The cascoind backend against the real node's own answers: a fake node that replays
//! `tests/data/cascoind-regtest-traffic.jsonl`, recorded from Casraw/Cascoin (branch `cvm`,
//! regtest, `-l2=1`). Every answer here is the real node's; a request the recording lacks fails
//! the test. The hand-written fakes of `cascoind.rs` and `cascoind_submit.rs` remain for what
//! the recording lacks (auth failures in detail, malformed answers, leaders, double checks).

mod support;

use casl2_lightclient::cascoind::base58;
use casl2_verifier::PublicKey;
use support::*;

fn b58(s: &str) -> (u8, Address) {
    let (version, payload) = base58::decode_check(s).unwrap();
    let mut a = Address::ZERO;
    a.0.copy_from_slice(&payload);
    (version, a)
}

fn node_hash(s: &str) -> H256 {
    H256::from_node_hex(s).unwrap()
}

#[test]
fn the_recording_is_whole() {
    let r = recording();
    assert_eq!(r.len(), 59);
    // Wrong credentials: HTTP 401 with an empty body (what the hand-written fake answers).
    let unauthorized: Vec<_> = r.iter().filter(|e| e.status == 401).collect();
    assert_eq!(unauthorized.len(), 2);
    assert!(unauthorized.iter().all(|e| e.response.is_null()));
    // The batch commitment the node mined: one OP_RETURN output of casl2's 78 bytes (the
    // header behind it is not rebuilt here; cascoind_submit.rs checks the bytes casl2 sends).
    let post = r
        .iter()
        .find(|e| e.method == "createrawtransaction" && e.params[1].get("data").is_some())
        .unwrap();
    let data = hex::decode(post.params[1]["data"].as_str().unwrap()).unwrap();
    assert_eq!(data.len(), BATCH_COMMITMENT_LEN);
    assert!(data.starts_with(b"CASL2B"));
    assert_eq!(&data[6..14], &1u64.to_le_bytes());
    // Unknown methods: -32601 with HTTP 404; other errors HTTP 500.
    for e in r.iter().filter(|e| !e.response["error"].is_null()) {
        let code = e.response["error"]["code"].as_i64().unwrap();
        assert_eq!(e.status, if code == -32601 { 404 } else { 500 }, "{e:?}");
    }
}

#[tokio::test]
async fn reads_decode_the_real_nodes_answers() {
    let node = start_replay().await;
    let c = open(&node.url);
    assert_eq!(c.tip_height().await.unwrap(), 164);
    let genesis = node_hash("00000928be1f2ccc448590307e4f6e165702244b5be0f79c08e48d1fc7128c82");
    assert_eq!(c.block_hash(0).await.unwrap(), genesis);
    let tip = node_hash("00000549414ef610c0ecc0dd578a1989d4dcdbc976a396be6dfbea09fda87980");
    assert_eq!(c.block_hash(164).await.unwrap(), tip);
    let hd = c.block_header(&genesis).await.unwrap();
    assert_eq!((hd.hash, hd.height), (genesis, 0));
    let hd = c.block_header(&tip).await.unwrap();
    assert_eq!((hd.hash, hd.height), (tip, 164));
    assert!(hd.time > 1_700_000_000);
    // The tip's printed hash read in raw order is another, unknown block: the node's -5.
    let misread =
        H256::from_hex("00000549414ef610c0ecc0dd578a1989d4dcdbc976a396be6dfbea09fda87980").unwrap();
    let e = c.block_header(&misread).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-5));
    assert!(e.to_string().contains("Block not found"), "{e}");
    let e = c.block_hash(1164).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
    assert!(e.to_string().contains("Block height out of range"), "{e}");
    let e = c.block_header(&H256([0x11; 32])).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-5));

    let info = c.chain_info().await.unwrap();
    assert_eq!(info.chain_id, 1);
    assert_eq!(c.registered_chains().await.unwrap(), vec![]);
    assert_eq!(c.registered_chain(1).await.unwrap(), None);
    assert_eq!(c.registered_chain(424242).await.unwrap(), None);
    assert!(c.node_sequencers(false).await.unwrap().is_empty());
    assert!(c.node_sequencers(true).await.unwrap().is_empty());
    let l = c.leader().await.unwrap();
    assert!(!l.has_leader);
    assert_eq!(l.message, "Leader election not initialized");
    let b = c.burn_status(&H256([0x11; 32])).await.unwrap();
    assert!(!b.found);
    assert_eq!(c.network().await.unwrap(), Network::Regtest);
    let e = c.call::<Value>("nosuchmethod", &[]).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-32601));
}

#[tokio::test]
async fn the_network_picks_the_address_version() {
    let node = start_replay().await;
    // The same key id in the mainnet form (40, "H…") and the regtest form (111, "m…").
    let (v40, a40) = b58("HMT6ZBkkjUFTguoycUaLuG1pjm83qJEdVq");
    let (v111, a111) = b58("mvSvTtvD9H9fkgi8MGDyLALgRaR2LhnWFM");
    assert_eq!((v40, v111), (40, 111));
    assert_eq!(
        (
            Network::Mainnet.p2pkh_version(),
            Network::Regtest.p2pkh_version()
        ),
        (40, 111)
    );
    assert_eq!(Network::Testnet.p2pkh_version(), 111);
    // The regtest node refuses the mainnet form…
    let c = open(&node.url);
    let e = c
        .call::<Value>(
            "getsecuretrust",
            &["HMT6ZBkkjUFTguoycUaLuG1pjm83qJEdVq".into()],
        )
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&e), Some(-5));
    assert!(e.to_string().contains("Invalid target address"), "{e}");
    // …and the client, having asked the node its network, sends the regtest form.
    assert_eq!(c.hat_score(&a111).await.unwrap(), 0);
    assert_eq!(
        c.node_address(&a111).await.unwrap(),
        "mvSvTtvD9H9fkgi8MGDyLALgRaR2LhnWFM"
    );
    let _ = a40;
    // A URL that says mainnet is refused at the first call that needs the network.
    let mainnet = CascoindClient::new(CascoindConfig {
        url: node.url.clone(),
        auth: Auth::None,
        network: Some(Network::Mainnet),
    });
    let e = mainnet.network().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Mismatch(m) if m.contains("mainnet") && m.contains("regtest")),
        "{e}"
    );
    let e = mainnet.hat_score(&a111).await.unwrap_err();
    assert!(matches!(e, L1ClientError::Mismatch(_)), "{e}");
    let regtest = CascoindClient::new(CascoindConfig {
        url: node.url.clone(),
        auth: Auth::None,
        network: Some(Network::Regtest),
    });
    assert_eq!(regtest.network().await.unwrap(), Network::Regtest);
}

#[tokio::test]
async fn wallet_transfer_and_burn_as_the_node_did_them() {
    let node = start_replay().await;
    let c = open(&node.url);
    // A transfer of 0.5 CAS: create, fund, sign (the node lacks signrawtransactionwithwallet:
    // the older signrawtransaction), send.
    let (_, to) = b58("miAGdhYgZd4dR1P5bRE4PtvsZpMp199is4");
    let sent = c
        .submit(&tx(L1Op::Transfer {
            to,
            amount: COIN / 2,
        }))
        .await
        .unwrap();
    let txid = node_hash("2be893fa3c5b94df9014c1414ae13c40bd277829ea04fff335295fc9e6afa7be");
    assert_eq!(sent, Submitted::Transaction { txid });
    // A burn of 10 CAS to a key on chain 1: the node's script equals casl2's, byte for byte.
    let pubkey = PublicKey::from_bytes(
        &hex::decode("0256b328b30c8bf5839e24058747879408bdb36241dc9c2e7c619faa12b2920967").unwrap(),
    )
    .unwrap();
    let burn = BurnData::new(1, pubkey, 10 * COIN).unwrap();
    let sent = c
        .submit(&tx(L1Op::BurnDeposit {
            script: burn.to_script().to_vec(),
        }))
        .await
        .unwrap();
    let txid = node_hash("b2c037b518e1e8265bafdd9ca81c5813bba9b4ea621bdbfc31a1dd9045423224");
    assert_eq!(sent, Submitted::Transaction { txid });
    let status = c.burn_status(&txid).await.unwrap();
    assert!(status.found);
    assert_eq!(status.burn_amount, Some(10 * COIN));
    assert_eq!(status.confirmations_required, Some(6));
    let methods = node.methods();
    assert!(
        methods.iter().any(|m| m == "signrawtransaction"),
        "{methods:?}"
    );
    assert!(methods.iter().any(|m| m == "l2_sendburntx"), "{methods:?}");
}

#[tokio::test]
async fn registry_announce_register_and_status() {
    let node = start_replay().await;
    let c = open(&node.url);
    let (_, me) = b58("musGZczug3BAbqobmYherywCwL9REgNaNm");
    // Before: no sequencers (the node's first answer).
    assert!(c.node_sequencers(false).await.unwrap().is_empty());
    let announce = |endpoint: &str| {
        L1Tx::signed(
            &key(5),
            0,
            L1Op::AnnounceSequencer {
                chain: 1,
                stake: 100 * COIN,
                endpoint: endpoint.into(),
            },
        )
        .map(|mut t| {
            t.from = me;
            t
        })
        .unwrap()
    };
    let first = announce("127.0.0.1:7000");
    let a = Address::from_node_hex("776c35d51a4d98676b8ade03dafe719903140b25").unwrap();
    assert_eq!(
        c.submit(&first).await.unwrap(),
        Submitted::SequencerAnnounced {
            address: a,
            eligible: Some(true)
        }
    );
    let second = announce("127.0.0.1:7001");
    assert!(matches!(
        c.submit(&second).await.unwrap(),
        Submitted::SequencerAnnounced { .. }
    ));
    // After the two announcements (the node's later answer).
    let seqs = c.node_sequencers(false).await.unwrap();
    assert!(!seqs.is_empty());
    assert!(seqs.iter().all(|s| s.stake == 100 * COIN), "{seqs:?}");
    assert!(!c.leader().await.unwrap().has_leader);

    // casl2's regtest preset has a 10-block (1500 s) challenge period: refused before any call,
    // naming the node's limit (the node itself answered -8 "Challenge period must be at least
    // 3600 seconds" in the recording).
    let mut params = ChainParams::for_network(Network::Regtest);
    let register = |name: &str, params: &ChainParams| {
        tx(L1Op::RegisterChain {
            chain_id: 7,
            name: name.into(),
            params: params.clone(),
            genesis_root: H256::ZERO,
            deployer_stake: 1000 * COIN,
        })
    };
    assert!(c.registered_chains().await.unwrap().is_empty());
    let asked = node.bodies().len();
    let e = c
        .submit(&register("casl2-probe-a", &params))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, L1ClientError::InvalidTransaction(m) if m.contains("at least") || m.contains("3600")),
        "{e}"
    );
    assert_eq!(node.bodies().len(), asked);
    // 24 blocks = 3600 s: registered, under the id the node chose (not the requested 7).
    params.challenge_period = 24;
    let r = c.submit(&register("casl2-probe-b", &params)).await.unwrap();
    let Submitted::ChainRegistered { chain_id, .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(chain_id, 351_504_920);
    let list = c.registered_chains().await.unwrap();
    assert_eq!(list[0].chain_id, chain_id);
    let chain = c.registered_chain(chain_id).await.unwrap().unwrap();
    assert_eq!(chain.params.challenge_period, 3600);
    // SetChainStatus is l2_updatechainstatus.
    let paused = tx(L1Op::SetChainStatus {
        chain: chain_id,
        status: L2Status::Paused,
    });
    assert_eq!(
        c.submit(&paused).await.unwrap(),
        Submitted::ChainStatusSet {
            chain: chain_id,
            old_status: "BOOTSTRAPPING".into()
        }
    );
    let e = c
        .submit(&tx(L1Op::SetChainStatus {
            chain: 999,
            status: L2Status::Paused,
        }))
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
    assert!(e.to_string().contains("Chain not found"), "{e}");
    // An amount past the node's range is its -3.
    let e = c
        .call::<Value>(
            "l2_registerchain",
            &[
                "casl2-probe-c".into(),
                10_000_000_000u64.into(),
                3600.into(),
            ],
        )
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&e), Some(-3));
    assert!(e.to_string().contains("Amount out of range"), "{e}");
}

//! The devnet L1's answers pinned as wire JSON: every method type of `api::devnet` decodes a
//! sample answer (as `casl2 l1 devnet` sends it, `docs/protocol.md` "Devnet L1 RPC") and
//! encodes it back to the same JSON; parameters encode as the positional arrays the server
//! reads, and a bad one is refused naming it.

use casl2_lightclient::api::devnet::{self as m, *};
use casl2_lightclient::api::devnet_types::BlockAnswer;
use casl2_lightclient::api::{Method, NoParams, Params};
use casl2_verifier::{Address, H256};
use serde_json::{json, Value};

/// Decode `wire` as `M`'s answer and encode it again: the same JSON (no field lost, renamed
/// or added).
fn round_trip<M: Method>(wire: &str) -> M::Result {
    let sample: Value = serde_json::from_str(wire).expect("sample is JSON");
    let typed: M::Result = serde_json::from_value(sample.clone())
        .unwrap_or_else(|e| panic!("{}: the sample does not decode: {e}", M::NAME));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, sample, "{}: the shape changed", M::NAME);
    typed
}

const H1: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const A2: &str = "0x2222222222222222222222222222222222222222";

const CHAIN_INFO: &str = r#"{"activatedAt":2,"chainId":7,
 "deployer":"0x2df2eee1e373203dde59fef13c169f963021b0fb","deployerStake":100000000,
 "deploymentBlock":1,"emergencySince":null,"finalizedL2Block":0,
 "finalizedStateRoot":"0x0000000000000000000000000000000000000000000000000000000000000000",
 "fraudsProven":0,
 "genesisRoot":"0x0000000000000000000000000000000000000000000000000000000000000000",
 "latestL1Anchor":2,"latestL2Block":0,
 "latestStateRoot":"0x0000000000000000000000000000000000000000000000000000000000000000",
 "name":"devnet",
 "params":{"batchInterval":5,"blockGasLimit":30000000,"blockTimeMs":100,"blocksPerLeader":5,
  "challengeBond":100000,"challengePeriod":10,"consensusThresholdPct":67,"emergencyAfter":50,
  "fastChallengePeriod":2,"fastWithdrawalHat":80,"forcedInclusionDeadline":5,
  "l1BlocksPerDay":576,"leaderTimeoutMs":10000,"maxDailyDeposit":1000000000000,
  "maxDepositPerTx":100000000000,"maxTimestampDrift":7200,"minSequencerHat":50,
  "minSequencerStake":100000000,"minSlash":10000000,"network":"regtest","offlineAfter":20,"stateRentRate":1,
  "unbondingDelay":10},
 "status":"ACTIVE"}"#;

const QUEUED: &str = r#"{"chainAfter":"0xdb03eb95a1a9eb94757f54e42c6df58a766b160dda622525286fcb8e8043e71e",
 "hash":"0x9e6f130aa8cdbb9477d447717856eb66b79b6804929fd72fc8a25a386ba1e316",
 "message":{"body":{"amount":50000000,"kind":"deposit",
   "recipient":"0x6c2106f3375190dd056b6962a5f1c0611fd5f54f"},
  "index":0,"l1Block":2,"l1Sender":"0x6c2106f3375190dd056b6962a5f1c0611fd5f54f",
  "l1TxHash":"0xe0c0fa902ff1b2aa15cd61d0933a52a2849fd6938fcccaf679c10a5b6903a39c"}}"#;

const GAME: &str = r#"{"id":3,"chain":7,"anchor":1,
 "batchHash":"0x1111111111111111111111111111111111111111111111111111111111111111",
 "challenger":"0x2222222222222222222222222222222222222222",
 "defender":"0x3333333333333333333333333333333333333333","bond":50000000,"steps":4,
 "agreedIndex":0,"agreedRoot":"0x4444444444444444444444444444444444444444444444444444444444444444",
 "disputedIndex":4,"disputedRoot":"0x5555555555555555555555555555555555555555555555555555555555555555",
 "phase":{"phase":"answer","index":2,"root":"0x6666666666666666666666666666666666666666666666666666666666666666"},
 "turnSince":12,"defenderClock":20,"challengerClock":20,"rounds":1,"openedAt":12,
 "result":null}"#;

/// An active block with two transactions (a sequencer announcement and a deposit).
const ACTIVE_BLOCK: &str = r#"{"confirmations":2,"events":[],
 "hash":"0xa54144f49c8a0e96248077cd6d409c82ea10ad7a8d704d3433379bf0596a1e10","height":2,
 "inActiveChain":true,
 "prevHash":"0xf861bc6411caca7c6108983cf7d78282076165b39b53f08a1a2bf69397dd4071",
 "receipts":[
  {"outcome":{"Ok":[
    {"address":"0x103862ff6f05a20a2cf5837ad7411560386b32b8","chain":7,"event":"sequencerAnnounced","stake":100000000},
    {"chain":7,"event":"chainStatusChanged","from":"BOOTSTRAPPING","reason":"first sequencer announced","to":"ACTIVE"}]},
   "txHash":"0xe17493ad17d90fa40d58f7df71da87e967af04d3cb952384e620e9f1f1c833f4"},
  {"outcome":{"Ok":[{"chain":7,"event":"messageQueued","hash":"0x9e6f130aa8cdbb9477d447717856eb66b79b6804929fd72fc8a25a386ba1e316","index":0}]},
   "txHash":"0xe0c0fa902ff1b2aa15cd61d0933a52a2849fd6938fcccaf679c10a5b6903a39c"}],
 "time":1800000000,
 "txids":["0xe17493ad17d90fa40d58f7df71da87e967af04d3cb952384e620e9f1f1c833f4",
  "0xe0c0fa902ff1b2aa15cd61d0933a52a2849fd6938fcccaf679c10a5b6903a39c"],
 "txs":[
  {"from":"0x103862ff6f05a20a2cf5837ad7411560386b32b8","nonce":0,
   "op":{"chain":7,"endpoint":"127.0.0.1:7000","op":"announceSequencer","stake":100000000},
   "signature":"0x202cec5c493176a2a1ab527ba9be90332aaecb9a6392d49a507bac512b59b971154c7993f4615dc956065062073dc0a29fc1c6732fd9bdec527896affe58156ee1"},
  {"from":"0x6c2106f3375190dd056b6962a5f1c0611fd5f54f","nonce":0,
   "op":{"amount":50000000,"chain":7,"op":"deposit","recipient":"0x6c2106f3375190dd056b6962a5f1c0611fd5f54f"},
   "signature":"0x1fc6e7e14d21147c7a37d17db182cf1b4005d877a85df0ba3a0f1f6b8cdc1974ee373d24c5926a30afc7eaa8872b2e4ef569b6befd5cf8af64aec0cb5827d3c1d8"}],
 "txsRoot":"0x5672ab67ffd360175fc5de2189fc615729b2748496c0ecbb64f3bdc936b5de15"}"#;

#[test]
fn bitcoind_style_answers_keep_their_shape() {
    assert_eq!(round_trip::<GetBlockCount>("12"), 12);
    assert_eq!(
        round_trip::<GetBestBlockHash>(&format!("\"{H1}\"")),
        H256([0x11; 32])
    );
    assert_eq!(
        round_trip::<GetBlockHash>(&format!("\"{H1}\"")),
        H256([0x11; 32])
    );
    let ids = round_trip::<GetRawMempool>(&format!("[\"{H1}\"]"));
    assert_eq!(ids, vec![H256([0x11; 32])]);
    assert_eq!(
        round_trip::<Generate>(&format!("[\"{H1}\",\"{H1}\"]")).len(),
        2
    );
    assert_eq!(
        round_trip::<SendRawTransaction>(&format!("\"{H1}\"")),
        H256([0x11; 32])
    );
    assert_eq!(round_trip::<GetBalance>("9999950000000"), 9_999_950_000_000);
    round_trip::<InvalidateBlock>("null");
    round_trip::<ReconsiderBlock>("null");
    let a = round_trip::<GetAccount>(&format!(
        r#"{{"address":"{A2}","balance":9999950000000,"hatScore":0,"nextNonce":2,"nonce":1}}"#
    ));
    assert_eq!(a.address, Address([0x22; 20]));
    assert_eq!((a.account.nonce, a.account.next_nonce), (1, 2));
}

#[test]
fn getblock_answers_hex_or_a_verbose_block() {
    let hex = round_trip::<GetBlock>("\"00ff\"");
    assert_eq!(hex, BlockAnswer::Hex("00ff".into()));

    let BlockAnswer::Verbose(b) = round_trip::<GetBlock>(ACTIVE_BLOCK) else {
        panic!("an object is the verbose form")
    };
    assert!(b.in_active_chain && b.invalid.is_none());
    assert_eq!((b.height, b.confirmations, b.txs.len()), (2, Some(2), 2));
    let second: H256 = serde_json::from_value(json!(
        "0xe0c0fa902ff1b2aa15cd61d0933a52a2849fd6938fcccaf679c10a5b6903a39c"
    ))
    .unwrap();
    let (i, r) = b.receipt_of(&second).unwrap();
    assert_eq!((i, r.map(|r| r.tx_hash)), (1, Some(second)));

    // A stored block off the active chain: no ids, receipts, events, root or confirmations.
    let stale = format!(
        r#"{{"hash":"{H1}","height":3,"inActiveChain":false,"invalid":true,"prevHash":"{H1}",
           "time":1800000001,"txs":[]}}"#
    );
    let BlockAnswer::Verbose(s) = round_trip::<GetBlock>(&stale) else {
        panic!("an object is the verbose form")
    };
    assert_eq!(
        (s.invalid, s.txids.as_ref(), s.receipt_of(&second)),
        (Some(true), None, None)
    );

    // A malformed verbose block names what is wrong.
    let e = serde_json::from_value::<BlockAnswer>(json!({ "hash": H1 })).unwrap_err();
    assert!(e.to_string().contains("height"), "{e}");
}

#[test]
fn chain_answers_keep_their_shape() {
    let chains = round_trip::<ListChains>(&format!("[{CHAIN_INFO}]"));
    assert_eq!(chains[0].chain_id, 7);
    let state = round_trip::<GetChain>(&format!(
        r#"{{"anchors":0,"consumed":0,"escrow":50000000,"finalizedAnchors":0,"finalizedConsumed":0,
            "info":{CHAIN_INFO},"missed":[3],
            "queueHead":"0xdb03eb95a1a9eb94757f54e42c6df58a766b160dda622525286fcb8e8043e71e",
            "queueLength":1,"sequencers":1,"totalDeposited":50000000,"totalExited":0,
            "totalRefunded":0,"totalWithdrawn":0}}"#
    ));
    assert_eq!((state.queue_length, state.missed), (1, vec![3]));
    let seqs = round_trip::<GetSequencers>(
        r#"[{"address":"0x103862ff6f05a20a2cf5837ad7411560386b32b8","announcedAt":2,
             "endpoint":"127.0.0.1:7000","hatScore":90,
             "publicKey":"02411cb9eef9c2ecece2c10ebf933ce41bcb5858c4ba16fe105eda3fd5b01b5bf8",
             "slashed":0,"stake":100000000,"status":{"state":"unbonding","release_at":40}}]"#,
    );
    assert_eq!(
        (seqs[0].hat_score, seqs[0].sequencer.stake),
        (90, 100_000_000)
    );
    let anchors = round_trip::<GetAnchors>(
        r#"[{"index":0,"l1Height":5,
             "header":{"version":1,"startBlock":1,"endBlock":2,
              "preStateRoot":"0x0000000000000000000000000000000000000000000000000000000000000000",
              "postStateRoot":"0x1111111111111111111111111111111111111111111111111111111111111111",
              "transactionsRoot":"0x0000000000000000000000000000000000000000000000000000000000000000",
              "transactionCount":0,"totalGasUsed":0,"l2ChainId":7,"l1AnchorBlock":4,
              "l1AnchorHash":"0x0000000000000000000000000000000000000000000000000000000000000000",
              "sequencerAddress":"0x103862ff6f05a20a2cf5837ad7411560386b32b8","timestamp":0},
             "batchHash":"0x1111111111111111111111111111111111111111111111111111111111111111",
             "dataRoot":"0x1212121212121212121212121212121212121212121212121212121212121212",
             "poster":"0x3333333333333333333333333333333333333333","deadline":25,
             "fastDeadline":10,"messagesStart":0,"messagesEnd":1,"disputed":false,
             "finalized":false,"payload":"0x010203","commitment":null,"steps":4,
             "sequencers":[["0x103862ff6f05a20a2cf5837ad7411560386b32b8",
               "02411cb9eef9c2ecece2c10ebf933ce41bcb5858c4ba16fe105eda3fd5b01b5bf8"]],
             "signers":["0x103862ff6f05a20a2cf5837ad7411560386b32b8"],
             "l1Time":1800000000,"lastTimestamp":1799999999}]"#,
    );
    assert_eq!(anchors[0].payload, vec![1, 2, 3]);
    for q in [
        round_trip::<GetQueue>(&format!("[{QUEUED}]")),
        round_trip::<GetDeposits>(&format!("[{QUEUED}]")),
        round_trip::<GetForcedQueue>(&format!("[{QUEUED}]")),
    ] {
        assert_eq!(q[0].message.index, 0);
    }
    let paid = round_trip::<GetWithdrawals>(&format!(r#"[{{"amount":7,"id":"{H1}"}}]"#));
    assert_eq!(paid[0].amount, 7);
    assert_eq!(
        round_trip::<GetExits>(&format!("[\"{A2}\"]")),
        vec![Address([0x22; 20])]
    );
}

#[test]
fn dispute_answers_keep_their_shape() {
    let g = round_trip::<GetGame>(GAME);
    assert_eq!((g.id, g.rounds), (3, 1));
    assert_eq!(round_trip::<GetGames>(&format!("[{GAME}]")), vec![g]);
    let a = round_trip::<GetAvailability>(
        r#"[{"id":0,"chain":7,"anchor":1,
             "batchHash":"0x1111111111111111111111111111111111111111111111111111111111111111",
             "challenger":"0x2222222222222222222222222222222222222222",
             "poster":"0x3333333333333333333333333333333333333333","bond":10000000,
             "positions":[{"row":1,"column":2}],"opened":10,"deadline":30,
             "answeredBy":"0x3333333333333333333333333333333333333333","result":"answered"}]"#,
    );
    assert_eq!(a[0].positions.len(), 1);
}

#[test]
fn parameters_are_positional_and_a_bad_one_is_named() {
    let p = WindowParams {
        chain_id: 7,
        from: Some(3),
        count: None,
    };
    assert_eq!(serde_json::to_value(&p).unwrap(), json!([7, 3, null]));
    assert_eq!(
        WindowParams::from_positional(&[json!(7), json!(3)]).unwrap(),
        p
    );
    let p = GetBlockParams::from_positional(&[json!(H1)]).unwrap();
    assert_eq!((p.block_hash, p.verbosity), (H256([0x11; 32]), None));
    assert_eq!(serde_json::to_value(NoParams {}).unwrap(), json!([]));
    assert_eq!(
        serde_json::to_value(OpenOnlyParams {
            chain_id: 1,
            open_only: Some(true)
        })
        .unwrap(),
        json!([1, true])
    );

    let e = WindowParams::from_positional(&[json!(7), json!("x")]).unwrap_err();
    assert!(e.starts_with("parameter 1 (from): "), "{e}");
    let e = GetBlockParams::from_positional(&[json!("zz")]).unwrap_err();
    assert!(e.starts_with("parameter 0 (block hash): "), "{e}");
    let e = ChainParams::from_positional(&[]).unwrap_err();
    assert_eq!(e, "missing parameter 0 (chain id)");
    let e = OpenOnlyParams::from_positional(&[json!(7), json!("yes")]).unwrap_err();
    assert!(e.starts_with("parameter 1 (open only): "), "{e}");
    let e = RawTransactionParams::from_positional(&[json!(5)]).unwrap_err();
    assert!(e.starts_with("parameter 0 (transaction hex): "), "{e}");
}

#[test]
fn every_devnet_method_has_a_type() {
    let typed = [
        GetBlockCount::NAME,
        GetBlockHash::NAME,
        GetBlock::NAME,
        GetBestBlockHash::NAME,
        SendRawTransaction::NAME,
        GetRawMempool::NAME,
        Generate::NAME,
        m::GetBalance::NAME,
        GetAccount::NAME,
        InvalidateBlock::NAME,
        ReconsiderBlock::NAME,
        ListChains::NAME,
        GetChain::NAME,
        GetSequencers::NAME,
        GetAnchors::NAME,
        GetQueue::NAME,
        GetDeposits::NAME,
        GetWithdrawals::NAME,
        GetForcedQueue::NAME,
        GetGames::NAME,
        GetAvailability::NAME,
        GetExits::NAME,
        GetGame::NAME,
    ];
    assert_eq!(typed.as_slice(), m::METHODS);
}

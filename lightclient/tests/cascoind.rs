//! The cascoind backend against a hand-written fake node: an axum server on 127.0.0.1 (port 0)
//! that answers in the real node's shapes and quirks (0/1 booleans, reversed hex, decimal
//! amounts, JSON-RPC error objects with HTTP 500, 401 for bad credentials). Hand-written, not
//! recorded: these cases are the ones the recording (`cascoind_recorded.rs`) lacks — cookie
//! files, malformed and out-of-range answers, a leader, a registered chain with a full record.

mod support;

use support::*;

#[tokio::test]
async fn basic_auth_and_401() {
    let node = start(Some(ALICE), |m, _| match m {
        "getblockcount" => Reply::Ok("1234".into()),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    assert_eq!(alice(&node.url).tip_height().await.unwrap(), 1234);
    let wrong = CascoindClient::new(CascoindConfig::new(
        &node.url,
        Auth::UserPass {
            user: "alice".into(),
            password: "wrong".into(),
        },
    ));
    let e = wrong.tip_height().await.unwrap_err();
    assert!(matches!(e, L1ClientError::Unauthorized(_)), "{e}");
    assert!(e.to_string().contains("401"), "{e}");
    let e = open(&node.url).tip_height().await.unwrap_err();
    assert!(matches!(e, L1ClientError::Unauthorized(_)), "{e}");
    // The request is JSON-RPC 1.0 with positional params, as bitcoin-cli sends.
    let first: Value = serde_json::from_str(&node.bodies()[0]).unwrap();
    assert_eq!(first["jsonrpc"], "1.0");
    assert_eq!(first["params"], serde_json::json!([]));
}

#[tokio::test]
async fn cookie_auth_is_read_per_request() {
    let node = start(Some(COOKIE_AUTH), |m, _| match m {
        "getblockcount" => Reply::Ok("7".into()),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".cookie");
    std::fs::write(&path, COOKIE).unwrap();
    let c = CascoindClient::new(CascoindConfig::new(&node.url, Auth::Cookie(path.clone())));
    assert_eq!(c.tip_height().await.unwrap(), 7);
    // A restarted node writes a new cookie: the old one is refused, the file is re-read.
    std::fs::write(&path, "__cookie__:ffff\n").unwrap();
    assert!(matches!(
        c.tip_height().await,
        Err(L1ClientError::Unauthorized(_))
    ));
    std::fs::write(&path, format!("{COOKIE}\n")).unwrap();
    assert_eq!(c.tip_height().await.unwrap(), 7);
    // Missing and malformed cookie files are named.
    std::fs::write(&path, "no colon here").unwrap();
    let e = c.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Unauthorized(m) if m.contains(".cookie")),
        "{e}"
    );
    let gone = CascoindClient::new(CascoindConfig::new(
        &node.url,
        Auth::Cookie(dir.path().join("missing")),
    ));
    let e = gone.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Unauthorized(m) if m.contains("missing")),
        "{e}"
    );
}

#[tokio::test]
async fn hashes_are_reversed_both_ways() {
    let hash = h(0x00);
    let prev = h(0x40);
    let node_hex = hash.to_node_hex();
    let prev_hex = prev.to_node_hex();
    assert_eq!(&node_hex[..2], "1f"); // GetHex() prints the last byte first
    let (nh, ph) = (node_hex.clone(), prev_hex.clone());
    let node = start(None, move |m, p| match m {
        "getblockhash" if p[0] == 100 => Reply::Ok(format!("\"{nh}\"")),
        "getblock" if p[0] == nh.as_str() && p[1] == 1 => Reply::Ok(format!(
            r#"{{"hash":"{nh}","confirmations":3,"strippedsize":226,"size":226,"weight":904,
               "height":100,"version":536870912,"versionHex":"20000000",
               "merkleroot":"4a31ddc148dbb95ec904c376f0d84e9c23ebcf12a91f6100d3a43df055bb5460",
               "tx":["4a31ddc148dbb95ec904c376f0d84e9c23ebcf12a91f6100d3a43df055bb5460"],
               "time":1744615453,"mediantime":1744615400,"nonce":517471,"bits":"1e0ffff0",
               "difficulty":0.000244140625,"chainwork":"0000000000000000000000000000000000000000000000000000000000100010",
               "previousblockhash":"{ph}"}}"#
        )),
        "getblock" => Reply::Err(-5, "Block not found"),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    assert_eq!(c.block_hash(100).await.unwrap(), hash);
    let hd = c.block_header(&hash).await.unwrap();
    assert_eq!(hd.hash, hash);
    assert_eq!(hd.height, 100);
    assert_eq!(hd.time, 1_744_615_453);
    assert_eq!(hd.prev_hash, prev);
    // The hash went out reversed: the node found it.
    assert!(node.bodies()[1].contains(&node_hex));
    // An unknown block is the node's error -5, named.
    match c.block_header(&prev).await {
        Err(L1ClientError::Rpc { code: -5, name, .. }) => {
            assert_eq!(name.as_deref(), Some("RPC_INVALID_ADDRESS_OR_KEY"))
        }
        r => panic!("{r:?}"),
    }
    // Round trips of the conversion itself.
    for x in [h(0), h(0x80), H256([0xab; 32]), H256::ZERO] {
        assert_eq!(H256::from_node_hex(&x.to_node_hex()).unwrap(), x);
    }
}

#[tokio::test]
async fn rpc_errors_and_malformed_answers() {
    let node = start(None, |m, p| match m {
        "getblockhash" if p[0] == 1 => Reply::Err(-8, "Block height out of range"),
        "getblockhash" if p[0] == 2 => Reply::Ok("\"not hex\"".into()),
        "getblockhash" if p[0] == 3 => Reply::Ok("\"00ff\"".into()),
        "getblockhash" => Reply::Ok("12".into()),
        "getblockcount" => Reply::Http(200, "<html>busy</html>"),
        "getblockchaininfo" => Reply::Ok(REGTEST_INFO.into()),
        "getblock" => Reply::Ok(format!(
            r#"{{"hash":"{}","height":1,"time":1}}"#,
            h(0x33).to_node_hex()
        )),
        "getsecuretrust" => match p[0].as_str().unwrap().len() {
            _ if p.len() > 1 => Reply::Ok(r#"{"trust_score":"x"}"#.into()),
            _ => Reply::Ok(r#"{"target":"H","viewer":"H","trust_score":101}"#.into()),
        },
        "l2_getleader" => Reply::Ok(r#"{"hasLeader":2}"#.into()),
        "l2_getsequencers" => Reply::Ok(
            r#"[{"address":"0x00","stake":1.00000001,"hatScore":1,"isVerified":1,"isEligible":1}]"#
                .into(),
        ),
        "l2_getchaininfo" => Reply::Http(503, "Loading block index..."),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    let e = c.block_hash(1).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
    assert!(e.to_string().contains("Block height out of range"), "{e}");
    for height in [2, 3, 4] {
        let e = c.block_hash(height).await.unwrap_err();
        assert!(
            matches!(&e, L1ClientError::Decode(m) if m.contains("getblockhash")),
            "{e}"
        );
    }
    let e = c.tip_height().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("not a JSON-RPC object")),
        "{e}"
    );
    let e = c.block_header(&h(0x10)).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("asked block")),
        "{e}"
    );
    let e = c.hat_score(&Address::ZERO).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("0..=100")),
        "{e}"
    );
    let e = c.leader().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("0 or 1")),
        "{e}"
    );
    let e = c.node_sequencers(false).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Decode(m) if m.contains("decimals") || m.contains("address")),
        "{e}"
    );
    let e = c.chain_info().await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Transport(m) if m.contains("503")),
        "{e}"
    );
    let e = c.call::<Value>("nosuchmethod", &[]).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-32601));
    let dead = open("http://127.0.0.1:1/");
    assert!(matches!(
        dead.tip_height().await,
        Err(L1ClientError::Transport(_))
    ));
}

#[tokio::test]
async fn hat_scores_registry_sequencers_and_leader() {
    let seq = Address([0x11; 20]);
    let seq_hex = format!("0x{}", seq.to_node_hex());
    let mut reversed = [0u8; 20];
    for (i, b) in reversed.iter_mut().enumerate() {
        *b = i as u8;
    }
    let deployer = Address(reversed);
    let dep_hex = format!("0x{}", deployer.to_node_hex());
    let who = key(7).address();
    let who_b58 = regtest_b58(&who);
    let expect_b58 = who_b58.clone();
    let (s, d) = (seq_hex.clone(), dep_hex.clone());
    let node = start(None, move |m, p| match m {
        "getblockchaininfo" => Reply::Ok(REGTEST_INFO.into()),
        "getsecuretrust" if p[0] == expect_b58.as_str() => Reply::Ok(format!(
            r#"{{"target":"{expect_b58}","viewer":"{expect_b58}","trust_score":75}}"#
        )),
        "l2_getregisteredchain" if p[0] == 1001 => Reply::Ok(format!(
            r#"{{"found":1,"chainId":1001,"name":"casl2-test","deployer":"{d}",
               "deploymentBlock":500,"deploymentTime":1744615453,"status":"ACTIVE",
               "stake":1000.0000000,"bridgeContract":"0x0000000000000000000000000000000000000000",
               "genesisHash":"{z}","latestStateRoot":"{z}","latestL2Block":0,"latestL1Anchor":0,
               "totalValueLocked":0.1234567,"sequencerCount":1,"isActive":1,"acceptsDeposits":1,
               "allowsWithdrawals":1,"params":{{"blockTimeMs":500,"gasLimit":30000000,
               "challengePeriod":604800,"minSequencerStake":100.0000000,
               "minSequencerHatScore":70,"l1AnchorInterval":100}}}}"#,
            z = H256::ZERO.to_node_hex()
        )),
        "l2_getregisteredchain" => Reply::Ok(r#"{"found":0,"message":"Chain not found"}"#.into()),
        "l2_listregisteredchains" => Reply::Ok(format!(
            r#"[{{"chainId":1001,"name":"casl2-test","status":"ACTIVE","deployer":"{d}",
                "stake":"1000.0000000","latestL2Block":3,"tvl":0.0000001,"sequencerCount":1}}]"#
        )),
        "l2_getsequencers" => Reply::Ok(format!(
            r#"[{{"address":"{s}","stake":100.5000001,"hatScore":80,"peerCount":3,
                "endpoint":"10.0.0.1:7000","isVerified":1,"isEligible":0,"blocksProduced":9,
                "blocksMissed":1,"uptimePercent":90.0,"weight":800,"lastAnnouncement":1744615453,
                "attestationCount":2}}]"#
        )),
        "l2_getleader" => Reply::Ok(format!(
            r#"{{"hasLeader":1,"address":"{s}","slotNumber":7,"validUntilBlock":75,
                "electionSeed":"{}","electionTimestamp":1,"isLocalNode":0,"backupCount":1,
                "failoverInProgress":false,"backupSequencers":["{d}"]}}"#,
            h(0).to_node_hex()
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    assert!(who_b58.starts_with(['m', 'n']), "{who_b58}");
    assert_eq!(c.hat_score(&who).await.unwrap(), 75);
    let chain = c.registered_chain(1001).await.unwrap().unwrap();
    assert_eq!(chain.deployer, deployer);
    assert_eq!(chain.stake, 1000 * COIN);
    assert_eq!(chain.total_value_locked, Some(1_234_567));
    assert_eq!(chain.params.min_sequencer_stake, 100 * COIN);
    assert_eq!(chain.params.challenge_period, 604_800);
    assert_eq!(chain.latest_state_root, Some(H256::ZERO));
    assert_eq!(c.registered_chain(5).await.unwrap(), None);
    let list = c.registered_chains().await.unwrap();
    assert_eq!(list[0].stake, 1000 * COIN); // a decimal string is accepted too
    assert_eq!(list[0].tvl, Some(1));
    let seqs = c.node_sequencers(false).await.unwrap();
    assert_eq!(seqs[0].address, seq);
    assert_eq!(seqs[0].stake, 1_005_000_001);
    assert!(seqs[0].is_verified && !seqs[0].is_eligible);
    let l = c.leader().await.unwrap();
    assert!(l.has_leader);
    assert_eq!(l.address, Some(seq));
    assert_eq!(l.election_seed, Some(h(0)));
    assert_eq!(l.is_local_node, Some(false));
    assert_eq!(l.failover_in_progress, Some(false));
    assert_eq!(l.backup_sequencers, vec![deployer]);
    // The trait's casl2-shaped registry calls are not faked from these partial answers.
    for e in [
        c.chains().await.map(|_| ()).unwrap_err(),
        c.sequencers(1001).await.map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(e, L1ClientError::Unsupported { .. }), "{e}");
    }
}

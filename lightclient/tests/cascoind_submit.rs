//! The cascoind backend's submissions (burns, batch commitments, transfers, registrations,
//! announcements) and what it refuses, against the fake node of `support`.

mod support;

use support::*;

fn burn_script(chain: u32, amount: i64) -> (BurnData, Vec<u8>) {
    let b = BurnData::new(chain, key(9).public_key(), amount).unwrap();
    (b, b.to_script().to_vec())
}

#[tokio::test]
async fn burn_deposit_creates_signs_and_sends() {
    let (burn, script) = burn_script(1, 10 * COIN);
    let txid = h(0x20);
    let (script_hex, pk, txid_hex) = (
        hex::encode(&script),
        burn.recipient.to_hex(),
        txid.to_node_hex(),
    );
    let node = start(Some(ALICE), move |m, p| match m {
        "l2_createburntx" if p[1] == pk.as_str() => Reply::Ok(format!(
            r#"{{"hex":"0200000001aa","burnAmount":10.0000000,"l2Recipient":"{pk}",
                "l2RecipientAddress":"0x00","chainId":1,"fee":0.0010000,"burnScript":"{script_hex}",
                "message":"Unsigned burn transaction created."}}"#
        )),
        // An older node: no signrawtransactionwithwallet, the client falls back.
        "signrawtransactionwithwallet" => Reply::Err(-32601, "Method not found"),
        "signrawtransaction" if p[0] == "0200000001aa" => {
            Reply::Ok(r#"{"hex":"0200000001aa5151","complete":1}"#.into())
        }
        "l2_sendburntx" if p[0] == "0200000001aa5151" => Reply::Ok(format!(
            r#"{{"txid":"{txid_hex}","burnAmount":10.0000000,"l2Recipient":"0x00","chainId":1,
                "confirmationsNeeded":6,"message":"Burn transaction broadcast successfully."}}"#
        )),
        "l2_getburnstatus" => Reply::Ok(format!(
            r#"{{"l1TxHash":"{txid_hex}","found":1,"burnAmount":10.0000000,
                "l2Recipient":"0x{}","chainId":1,"confirmations":2,"confirmationsRequired":6,
                "consensusStatus":"WAITING_CONFIRMATIONS","mintStatus":"NOT_MINTED",
                "message":"Waiting for 4 more confirmations."}}"#,
            key(9).address().to_node_hex()
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = alice(&node.url);
    let t = tx(L1Op::BurnDeposit {
        script: script.clone(),
    });
    assert_eq!(c.send_transaction(&t).await.unwrap(), txid);
    assert_eq!(
        node.methods(),
        [
            "l2_createburntx",
            "signrawtransactionwithwallet",
            "signrawtransaction",
            "l2_sendburntx"
        ]
    );
    // The amount went out as the exact decimal number.
    assert!(
        node.bodies()[0].contains("[10.0000000,"),
        "{}",
        node.bodies()[0]
    );
    let st = c.burn_status(&txid).await.unwrap();
    assert!(st.found);
    assert_eq!(st.burn_amount, Some(10 * COIN));
    assert_eq!(st.l2_recipient, Some(key(9).address()));
    assert_eq!(st.confirmations, Some(2));
    assert!(node.bodies().last().unwrap().contains(&txid.to_node_hex()));
    // A bad script is refused before anything is sent.
    let before = node.bodies().len();
    let mut bad = script.clone();
    bad[2] = b'X';
    let e = c
        .send_transaction(&tx(L1Op::BurnDeposit { script: bad }))
        .await
        .unwrap_err();
    assert!(matches!(e, L1ClientError::InvalidTransaction(_)), "{e}");
    assert_eq!(node.bodies().len(), before);
}

#[tokio::test]
async fn burn_for_another_chain_is_a_mismatch_and_nothing_is_sent() {
    let (_, script) = burn_script(7, 5 * COIN);
    let (_, node_script) = burn_script(1, 5 * COIN);
    let node_hex = hex::encode(node_script);
    let node = start(None, move |m, _| match m {
        "l2_createburntx" => Reply::Ok(format!(
            r#"{{"hex":"02","burnAmount":5.0000000,"chainId":1,"burnScript":"{node_hex}"}}"#
        )),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let e = open(&node.url)
        .send_transaction(&tx(L1Op::BurnDeposit { script }))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, L1ClientError::Mismatch(m) if m.contains("chain 1") && m.contains("chain 7")),
        "{e}"
    );
    assert_eq!(node.methods(), ["l2_createburntx"]);
}

fn batch_header(chain: u64) -> BatchHeader {
    BatchHeader {
        version: 1,
        start_block: 1,
        end_block: 4,
        post_state_root: h(0x50),
        l2_chain_id: chain,
        ..Default::default()
    }
}

fn commitment() -> DACommitment {
    DACommitment {
        data_hash: h(0x60),
        data_size: 100,
        erasure_coding_root: h(0x70),
        row_roots: vec![],
        column_roots: vec![],
    }
}

#[tokio::test]
async fn post_batch_is_an_op_return_commitment() {
    let header = batch_header(1001);
    let data = hex::encode(batch_commitment(1001, &header.hash(), &h(0x70)));
    let txid = h(0x90);
    let (d, txid_hex) = (data.clone(), txid.to_node_hex());
    let node = start(None, move |m, p| match m {
        "createrawtransaction" if p[1]["data"] == d.as_str() => {
            Reply::Ok("\"020000000001\"".into())
        }
        "fundrawtransaction" => {
            Reply::Ok(r#"{"hex":"0200000001ff","fee":0.0002260,"changepos":1}"#.into())
        }
        "signrawtransactionwithwallet" => {
            Reply::Ok(r#"{"hex":"0200000001ffsig","complete":true}"#.into())
        }
        "sendrawtransaction" if p[0] == "0200000001ffsig" => Reply::Ok(format!("\"{txid_hex}\"")),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let c = open(&node.url);
    let op = L1Op::PostBatch {
        chain: 1001,
        header: header.clone(),
        commitment: commitment(),
        payload: vec![1, 2, 3],
        signatures: vec![],
    };
    assert_eq!(c.send_transaction(&tx(op)).await.unwrap(), txid);
    assert_eq!(
        node.methods(),
        [
            "createrawtransaction",
            "fundrawtransaction",
            "signrawtransactionwithwallet",
            "sendrawtransaction"
        ]
    );
    assert_eq!(data.len(), 2 * BATCH_COMMITMENT_LEN);
    assert!(data.starts_with(&hex::encode("CASL2B")));
    // A header for another chain is refused before sending.
    let op = L1Op::PostBatch {
        chain: 1002,
        header,
        commitment: commitment(),
        payload: vec![],
        signatures: vec![],
    };
    let e = c.send_transaction(&tx(op)).await.unwrap_err();
    assert!(matches!(e, L1ClientError::InvalidTransaction(_)), "{e}");
    assert_eq!(node.methods().len(), 4);
}

#[tokio::test]
async fn unsigned_wallet_is_an_error() {
    let node = start(None, |m, _| match m {
        "getblockchaininfo" => Reply::Ok(REGTEST_INFO.into()),
        "createrawtransaction" => Reply::Ok("\"02\"".into()),
        "fundrawtransaction" => Reply::Ok(r#"{"hex":"0201","fee":0.0001,"changepos":-1}"#.into()),
        "signrawtransactionwithwallet" => Reply::Ok(
            r#"{"hex":"0201","complete":0,"errors":[{"error":"Unable to sign input"}]}"#.into(),
        ),
        _ => Reply::Err(-32601, "Method not found"),
    })
    .await;
    let op = L1Op::Transfer {
        to: key(8).address(),
        amount: COIN / 2,
    };
    let e = open(&node.url).send_transaction(&tx(op)).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-4));
    assert!(e.to_string().contains("Unable to sign input"), "{e}");
    assert!(!node.methods().contains(&"sendrawtransaction".to_string()));
    // The transfer's output was the recipient's P2PKH address on the node's network (asked
    // first) with the exact amount.
    let b58 = regtest_b58(&key(8).address());
    let bodies = node.bodies();
    assert!(bodies[0].contains("getblockchaininfo"), "{}", bodies[0]);
    assert!(
        bodies[1].contains(&format!("{{\"{b58}\":0.5000000}}")),
        "{}",
        bodies[1]
    );
}

#[tokio::test]
async fn announce_and_register_use_the_registry_rpcs() {
    let me = key(5).address();
    let b58 = regtest_b58(&me);
    let seq = Address([0x21; 20]);
    let dep = Address([0x31; 20]);
    let (s, d) = (seq.to_node_hex(), dep.to_node_hex());
    let node = start(None, move |m, p| {
        match m {
        "l2_getchaininfo" => Reply::Ok(
            r#"{"chainId":1001,"name":"casl2-test","enabled":1,"mode":"FULL_NODE","blockHeight":0}"#
                .into(),
        ),
        "getblockchaininfo" => Reply::Ok(REGTEST_INFO.into()),
        "getsecuretrust" if p[0] == b58.as_str() => Reply::Ok(r#"{"trust_score":72}"#.into()),
        "l2_announcesequencer" if p[1] == 72 && p[2] == "10.0.0.1:7000" => Reply::Ok(format!(
            r#"{{"success":1,"address":"0x{s}","stake":100.0000000,"hatScore":72,"eligible":1,
                "message":"Sequencer announcement broadcast successfully"}}"#
        )),
        "l2_registerchain" if p[0] == "casl2-test" => Reply::Ok(format!(
            r#"{{"success":true,"chainId":1001,"name":"casl2-test","deployer":"0x{d}",
                "stake":1000.0000000,"status":"BOOTSTRAPPING","deploymentBlock":500,
                "params":{{}},"message":"L2 chain registered successfully"}}"#
        )),
        "l2_registerchain" => Reply::Err(-8, "Chain name already exists"),
        _ => Reply::Err(-32601, "Method not found"),
    }
    })
    .await;
    let c = open(&node.url);
    let ann = tx(L1Op::AnnounceSequencer {
        chain: 1001,
        stake: 100 * COIN,
        endpoint: "10.0.0.1:7000".into(),
    });
    assert_eq!(
        c.submit(&ann).await.unwrap(),
        Submitted::SequencerAnnounced {
            address: seq,
            eligible: Some(true)
        }
    );
    assert_eq!(c.send_transaction(&ann).await.unwrap(), ann.hash());
    assert!(node.bodies().iter().any(|b| b.contains("[100.0000000,72,")));
    let wrong_chain = tx(L1Op::AnnounceSequencer {
        chain: 5,
        stake: 100 * COIN,
        endpoint: String::new(),
    });
    let e = c.send_transaction(&wrong_chain).await.unwrap_err();
    assert!(
        matches!(&e, L1ClientError::InvalidTransaction(m) if m.contains("1001")),
        "{e}"
    );

    let mut params = ChainParams::for_network(Network::Regtest);
    params.min_sequencer_stake = 100 * COIN;
    // The real node's shortest challenge period is 3600 s: 24 L1 blocks of 150 s.
    params.challenge_period = 24;
    let reg = |chain_id: u64, name: &str| {
        tx(L1Op::RegisterChain {
            chain_id,
            name: name.into(),
            params: params.clone(),
            genesis_root: H256::ZERO,
            deployer_stake: 1000 * COIN,
        })
    };
    // The requested id is not sent: the node's (1001) is the answer.
    assert_eq!(
        c.submit(&reg(7, "casl2-test")).await.unwrap(),
        Submitted::ChainRegistered {
            chain_id: 1001,
            deployer: dep
        }
    );
    let body = node.bodies().last().unwrap().clone();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["params"][4], 3600);
    assert!(
        body.contains("1000.0000000") && body.contains("100.0000000"),
        "{body}"
    );
    let e = c.submit(&reg(7, "other")).await.unwrap_err();
    assert_eq!(rpc_code(&e), Some(-8));
}

#[tokio::test]
async fn unsupported_calls_and_ops_name_what_is_missing() {
    let node = start(None, |_, _| Reply::Err(-32601, "Method not found")).await;
    let c = open(&node.url);
    let a = Address([3; 20]);
    let mut errs = vec![
        c.block(&H256::ZERO).await.map(|_| ()).unwrap_err(),
        c.account(&a).await.map(|_| ()).unwrap_err(),
        c.chains().await.map(|_| ()).unwrap_err(),
        c.sequencers(1).await.map(|_| ()).unwrap_err(),
        c.anchors(1, 0).await.map(|_| ()).unwrap_err(),
        c.queue(1, 0).await.map(|_| ()).unwrap_err(),
        c.forced_queue(1).await.map(|_| ()).unwrap_err(),
    ];
    let tree = AccountTree::new(MemoryStore::new());
    let proof = tree.tree().prove_compact(&a.tree_key()).unwrap();
    let witness = StepWitness {
        proof: tree.tree().prove_multi(&[a.tree_key()]).unwrap(),
        storage: Vec::new(),
    };
    let ops = vec![
        L1Op::SetHatScore {
            address: a,
            score: 50,
        },
        L1Op::Unbond { chain: 1 },
        L1Op::WithdrawStake { chain: 1 },
        L1Op::Deposit {
            chain: 1,
            recipient: a,
            amount: COIN,
        },
        L1Op::ForceTransaction {
            chain: 1,
            tx: Box::new(L2Transaction::default()),
        },
        L1Op::FinalizeWithdrawal {
            chain: 1,
            anchor: 0,
            record: WithdrawalRecord {
                id: H256([1; 32]),
                l2_sender: a,
                l1_recipient: a,
                amount: COIN,
                l2_block: 1,
            },
            proof: proof.clone(),
        },
        L1Op::EmergencyWithdraw {
            chain: 1,
            address: a,
            account: AccountState::default(),
            proof,
        },
        L1Op::OpenChallenge {
            chain: 1,
            anchor: 0,
            disputed_root: H256::ZERO,
        },
        L1Op::BisectReveal {
            game: 0,
            root: H256::ZERO,
        },
        L1Op::BisectAnswer {
            game: 0,
            agree: true,
        },
        L1Op::SubmitOneStepProof { game: 0, witness },
        L1Op::SubmitFraudProof {
            chain: 1,
            anchor: 0,
            evidence: FraudEvidence::TimestampManipulation { block: 0 },
        },
        L1Op::Timeout { game: 0 },
    ];
    let n_ops = ops.len();
    for op in ops {
        errs.push(c.send_transaction(&tx(op)).await.unwrap_err());
    }
    assert_eq!(errs.len(), 7 + n_ops);
    for e in &errs {
        match e {
            L1ClientError::Unsupported { what, why } => {
                assert!(!what.is_empty() && why.len() > 20, "{e}");
                assert!(
                    e.to_string().starts_with("not supported by this L1: "),
                    "{e}"
                );
            }
            other => panic!("expected Unsupported, got {other}"),
        }
    }
    // Nothing was asked of the node.
    assert!(node.bodies().is_empty());
}

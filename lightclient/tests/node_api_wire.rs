//! The wire shape of the L2 node's JSON-RPC, pinned: every answer type of `api::node` read from
//! a sample answer written as the JSON the node sends, and written back to exactly that JSON;
//! the parameter structs read from what clients (casl2's and Ethereum tools) send, with errors
//! that name the parameter.

use casl2_lightclient::api::node::*;
use casl2_lightclient::api::{Method, Params};
use casl2_verifier::da::{DACommitment, Sample, ShareProof};
use casl2_verifier::types::{BlockSignature, L2Block, L2BlockHeader};
use casl2_verifier::{BatchHeader, H256};
use serde::Serialize;
use serde_json::{json, Value};

/// Read `wire` as `M`'s answer and write it back: the same JSON.
fn round_trip<M: Method>(wire: Value) -> M::Result {
    let typed: M::Result = serde_json::from_value(wire.clone())
        .unwrap_or_else(|e| panic!("{}: {e}\n{wire:#}", M::NAME));
    assert_eq!(serde_json::to_value(&typed).unwrap(), wire, "{}", M::NAME);
    typed
}

fn v<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

fn h(b: u8) -> String {
    format!("0x{}", hex::encode([b; 32]))
}

fn a(b: u8) -> String {
    format!("0x{}", hex::encode([b; 20]))
}

fn proof_json() -> Value {
    json!({ "key": h(1), "value": "0x0102", "bitmap": h(0), "siblings": [h(2)] })
}

#[test]
fn l2_answers_keep_their_wire_shape() {
    round_trip::<BlockNumber>(json!(42));
    round_trip::<GetBalance>(json!(-5));
    let ci = round_trip::<GetChainInfo>(json!({
        "chainId": 1, "blockNumber": 9, "blockHash": h(3), "stateRoot": h(4),
        "sequencer": a(5), "l1Tip": 120, "status": "ACTIVE", "anchoredL2Block": 8,
        "finalizedL2Block": 4, "mempoolSize": 2, "peers": ["http://127.0.0.1:1/"],
    }));
    assert_eq!((ci.chain_id, ci.l1_tip), (1, 120));
    round_trip::<GetChainInfo>(json!({
        "chainId": 1, "blockNumber": 0, "blockHash": null, "stateRoot": h(0),
        "sequencer": null, "l1Tip": 0, "status": null, "anchoredL2Block": null,
        "finalizedL2Block": null, "mempoolSize": 0, "peers": [],
    }));

    let mut block = v(&L2Block {
        signatures: vec![BlockSignature::default()],
        ..L2Block::default()
    });
    block["hash"] = json!(h(6));
    let b = round_trip::<GetBlockByNumber>(block).unwrap();
    assert_eq!(b.hash, H256([6; 32]));
    assert!(round_trip::<GetBlockByNumber>(Value::Null).is_none());

    round_trip::<GetTransactionCount>(json!({ "nonce": 3, "pending": 5 }));
    round_trip::<GetAccount>(json!({
        "balance": 10, "nonce": 1, "codeHash": h(0), "storageRoot": h(0), "hatScore": 50,
        "lastActivity": 7,
    }));
    round_trip::<SendRawTransaction>(json!(h(7)));

    let receipt = json!({
        "hash": h(7), "blockNumber": 3, "blockHash": h(8), "step": 1,
        "receipt": { "hash": h(7), "success": true, "gasUsed": 21000, "fee": 21000,
                     "error": "", "rent": 0, "rentUnpaid": [] },
    });
    let r = round_trip::<GetTransactionReceipt>(receipt).unwrap();
    assert_eq!(r.final_receipt().map(|r| r.block_number), Some(3));
    let r = round_trip::<GetTransactionReceipt>(json!({ "hash": h(7), "pending": true }));
    assert!(matches!(r, Some(ReceiptAnswer::Pending(_))));
    assert!(round_trip::<GetTransactionReceipt>(Value::Null).is_none());

    let soft = json!({ "kind": "soft", "header": v(&L2BlockHeader::default()), "signatures": [] });
    let p = round_trip::<GetProof>(json!({
        "address": a(9), "stateRoot": h(4), "blockNumber": 9,
        "account": { "balance": 10, "nonce": 1, "codeHash": h(0), "storageRoot": h(0),
                     "hatScore": 0, "lastActivity": 0 },
        "proof": proof_json(), "finality": soft,
    }));
    assert!(matches!(p.finality, ProofFinality::Soft { .. }));
    let p = round_trip::<GetProof>(json!({
        "address": a(9), "stateRoot": h(4), "blockNumber": 4, "account": null,
        "proof": proof_json(),
        "finality": { "kind": "hard", "l1Tip": 120, "finalizedAnchors": 2 },
    }));
    assert_eq!(
        p.finality,
        ProofFinality::Hard {
            l1_tip: 120,
            finalized_anchors: 2
        }
    );
    round_trip::<GetWithdrawalProof>(json!({
        "id": h(7), "key": h(10), "stateRoot": h(4), "blockNumber": 8,
        "record": { "id": h(7), "l2Sender": a(1), "l1Recipient": a(2), "amount": 30, "l2Block": 3 },
        "proof": proof_json(),
        "finality": { "kind": "anchored", "l1Tip": 120, "anchors": 3, "finalizedAnchors": 2 },
    }));
}

#[test]
fn batch_share_sequencer_leader_and_admin_answers_keep_their_wire_shape() {
    let commitment = DACommitment {
        data_hash: H256([1; 32]),
        data_size: 3,
        erasure_coding_root: H256([2; 32]),
        row_roots: vec![H256([3; 32])],
        column_roots: vec![H256([4; 32])],
    };
    let b = round_trip::<GetBatch>(json!({
        "index": 0, "l1Height": 101, "header": v(&BatchHeader::default()), "batchHash": h(1),
        "dataRoot": h(2), "commitment": v(&commitment), "finalized": false, "disputed": false,
        "deadline": 130, "payloadSize": 3, "payload": "0a0b0c",
    }));
    assert_eq!(b.payload, vec![10, 11, 12]);
    let sample = Sample {
        row: 1,
        column: 2,
        share: vec![7; 4],
        proof: ShareProof {
            axis: casl2_verifier::da::Axis::Column,
            siblings: vec![H256([5; 32])],
        },
    };
    round_trip::<GetShare>(json!({ "index": 0, "dataRoot": h(2), "sample": v(&sample) }));
    round_trip::<GetSequencers>(json!([{
        "address": a(1), "stake": 1000, "hatScore": 80, "endpoint": "http://127.0.0.1:2/",
        "status": { "state": "active" }, "announcedAt": 12,
    }]));
    round_trip::<GetLeader>(json!({
        "height": 10, "slot": 2, "leader": a(1), "turn": 0, "deadlineMs": 1700000000000u64,
        "electedLeader": a(1), "backups": [a(2)], "seed": h(3),
    }));
    round_trip::<AdminStatus>(json!({
        "stats": { "transactions": 1, "proposed": 2, "votes": 3, "failovers": 0, "rejected": 0,
                   "conflictingVotes": 0, "reverts": 0, "droppedProposals": 0 },
        "evidence": 0, "peers": [], "url": "http://127.0.0.1:3/",
    }));
}

#[test]
fn contract_answers_keep_their_wire_shape() {
    round_trip::<Call>(json!({
        "success": true, "gasUsed": 23000, "output": "0x00ff", "logs": [
            { "address": a(1), "topics": [h(2)], "data": "0x01" }
        ],
        "contractAddress": null, "error": "", "blockNumber": 5,
    }));
    round_trip::<EstimateGas>(json!(23000));
    round_trip::<GetCode>(json!("0x6001"));
    round_trip::<GetCode>(json!("0x"));
    round_trip::<GetStorageAt>(json!(h(0)));
    let log = |n: Value, extra: Option<bool>| {
        let mut l = json!({
            "address": a(1), "topics": [h(2)], "data": "0x01", "blockNumber": n.clone(),
            "blockHash": h(3), "transactionHash": h(4), "transactionIndex": n.clone(),
            "logIndex": n,
        });
        if let Some(r) = extra {
            l["removed"] = json!(r);
        }
        l
    };
    round_trip::<GetLogs>(json!([log(json!(26), None)]));
    round_trip::<EthGetLogs>(json!([log(json!("0x1a"), Some(false))]));
    assert_eq!(round_trip::<EthChainId>(json!("0x1")), HexU64(1));
    round_trip::<EthBlockNumber>(json!("0x1a"));
    round_trip::<EthGetBalance>(json!("0x0"));
    round_trip::<EthGetCode>(json!("0x6001"));
    round_trip::<EthGetStorageAt>(json!(h(1)));
    round_trip::<EthCall>(json!("0x00"));
    round_trip::<EthEstimateGas>(json!("0x5208"));
}

fn read<P: Params>(p: Value) -> Result<P, String> {
    P::from_positional(p.as_array().unwrap())
}

fn back<P: Params>(p: &P) -> Value {
    serde_json::to_value(p).unwrap()
}

#[test]
fn parameters_read_what_clients_send_and_name_a_bad_one() {
    // casl2's own client: positional, optional trailing parameters absent or null.
    let p: ProofParams = read(json!([a(1)])).unwrap();
    assert_eq!(p.at, None);
    let p: ProofParams = read(json!([a(1), "anchored"])).unwrap();
    assert_eq!(p.at, Some(ProofAt::Anchored));
    let e = read::<ProofParams>(json!([a(1), "someday"])).unwrap_err();
    assert!(e.starts_with("parameter 1 (at): unknown variant"), "{e}");
    let e = read::<AddressParams>(json!([42])).unwrap_err();
    assert!(e.starts_with("parameter 0 (address):"), "{e}");
    let e = read::<RawTransactionParams>(json!([])).unwrap_err();
    assert_eq!(e, "missing parameter 0 (raw transaction hex)");
    let e = read::<ShareParams>(json!([0, 1, 2, "diagonal"])).unwrap_err();
    assert!(e.starts_with("parameter 3 (axis):"), "{e}");
    let e = read::<StorageParams>(json!([a(1), format!("0x{}", "1".repeat(65))])).unwrap_err();
    assert!(e.starts_with("parameter 1 (storage slot):"), "{e}");
    let e = read::<CallParams>(json!([{ "to": 5 }])).unwrap_err();
    assert!(
        e.starts_with("parameter 0 (call object): call object field to:"),
        "{e}"
    );

    // Ethereum tools: 0x quantities, tags, EIP-1898 objects, `input` for `data`.
    for (given, want) in [
        (json!("0x10"), BlockId::Number(16)),
        (json!(16), BlockId::Number(16)),
        (json!("16"), BlockId::Number(16)),
        (json!({ "blockNumber": "0x10" }), BlockId::Number(16)),
        (json!("safe"), BlockId::Safe),
        (json!("pending"), BlockId::Pending),
        (json!({ "blockHash": h(9) }), BlockId::Hash(H256([9; 32]))),
    ] {
        let p: AddressAtParams = read(json!([a(1), given])).unwrap();
        assert_eq!(p.block, Some(want));
    }
    let p: CallParams = read(json!([{ "to": a(2), "input": "0x0102", "value": "0x10",
                                       "gasPrice": "0x1" }, "latest"]))
    .unwrap();
    assert_eq!(p.call_object.data, Some(vec![1, 2]));
    assert_eq!(p.call_object.value, Some(16));
    assert_eq!(p.block, Some(BlockId::Latest));
    let p: StorageParams = read(json!([a(1), "0x0"])).unwrap();
    assert_eq!(p.storage_slot, Word(H256::ZERO));
    let p: LogsParams = read(json!([{ "fromBlock": "0x0", "address": a(1),
                                       "topics": [null, [h(2), h(3)]] }]))
    .unwrap();
    let f = p.filter.unwrap();
    assert_eq!(f.from_block, Some(BlockId::Number(0)));
    assert_eq!(
        f.topics,
        vec![None, Some(vec![H256([2; 32]), H256([3; 32])])]
    );
    assert_eq!(read::<LogsParams>(json!([])).unwrap().filter, None);

    // What casl2's client writes reads back the same.
    let c = CallParams {
        call_object: CallRequest {
            from: None,
            to: Some(casl2_verifier::Address([2; 20])),
            data: Some(vec![1]),
            value: Some(0),
            gas: None,
        },
        block: Some(BlockId::Number(3)),
    };
    assert_eq!(read::<CallParams>(back(&c)).unwrap(), c);
    assert_eq!(
        back(&c),
        json!([{ "to": a(2), "data": "0x01", "value": 0 }, 3])
    );
}

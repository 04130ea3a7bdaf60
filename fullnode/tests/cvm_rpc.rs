//! End to end: the node's contract RPC (`l2_call`, `l2_estimategas`, `l2_getcode`,
//! `l2_getstorageat`, `l2_getlogs` and their `eth_*` names) against two sequencers and the
//! devnet L1 on 127.0.0.1 in this process, with contracts from
//! `verifier/tests/contracts/build.json` deployed and called by signed transactions.

use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_verifier::params::COIN;
use casl2_verifier::stf::cvm::{create_address, keccak256};
use casl2_verifier::{Address, Encode, L2Transaction, PrivateKey, TxType, H256};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[path = "../../verifier/tests/contracts/mod.rs"]
mod contracts;

use contracts::{calldata, contract, word_a, word_u};

const CHAIN: u64 = 1;

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

struct Rpc {
    http: reqwest::Client,
    url: String,
}

impl Rpc {
    /// The whole JSON-RPC answer (result or error).
    async fn raw(&self, method: &str, params: Value) -> Value {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        self.http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
    async fn ok(&self, method: &str, params: Value) -> Value {
        let v = self.raw(method, params.clone()).await;
        assert!(v.get("error").is_none(), "{method} {params}: {v}");
        v["result"].clone()
    }
    async fn err(&self, method: &str, params: Value) -> (i64, String, Value) {
        let v = self.raw(method, params.clone()).await;
        let e = &v["error"];
        assert!(e.is_object(), "{method} {params} should fail: {v}");
        (
            e["code"].as_i64().unwrap(),
            e["message"].as_str().unwrap().to_string(),
            e["data"].clone(),
        )
    }

    /// Sign and send a contract transaction, wait for its final receipt.
    async fn send(
        &self,
        key: &PrivateKey,
        nonce: u64,
        to: Option<Address>,
        data: Vec<u8>,
        value: i64,
    ) -> Value {
        let gas: u64 = serde_json::from_value(
            self.ok(
                "l2_estimategas",
                json!([{ "from": key.address(), "to": to, "data": hex0x(&data), "value": value }]),
            )
            .await,
        )
        .unwrap();
        let mut tx = L2Transaction {
            from: key.address(),
            to: to.unwrap_or_default(),
            value,
            nonce,
            gas_limit: gas + gas / 5,
            gas_price: 1,
            data,
            tx_type: if to.is_some() {
                TxType::ContractCall
            } else {
                TxType::ContractDeploy
            },
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        tx.sign(key).unwrap();
        let h: H256 = serde_json::from_value(
            self.ok("l2_sendrawtransaction", json!([hex::encode(tx.encode())]))
                .await,
        )
        .unwrap();
        let start = Instant::now();
        loop {
            let r = self.ok("l2_gettransactionreceipt", json!([h])).await;
            if r.get("blockNumber").is_some_and(Value::is_u64) {
                assert_eq!(r["receipt"]["success"], json!(true), "{r}");
                return r;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no receipt for {h}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_rpc_serves_calls_code_storage_logs_and_eth_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 2);
    cfg.l1_block_ms = 300;
    let net = LocalNet::start(&cfg).await.unwrap();
    let rpc = Rpc {
        http: reqwest::Client::new(),
        url: format!("http://{}/", net.configs[0].listen),
    };
    let user = dev_key(7).unwrap();
    let me = user.address();
    let bob = Address([0xb0; 20]);
    net.deposit(&user, 1_000 * COIN).unwrap();
    let start = Instant::now();
    while rpc.ok("l2_getbalance", json!([me])).await != json!(1_000 * COIN) {
        assert!(start.elapsed() < Duration::from_secs(60), "no deposit");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // eth_chainId, eth_blockNumber, eth_getBalance: 0x quantities.
    assert_eq!(rpc.ok("eth_chainId", json!([])).await, json!("0x1"));
    let head = quantity(&rpc.ok("eth_blockNumber", json!([])).await);
    assert!(head >= 1);
    assert_eq!(
        quantity(&rpc.ok("eth_getBalance", json!([me, "latest"])).await),
        1_000 * COIN as u64
    );

    // Deploy the token (1,000,000 to the deployer) and the counter.
    let (mut init, token_runtime) = contract("Token");
    init.extend_from_slice(&word_u(1_000_000));
    let r = rpc.send(&user, 0, None, init, 0).await;
    let token = create_address(&me, 0);
    assert_eq!(r["receipt"]["cvm"]["contractAddress"], json!(token), "{r}");
    let (init, counter_runtime) = contract("Counter");
    rpc.send(&user, 1, None, init, 0).await;
    let counter = create_address(&me, 1);
    let (init, _) = contract("Reverter");
    rpc.send(&user, 2, None, init, 0).await;
    let reverter = create_address(&me, 2);

    // Code, under both names; an account without code has none.
    for m in ["eth_getCode", "l2_getcode"] {
        assert_eq!(
            rpc.ok(m, json!([token, "latest"])).await,
            json!(hex0x(&token_runtime))
        );
    }
    assert_eq!(
        rpc.ok("eth_getCode", json!([counter])).await,
        json!(hex0x(&counter_runtime))
    );
    assert_eq!(rpc.ok("eth_getCode", json!([bob])).await, json!("0x"));

    // Read-only calls.
    let bal_of = |a: &Address| hex0x(&calldata("balanceOf(address)", &[word_a(a)]));
    assert_eq!(
        rpc.ok(
            "eth_call",
            json!([{ "to": token, "data": bal_of(&me) }, "latest"])
        )
        .await,
        json!(hex0x(&word_u(1_000_000)))
    );
    let c = rpc
        .ok("l2_call", json!([{ "to": token, "input": bal_of(&me) }]))
        .await;
    assert_eq!(c["success"], json!(true), "{c}");
    assert_eq!(c["output"], json!(hex0x(&word_u(1_000_000))));
    assert!(c["gasUsed"].as_u64().unwrap() > 21_000);

    // A transfer of 25 to bob, estimated first under the eth name (a 0x quantity).
    let transfer = calldata("transfer(address,uint256)", &[word_a(&bob), word_u(25)]);
    let est = quantity(
        &rpc.ok(
            "eth_estimateGas",
            json!([{ "from": me, "to": token, "data": hex0x(&transfer) }]),
        )
        .await,
    );
    assert!(est > 21_000 && est < 100_000, "{est}");
    let before_transfer = quantity(&rpc.ok("eth_blockNumber", json!([])).await);
    let r = rpc.send(&user, 3, Some(token), transfer, 0).await;
    let transfer_block = r["blockNumber"].as_u64().unwrap();
    assert_eq!(
        rpc.ok("eth_call", json!([{ "to": token, "data": bal_of(&bob) }]))
            .await,
        json!(hex0x(&word_u(25)))
    );
    // At a block before the transfer, bob had nothing.
    assert_eq!(
        rpc.ok(
            "eth_call",
            json!([{ "to": token, "data": bal_of(&bob) }, format!("0x{before_transfer:x}")])
        )
        .await,
        json!(hex0x(&word_u(0)))
    );

    // Storage: the counter's slot 0 before and after increment().
    let slot0 = |at: Value| json!([counter, "0x0", at]);
    assert_eq!(
        rpc.ok("eth_getStorageAt", slot0(json!("latest"))).await,
        json!(hex0x(&[0u8; 32]))
    );
    let r = rpc
        .send(&user, 4, Some(counter), calldata("increment()", &[]), 0)
        .await;
    let inc_block = r["blockNumber"].as_u64().unwrap();
    assert_eq!(
        rpc.ok("eth_getStorageAt", slot0(json!("latest"))).await,
        json!(hex0x(&word_u(1)))
    );
    assert_eq!(
        rpc.ok("l2_getstorageat", slot0(json!(inc_block - 1))).await,
        json!(hex0x(&word_u(0)))
    );

    // Logs: the mint and the transfer, by address and topic; bob's alone by its indexed `to`.
    let topic = keccak256(b"Transfer(address,address,uint256)");
    let logs = rpc
        .ok(
            "l2_getlogs",
            json!([{ "fromBlock": 0, "toBlock": "latest", "address": token, "topics": [topic] }]),
        )
        .await;
    let logs = logs.as_array().unwrap();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(
        logs[0]["topics"][1],
        json!(H256::ZERO),
        "the mint is from 0"
    );
    assert_eq!(logs[1]["blockNumber"], json!(transfer_block));
    assert_eq!(logs[1]["data"], json!(hex0x(&word_u(25))));
    let bobs = rpc
        .ok(
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "topics": [null, null, [H256(word_a(&bob))]], "toBlock": "latest" }]),
        )
        .await;
    let bobs = bobs.as_array().unwrap();
    assert_eq!(bobs.len(), 1, "{bobs:?}");
    assert_eq!(quantity(&bobs[0]["blockNumber"]), transfer_block);
    assert_eq!(bobs[0]["removed"], json!(false));
    assert_eq!(bobs[0]["address"], json!(token));
    assert!(rpc
        .ok(
            "eth_getLogs",
            json!([{ "fromBlock": "0x0", "address": bob }])
        )
        .await
        .as_array()
        .unwrap()
        .is_empty());

    // A revert: code 3 with the revert data (Error(string) = 0x08c379a0…) and the reason.
    let fail = hex0x(&calldata("fail()", &[]));
    let (code, msg, data) = rpc
        .err("eth_call", json!([{ "to": reverter, "data": fail }]))
        .await;
    assert_eq!(code, 3);
    assert!(msg.contains("nope: reverted on purpose"), "{msg}");
    assert!(data.as_str().unwrap().starts_with("0x08c379a0"), "{data}");
    let c = rpc
        .ok("l2_call", json!([{ "to": reverter, "data": fail }]))
        .await;
    assert_eq!(c["success"], json!(false));
    assert!(c["error"].as_str().unwrap().contains("nope"), "{c}");
    let (code, ..) = rpc
        .err("eth_estimateGas", json!([{ "to": reverter, "data": fail }]))
        .await;
    assert_eq!(code, 3);

    // Bad requests get errors that name what was wrong.
    let head = quantity(&rpc.ok("eth_blockNumber", json!([])).await);
    let (code, msg, _) = rpc
        .err(
            "eth_getCode",
            json!([token, format!("0x{:x}", head + 1000)]),
        )
        .await;
    assert_eq!(code, -32011, "{msg}");
    assert!(msg.contains("not final"), "{msg}");
    let (code, msg, _) = rpc.err("eth_getCode", json!(["0x12"])).await;
    assert_eq!(code, -32602, "{msg}");
    let (code, msg, _) = rpc
        .err(
            "eth_getLogs",
            json!([{ "fromBlock": "0x5", "toBlock": "0x1" }]),
        )
        .await;
    assert_eq!(code, -32602);
    assert!(msg.contains("above toBlock"), "{msg}");
    let (code, msg, _) = rpc
        .err(
            "eth_call",
            json!([{ "to": token, "value": "0xffffffffffffffff" }]),
        )
        .await;
    assert_eq!(code, -32602);
    assert!(msg.contains("value"), "{msg}");
    let (code, msg, _) = rpc
        .err(
            "eth_getStorageAt",
            json!([counter, "0x".to_string() + &"1".repeat(65)]),
        )
        .await;
    assert_eq!(code, -32602);
    assert!(msg.contains("storage slot"), "{msg}");
    let (_, msg, _) = rpc
        .err("eth_getLogs", json!([{ "blockHash": H256::ZERO }]))
        .await;
    assert!(msg.contains("blockHash"), "{msg}");
}

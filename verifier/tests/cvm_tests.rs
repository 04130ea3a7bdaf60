//! The CVM in the state transition: contracts from `tests/contracts/build.json` (solc 0.8.28,
//! cancun) deployed and called through CONTRACT_DEPLOY / CONTRACT_CALL. Every step also runs
//! statelessly from its witness and must give the same post-root and receipt.

mod common_cvm;

use casl2_verifier::codec::{Decode, Encode};
use casl2_verifier::stf::cvm::{
    code_key, create2_address, create_address, keccak256, revert_reason, slot_key,
};
use casl2_verifier::stf::{
    execute_step_stateless, rules, storage_tree_root, Receipt, Step, StepWitness, StfError,
};
use casl2_verifier::types::TxType;
use casl2_verifier::{Address, H256};
use common_cvm::*;
use proptest::prelude::*;

const FUND: i64 = 1_000_000_000_000;

#[test]
fn counter_deploy_increment_storage_and_fees() {
    let mut c = Chain::new(2, FUND);
    let me = c.addr(0);
    let (r, counter) = c.deploy(0, "Counter", &[]);
    assert_eq!(counter, create_address(&me, 0));
    let cvm = r.cvm.as_ref().unwrap();
    assert_eq!(
        cvm.output,
        contract("Counter").1,
        "deploy returns the runtime code"
    );
    let acct = c.account(&counter);
    assert_eq!(acct.nonce, 1);
    assert_eq!(acct.code_hash, keccak256(&contract("Counter").1));
    assert_eq!(
        c.tree.get(&code_key(&acct.code_hash)).unwrap(),
        Some(contract("Counter").1)
    );
    assert!(acct.storage_root.is_zero(), "no storage yet");

    let before = c.account(&me).balance;
    let producer_before = c.account(&c.ctx.producer.clone()).balance;
    let r1 = c.call(0, counter, calldata("increment()", &[]), 0);
    assert!(r1.success, "{}", r1.error);
    assert!(r1.gas_used > 21_000 && r1.gas_used < 100_000);
    assert_eq!(r1.fee, rules::fee(r1.gas_used, 1, 0).unwrap());
    assert_eq!(c.account(&me).balance, before - r1.fee);
    assert_eq!(c.account(&me).nonce, 2);
    let (to_producer, _, _) = rules::split_fee(r1.fee);
    assert_eq!(
        c.account(&c.ctx.producer.clone()).balance,
        producer_before + to_producer
    );
    let r2 = c.call(1, counter, calldata("increment()", &[]), 0);
    assert!(r2.success);
    // Slot 0 in the contract's storage tree, as a 32-byte big-endian word.
    let acct = c.account(&counter);
    assert!(!acct.storage_root.is_zero());
    let v = c
        .tree
        .get_at(storage_tree_root(&acct.storage_root), &slot_key(&[0; 32]))
        .unwrap();
    assert_eq!(v, Some(word_u(2).to_vec()));
    assert_eq!(c.view_u(&counter, &calldata("count()", &[])), 2);
}

#[test]
fn erc20_transfer_balances_and_logs() {
    let mut c = Chain::new(3, FUND);
    let (a, b) = (c.addr(0), c.addr(1));
    let (r, token) = c.deploy(0, "Token", &[word_u(1_000_000)]);
    let logs = &r.cvm.as_ref().unwrap().logs;
    assert_eq!(logs.len(), 1);
    let transfer_topic = keccak256(b"Transfer(address,address,uint256)");
    assert_eq!(logs[0].topics[0], transfer_topic);
    assert_eq!(
        c.view_u(&token, &calldata("balanceOf(address)", &[word_a(&a)])),
        1_000_000
    );
    let r = c.call(
        0,
        token,
        calldata("transfer(address,uint256)", &[word_a(&b), word_u(250)]),
        0,
    );
    assert!(r.success, "{}", r.error);
    let cvm = r.cvm.unwrap();
    assert_eq!(cvm.output, word_u(1).to_vec(), "returns true");
    assert_eq!(cvm.logs.len(), 1);
    let l = &cvm.logs[0];
    assert_eq!(l.address, token);
    assert_eq!(
        l.topics,
        vec![transfer_topic, h256(word_a(&a)), h256(word_a(&b))]
    );
    assert_eq!(l.data, word_u(250).to_vec());
    assert_eq!(
        c.view_u(&token, &calldata("balanceOf(address)", &[word_a(&a)])),
        999_750
    );
    assert_eq!(
        c.view_u(&token, &calldata("balanceOf(address)", &[word_a(&b)])),
        250
    );
    // Too much: reverts with the reason, balances unchanged, fee paid, nonce bumped.
    let nonce = c.account(&b).nonce;
    let bal = c.account(&b).balance;
    let r = c.call(
        1,
        token,
        calldata("transfer(address,uint256)", &[word_a(&a), word_u(251)]),
        0,
    );
    assert!(!r.success);
    assert!(r.error.contains("insufficient balance"), "{}", r.error);
    assert_eq!(c.account(&b).nonce, nonce + 1);
    assert_eq!(c.account(&b).balance, bal - r.fee);
    assert!(r.fee > 0);
    assert_eq!(
        c.view_u(&token, &calldata("balanceOf(address)", &[word_a(&b)])),
        250
    );
}

#[test]
fn revert_reason_value_returned_and_fee_paid() {
    let mut c = Chain::new(1, FUND);
    let me = c.addr(0);
    let (_, rev) = c.deploy(0, "Reverter", &[]);
    let before = c.account(&me).balance;
    let r = c.call(0, rev, calldata("fail()", &[]), 12_345);
    assert!(!r.success);
    assert_eq!(r.error, "execution reverted: nope: reverted on purpose");
    let out = &r.cvm.as_ref().unwrap().output;
    assert_eq!(
        revert_reason(out).as_deref(),
        Some("nope: reverted on purpose")
    );
    assert_eq!(c.account(&me).balance, before - r.fee, "value stays");
    assert_eq!(c.account(&rev).balance, 0);
    assert!(c.account(&rev).storage_root.is_zero(), "SSTORE undone");
    assert_eq!(c.view_u(&rev, &calldata("touched()", &[])), 0);
}

#[test]
fn out_of_gas_pays_the_whole_gas_limit() {
    let mut c = Chain::new(1, FUND);
    let me = c.addr(0);
    let (_, counter) = c.deploy(0, "Counter", &[]);
    let before = c.account(&me).balance;
    let t = c.tx(
        0,
        TxType::ContractCall,
        counter,
        calldata("spin()", &[]),
        0,
        100_000,
    );
    let (r, _) = c.run(t);
    assert!(!r.success);
    assert!(r.error.contains("OutOfGas"), "{}", r.error);
    assert_eq!(r.gas_used, 100_000);
    assert_eq!(r.fee, rules::fee(100_000, 1, 0).unwrap());
    assert_eq!(c.account(&me).balance, before - r.fee);
    assert_eq!(c.account(&me).nonce, 2);
    assert!(c.account(&counter).storage_root.is_zero());
}

#[test]
fn create2_address_matches_the_formula() {
    let mut c = Chain::new(1, FUND);
    let (_, factory) = c.deploy(0, "Factory", &[]);
    let salt = [0x5a; 32];
    let r = c.call(0, factory, calldata("deploy(bytes32)", &[salt]), 0);
    assert!(r.success, "{}", r.error);
    let expected = create2_address(&factory, &H256(salt), &keccak256(&contract("Counter").0));
    let out = &r.cvm.as_ref().unwrap().output;
    assert_eq!(&out[12..], &expected.0);
    let logs = &r.cvm.as_ref().unwrap().logs;
    assert_eq!(logs[0].topics[1], h256(word_a(&expected)));
    let acct = c.account(&expected);
    assert_eq!(acct.code_hash, keccak256(&contract("Counter").1));
    // The created counter works.
    assert!(c.call(0, expected, calldata("increment()", &[]), 0).success);
    assert_eq!(c.view_u(&expected, &calldata("count()", &[])), 1);
    // The same salt again: the CREATE2 collides, the call reverts.
    let r = c.call(0, factory, calldata("deploy(bytes32)", &[salt]), 0);
    assert!(!r.success);
}

#[test]
fn events_with_topics_and_data() {
    let mut c = Chain::new(1, FUND);
    let (_, em) = c.deploy(0, "Emitter", &[]);
    // emitBoth(uint256 a, bytes data) with data = 3 bytes.
    let mut d = calldata(
        "emitBoth(uint256,bytes)",
        &[word_u(77), word_u(64), word_u(3)],
    );
    let mut tail = [0u8; 32];
    tail[..3].copy_from_slice(&[1, 2, 3]);
    d.extend_from_slice(&tail);
    let r = c.call(0, em, d, 0);
    assert!(r.success, "{}", r.error);
    let logs = r.cvm.unwrap().logs;
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[0].topics, vec![keccak256(b"Zero()")]);
    assert!(logs[0].data.is_empty());
    assert_eq!(
        logs[1].topics,
        vec![keccak256(b"Two(uint256,bytes)"), h256(word_u(77))]
    );
    let mut want = word_u(32).to_vec();
    want.extend_from_slice(&word_u(3));
    want.extend_from_slice(&tail);
    assert_eq!(logs[1].data, want);
}

#[test]
fn reentrancy_is_blocked_by_the_transient_lock() {
    let mut c = Chain::new(1, FUND);
    let (_, vault) = c.deploy(0, "Vault", &[]);
    let (_, attacker) = c.deploy(0, "Attacker", &[word_a(&vault)]);
    let r = c.call(0, attacker, calldata("attack()", &[]), 1_000);
    assert!(r.success, "{}", r.error);
    assert_eq!(c.view_u(&attacker, &calldata("blocked()", &[])), 1);
    assert_eq!(c.view_u(&attacker, &calldata("reentered()", &[])), 0);
    assert_eq!(
        c.account(&attacker).balance,
        1_000,
        "got its deposit back once"
    );
    assert_eq!(c.account(&vault).balance, 0);
    assert_eq!(
        c.view_u(&vault, &calldata("balances(address)", &[word_a(&attacker)])),
        0
    );
}

#[test]
fn selfdestruct_in_the_creating_transaction_deletes_the_account() {
    let mut c = Chain::new(1, FUND);
    let me = c.addr(0);
    let (_, factory) = c.deploy(0, "Factory", &[]);
    let before = c.account(&me).balance;
    let r = c.call(0, factory, calldata("createAndDestroy()", &[]), 50);
    assert!(r.success, "{}", r.error);
    let out = &r.cvm.as_ref().unwrap().output;
    let bomb = Address(out[12..32].try_into().unwrap());
    assert_eq!(bomb, create_address(&factory, 1));
    assert!(c.tree.get(&bomb.tree_key()).unwrap().is_none(), "deleted");
    assert_eq!(c.account(&me).balance, before - r.fee, "the 50 came back");
}

#[test]
fn read_only_call_and_estimate_gas() {
    let mut c = Chain::new(1, FUND);
    let (_, counter) = c.deploy(0, "Counter", &[]);
    let root = c.tree.root();
    let me = c.addr(0);
    let data = calldata("increment()", &[]);
    let r =
        casl2_verifier::stf::cvm::call(&c.tree, &c.ctx, &me, Some(&counter), &data, 0, 1_000_000)
            .unwrap();
    assert!(r.success);
    assert_eq!(c.tree.root(), root, "a call changes nothing");
    let g = casl2_verifier::stf::cvm::estimate_gas(
        &c.tree,
        &c.ctx,
        &me,
        Some(&counter),
        &data,
        0,
        1_000_000,
    )
    .unwrap()
    .unwrap();
    assert!(g >= r.gas_used);
    // One gas less is not enough; the estimate is enough for the real transaction.
    let low = casl2_verifier::stf::cvm::call(&c.tree, &c.ctx, &me, Some(&counter), &data, 0, g - 1)
        .unwrap();
    assert!(!low.success);
    let t = c.tx(0, TxType::ContractCall, counter, data.clone(), 0, g);
    let (ok, _) = c.run(t);
    assert!(ok.success, "{}", ok.error);
}

#[test]
fn receipt_with_cvm_part_round_trips_and_plain_receipts_keep_their_bytes() {
    let mut c = Chain::new(2, FUND);
    let (r, _) = c.deploy(0, "Token", &[word_u(5)]);
    let b = r.encode();
    assert_eq!(Receipt::decode(&b).unwrap(), r);
    assert_eq!(b[32] & 2, 2);
    let to = c.addr(1);
    let t = c.tx(0, TxType::Transfer, to, vec![], 10, 21_000);
    let (plain, _) = c.run(t);
    assert!(plain.cvm.is_none());
    let pb = plain.encode();
    assert_eq!(pb[32], 1, "plain receipts: the old byte");
    assert_eq!(Receipt::decode(&pb).unwrap(), plain);
}

#[test]
fn dropped_or_altered_storage_witness_fails() {
    let mut c = Chain::new(2, FUND);
    let b = c.addr(1);
    let (_, token) = c.deploy(0, "Token", &[word_u(1_000)]);
    c.check_stateless = true;
    let t = c.tx(
        0,
        TxType::ContractCall,
        token,
        calldata("transfer(address,uint256)", &[word_a(&b), word_u(1)]),
        0,
        200_000,
    );
    let step = Step::Tx { tx: Box::new(t) };
    let pre = c.tree.root();
    let (w, _) = casl2_verifier::stf::build_step_witness(&c.tree, pre, &step, &c.ctx).unwrap();
    assert_eq!(w.storage.len(), 1);
    assert_eq!(w.storage[0].address, token);
    assert_eq!(StepWitness::decode(&w.encode()).unwrap(), w);
    let mut dropped = w.clone();
    dropped.storage.clear();
    assert!(matches!(
        execute_step_stateless(&pre, &dropped, &step, &c.ctx),
        Err(StfError::MissingWitness { .. })
    ));
    let mut altered = w.clone();
    let enc = altered.storage[0].proof.encode();
    // Flip a byte of a leaf value (the last bytes of the encoding are a value's).
    let mut e2 = enc.clone();
    let n = e2.len();
    e2[n - 1] ^= 1;
    altered.storage[0].proof = Decode::decode(&e2).unwrap();
    assert!(matches!(
        execute_step_stateless(&pre, &altered, &step, &c.ctx),
        Err(StfError::WitnessInvalid(_))
    ));
}

#[derive(Debug, Clone)]
enum Op {
    Transfer { from: usize, to: usize, amount: u16 },
    Increment { who: usize },
    Revert { who: usize },
    DeployCounter { who: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..3, 0usize..4, 0u16..600).prop_map(|(from, to, amount)| Op::Transfer {
            from,
            to,
            amount
        }),
        (0usize..3).prop_map(|who| Op::Increment { who }),
        (0usize..3).prop_map(|who| Op::Revert { who }),
        (0usize..3).prop_map(|who| Op::DeployCounter { who }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// Random contract transactions: each step's stateless execution from its witness equals
    /// the stateful one (checked inside `Chain::run`), and dropping a storage proof or the
    /// account proof's coverage fails.
    #[test]
    fn property_cvm_stateless_equals_stateful(ops in prop::collection::vec(op(), 1..8)) {
        let mut c = Chain::new(3, FUND);
        let (_, token) = c.deploy(0, "Token", &[word_u(1_000)]);
        let (_, counter) = c.deploy(1, "Counter", &[]);
        let (_, rev) = c.deploy(2, "Reverter", &[]);
        // Give everyone tokens.
        for i in 1..3 {
            let to = c.addr(i);
            let r = c.call(0, token, calldata("transfer(address,uint256)", &[word_a(&to), word_u(300)]), 0);
            prop_assert!(r.success);
        }
        let stranger = Address([0x77; 20]);
        for o in ops {
            let t = match o {
                Op::Transfer { from, to, amount } => {
                    let dest = if to == 3 { stranger } else { c.addr(to) };
                    c.tx(from, TxType::ContractCall, token,
                        calldata("transfer(address,uint256)", &[word_a(&dest), word_u(amount as u128)]), 0, 200_000)
                }
                Op::Increment { who } => c.tx(who, TxType::ContractCall, counter, calldata("increment()", &[]), 0, 200_000),
                Op::Revert { who } => c.tx(who, TxType::ContractCall, rev, calldata("fail()", &[]), 5, 200_000),
                Op::DeployCounter { who } => c.tx(who, TxType::ContractDeploy, Address::default(), contract("Counter").0, 0, 500_000),
            };
            let step = Step::Tx { tx: Box::new(t.clone()) };
            let pre = c.tree.root();
            let (r, w) = c.run(t);
            let w = w.unwrap();
            prop_assert!(r.cvm.is_some());
            if !w.storage.is_empty() {
                let mut d = w.clone();
                d.storage.remove(0);
                prop_assert!(execute_step_stateless(&pre, &d, &step, &c.ctx).is_err());
            }
            // The account multiproof reduced to its root hash proves nothing.
            let mut d = w.clone();
            d.proof = casl2_verifier::smt::MultiProof {
                root: casl2_verifier::smt::MultiNode::Hash(pre),
            };
            prop_assert!(execute_step_stateless(&pre, &d, &step, &c.ctx).is_err());
        }
    }
}

#[test]
fn protocol_vectors() {
    // docs/protocol.md, "CVM": the keys, a storage root and a receipt encoding.
    let mut slot1 = [0u8; 32];
    slot1[31] = 1;
    let counter_code = contract("Counter").1;
    let code_hash = keccak256(&counter_code);
    let mut c = Chain::new(1, FUND);
    let me = c.addr(0);
    let (_, counter) = c.deploy(0, "Counter", &[]);
    c.call(0, counter, calldata("increment()", &[]), 0);
    let r = c.call(0, counter, calldata("increment()", &[]), 0);
    let acct = c.account(&counter);
    let enc = r.encode();
    eprintln!("slot_key(0) = {}", slot_key(&[0; 32]).to_hex());
    eprintln!("slot_key(1) = {}", slot_key(&slot1).to_hex());
    eprintln!("keccak256(\"\") = {}", keccak256(b"").to_hex());
    eprintln!("counter codeHash = {}", code_hash.to_hex());
    eprintln!("code_key = {}", code_key(&code_hash).to_hex());
    eprintln!("sender = {}, counter = {}", me.to_hex(), counter.to_hex());
    eprintln!(
        "counter storageRoot (count = 2) = {}",
        acct.storage_root.to_hex()
    );
    eprintln!("receipt = {}", hex::encode(&enc));
    assert_eq!(
        slot_key(&[0; 32]).to_hex(),
        casl2_verifier::sha256d(&[0u8; 32]).to_hex()
    );
    assert_eq!(
        keccak256(b"").to_hex(),
        "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    );
    assert_eq!(
        slot_key(&[0; 32]).to_hex(),
        "0x2b32db6c2c0a6235fb1397e8225ea85e0f0e6e8c7b126d0016ccbde0e667151e"
    );
    assert_eq!(
        slot_key(&slot1).to_hex(),
        "0x32ba476771d01e37807990ead8719f08af494723de1d228f2c2c07cc0aa40bac"
    );
    assert_eq!(
        code_hash.to_hex(),
        "0x11f3450bc2d70236e892fd7fb19954241e8647c4519b49b1e365455648140baf"
    );
    assert_eq!(
        code_key(&code_hash).to_hex(),
        "0x3f8b1cd4fd4b00907a4835088ad5fe9c972ded84d784db6ef074096a58cc5b2d"
    );
    assert_eq!(me.to_hex(), "0xc597674ad70e68460e860c5dbb047d1aeb8e7d4f");
    assert_eq!(
        counter.to_hex(),
        "0x4b28f5f46a30a3f76940ca2b187cf935972fbef6"
    );
    assert_eq!(
        acct.storage_root.to_hex(),
        "0x30c1884b14968c6739257506930ebf411dfb603a728c73d752ecd0bbefe037a7"
    );
    assert_eq!(
        hex::encode(&enc),
        "5f6f258339b9200880b9aa7621517b62d871f937e5a0e8234ed4f5f867e3b6cf03c16600000000\
         0000c1660000000000000000000000000000000003000000"
    );
}

#[test]
fn block_application_equals_step_by_step_execution() {
    use casl2_verifier::smt::SparseMerkleTree;
    use casl2_verifier::stf::execute_block_steps;
    use casl2_verifier::types::L2Block;
    let mut c = Chain::new(2, FUND);
    let me = c.addr(0);
    let b = c.addr(1);
    let mut txs = Vec::new();
    let (code, _) = contract("Token");
    let mut init = code;
    init.extend_from_slice(&word_u(1_000));
    txs.push(c.tx(
        0,
        TxType::ContractDeploy,
        Address::default(),
        init,
        0,
        3_000_000,
    ));
    let token = create_address(&me, 0);
    for v in 1..4u128 {
        txs.push(c.tx(
            0,
            TxType::ContractCall,
            token,
            calldata("transfer(address,uint256)", &[word_a(&b), word_u(v)]),
            0,
            200_000,
        ));
    }
    txs.push(c.tx(1, TxType::Transfer, me, vec![], 5, 21_000));
    let mut block = L2Block::default();
    block.header.gas_limit = u64::MAX;
    block.header.l2_chain_id = CHAIN;
    block.transactions = txs.clone();
    let mut fast = SparseMerkleTree::with_root(c.tree.store().clone(), c.tree.root()).unwrap();
    let out = execute_block_steps(&mut fast, &block, &c.ctx, &[]).unwrap();
    let mut receipts = Vec::new();
    for t in txs {
        receipts.push(c.run(t).0);
    }
    let (end, _) = {
        let step = Step::BlockEnd;
        let pre = c.tree.root();
        let (w, r) = casl2_verifier::stf::build_step_witness(&c.tree, pre, &step, &c.ctx).unwrap();
        let (root, _) = execute_step_stateless(&pre, &w, &step, &c.ctx).unwrap();
        (root, r)
    };
    receipts.push(out.receipts.last().unwrap().clone());
    assert_eq!(out.receipts, receipts);
    assert_eq!(out.state_root, end);
    assert_eq!(
        fast.get_at(out.state_root, &token.tree_key()).unwrap(),
        c.tree.get(&token.tree_key()).unwrap()
    );
}

#[test]
fn precompiles_without_c_backends() {
    let mut c = Chain::new(1, FUND);
    let pre = |n: u8| {
        let mut a = [0u8; 20];
        a[19] = n;
        Address(a)
    };
    // SHA-256 (0x02) of "abc".
    let r = c.call(0, pre(2), b"abc".to_vec(), 0);
    assert!(r.success, "{}", r.error);
    assert_eq!(
        hex::encode(&r.cvm.unwrap().output),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // RIPEMD-160 (0x03) of "abc", left-padded to 32 bytes.
    let r = c.call(0, pre(3), b"abc".to_vec(), 0);
    assert_eq!(
        hex::encode(&r.cvm.unwrap().output),
        "0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
    );
    // Identity (0x04).
    let r = c.call(0, pre(4), vec![9, 8, 7], 0);
    assert_eq!(r.cvm.unwrap().output, vec![9, 8, 7]);
    // ecrecover (0x01): recovers the Ethereum-style address of the signer.
    let mut kb = [0u8; 32];
    kb[..8].copy_from_slice(&1u64.to_le_bytes());
    kb[31] = 7;
    let key = casl2_verifier::PrivateKey::from_bytes(&kb).unwrap();
    let msg = keccak256(b"hello");
    let sig = key.sign_compact(&msg).unwrap();
    let mut data = msg.0.to_vec();
    data.extend_from_slice(&word_u(u128::from(sig[0] - 4)));
    data.extend_from_slice(&sig[1..]);
    let r = c.call(0, pre(1), data, 0);
    assert!(r.success);
    let sk = k256::ecdsa::SigningKey::from_bytes(&kb.into()).unwrap();
    let pk = sk.verifying_key().to_encoded_point(false);
    let eth = keccak256(&pk.as_bytes()[1..]);
    let out = r.cvm.unwrap().output;
    assert_eq!(&out[12..], &eth.0[12..]);
}

#[test]
fn rent_on_contracts_archives_and_restores_with_storage() {
    let mut c = Chain::new(1, FUND);
    c.ctx.rent = casl2_verifier::stf::rules::RentParams {
        rate: 1_000,
        block_time_ms: 1_000,
    };
    let (_, counter) = c.deploy(0, "Counter", &[]);
    assert!(c.call(0, counter, calldata("increment()", &[]), 0).success);
    // A year later the contract (no balance) cannot pay its rent: it is archived by the step
    // that touches it, and restored with its code and storage by the next one.
    c.ctx.number += 40_000_000;
    let r = c.call(0, counter, calldata("increment()", &[]), 0);
    assert!(r.success, "{}", r.error);
    assert!(r.rent_unpaid.contains(&counter));
    assert!(
        c.tree.get(&counter.tree_key()).unwrap().is_none(),
        "archived"
    );
    c.ctx.number += 1;
    let r = c.call(0, counter, calldata("increment()", &[]), 0);
    assert!(r.success, "{}", r.error);
    assert_eq!(c.view_u(&counter, &calldata("count()", &[])), 3);
}

#[test]
fn pruning_the_history_keeps_contract_storage() {
    use casl2_verifier::smt::SparseMerkleTree;
    use casl2_verifier::stf::StateHistory;
    let mut c = Chain::new(1, FUND);
    let (_, counter) = c.deploy(0, "Counter", &[]);
    assert!(c.call(0, counter, calldata("increment()", &[]), 0).success);
    let mut h = StateHistory::new(1);
    h.push(1, c.tree.root());
    let store = h.prune(c.tree.store(), &[]).unwrap();
    let tree = SparseMerkleTree::with_root(store, c.tree.root()).unwrap();
    let acct = c.account(&counter);
    assert_eq!(
        tree.get_at(storage_tree_root(&acct.storage_root), &slot_key(&[0; 32]))
            .unwrap(),
        Some(word_u(1).to_vec())
    );
}

#[test]
fn fraud_one_step_proofs_of_contract_steps() {
    use casl2_verifier::fraud::{honest_trace, honest_witness, BatchData};
    use casl2_verifier::smt::SparseMerkleTree;
    use casl2_verifier::types::L2Block;
    let mut c = Chain::new(2, FUND);
    let me = c.addr(0);
    let b = c.addr(1);
    let (code, _) = contract("Token");
    let mut init = code;
    init.extend_from_slice(&word_u(1_000));
    let token = create_address(&me, 0);
    let mut block = L2Block::default();
    block.header.gas_limit = u64::MAX;
    block.header.l2_chain_id = CHAIN;
    block.header.block_number = c.ctx.number;
    block.header.timestamp = c.ctx.timestamp;
    block.header.sequencer = c.ctx.producer;
    block.transactions.push(c.tx(
        0,
        TxType::ContractDeploy,
        Address::default(),
        init,
        0,
        3_000_000,
    ));
    for v in 1..3u128 {
        block.transactions.push(c.tx(
            0,
            TxType::ContractCall,
            token,
            calldata("transfer(address,uint256)", &[word_a(&b), word_u(v)]),
            0,
            200_000,
        ));
    }
    let mut batch = BatchData {
        chain_id: CHAIN,
        pre_state_root: c.tree.root(),
        post_state_root: H256::ZERO,
        blocks: vec![block],
        messages: vec![vec![]],
        sequencers: vec![],
        l1_time: 0,
        prev_timestamp: None,
        max_timestamp_drift: u64::MAX,
        rent: Default::default(),
    };
    let mut tree = SparseMerkleTree::with_root(c.tree.store().clone(), c.tree.root()).unwrap();
    let (roots, err) = honest_trace(&mut tree, &batch).unwrap();
    assert!(err.is_none());
    assert_eq!(roots.len(), 5);
    batch.post_state_root = *roots.last().unwrap();
    for i in 0..4u64 {
        let w = honest_witness(&tree, &batch, i, roots[i as usize])
            .unwrap_or_else(|e| panic!("step {i}: {e}"));
        // As the L1 carries it.
        let w = StepWitness::decode(&w.encode()).unwrap();
        let (step, ctx) = batch.step(i).unwrap();
        let (post, _) = execute_step_stateless(&roots[i as usize], &w, &step, &ctx).unwrap();
        assert_eq!(post, roots[i as usize + 1], "step {i}");
        if i == 1 || i == 2 {
            assert!(
                !w.storage.is_empty(),
                "a transfer proves the token's storage"
            );
        }
    }
}

#[test]
fn bad_receipt_and_witness_bytes_are_errors() {
    let mut c = Chain::new(1, FUND);
    let (r, _) = c.deploy(0, "Emitter", &[]);
    let b = r.encode();
    for cut in 0..b.len() {
        assert!(Receipt::decode(&b[..cut]).is_err());
    }
    let mut bad = b.clone();
    bad[32] = 4;
    assert!(Receipt::decode(&bad).is_err());
    let mut extra = b.clone();
    extra.push(0);
    assert!(Receipt::decode(&extra).is_err());
    // A witness tagged "with storage" must carry at least one storage proof.
    let mut w = vec![4u8, 0, 0];
    assert!(StepWitness::decode(&w).is_err());
    w.truncate(1);
    assert!(StepWitness::decode(&w).is_err());
}

//! Valid inputs for the fuzz targets of [`crate::fuzz`], built from real encoded values: the
//! seed corpus in `fuzz/corpus/<target>/` is written from [`seeds`] (`CASL2_WRITE_SEEDS=1
//! cargo test -p casl2-tests --test fuzz_corpus write_seeds -- --ignored`), and the replay
//! test checks that each of them still passes its target.

use casl2_verifier::consensus::find_double_signs;
use casl2_verifier::da::{compress_batch, serialize_blocks, Axis, DaParams, ExtendedSquare};
use casl2_verifier::fraud::FraudEvidence;
use casl2_verifier::l1::{L1Block, L1Op, L1Tx};
use casl2_verifier::smt::{MemoryStore, SparseMerkleTree};
use casl2_verifier::stf::{build_step_witness, BlockContext, Step};
use casl2_verifier::types::{AccountState, BlockSignature, L2BlockHeader, TxType, Vote, VoteType};
use casl2_verifier::{Address, Encode, L2Block, L2Transaction, PrivateKey, H256};

/// The key that signs every seed.
pub fn key() -> PrivateKey {
    PrivateKey::from_bytes(&[0x11; 32]).expect("a valid fixed key")
}

/// A signed transfer of `value` with `nonce`.
pub fn transfer(nonce: u64, value: i64) -> L2Transaction {
    let k = key();
    let mut tx = L2Transaction {
        from: k.address(),
        to: Address([0x22; 20]),
        value,
        nonce,
        gas_limit: 21_000,
        gas_price: 1,
        max_fee_per_gas: 1,
        tx_type: TxType::Transfer,
        l2_chain_id: 1,
        ..Default::default()
    };
    tx.sign(&k).expect("signing a transfer");
    tx
}

/// A signed block of `n` transfers at `number`.
pub fn block(number: u64, n: u64) -> L2Block {
    let transactions: Vec<L2Transaction> = (0..n).map(|i| transfer(number * 10 + i, 5)).collect();
    let mut b = L2Block {
        header: L2BlockHeader {
            block_number: number,
            parent_hash: H256([number as u8; 32]),
            state_root: H256([0x33; 32]),
            sequencer: key().address(),
            timestamp: 1_700_000_000_000 + number,
            gas_limit: 30_000_000,
            l2_chain_id: 1,
            slot_number: number,
            ..Default::default()
        },
        transactions,
        ..Default::default()
    };
    b.header.transactions_root = b.transactions_root();
    b.sign(&key(), 1_700_000_000).expect("signing a block");
    b
}

/// The extended square of a small payload.
pub fn square() -> ExtendedSquare {
    let payload: Vec<u8> = (0..1_500u32).map(|i| (i % 251) as u8).collect();
    ExtendedSquare::extend(&payload).expect("a small payload extends")
}

fn with(sel: u8, body: Vec<u8>) -> Vec<u8> {
    let mut v = vec![sel];
    v.extend(body);
    v
}

fn b_signed(mut b: L2Block) -> L2Block {
    b.signatures.clear();
    b.sign(&key(), 1_700_000_000).expect("signing a block");
    b
}

fn consensus() -> Vec<Vec<u8>> {
    let k = key();
    let mut vote = Vote {
        block_hash: block(3, 1).hash(),
        voter_address: k.address(),
        vote: VoteType::Accept,
        timestamp: 1_700_000_000,
        slot_number: 3,
        ..Default::default()
    };
    vote.sign(&k).expect("signing a vote");
    let mut reject = vote.clone();
    reject.vote = VoteType::Reject;
    reject.reject_reason = "bad state root".into();
    reject.sign(&k).expect("signing a vote");
    let b = block(4, 0);
    let sig = BlockSignature::sign(&k, &b.hash(), 1_700_000_000).expect("signing");
    let mut other = block(4, 1);
    other.header.sequencer = k.address();
    other.sign(&k, 1_700_000_000).expect("signing a block");
    let evidence = find_double_signs(&b_signed(b.clone()), &other)
        .into_iter()
        .next();
    let mut out = vec![
        with(0, vote.encode()),
        with(0, reject.encode()),
        with(1, sig.encode()),
    ];
    if let Some(e) = evidence {
        out.push(with(2, e.encode()));
    }
    out
}

fn l1() -> Vec<Vec<u8>> {
    let k = key();
    let tx = L1Tx::signed(
        &k,
        0,
        L1Op::Transfer {
            to: Address([0x44; 20]),
            amount: 1_000,
        },
    )
    .expect("signing an L1 transaction");
    let fraud = L1Tx::signed(
        &k,
        1,
        L1Op::SubmitFraudProof {
            chain: 1,
            anchor: 0,
            evidence: FraudEvidence::InvalidTxSignature { block: 0, tx: 0 },
        },
    )
    .expect("signing an L1 transaction");
    let blk = L1Block {
        height: 1,
        time: 1_700_000_000,
        prev_hash: H256::ZERO,
        txs: vec![tx.clone(), fraud.clone()],
    };
    vec![
        with(0, tx.encode()),
        with(0, fraud.encode()),
        with(1, blk.encode()),
        with(2, tx.op.encode()),
    ]
}

fn tree() -> SparseMerkleTree<MemoryStore> {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    for i in 0..8u8 {
        t.set(H256([i.wrapping_mul(37); 32]), vec![i + 1; 8])
            .expect("setting a key");
    }
    t
}

fn proofs() -> Vec<Vec<u8>> {
    let t = tree();
    let present = H256([37; 32]);
    let absent = H256([0xee; 32]);
    let mut out = Vec::new();
    for k in [present, absent] {
        out.push(with(0, t.prove_compact(&k).expect("proof").encode()));
        out.push(with(1, t.prove(&k).expect("proof").encode()));
    }
    let multi = t.prove_multi(&[present, absent]).expect("multiproof");
    out.push(with(2, multi.encode()));
    out
}

fn da() -> Vec<Vec<u8>> {
    let sq = square();
    let c = sq.commitment(H256([7; 32]));
    let s0 = sq.sample(0, 0, Axis::Row).expect("sample");
    let s1 = sq.sample(1, 2, Axis::Column).expect("sample");
    let mut list = Vec::new();
    casl2_verifier::codec::write_vec(&mut list, &[s0.clone(), s1.clone()]);
    vec![
        with(0, s0.encode()),
        with(0, s1.encode()),
        with(1, c.encode()),
        with(3, list),
    ]
}

fn fraud() -> Vec<Vec<u8>> {
    let k = key();
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    let acct = AccountState {
        balance: 1_000_000,
        ..Default::default()
    };
    t.set(k.address().tree_key(), acct.encode())
        .expect("funding the sender");
    let pre = t.root();
    let step = Step::Tx {
        tx: Box::new(transfer(0, 5)),
    };
    let ctx = BlockContext {
        chain_id: 1,
        number: 1,
        timestamp: 1_700_000_000_000,
        producer: Address([0x55; 20]),
        other_sequencers: vec![Address([0x66; 20])],
        rent: Default::default(),
    };
    let mut out = Vec::new();
    if let Ok((witness, _)) = build_step_witness(&t, pre, &step, &ctx) {
        out.push(with(0, witness.encode()));
        let mut one = pre.encode();
        witness.encode_to(&mut one);
        step.encode_to(&mut one);
        ctx.encode_to(&mut one);
        out.push(with(3, one));
    }
    for e in [
        FraudEvidence::InvalidTxSignature { block: 0, tx: 1 },
        FraudEvidence::DoubleSpend {
            first: (0, 0),
            second: (1, 0),
        },
        FraudEvidence::TimestampManipulation { block: 2 },
    ] {
        out.push(with(1, e.encode()));
    }
    out
}

fn batches() -> Vec<Vec<u8>> {
    let blocks = vec![block(1, 2), block(2, 0), block(3, 1)];
    let bytes = serialize_blocks(&blocks);
    let mut out = vec![with(1, bytes.clone())];
    if let Ok(z) = compress_batch(&bytes, &DaParams::DEFAULT) {
        out.push(with(0, z));
    }
    out
}

/// Every seed: (target name, input).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    out.push(("l2_tx", transfer(0, 1).encode()));
    let mut deploy = transfer(1, 0);
    deploy.tx_type = TxType::ContractDeploy;
    deploy.data = vec![0x60, 0x00, 0x60, 0x00, 0xf3];
    deploy.gas_limit = 100_000;
    deploy.sign(&key()).expect("signing");
    out.push(("l2_tx", deploy.encode()));
    out.push(("l2_block", block(1, 0).encode()));
    out.push(("l2_block", block(2, 3).encode()));
    out.extend(consensus().into_iter().map(|v| ("vote", v)));
    out.extend(l1().into_iter().map(|v| ("l1_tx", v)));
    out.extend(proofs().into_iter().map(|v| ("smt_proof", v)));
    out.extend(da().into_iter().map(|v| ("da_sample", v)));
    out.extend(fraud().into_iter().map(|v| ("fraud_witness", v)));
    out.extend(batches().into_iter().map(|v| ("batch_payload", v)));
    out
}

//! Fraud-proof benchmarks at 1M accounts: the challenger's judgement of a batch of signed
//! transfers (evidence screening + block-by-block replay reusing the senders the screening
//! recovered, what `casl2 challenger` does for every anchor; and the same recovering every
//! signature twice, as before), the full step trace (what it computes only for a bad anchor), and the
//! one-step proof of a transfer (built by the challenger, checked by L1).
//!
//! `cargo bench -p casl2-verifier --bench fraud` (`FRAUD_BENCH_ACCOUNTS=100000` for a smaller
//! tree).

use casl2_verifier::fraud::{
    find_evidence, find_evidence_with_senders, honest_trace, honest_witness, judge_batch,
    replay_batch, replay_batch_with_senders, BatchData,
};
use casl2_verifier::keys::PrivateKey;
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{AccountTree, MemoryStore, SparseMerkleTree};
use casl2_verifier::stf::execute_step_stateless;
use casl2_verifier::stf::rules::RentParams;
use casl2_verifier::types::{L2Block, L2Transaction, TxType};
use casl2_verifier::{AccountState, Address, Encode, H256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const CHAIN: u64 = 1;
const BLOCKS: usize = 4;
const PER_BLOCK: usize = 1_000;

fn fixture() -> (SparseMerkleTree<MemoryStore>, BatchData) {
    let n: usize = std::env::var("FRAUD_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let senders: Vec<PrivateKey> = (0..BLOCKS * PER_BLOCK)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            PrivateKey::from_bytes(&b).expect("key")
        })
        .collect();
    let mut accounts: Vec<(Address, AccountState)> = senders
        .iter()
        .map(|k| {
            let st = AccountState {
                balance: 1_000 * COIN,
                hat_score: 90,
                ..Default::default()
            };
            (k.address(), st)
        })
        .collect();
    for _ in accounts.len()..n {
        let mut a = [0u8; 20];
        rng.fill(&mut a);
        let st = AccountState {
            balance: rng.gen_range(1..1_000 * COIN),
            ..Default::default()
        };
        accounts.push((Address(a), st));
    }
    let mut at = AccountTree::new(MemoryStore::new());
    at.set_many(&accounts).expect("build");
    let pre = at.root();
    let mut tree = SparseMerkleTree::with_root(at.tree().store().clone(), pre).expect("root");
    let params = ChainParams::for_network(Network::Regtest);
    let mut blocks = Vec::new();
    for (i, chunk) in senders.chunks(PER_BLOCK).enumerate() {
        let mut b = L2Block::default();
        b.header.block_number = i as u64 + 1;
        b.header.timestamp = 1_700_000_000_000 + i as u64 * 100;
        b.header.l2_chain_id = CHAIN;
        b.header.sequencer = Address([0xa0; 20]);
        b.header.gas_limit = params.block_gas_limit;
        for k in chunk {
            let mut t = L2Transaction {
                from: k.address(),
                to: accounts[rng.gen_range(0..accounts.len())].0,
                value: rng.gen_range(1..COIN),
                gas_limit: 21_000,
                gas_price: 1,
                tx_type: TxType::Transfer,
                l2_chain_id: CHAIN,
                ..Default::default()
            };
            t.sign(k).expect("sign");
            b.transactions.push(t);
        }
        b.header.transactions_root = b.transactions_root();
        blocks.push(b);
    }
    let mut batch = BatchData {
        chain_id: CHAIN,
        pre_state_root: pre,
        post_state_root: H256::ZERO,
        messages: vec![Vec::new(); blocks.len()],
        blocks,
        sequencers: Vec::new(),
        l1_time: 1_700_000_100,
        prev_timestamp: None,
        max_timestamp_drift: params.max_timestamp_drift,
        rent: RentParams::of(&params),
    };
    // The honest block roots, from the step trace.
    let (trace, invalid) = honest_trace(&mut tree, &batch).expect("trace");
    assert!(invalid.is_none(), "{invalid:?}");
    let mut at_step = 0usize;
    for b in &mut batch.blocks {
        at_step += b.transactions.len() + 1;
        b.header.state_root = trace[at_step];
    }
    batch.post_state_root = *trace.last().expect("trace");
    tree.revert_to(pre).expect("pre");
    (tree, batch)
}

fn bench(c: &mut Criterion) {
    let (mut tree, batch) = fixture();
    let pre = batch.pre_state_root;
    let txs = (BLOCKS * PER_BLOCK) as u64;
    let mut g = c.benchmark_group("challenger_4000_transfers");
    g.sample_size(10);
    g.throughput(Throughput::Elements(txs));
    g.bench_function(
        "judge_batch (screening of block i+1 beside replay of block i)",
        |b| {
            b.iter_batched(
                || (),
                |_| {
                    tree.revert_to(pre).expect("pre");
                    assert_eq!(judge_batch(&mut tree, &batch).expect("judge"), (None, true));
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.bench_function(
        "judge (find_evidence_with_senders + replay_batch_with_senders)",
        |b| {
            b.iter_batched(
            || (),
            |_| {
                tree.revert_to(pre).expect("pre");
                let (evidence, senders) = find_evidence_with_senders(&batch);
                assert!(evidence.is_none());
                assert!(replay_batch_with_senders(&mut tree, &batch, &senders).expect("replay"));
            },
            BatchSize::PerIteration,
        )
        },
    );
    g.bench_function(
        "judge, senders recovered twice (find_evidence + replay_batch)",
        |b| {
            b.iter_batched(
                || (),
                |_| {
                    tree.revert_to(pre).expect("pre");
                    assert!(find_evidence(&batch).is_none());
                    assert!(replay_batch(&mut tree, &batch).expect("replay"));
                },
                BatchSize::PerIteration,
            )
        },
    );
    g.bench_function("find_evidence only", |b| b.iter(|| find_evidence(&batch)));
    g.bench_function("honest_trace (every step's root)", |b| {
        b.iter_batched(
            || (),
            |_| {
                tree.revert_to(pre).expect("pre");
                honest_trace(&mut tree, &batch).expect("trace")
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();

    tree.revert_to(pre).expect("pre");
    let w = honest_witness(&tree, &batch, 0, pre).expect("witness");
    println!("one-step witness of a transfer: {} bytes", w.encode().len());
    let (step, ctx) = batch.step(0).expect("step");
    let mut g = c.benchmark_group("one_step_proof_transfer");
    g.bench_function("build the witness (challenger)", |b| {
        b.iter(|| honest_witness(&tree, &batch, 0, pre).expect("witness"))
    });
    g.bench_function("verify: execute_step_stateless (L1)", |b| {
        b.iter(|| execute_step_stateless(&pre, &w, &step, &ctx).expect("stateless"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! State transition benchmarks: block application of signed transfers at 1M accounts (with the
//! split between signature recovery and the rest), and stateless verification of one transfer.
//!
//! `cargo bench -p casl2-verifier --bench stf` (`STF_BENCH_ACCOUNTS=100000` for a smaller tree).

use casl2_verifier::keys::PrivateKey;
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{AccountTree, MemoryStore, SparseMerkleTree};
use casl2_verifier::stf::{
    block_context, block_steps, build_step_witness, execute_block, execute_step_stateless,
    recover_senders, BlockEnv,
};
use casl2_verifier::types::{L2Block, L2Transaction, TxType};
use casl2_verifier::{AccountState, Address, Encode};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const CHAIN: u64 = 1;
const TXS: usize = 2_000;

struct Fixture {
    tree: SparseMerkleTree<MemoryStore>,
    block: L2Block,
    params: ChainParams,
}

fn fixture() -> Fixture {
    let n: usize = std::env::var("STF_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    // 2,000 funded senders with reputation 90 (limit 100 per block) among n accounts.
    let senders: Vec<PrivateKey> = (0..TXS)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            PrivateKey::from_bytes(&b).expect("key")
        })
        .collect();
    let mut accounts: Vec<(Address, AccountState)> = senders
        .iter()
        .map(|k| {
            (
                k.address(),
                AccountState {
                    balance: 1_000 * COIN,
                    hat_score: 90,
                    ..Default::default()
                },
            )
        })
        .collect();
    for _ in senders.len()..n {
        let mut a = [0u8; 20];
        rng.fill(&mut a);
        accounts.push((
            Address(a),
            AccountState {
                balance: rng.gen_range(1..1_000 * COIN),
                ..Default::default()
            },
        ));
    }
    let mut at = AccountTree::new(MemoryStore::new());
    at.set_many(&accounts).expect("build");
    let root = at.root();
    let tree = SparseMerkleTree::with_root(at.tree().store().clone(), root).expect("root");
    let params = ChainParams::for_network(Network::Regtest);
    let mut block = L2Block::default();
    block.header.timestamp = 1_000;
    block.header.gas_limit = params.block_gas_limit * 2;
    block.header.l2_chain_id = CHAIN;
    block.header.sequencer = Address([0xa0; 20]);
    for k in &senders {
        let to = accounts[rng.gen_range(0..accounts.len())].0;
        let mut t = L2Transaction {
            from: k.address(),
            to,
            value: rng.gen_range(1..COIN),
            nonce: 0,
            gas_limit: 21_000,
            gas_price: 1,
            tx_type: TxType::Transfer,
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        t.sign(k).expect("sign");
        block.transactions.push(t);
    }
    block.header.transactions_root = block.transactions_root();
    Fixture {
        tree,
        block,
        params,
    }
}

fn bench(c: &mut Criterion) {
    let mut f = fixture();
    let mut params = f.params.clone();
    params.block_gas_limit = f.block.header.gas_limit;
    let others = [Address([0xa1; 20]), Address([0xa2; 20])];
    let root = f.tree.root();
    let mut g = c.benchmark_group("stf_block_2000_transfers");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TXS as u64));
    g.bench_function("execute_block (recovery + execution + tree)", |b| {
        b.iter_batched(
            || (),
            |_| {
                f.tree.revert_to(root).expect("revert");
                let env = BlockEnv {
                    params: &params,
                    chain_id: CHAIN,
                    messages: &[],
                    other_sequencers: &others,
                    parent: None,
                    l1_anchor_time: 1_000,
                };
                execute_block(&mut f.tree, &f.block, &env).expect("block")
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("recover_senders only (parallel)", |b| {
        b.iter(|| recover_senders(&f.block))
    });
    g.finish();

    // Stateless verification of one transfer step.
    f.tree.revert_to(root).expect("revert");
    let env = BlockEnv {
        params: &params,
        chain_id: CHAIN,
        messages: &[],
        other_sequencers: &others,
        parent: None,
        l1_anchor_time: 1_000,
    };
    let ctx = block_context(&f.block, &env);
    let step = block_steps(&f.block, &[])[0].clone();
    let (w, _) = build_step_witness(&f.tree, root, &step, &ctx).expect("witness");
    println!("transfer witness: {} bytes", w.encode().len());
    let mut g = c.benchmark_group("stf_stateless");
    g.bench_function("execute_step_stateless (transfer)", |b| {
        b.iter(|| execute_step_stateless(&root, &w, &step, &ctx).expect("stateless"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

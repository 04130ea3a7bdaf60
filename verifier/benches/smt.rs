//! Account tree benchmarks: batch updates at 10k / 100k / 1M accounts, raw SHA256d, proofs.
//!
//! `cargo bench -p casl2-verifier --bench smt` (set `SMT_BENCH_SIZES=10000,100000` to skip 1M).

use casl2_verifier::hash::{hash_pair, H256};
use casl2_verifier::smt::hasher::{
    hash_pairs, inner_hash, lift_many, portable_inner_hash, LiftTask,
};
use casl2_verifier::smt::{verify_compact_proof, verify_node_proof, MemoryStore, SparseMerkleTree};
use casl2_verifier::{AccountState, Address, Encode};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn account(rng: &mut ChaCha20Rng) -> (H256, Vec<u8>) {
    let mut a = [0u8; 20];
    rng.fill(&mut a);
    let st = AccountState {
        balance: rng.gen_range(1..1_000_000_000),
        nonce: rng.gen_range(0..1000),
        ..Default::default()
    };
    (Address(a).tree_key(), st.encode())
}

fn build(n: usize, rng: &mut ChaCha20Rng) -> (SparseMerkleTree<MemoryStore>, Vec<H256>) {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    let accts: Vec<(H256, Vec<u8>)> = (0..n).map(|_| account(rng)).collect();
    let keys = accts.iter().map(|a| a.0).collect();
    t.update_batch(accts.into_iter().map(|(k, v)| (k, Some(v))).collect())
        .expect("build");
    (t, keys)
}

fn sizes() -> Vec<usize> {
    std::env::var("SMT_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000, 1_000_000])
}

fn bench_hash(c: &mut Criterion) {
    let a = H256([1; 32]);
    let b = H256([2; 32]);
    let mut g = c.benchmark_group("sha256d_64");
    g.throughput(Throughput::Elements(1));
    g.bench_function("inner_hash (SHA-NI where present)", |bn| {
        bn.iter(|| inner_hash(std::hint::black_box(&a), &b))
    });
    g.bench_function("portable_inner_hash (sha2 compress256)", |bn| {
        bn.iter(|| portable_inner_hash(std::hint::black_box(&a), &b))
    });
    g.bench_function("sha2 Digest", |bn| {
        bn.iter(|| hash_pair(std::hint::black_box(&a), &b))
    });
    g.finish();
    // Many independent hashes, interleaved where the processor allows: what a batch update
    // does with its lifts and its levels of inner nodes (one core).
    let mut g = c.benchmark_group("sha256d_64_batched");
    let pairs: Vec<(H256, H256)> = (0..1024u32)
        .map(|i| (H256([i as u8; 32]), H256([(i >> 8) as u8; 32])))
        .collect();
    let mut out = vec![H256::ZERO; pairs.len()];
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("hash_pairs x1024", |bn| {
        bn.iter(|| hash_pairs(std::hint::black_box(&pairs), &mut out))
    });
    let tasks: Vec<LiftTask> = (0..16u8)
        .map(|i| LiftTask {
            key: H256([i.wrapping_mul(37); 32]),
            hash: H256([i; 32]),
            from: 0,
            to: 140,
        })
        .collect();
    g.throughput(Throughput::Elements(16 * 140));
    g.bench_function("lift_many 16 leaves x 140 levels", |bn| {
        bn.iter_batched(
            || tasks.clone(),
            |mut t| {
                lift_many(&mut t);
                t
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench_updates(c: &mut Criterion) {
    let mut g = c.benchmark_group("smt_update_batch_1000");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1000));
    for n in sizes() {
        let mut rng = ChaCha20Rng::seed_from_u64(n as u64);
        let (tree, keys) = build(n, &mut rng);
        let root = tree.root();
        let mut tree = tree;
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bn, _| {
            bn.iter_batched(
                || {
                    // 1,000 updates: half existing accounts changed, half new accounts.
                    let mut ups = Vec::with_capacity(1000);
                    for i in 0..500 {
                        let k = keys[rng.gen_range(0..keys.len())];
                        let st = AccountState {
                            balance: 1 + i,
                            nonce: 1,
                            ..Default::default()
                        };
                        ups.push((k, Some(st.encode())));
                    }
                    for _ in 0..500 {
                        let (k, v) = account(&mut rng);
                        ups.push((k, Some(v)));
                    }
                    ups
                },
                |ups| {
                    tree.revert_to(root).expect("revert");
                    tree.update_batch(ups).expect("update")
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn bench_proofs(c: &mut Criterion) {
    let n = *sizes().last().unwrap_or(&1_000_000);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (tree, keys) = build(n, &mut rng);
    let root = tree.root();
    let key = keys[12345 % keys.len()];
    let compact = tree.prove_compact(&key).expect("prove");
    let node = tree.prove(&key).expect("prove");
    println!(
        "at {n} accounts: compact proof {} bytes ({} siblings), node-format proof {} bytes",
        compact.encode().len(),
        compact.siblings.len(),
        node.encode().len()
    );
    let mut g = c.benchmark_group(format!("smt_proof_{n}"));
    g.bench_function("prove_compact", |bn| {
        bn.iter(|| tree.prove_compact(&keys[rng.gen_range(0..keys.len())]))
    });
    g.bench_function("verify_compact", |bn| {
        bn.iter(|| verify_compact_proof(std::hint::black_box(&compact), &root))
    });
    g.bench_function("verify_node_format", |bn| {
        bn.iter(|| verify_node_proof(std::hint::black_box(&node), &root))
    });
    g.finish();
}

criterion_group!(benches, bench_hash, bench_updates, bench_proofs);
criterion_main!(benches);

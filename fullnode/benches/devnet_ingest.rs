//! Devnet L1 ingest: signed transfers through `Devnet::submit` + `generate`, and one block that
//! carries a 128 KiB batch (`PostBatch` with a real zstd payload and a quorum of signatures).
//!
//! `cargo bench -p casl2-fullnode --bench devnet_ingest -- --warm-up-time 1 --measurement-time 5`
//! (`DEVNET_BENCH_TXS=N` changes the transfers per block, default 2,000). Figures:
//! `docs/benchmarks.md`, "Devnet L1 ingest".

use casl2_fullnode::devnet::{authority_key, dev_key, Devnet, DevnetConfig};
use casl2_verifier::da::{compress_batch, encode_payload, serialize_blocks, DaParams};
use casl2_verifier::l1::{L1Block, L1Event, L1Op, L1State, L1Tx};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::empty_root;
use casl2_verifier::types::{BatchHeader, BlockSignature, L2Block, L2BlockHeader, L2Transaction};
use casl2_verifier::{sha256d, PrivateKey, H256};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::cell::RefCell;
use std::time::Duration;

const SENDERS: u32 = 100;
const CHAIN: u64 = 1;
/// Dev keys 1..=3 are the sequencers, 0 the deployer.
const SEQUENCERS: [u32; 3] = [1, 2, 3];
const NOW: u64 = 1_700_000_000;

fn tx_count() -> usize {
    std::env::var("DEVNET_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn devnet(dir: &tempfile::TempDir) -> Devnet {
    let cfg = DevnetConfig {
        accounts: SENDERS,
        ..DevnetConfig::default()
    };
    Devnet::open(&dir.path().join("devnet.redb"), &cfg).expect("devnet opens")
}

/// (a) `n` signed transfers from the 100 dev accounts (nonces in order), submitted and mined in
/// one block.
fn transfers(c: &mut Criterion) {
    let n = tx_count();
    let keys: Vec<PrivateKey> = (0..SENDERS).map(|i| dev_key(i).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut dn = devnet(&dir);
    let mut nonces = vec![0u64; keys.len()];
    let sign_block = |nonces: &mut Vec<u64>| -> Vec<L1Tx> {
        (0..n)
            .map(|i| {
                let s = i % keys.len();
                let to = keys[(s + 1) % keys.len()].address();
                let t =
                    L1Tx::signed(&keys[s], nonces[s], L1Op::Transfer { to, amount: 1 }).unwrap();
                nonces[s] += 1;
                t
            })
            .collect()
    };
    // One checked round: every transfer of the block succeeds.
    for t in sign_block(&mut nonces) {
        dn.submit(t).unwrap();
    }
    dn.generate(1, NOW).unwrap();
    let o = dn.outcome_at(dn.height()).unwrap();
    assert_eq!(o.receipts.len(), n);
    assert!(o.receipts.iter().all(|r| r.outcome.is_ok()));

    let mut g = c.benchmark_group("devnet_ingest");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function(format!("submit+generate {n} transfers"), |b| {
        b.iter_batched(
            || sign_block(&mut nonces),
            |txs| {
                for t in txs {
                    dn.submit(t).unwrap();
                }
                dn.generate(1, NOW).unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    // The two halves: the mempool check (signature recovery, nonce) and mining the block
    // (assembly, durable redb write, the rules, which recover every signature again).
    let dn = RefCell::new(dn);
    let nonces = RefCell::new(nonces);
    g.bench_function(format!("submit {n} transfers"), |b| {
        b.iter_batched(
            || {
                dn.borrow_mut().generate(1, NOW).unwrap();
                sign_block(&mut nonces.borrow_mut())
            },
            |txs| {
                let mut d = dn.borrow_mut();
                for t in txs {
                    d.submit(t).unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("generate a block of {n} transfers"), |b| {
        b.iter_batched(
            || {
                let mut d = dn.borrow_mut();
                d.generate(1, NOW).unwrap();
                for t in sign_block(&mut nonces.borrow_mut()) {
                    d.submit(t).unwrap();
                }
            },
            |()| dn.borrow_mut().generate(1, NOW).unwrap(),
            BatchSize::PerIteration,
        )
    });
    // The fixed cost of a block: assembly and the durable redb commit of an empty block.
    g.finish();
    dn.borrow_mut().generate(1, NOW).unwrap();
    let mut g = c.benchmark_group("devnet_ingest");
    g.bench_function("generate an empty block (Devnet, redb)", |b| {
        b.iter(|| dn.borrow_mut().generate(1, NOW).unwrap())
    });
    g.finish();
}

/// L2 blocks of signed transfers whose compressed batch is as large as fits in 128 KiB.
struct Batch {
    blocks: Vec<L2Block>,
    payload: Vec<u8>,
    data_hash: H256,
}

/// `n` signed L2 transfers among 64 users (signed once, reused by every batch).
fn l2_transfers(n: usize) -> Vec<L2Transaction> {
    static CACHE: std::sync::Mutex<Vec<L2Transaction>> = std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap();
    let users: Vec<PrivateKey> = (0..64u8)
        .map(|i| PrivateKey::from_bytes(&sha256d(&[i, 0x42]).0).unwrap())
        .collect();
    while cache.len() < n {
        let i = cache.len();
        let k = &users[i % users.len()];
        let mut t = L2Transaction {
            from: k.address(),
            to: users[(i * 7 + 3) % users.len()].address(),
            value: 1_000 + i as i64,
            nonce: (i / users.len()) as u64,
            gas_limit: 21_000,
            gas_price: 1,
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        t.sign(k).unwrap();
        cache.push(t);
    }
    cache[..n].to_vec()
}

fn l2_blocks(start: u64, txs: usize) -> Vec<L2Block> {
    let per_block = txs.div_ceil(5).max(1);
    let mut all = l2_transfers(txs);
    let mut blocks = Vec::new();
    let mut number = start;
    while !all.is_empty() {
        let rest = all.split_off(per_block.min(all.len()));
        let mut b = L2Block {
            header: L2BlockHeader {
                block_number: number,
                l2_chain_id: CHAIN,
                timestamp: NOW * 1000 + number,
                state_root: H256(sha256d(&number.to_le_bytes()).0),
                ..Default::default()
            },
            transactions: std::mem::replace(&mut all, rest),
            ..Default::default()
        };
        b.header.transactions_root = b.transactions_root();
        blocks.push(b);
        number += 1;
    }
    blocks
}

fn batch_128k(start: u64, txs: usize) -> Batch {
    let da = DaParams::default();
    let blocks = l2_blocks(start, txs);
    let bytes = serialize_blocks(&blocks);
    let payload = compress_batch(&bytes, &da).expect("fits in 128 KiB");
    Batch {
        blocks,
        payload,
        data_hash: sha256d(&bytes),
    }
}

/// The largest transfer count whose compressed batch fits the 128 KiB DA cap, less 1 % so that
/// later batches (other block numbers, other bytes) fit too.
fn fitting_txs() -> usize {
    let da = DaParams::default();
    let fits = |n: usize| compress_batch(&serialize_blocks(&l2_blocks(1, n)), &da).is_ok();
    let (mut lo, mut hi) = (1usize, 4_000usize);
    assert!(fits(lo) && !fits(hi));
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if fits(mid) {
            lo = mid
        } else {
            hi = mid
        }
    }
    lo - lo / 100
}

/// The `PostBatch` of `batch` on `state`'s chain, signed by the three sequencers, sent by the
/// first with `nonce`.
fn post_batch(state: &L1State, batch: &Batch, nonce: u64) -> L1Tx {
    let c = state.chain(CHAIN).unwrap();
    let da = DaParams::default();
    let commitment = encode_payload(&batch.payload, batch.data_hash, &da)
        .unwrap()
        .commitment;
    let seqs: Vec<PrivateKey> = SEQUENCERS.iter().map(|i| dev_key(*i).unwrap()).collect();
    let header = BatchHeader {
        version: 1,
        start_block: batch.blocks[0].header.block_number,
        end_block: batch.blocks.last().unwrap().header.block_number,
        pre_state_root: c.info.latest_state_root,
        post_state_root: batch.blocks.last().unwrap().header.state_root,
        transaction_count: batch
            .blocks
            .iter()
            .map(|b| b.transactions.len() as u64)
            .sum(),
        l2_chain_id: CHAIN,
        l1_anchor_block: state.height(),
        l1_anchor_hash: state.tip_hash(),
        sequencer_address: seqs[0].address(),
        timestamp: NOW,
        ..Default::default()
    };
    let signatures = seqs
        .iter()
        .map(|k| BlockSignature::sign(k, &header.hash(), NOW).unwrap())
        .collect();
    let op = L1Op::PostBatch {
        chain: CHAIN,
        header,
        commitment,
        payload: batch.payload.clone(),
        signatures,
    };
    L1Tx::signed(&seqs[0], nonce, op).unwrap()
}

/// A devnet with chain 1 registered by dev key 0 and dev keys 1..=3 announced (HAT 90).
fn devnet_with_chain(dir: &tempfile::TempDir) -> Devnet {
    let mut dn = devnet(dir);
    let auth = authority_key().unwrap();
    let deployer = dev_key(0).unwrap();
    let send = |dn: &mut Devnet, k: &PrivateKey, op: L1Op| {
        let t = L1Tx::signed(k, dn.next_nonce(&k.address()), op).unwrap();
        dn.submit(t).unwrap();
    };
    send(
        &mut dn,
        &deployer,
        L1Op::RegisterChain {
            chain_id: CHAIN,
            name: "bench".into(),
            params: ChainParams::for_network(Network::Regtest),
            genesis_root: empty_root(),
            deployer_stake: 10 * COIN,
        },
    );
    for i in SEQUENCERS {
        let address = dev_key(i).unwrap().address();
        send(&mut dn, &auth, L1Op::SetHatScore { address, score: 90 });
    }
    dn.generate(1, NOW).unwrap();
    for i in SEQUENCERS {
        let k = dev_key(i).unwrap();
        send(
            &mut dn,
            &k,
            L1Op::AnnounceSequencer {
                chain: CHAIN,
                stake: 10 * COIN,
                endpoint: format!("127.0.0.1:{}", 7000 + i),
            },
        );
    }
    dn.generate(1, NOW).unwrap();
    let o = dn.outcome_at(dn.height()).unwrap();
    assert!(o.receipts.iter().all(|r| r.outcome.is_ok()), "{o:?}");
    dn
}

fn next_batch(dn: &Devnet, txs: usize) -> L1Tx {
    let start = dn.state().chain(CHAIN).unwrap().info.latest_l2_block + 1;
    let seq = dev_key(SEQUENCERS[0]).unwrap().address();
    post_batch(dn.state(), &batch_128k(start, txs), dn.next_nonce(&seq))
}

fn anchored(dn: &Devnet) -> bool {
    let o = dn.outcome_at(dn.height()).unwrap();
    matches!(o.receipts.first().map(|r| &r.outcome), Some(Ok(ev))
        if ev.iter().any(|e| matches!(e, L1Event::BatchAnchored { .. })))
}

/// (b) One L1 block carrying a 128 KiB batch.
fn batch_block(c: &mut Criterion) {
    let txs = fitting_txs();
    let dir = tempfile::tempdir().unwrap();
    let mut dn = devnet_with_chain(&dir);
    let first = next_batch(&dn, txs);
    let L1Op::PostBatch { payload, .. } = &first.op else {
        unreachable!()
    };
    eprintln!(
        "batch: {txs} L2 transfers in 5 blocks, payload {} bytes ({:.1} KiB), L1 transaction {} bytes",
        payload.len(),
        payload.len() as f64 / 1024.0,
        casl2_verifier::Encode::encode(&first).len()
    );
    dn.submit(first).unwrap();
    dn.generate(1, NOW).unwrap();
    assert!(anchored(&dn), "the benchmark batch must be accepted");

    let mut g = c.benchmark_group("devnet_ingest");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));

    // The rules alone: apply the block to a copy of the state.
    let base = dn.state().clone();
    let seq = dev_key(SEQUENCERS[0]).unwrap().address();
    let tx = post_batch(
        &base,
        &batch_128k(base.chain(CHAIN).unwrap().info.latest_l2_block + 1, txs),
        base.nonce_of(&seq),
    );
    let block = L1Block {
        height: base.height() + 1,
        time: base.tip_time(),
        prev_hash: base.tip_hash(),
        txs: vec![tx],
    };
    {
        let mut s = base.clone();
        let o = s.apply_block(&block).unwrap();
        assert!(o.receipts[0].outcome.is_ok(), "{:?}", o.receipts[0].outcome);
    }
    g.bench_function("apply_block with a 128 KiB batch (L1State)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut s| {
                let o = s.apply_block(&block).unwrap();
                (s, o)
            },
            BatchSize::PerIteration,
        )
    });

    // The whole devnet path: mempool check, block assembly, durable redb write, rules.
    let dn = RefCell::new(dn);
    g.bench_function("submit+generate a 128 KiB batch (Devnet, redb)", |b| {
        b.iter_batched(
            || next_batch(&dn.borrow(), txs),
            |tx| {
                let mut d = dn.borrow_mut();
                d.submit(tx).unwrap();
                let h = d.generate(1, NOW).unwrap();
                // Every measured block really anchored its batch.
                assert!(anchored(&d));
                h
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, transfers, batch_block);
criterion_main!(benches);

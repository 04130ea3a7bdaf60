//! The light client's checks, natively: an account proof against a root (10k accounts), one
//! DA sample against its commitment, a quorum of 3 and of 10 signatures.
//!
//! `cargo bench -p casl2-lightclient --bench light_verify`

use casl2_lightclient::verifier::da::{encode_payload, Axis, DaParams};
use casl2_lightclient::verifier::l1::{Sequencer, SequencerStatus};
use casl2_lightclient::verifier::params::{ChainParams, Network, COIN};
use casl2_lightclient::verifier::smt::{AccountTree, MemoryStore};
use casl2_lightclient::verifier::types::{BlockSignature, L2BlockHeader};
use casl2_lightclient::verifier::{sha256d, AccountState, Address, PrivateKey};
use casl2_lightclient::verify::{
    sequencer_set, verify_account_proof, verify_batch_commitment, verify_batch_sample,
    verify_header_quorum,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench_account_proof(c: &mut Criterion) {
    let mut t = AccountTree::new(MemoryStore::new());
    let accts: Vec<(Address, AccountState)> = (0..10_000u32)
        .map(|i| {
            let mut a = [0u8; 20];
            a[..4].copy_from_slice(&sha256d(&i.to_le_bytes()).0[..4]);
            a[4..8].copy_from_slice(&i.to_le_bytes());
            (
                Address(a),
                AccountState {
                    balance: 1_000 + i64::from(i),
                    ..Default::default()
                },
            )
        })
        .collect();
    t.set_many(&accts).unwrap();
    let (a, _) = accts[1234];
    let p = t.prove_compact(&a).unwrap();
    let root = t.root();
    c.bench_function("verify_account_proof (10k accounts)", |b| {
        b.iter(|| verify_account_proof(&a, &p, &root).unwrap())
    });
}

fn bench_sample(c: &mut Criterion) {
    let payload: Vec<u8> = (0..128 * 1024u32).map(|i| (i % 251) as u8).collect();
    let enc = encode_payload(&payload, sha256d(&payload), &DaParams::default()).unwrap();
    let s = enc.square.sample(5, 17, Axis::Row).unwrap();
    let com = &enc.commitment;
    c.bench_function("verify_batch_sample (k = 16)", |b| {
        b.iter(|| verify_batch_sample(0, com, 5, 17, &s).unwrap())
    });
    let root = com.data_root();
    c.bench_function("verify_batch_commitment (k = 16, once per batch)", |b| {
        b.iter(|| verify_batch_commitment(0, com, &root).unwrap())
    });
}

fn bench_quorum(c: &mut Criterion) {
    for n in [3u8, 10] {
        let keys: Vec<PrivateKey> = (0..n)
            .map(|i| PrivateKey::from_bytes(&[i + 1; 32]).unwrap())
            .collect();
        let reg: Vec<(Sequencer, u32)> = keys
            .iter()
            .map(|k| {
                (
                    Sequencer {
                        address: k.address(),
                        public_key: k.public_key(),
                        stake: 100 * COIN,
                        endpoint: String::new(),
                        announced_at: 1,
                        status: SequencerStatus::Active,
                        slashed: 0,
                        past_active: Vec::new(),
                    },
                    80,
                )
            })
            .collect();
        let set = sequencer_set(&reg, &ChainParams::for_network(Network::Regtest)).unwrap();
        let header = L2BlockHeader {
            block_number: 9,
            l2_chain_id: 1,
            ..Default::default()
        };
        let sigs: Vec<BlockSignature> = keys
            .iter()
            .map(|k| BlockSignature::sign(k, &header.hash(), 1).unwrap())
            .collect();
        c.bench_function(&format!("verify_header_quorum ({n} signatures)"), |b| {
            b.iter(|| verify_header_quorum(&header, &sigs, &set, 67).unwrap())
        });
    }
}

criterion_group!(benches, bench_account_proof, bench_sample, bench_quorum);
criterion_main!(benches);

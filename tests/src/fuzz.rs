//! The bodies of the `cargo fuzz` targets over the verifier's decoders of remote bytes
//! (`fuzz/fuzz_targets/*.rs` call these; `tests/tests/fuzz_corpus.rs` replays the corpus in
//! `fuzz/corpus/<target>/` through the same functions on the stable toolchain, so the two
//! cannot drift). `docs/security.md` lists what each target feeds and what it found.
//!
//! The contract every body checks: a decoder never panics; what it accepts re-encodes to
//! exactly the bytes it read (strict, canonical decoding: no two encodings of one value, so
//! no malleable hashes); and a value that has a JSON form survives a JSON round trip (the
//! peer messages and RPC carry them as JSON). The checks the value then undergoes (hashes,
//! signature recovery, proof verification, stateless execution) must return, never panic.
//!
//! Where one target covers several types, its first byte picks the type and the rest is the
//! encoding.

use casl2_verifier::codec::Reader;
use casl2_verifier::consensus::{ConflictingVotes, DoubleSignEvidence};
use casl2_verifier::da::{
    decode_blocks, decompress_batch, reconstruct_payload, serialize_blocks,
    verify_bad_encoding_proof, verify_sample, BadEncodingProof, DACommitment, DaParams, Sample,
};
use casl2_verifier::fraud::FraudEvidence;
use casl2_verifier::l1::{L1Block, L1Op, L1Tx, SharePosition};
use casl2_verifier::smt::{
    verify_compact_proof, verify_node_proof, CompactProof, MultiProof, NodeProof,
};
use casl2_verifier::stf::{execute_step_stateless, BlockContext, Step, StepWitness};
use casl2_verifier::types::{BatchHeader, BlockSignature, L1Message, SequencerAnnouncement, Vote};
use casl2_verifier::{Decode, Encode, L2Block, L2Transaction, H256};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// A target's body: one input.
pub type Body = fn(&[u8]);

/// The fuzz targets of this module, by name (the directory names under `fuzz/corpus/`).
pub const TARGETS: &[(&str, Body)] = &[
    ("l2_tx", l2_tx),
    ("l2_block", l2_block),
    ("vote", vote),
    ("l1_tx", l1_tx),
    ("smt_proof", smt_proof),
    ("da_sample", da_sample),
    ("fraud_witness", fraud_witness),
    ("batch_payload", batch_payload),
];

/// Decode `data` as a `T`; if it decodes, check that it re-encodes to exactly `data`.
pub fn canonical<T: Decode + Encode + Debug>(data: &[u8]) -> Option<T> {
    let v = T::decode(data).ok()?;
    assert_eq!(
        v.encode(),
        data,
        "{} accepted a non-canonical encoding: {v:?}",
        std::any::type_name::<T>()
    );
    Some(v)
}

/// Check that `v` survives a JSON round trip unchanged.
pub fn json_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(v: &T) {
    let text = serde_json::to_string(v).expect("a decoded value serializes to JSON");
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} does not read back its own JSON ({e}): {text}",
            std::any::type_name::<T>()
        )
    });
    assert_eq!(&back, v, "JSON round trip changed the value");
}

/// Decode, check canonical and JSON round trip, and return the value.
fn both<T: Decode + Encode + Serialize + DeserializeOwned + PartialEq + Debug>(
    data: &[u8],
) -> Option<T> {
    let v = canonical::<T>(data)?;
    json_round_trip(&v);
    Some(v)
}

/// An L2 transaction (`l2_sendRawTransaction`, relayed transactions, blocks): decode, hash,
/// recover the sender.
pub fn l2_tx(data: &[u8]) {
    if let Some(tx) = both::<L2Transaction>(data) {
        let hash = tx.hash();
        let _ = tx.recover_sender_with_hash(&hash);
        let _ = tx.verify_sender();
    }
}

/// An L2 block (a peer's proposal or commit, a catch-up answer, the node's own store): decode,
/// hash, transactions root and proof, signatures (against the seeds' key).
pub fn l2_block(data: &[u8]) {
    if let Some(b) = both::<L2Block>(data) {
        let hash = b.hash();
        let _ = b.transactions_root_matches();
        let _ = b.transaction_proof(0);
        let _ = b.transaction_proof(b.transactions.len().saturating_sub(1));
        let key = crate::fuzz_seeds::key().public_key();
        for s in &b.signatures {
            let _ = s.verify(&hash, &key);
        }
    }
}

/// Consensus messages: 0 a vote, 1 a block signature, 2 double-sign evidence, 3 conflicting
/// votes, 4 a sequencer announcement, 5 a batch header.
pub fn vote(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 6 {
        0 => {
            if let Some(v) = both::<Vote>(rest) {
                let _ = v.signing_hash();
            }
        }
        1 => {
            let _ = both::<BlockSignature>(rest);
        }
        2 => {
            let _ = both::<DoubleSignEvidence>(rest);
        }
        3 => {
            let _ = both::<ConflictingVotes>(rest);
        }
        4 => {
            if let Some(a) = both::<SequencerAnnouncement>(rest) {
                let _ = a.signing_hash();
            }
        }
        _ => {
            let _ = both::<BatchHeader>(rest);
        }
    }
}

/// L1 data (the devnet L1's `sendRawTransaction`, its blocks, the operations inside): 0 a
/// signed L1 transaction (hash, signer recovery), 1 an L1 block, 2 an operation alone.
pub fn l1_tx(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            if let Some(tx) = canonical::<L1Tx>(rest) {
                let _ = tx.hash();
                let _ = tx.recover_signer();
            }
        }
        1 => {
            if let Some(b) = canonical::<L1Block>(rest) {
                let _ = b.hash();
                let _ = b.txs_root();
            }
        }
        _ => {
            if let Some(op) = canonical::<L1Op>(rest) {
                json_round_trip(&op);
            }
        }
    }
}

/// A fixed root to check proofs against besides the root they compute.
const SOME_ROOT: H256 = H256([0x5a; 32]);

/// Account-tree proofs (the node's `l2_getProof`, withdrawal proofs, witnesses): 0 a compact
/// proof, 1 a full node proof, 2 a multiproof. Each is expanded and verified against the root
/// it computes (where it has one) and against an unrelated root, which must fail.
pub fn smt_proof(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            if let Some(p) = both::<CompactProof>(rest) {
                if let Ok(np) = p.to_node_proof() {
                    let _ = verify_node_proof(&np, &SOME_ROOT);
                }
                let _ = verify_compact_proof(&p, &SOME_ROOT);
            }
        }
        1 => {
            if let Some(p) = canonical::<NodeProof>(rest) {
                let _ = verify_node_proof(&p, &SOME_ROOT);
                let _ = p.to_compact();
            }
        }
        _ => {
            if let Some(p) = canonical::<MultiProof>(rest) {
                // A proof that folds to a root may still open nothing (its root an opaque
                // hash): `verify` refuses that with an error. What it accepts is that root.
                if let Ok(root) = p.compute_root() {
                    if let Ok(tree) = p.verify(&root) {
                        assert_eq!(tree.root(), root, "a verified multiproof has another root");
                    }
                }
                let _ = p.verify(&SOME_ROOT);
            }
        }
    }
}

/// The commitment of a small real batch, to check samples and proofs against.
fn real_commitment() -> &'static DACommitment {
    static C: std::sync::OnceLock<DACommitment> = std::sync::OnceLock::new();
    C.get_or_init(|| crate::fuzz_seeds::square().commitment(H256([7; 32])))
}

/// Data availability (samples a light client or challenger receives, commitments on L1,
/// share positions of availability challenges): 0 a sample, checked against a real
/// commitment; 1 a commitment, shape-checked; 2 a share position; 3 a list of samples,
/// reconstructed against the real commitment.
pub fn da_sample(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 4 {
        0 => {
            if let Some(s) = both::<Sample>(rest) {
                let _ = verify_sample(real_commitment(), &s);
            }
        }
        1 => {
            if let Some(c) = both::<DACommitment>(rest) {
                let _ = c.check_shape();
                let _ = c.validate();
                let _ = c.data_root();
            }
        }
        2 => {
            let _ = canonical::<SharePosition>(rest);
        }
        _ => {
            let mut r = Reader::new(rest);
            if let Ok(samples) = r.vec::<Sample>("samples", 64) {
                let _ = reconstruct_payload(real_commitment(), &samples, &DaParams::DEFAULT);
            }
        }
    }
}

/// Fraud-proof inputs (what a challenger submits and L1 checks): 0 a step witness, 1 fraud
/// evidence, 2 a bad-encoding proof (checked against a real commitment), 3 a one-step proof:
/// `pre-state root ‖ witness ‖ step ‖ block context`, run statelessly.
pub fn fraud_witness(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 4 {
        0 => {
            let _ = canonical::<StepWitness>(rest);
        }
        1 => {
            let _ = both::<FraudEvidence>(rest);
        }
        2 => {
            if let Some(p) = both::<BadEncodingProof>(rest) {
                let _ = verify_bad_encoding_proof(real_commitment(), &p);
            }
        }
        _ => {
            let Some((pre, witness, step, ctx)) = one_step(rest) else {
                return;
            };
            let _ = execute_step_stateless(&pre, &witness, &step, &ctx);
        }
    }
}

/// Read a one-step proof's inputs, each canonical.
fn one_step(data: &[u8]) -> Option<(H256, StepWitness, Step, BlockContext)> {
    let mut r = Reader::new(data);
    let pre = H256::decode_from(&mut r).ok()?;
    let witness = StepWitness::decode_from(&mut r).ok()?;
    let step = Step::decode_from(&mut r).ok()?;
    let ctx = BlockContext::decode_from(&mut r).ok()?;
    r.finish().ok()?;
    let mut again = pre.encode();
    witness.encode_to(&mut again);
    step.encode_to(&mut again);
    ctx.encode_to(&mut again);
    assert_eq!(
        again, data,
        "one-step inputs accepted a non-canonical encoding"
    );
    json_round_trip(&step);
    json_round_trip(&ctx);
    Some((pre, witness, step, ctx))
}

/// A batch payload as L1 and the watchers open it: even first byte, the rest is a zstd
/// payload to decompress (bounded by the default DA parameters) and decode into blocks; odd
/// first byte, the rest is decompressed batch bytes decoded directly. Blocks re-serialize to
/// the bytes they came from. Also an L1 message alone (`sel % 4 == 3`), the other queued
/// payload of a batch.
pub fn batch_payload(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let bytes = match sel % 4 {
        0 | 2 => match decompress_batch(rest, &DaParams::DEFAULT) {
            Ok(b) => b,
            Err(_) => return,
        },
        1 => rest.to_vec(),
        _ => {
            let _ = both::<L1Message>(rest);
            return;
        }
    };
    if let Ok(blocks) = decode_blocks(&bytes) {
        assert_eq!(
            serialize_blocks(&blocks),
            bytes,
            "decode_blocks accepted a non-canonical batch"
        );
    }
}

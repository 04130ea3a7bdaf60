//! The checks on evidence built here: honest evidence passes, every kind of tampering is
//! rejected with a reason that names it.

use super::*;
use casl2_verifier::da::{encode_payload, Axis, DaParams};
use casl2_verifier::params::{Network, COIN};
use casl2_verifier::sha256d;
use casl2_verifier::smt::{AccountTree, MemoryStore};
use casl2_verifier::{Decode, Encode, PrivateKey};
use proptest::prelude::*;

fn key(i: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[i + 1; 32]).unwrap()
}

fn tree(n: u8) -> (AccountTree<MemoryStore>, Vec<Address>) {
    let mut t = AccountTree::new(MemoryStore::new());
    let addrs: Vec<Address> = (0..n).map(|i| Address([i; 20])).collect();
    let accts: Vec<(Address, AccountState)> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                *a,
                AccountState {
                    balance: 1_000 + i as i64,
                    nonce: i as u64,
                    ..Default::default()
                },
            )
        })
        .collect();
    t.set_many(&accts).unwrap();
    (t, addrs)
}

#[test]
fn account_proofs_verify_and_tampering_is_named() {
    let (t, addrs) = tree(40);
    let root = t.root();
    let p = t.prove_compact(&addrs[7]).unwrap();
    let acc = verify_account_proof(&addrs[7], &p, &root).unwrap();
    assert_eq!((acc.balance, acc.nonce), (1_007, 7));

    // Another account's proof is not this account's.
    let e = verify_account_proof(&addrs[8], &p, &root).unwrap_err();
    assert!(e.to_string().contains("not the account's key"), "{e}");
    // Another root.
    let e = verify_account_proof(&addrs[7], &p, &H256([9; 32])).unwrap_err();
    assert!(e.to_string().contains(&addrs[7].to_string()), "{e}");
    // An absent account is proven absent.
    let nobody = Address([0xee; 20]);
    let p = t.prove_compact(&nobody).unwrap();
    assert_eq!(
        verify_account_proof(&nobody, &p, &root).unwrap(),
        AccountState::default()
    );

    let proven = AccountState {
        balance: 5,
        ..Default::default()
    };
    let mut reported = proven;
    assert!(check_reported_account(&nobody, &reported, &proven).is_ok());
    reported.balance = 6;
    let e = check_reported_account(&nobody, &reported, &proven).unwrap_err();
    assert!(
        e.to_string().contains("balance 6 reported, 5 proven"),
        "{e}"
    );
}

fn registry(n: u8) -> Vec<(Sequencer, u32)> {
    (0..n)
        .map(|i| {
            (
                Sequencer {
                    address: key(i).address(),
                    public_key: key(i).public_key(),
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
        .collect()
}

#[test]
fn quorum_needs_two_thirds_of_the_l1_weight() {
    let params = ChainParams::for_network(Network::Regtest);
    let set = sequencer_set(&registry(4), &params).unwrap();
    let header = L2BlockHeader {
        block_number: 3,
        l2_chain_id: 1,
        ..Default::default()
    };
    let sigs: Vec<BlockSignature> = (0..4)
        .map(|i| BlockSignature::sign(&key(i), &header.hash(), 1).unwrap())
        .collect();
    assert_eq!(
        verify_header_quorum(&header, &sigs[..3], &set, 67),
        Ok(3 * 80 * 10)
    );
    let e = verify_header_quorum(&header, &sigs[..2], &set, 67).unwrap_err();
    assert!(e.to_string().contains("quorum of L2 block 3"), "{e}");
    // A signature over another header.
    let mut other = header.clone();
    other.state_root = H256([1; 32]);
    let e = verify_header_quorum(&other, &sigs[..3], &set, 67).unwrap_err();
    assert!(
        matches!(e, VerifyError::InvalidQuorum { block: 3, .. }),
        "{e}"
    );
    // A stranger's signature.
    let mut with_stranger = sigs[..2].to_vec();
    with_stranger.push(BlockSignature::sign(&key(9), &header.hash(), 1).unwrap());
    assert!(verify_header_quorum(&header, &with_stranger, &set, 67).is_err());
    // A sequencer under the minimum HAT score does not count.
    let mut reg = registry(4);
    reg[3].1 = 10;
    assert_eq!(sequencer_set(&reg, &params).unwrap().len(), 3);
    // No set at all.
    let empty = sequencer_set(&[], &params).unwrap();
    assert!(verify_header_quorum(&header, &sigs, &empty, 67).is_err());
}

#[test]
fn samples_verify_and_a_changed_share_is_rejected() {
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let enc = encode_payload(&payload, sha256d(&payload), &DaParams::default()).unwrap();
    let c = &enc.commitment;
    verify_batch_commitment(4, c, &c.data_root()).unwrap();
    assert!(verify_batch_commitment(4, c, &H256([3; 32])).is_err());
    let s = enc.square.sample(1, 2, Axis::Row).unwrap();
    verify_batch_sample(4, c, 1, 2, &s).unwrap();
    let e = verify_batch_sample(4, c, 2, 1, &s).unwrap_err();
    assert!(e.to_string().contains("served share (1, 2) instead"), "{e}");
    let mut bad = s.clone();
    bad.share[0] ^= 1;
    let e = verify_batch_sample(4, c, 1, 2, &bad).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("share (1, 2) of batch 4 rejected"),
        "{e}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Property 8 from the light client's side: a proof served for an account verifies against
    /// the root, and flipping any bit of the encoded proof gets it refused (or not decoded).
    #[test]
    fn property_08_light_account_proof_rejects_any_flipped_bit(
        n in 1u8..30, which in 0u8..30, bit in 0usize..4096,
    ) {
        let (t, addrs) = tree(n);
        let a = addrs[(which % n) as usize];
        let root = t.root();
        let p = t.prove_compact(&a).unwrap();
        let honest = verify_account_proof(&a, &p, &root).unwrap();
        prop_assert_eq!(honest.nonce, u64::from(which % n));
        let mut bytes = p.encode();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        if let Ok(q) = CompactProof::decode(&bytes) {
            prop_assert!(verify_account_proof(&a, &q, &root).is_err());
        }
    }
}

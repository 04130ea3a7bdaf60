//! Correctness properties of the account tree (design properties 1 and 8).

use casl2_verifier::codec::{Decode, Encode};
use casl2_verifier::smt::{
    empty_root, verify_compact_proof, verify_node_proof, CompactProof, MemoryStore, MultiProof,
    NodeProof, SparseMerkleTree,
};
use casl2_verifier::H256;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Keys drawn from a small pool so that updates collide, share long prefixes and get deleted;
/// half look like account keys (12 zero high bytes), half are arbitrary.
fn key_strategy() -> impl Strategy<Value = H256> {
    prop_oneof![
        (0u8..16, any::<[u8; 20]>()).prop_map(|(i, mut a)| {
            a[0] = i; // shared prefixes among accounts
            let mut k = [0u8; 32];
            k[..20].copy_from_slice(&a);
            H256(k)
        }),
        any::<[u8; 32]>().prop_map(H256),
        (0u8..8).prop_map(|i| {
            let mut k = [0u8; 32];
            k[0] = i;
            H256(k)
        }),
    ]
}

fn update_strategy() -> impl Strategy<Value = (H256, Option<Vec<u8>>)> {
    (
        key_strategy(),
        prop::option::weighted(0.8, prop::collection::vec(any::<u8>(), 1..40)),
    )
}

fn apply_model(model: &mut BTreeMap<H256, Vec<u8>>, ups: &[(H256, Option<Vec<u8>>)]) {
    for (k, v) in ups {
        match v {
            Some(v) => {
                model.insert(*k, v.clone());
            }
            None => {
                model.remove(k);
            }
        }
    }
}

/// The root of a fresh tree holding exactly `model`, built one key at a time.
fn root_one_by_one(model: &BTreeMap<H256, Vec<u8>>) -> H256 {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    for (k, v) in model {
        t.set(*k, v.clone()).unwrap();
    }
    t.root()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Property 1: the same updates give the same root whatever the batching and the order of
    /// disjoint keys, and the root depends only on the final contents.
    #[test]
    fn property_01_state_root_consistency(
        ups in prop::collection::vec(update_strategy(), 0..300),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        seed in any::<u64>(),
    ) {
        // One big batch.
        let mut a = SparseMerkleTree::new(MemoryStore::new());
        a.update_batch(ups.clone()).unwrap();
        // The same updates in several batches.
        let mut b = SparseMerkleTree::new(MemoryStore::new());
        let mut idx: Vec<usize> = cuts.iter().map(|c| c.index(ups.len() + 1)).collect();
        idx.push(0);
        idx.push(ups.len());
        idx.sort();
        for w in idx.windows(2) {
            b.update_batch(ups[w[0]..w[1]].to_vec()).unwrap();
        }
        prop_assert_eq!(a.root(), b.root());
        // The final contents inserted one by one, in a shuffled order.
        let mut model = BTreeMap::new();
        apply_model(&mut model, &ups);
        let mut entries: Vec<_> = model.clone().into_iter().collect();
        let n = entries.len();
        if n > 1 {
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                entries.swap(i, (s >> 33) as usize % (i + 1));
            }
        }
        let mut c = SparseMerkleTree::new(MemoryStore::new());
        for (k, v) in entries {
            c.set(k, v).unwrap();
        }
        prop_assert_eq!(a.root(), c.root());
        prop_assert_eq!(a.root(), root_one_by_one(&model));
        if model.is_empty() {
            prop_assert_eq!(a.root(), empty_root());
        }
        // Every key reads back.
        for (k, v) in &model {
            prop_assert_eq!(a.get(k).unwrap(), Some(v.clone()));
        }
    }

    /// Property 8: a proof verifies if and only if the element is in the tree; wrong values,
    /// keys and roots, truncated or bit-flipped proofs are rejected, and exclusion proofs work
    /// for absent keys.
    #[test]
    fn property_08_merkle_proof_verification(
        ups in prop::collection::vec(update_strategy(), 1..120),
        probes in prop::collection::vec(key_strategy(), 1..6),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut t = SparseMerkleTree::new(MemoryStore::new());
        t.update_batch(ups.clone()).unwrap();
        let root = t.root();
        let mut model = BTreeMap::new();
        apply_model(&mut model, &ups);
        let mut keys: Vec<H256> = model.keys().copied().take(4).collect();
        keys.extend(probes);
        for k in &keys {
            let expected = model.get(k).cloned();
            let cp = t.prove_compact(k).unwrap();
            prop_assert_eq!(verify_compact_proof(&cp, &root).unwrap(), expected.clone());
            let np = t.prove(k).unwrap();
            prop_assert_eq!(verify_node_proof(&np, &root).unwrap(), expected.clone());

            // Wrong value: claim another value, or claim absence of a present key / presence of
            // an absent one.
            let mut wrong = cp.clone();
            wrong.value = match &expected {
                Some(v) => {
                    let mut v2 = v.clone();
                    v2[0] ^= 1;
                    Some(v2)
                }
                None => Some(vec![1, 2, 3]),
            };
            prop_assert!(verify_compact_proof(&wrong, &root).is_err());
            if expected.is_some() {
                let mut absent = cp.clone();
                absent.value = None;
                prop_assert!(verify_compact_proof(&absent, &root).is_err());
            }
            // Wrong key.
            let mut other = cp.clone();
            other.key.0[5] ^= 0x10;
            if verify_compact_proof(&other, &root).is_ok() {
                // Only an exclusion proof may also exclude a neighbouring absent key.
                prop_assert!(expected.is_none() && !model.contains_key(&other.key));
            }
            // Wrong root.
            let mut r2 = root;
            r2.0[31] ^= 1;
            prop_assert!(verify_compact_proof(&cp, &r2).is_err());
            prop_assert!(verify_node_proof(&np, &r2).is_err());

            // Bit flips and truncation of the encoded proofs never verify as something else.
            let enc = cp.encode();
            let i = flip.index(enc.len());
            let mut bad = enc.clone();
            bad[i] ^= 1 << bit;
            if let Ok(p) = CompactProof::decode(&bad) {
                match verify_compact_proof(&p, &root) {
                    Err(_) => {}
                    Ok(v) => prop_assert_eq!(v, model.get(&p.key).cloned()),
                }
            }
            prop_assert!(CompactProof::decode(&enc[..enc.len() - 1]).is_err());
            let nenc = np.encode();
            let j = flip.index(nenc.len());
            let mut nbad = nenc.clone();
            nbad[j] ^= 1 << bit;
            if let Ok(p) = NodeProof::decode(&nbad) {
                match verify_node_proof(&p, &root) {
                    Err(_) => {}
                    Ok(v) => prop_assert_eq!(v, model.get(&p.key).cloned()),
                }
            }
            prop_assert!(NodeProof::decode(&nenc[..nenc.len() - 1]).is_err());
        }

        // Multiproof of all probed keys: reads equal the model; updates equal the full tree's.
        let mp = t.prove_multi(&keys).unwrap();
        let mp = MultiProof::decode(&mp.encode()).unwrap();
        let partial = mp.verify(&root).unwrap();
        for k in &keys {
            prop_assert_eq!(partial.get(k).unwrap(), model.get(k).cloned());
        }
        let mut r2 = root;
        r2.0[0] ^= 1;
        prop_assert!(mp.verify(&r2).is_err());
    }

    /// A partial tree built from a multiproof applies updates to its keys exactly as the full
    /// tree does (the basis of stateless execution), or says which node it is missing.
    #[test]
    fn property_01_multiproof_updates_match_full_tree(
        base in prop::collection::vec(update_strategy(), 1..150),
        ups in prop::collection::vec(update_strategy(), 1..20),
    ) {
        let mut t = SparseMerkleTree::new(MemoryStore::new());
        t.update_batch(base).unwrap();
        let keys: Vec<H256> = ups.iter().map(|u| u.0).collect();
        let mp = t.prove_multi(&keys).unwrap();
        let mut partial = mp.verify(&t.root()).unwrap();
        let full_root = t.update_batch(ups.clone()).unwrap();
        match partial.update_batch(ups) {
            Ok(r) => prop_assert_eq!(r, full_root),
            // A deletion next to an untouched lone leaf needs that leaf, which the witness does
            // not hold: that is an error, never a wrong root.
            Err(casl2_verifier::smt::SmtError::MissingNode { .. }) => {}
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}

/// Every proof decoder on random, truncated and mutated input returns an error or a value that
/// re-encodes to the same bytes; it never panics.
#[test]
fn proof_decoders_never_panic() {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    for i in 0u32..50 {
        t.set(
            casl2_verifier::sha256d(&i.to_le_bytes()),
            vec![i as u8 + 1; 10],
        )
        .unwrap();
    }
    let k = casl2_verifier::sha256d(&7u32.to_le_bytes());
    let samples = [
        t.prove_compact(&k).unwrap().encode(),
        t.prove(&k).unwrap().encode(),
        t.prove_multi(&[k, H256([3; 32])]).unwrap().encode(),
    ];
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let check = |b: &[u8]| {
        if let Ok(p) = CompactProof::decode(b) {
            assert_eq!(p.encode(), b);
        }
        if let Ok(p) = NodeProof::decode(b) {
            assert_eq!(p.encode(), b);
        }
        if let Ok(p) = MultiProof::decode(b) {
            assert_eq!(p.encode(), b);
        }
    };
    for s in &samples {
        for cut in 0..s.len() {
            check(&s[..cut]);
        }
        for _ in 0..2000 {
            let mut m = s.clone();
            let i = next() as usize % m.len();
            m[i] = next() as u8;
            check(&m);
        }
    }
    for _ in 0..5000 {
        let len = next() as usize % 600;
        let b: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        check(&b);
    }
    // Deep nesting of inner-node tags is bounded, not a stack overflow.
    check(&vec![3u8; 100_000]);
}

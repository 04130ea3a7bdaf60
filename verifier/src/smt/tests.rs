use super::*;
use crate::codec::{Decode, Encode};

fn addr(s: &str) -> Address {
    Address::from_hex(s).unwrap()
}

fn vector_accounts() -> (Address, AccountState, Address, AccountState) {
    let a = addr("0x0102030405060708090a0b0c0d0e0f1011121314");
    let sa = AccountState {
        balance: 1_000_000_000,
        nonce: 1,
        ..Default::default()
    };
    let b = addr("0xff02030405060708090a0b0c0d0e0f10111213aa");
    let sb = AccountState {
        balance: 5,
        nonce: 0,
        hat_score: 75,
        last_activity: 42,
        ..Default::default()
    };
    (a, sa, b, sb)
}

#[test]
fn compat_vectors() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    assert_eq!(
        t.root().to_hex(),
        "0x4723327d9084dcf14fab1f9bc77046a1cd4a664fa0ad86bb75dca5ba22347f15"
    );
    t.set(&a, sa).unwrap();
    assert_eq!(
        t.root().to_hex(),
        "0xe89ddb7352a1a918c86bc6477ddddba03511cda3c45c9240c34e566fdf8582c1"
    );
    t.set(&b, sb).unwrap();
    assert_eq!(
        t.root().to_hex(),
        "0xe6133a274a67b764d78a1264438d7b0623295800bb89b5925fa97103c998fd91"
    );
    // Same root in one batch, in either order.
    let mut t2 = AccountTree::new(MemoryStore::new());
    t2.set_many(&[(b, sb), (a, sa)]).unwrap();
    assert_eq!(t2.root(), t.root());
    assert_eq!(t.get(&a).unwrap(), sa);
    assert_eq!(t.get(&b).unwrap(), sb);
}

#[test]
fn single_leaf_subtree_is_one_node() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    t.set(&a, sa).unwrap();
    assert_eq!(t.tree().store().len(), (0, 1));
    t.set(&b, sb).unwrap();
    // a and b part at the first bit after the 96 always-zero levels... or later: count nodes.
    let (inner, leaves) = t.tree().store().len();
    assert!(inner <= 256 && leaves == 3, "inner {inner} leaves {leaves}");
}

#[test]
fn delete_collapses_back_to_the_same_root() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    let r1 = t.set(&a, sa).unwrap();
    t.set(&b, sb).unwrap();
    let r3 = t.set(&b, AccountState::default()).unwrap();
    assert_eq!(r1, r3);
    let r4 = t.set(&a, AccountState::default()).unwrap();
    assert_eq!(r4, empty_root());
}

#[test]
fn revert_to_an_earlier_root() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    let r1 = t.set(&a, sa).unwrap();
    let r2 = t.set(&b, sb).unwrap();
    t.tree_mut().revert_to(r1).unwrap();
    assert_eq!(t.get(&b).unwrap(), AccountState::default());
    assert_eq!(t.get(&a).unwrap(), sa);
    t.tree_mut().revert_to(r2).unwrap();
    assert_eq!(t.get(&b).unwrap(), sb);
    assert!(matches!(
        t.tree_mut().revert_to(H256([9; 32])),
        Err(SmtError::UnknownRoot(_))
    ));
    assert_eq!(t.root(), r2);
}

#[test]
fn proofs_inclusion_and_exclusion_both_formats() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    t.set_many(&[(a, sa), (b, sb)]).unwrap();
    let root = t.root();
    for (addr, st) in [(a, sa), (b, sb)] {
        let p = t.prove_compact(&addr).unwrap();
        assert_eq!(verify_account_proof(&p, &root, &addr).unwrap(), st);
        let np = t.prove(&addr).unwrap();
        assert_eq!(np.siblings.len(), 256);
        assert_eq!(verify_account_node_proof(&np, &root, &addr).unwrap(), st);
        assert_eq!(np.to_compact(), p);
        assert_eq!(p.to_node_proof().unwrap(), np);
        // binary round trips
        assert_eq!(CompactProof::decode(&p.encode()).unwrap(), p);
        assert_eq!(NodeProof::decode(&np.encode()).unwrap(), np);
        // wrong root, wrong address
        assert!(verify_account_proof(&p, &empty_root(), &addr).is_err());
        let other = if addr == a { b } else { a };
        assert!(verify_account_proof(&p, &root, &other).is_err());
    }
    // Absent keys: next to a leaf (shares a long prefix with a) and in an empty region.
    for absent in [
        addr("0x0102030405060708090a0b0c0d0e0f1011121315"),
        addr("0x7702030405060708090a0b0c0d0e0f1011121314"),
        addr("0x0000000000000000000000000000000000000000"),
    ] {
        let p = t.prove_compact(&absent).unwrap();
        assert!(p.value.is_none());
        assert_eq!(
            verify_account_proof(&p, &root, &absent).unwrap(),
            AccountState::default()
        );
        let np = t.prove(&absent).unwrap();
        assert!(!np.is_inclusion);
        assert_eq!(np.leaf_hash, defaults()[0]);
        verify_account_node_proof(&np, &root, &absent).unwrap();
        // Claiming inclusion of some value must fail.
        let mut forged = p.clone();
        forged.value = Some(sa.to_bytes().to_vec());
        assert!(verify_account_proof(&forged, &root, &absent).is_err());
    }
    // An inclusion proof cannot be turned into an exclusion proof.
    let mut p = t.prove_compact(&a).unwrap();
    p.value = None;
    assert!(verify_account_proof(&p, &root, &a).is_err());
}

#[test]
fn node_proof_structure_is_checked() {
    let (a, sa, _, _) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    t.set(&a, sa).unwrap();
    let root = t.root();
    let good = t.prove(&a).unwrap();
    let mut p = good.clone();
    p.path[3] ^= 1;
    assert!(matches!(
        verify_node_proof(&p, &root),
        Err(ProofError::PathMismatch(3))
    ));
    let mut p = good.clone();
    p.siblings.pop();
    assert!(matches!(
        verify_node_proof(&p, &root),
        Err(ProofError::Malformed(_))
    ));
    let mut p = good.clone();
    p.leaf_hash.0[0] ^= 1;
    assert!(matches!(
        verify_node_proof(&p, &root),
        Err(ProofError::LeafHashMismatch)
    ));
    let mut p = good;
    p.value[0] ^= 1;
    assert!(verify_node_proof(&p, &root).is_err());
}

#[test]
fn multiproof_is_a_working_partial_tree() {
    let mut full = SparseMerkleTree::new(MemoryStore::new());
    let keys: Vec<H256> = (0u32..200)
        .map(|i| crate::hash::sha256d(&i.to_le_bytes()))
        .collect();
    full.update_batch(keys.iter().map(|k| (*k, Some(k.0[..8].to_vec()))).collect())
        .unwrap();
    let root = full.root();
    let touched = [keys[3], keys[50], H256([0xab; 32])];
    let mp = full.prove_multi(&touched).unwrap();
    let enc = mp.encode();
    let mp2 = MultiProof::decode(&enc).unwrap();
    assert_eq!(mp2, mp);
    let mut partial = mp.verify(&root).unwrap();
    assert_eq!(
        partial.get(&keys[3]).unwrap(),
        Some(keys[3].0[..8].to_vec())
    );
    assert_eq!(partial.get(&H256([0xab; 32])).unwrap(), None);
    assert!(matches!(
        partial.get(&keys[100]),
        Err(SmtError::MissingNode { .. })
    ));
    let ups = vec![
        (keys[3], Some(vec![1, 2, 3])),
        (keys[50], None),
        (H256([0xab; 32]), Some(vec![9])),
    ];
    // Deleting keys[50] may need its sibling subtree if that is a lone leaf; compare when it works.
    match partial.update_batch(ups.clone()) {
        Ok(r) => assert_eq!(r, full.update_batch(ups).unwrap()),
        Err(SmtError::MissingNode { .. }) => {}
        Err(e) => panic!("{e}"),
    }
    // A tampered multiproof fails against the root.
    if let MultiNode::Branch(l, _) = &mp.root {
        let mut bad = mp.clone();
        bad.root = MultiNode::Branch(l.clone(), Box::new(MultiNode::Hash(H256([1; 32]))));
        assert!(bad.verify(&root).is_err());
    }
}

#[test]
fn empty_value_is_delete() {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    let k = H256([5; 32]);
    t.set(k, vec![1]).unwrap();
    t.set(k, vec![]).unwrap();
    assert_eq!(t.root(), empty_root());
    assert_eq!(t.get(&k).unwrap(), None);
}

#[test]
fn compact_proof_vectors_of_protocol_md() {
    let (a, sa, b, sb) = vector_accounts();
    let mut t = AccountTree::new(MemoryStore::new());
    t.set_many(&[(a, sa), (b, sb)]).unwrap();
    assert_eq!(
        hex::encode(t.prove_compact(&b).unwrap().encode()),
        "ff02030405060708090a0b0c0d0e0f10111213aa000000000000000000000000015c05000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004b0000002a0000000000000000000000000000000000000000000000000000800000000000000000000000008e49810aea43ca8a2c0b3b8d710c9f0688d3a1feaae7dea57a4c8f4abe9402f8"
    );
    let absent = addr("0x0102030405060708090a0b0c0d0e0f1011121315");
    assert_eq!(
        hex::encode(t.prove_compact(&absent).unwrap().encode()),
        "0102030405060708090a0b0c0d0e0f1011121315000000000000000000000000000000000000000000000000000000000000000081000000000000000000000000d8e3ca0885b73b3e323cddaba2a926fed31295d29c8a7a24bfc057b5eebaab92c651f56896fd23ecc8b3599b7bc80685b8776e8684d822707e8b7d9822238c5b"
    );
}

/// Keys that share 250+ path bits make the deepest trees; every operation must fit on a small
/// thread stack (256 levels of recursion at most, each frame small): a quarter of the default
/// 2 MiB.
#[test]
fn deepest_paths_fit_on_a_small_stack() {
    let run = || {
        let keys: Vec<H256> = (0u8..8)
            .map(|i| {
                let mut k = [0u8; 32];
                k[0] = i;
                H256(k)
            })
            .collect();
        let mut t = SparseMerkleTree::new(MemoryStore::new());
        t.update_batch(keys.iter().map(|k| (*k, Some(vec![1]))).collect())
            .unwrap();
        let mp = t.prove_multi(&keys[..3]).unwrap();
        let mp = MultiProof::decode(&mp.encode()).unwrap();
        let mut p = mp.verify(&t.root()).unwrap();
        let ups = vec![(keys[0], Some(vec![2])), (keys[1], None)];
        let r = t.update_batch(ups.clone()).unwrap();
        assert_eq!(p.update_batch(ups).unwrap(), r);
        t.update_batch(keys.iter().map(|k| (*k, None)).collect())
            .unwrap();
        assert_eq!(t.root(), empty_root());
    };
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

/// A batch larger than one pass (`BATCH_CHUNK`) gives the root of the same updates in small
/// batches, keeps the last update of a repeated key across a chunk boundary, and leaves at most
/// a few boundary nodes behind; `AccountTree::set_many` (chunked by key) agrees.
#[test]
fn batches_larger_than_a_pass_give_the_same_root() {
    let n = super::tree::BATCH_CHUNK + 123;
    let key = |i: usize| crate::sha256d(&(i as u64).to_le_bytes());
    let mut ups: Vec<Update> = (0..n).map(|i| (key(i), Some(vec![i as u8 | 1]))).collect();
    // The same key first and last: the last wins.
    ups.push((key(0), Some(vec![0xee])));
    let mut big = SparseMerkleTree::new(MemoryStore::new());
    big.update_batch(ups.clone()).unwrap();
    let mut small = SparseMerkleTree::new(MemoryStore::new());
    for c in ups.chunks(20_000) {
        small.update_batch(c.to_vec()).unwrap();
    }
    assert_eq!(big.root(), small.root());
    assert_eq!(big.get(&key(0)).unwrap(), Some(vec![0xee]));
    let (inner_big, _) = big.store().len();
    let mut fresh = SparseMerkleTree::new(MemoryStore::new());
    fresh
        .update_batch(ups.iter().skip(1).cloned().collect())
        .unwrap();
    let (inner_one, _) = fresh.store().len();
    assert!(
        inner_big <= inner_one + 64 * 3,
        "{inner_big} inner nodes stored, {inner_one} without chunks"
    );

    let accounts: Vec<(Address, AccountState)> = (0..n)
        .map(|i| {
            let mut a = [0u8; 20];
            a.copy_from_slice(&key(i).0[..20]);
            let st = AccountState {
                balance: i as i64 + 1,
                ..Default::default()
            };
            (Address(a), st)
        })
        .chain(std::iter::once((
            Address(key(5).0[..20].try_into().unwrap()),
            AccountState {
                balance: -7,
                ..Default::default()
            },
        )))
        .collect();
    let mut at = AccountTree::new(MemoryStore::new());
    let root = at.set_many(&accounts).unwrap();
    let mut one_by_one = AccountTree::new(MemoryStore::new());
    for c in accounts.chunks(20_000) {
        one_by_one.set_many(c).unwrap();
    }
    assert_eq!(root, one_by_one.root());
    assert_eq!(at.get(&accounts.last().unwrap().0).unwrap().balance, -7);
}

#[test]
fn update_at_builds_a_second_tree_without_moving_the_root() {
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    let main = t.set(H256([1; 32]), vec![1, 2, 3]).unwrap();
    let k1 = H256([7; 32]);
    let k2 = H256([9; 32]);
    let r1 = t
        .update_at(empty_root(), vec![(k1, Some(vec![5])), (k2, Some(vec![6]))])
        .unwrap();
    assert_eq!(t.root(), main);
    assert_eq!(t.get_at(r1, &k1).unwrap(), Some(vec![5]));
    // The same writes in a tree of its own give the same root.
    let mut other = SparseMerkleTree::new(MemoryStore::new());
    assert_eq!(
        other
            .update_batch(vec![(k1, Some(vec![5])), (k2, Some(vec![6]))])
            .unwrap(),
        r1
    );
    let r2 = t.update_at(r1, vec![(k1, None)]).unwrap();
    assert_eq!(t.get_at(r2, &k1).unwrap(), None);
    assert_eq!(t.get_at(r2, &k2).unwrap(), Some(vec![6]));
    assert_eq!(t.get_at(r1, &k1).unwrap(), Some(vec![5]));
    assert_eq!(t.root(), main);
}

/// An update that changes nothing (a value set again, absent keys deleted) keeps the root and
/// stores no node; one that deletes a leaf's neighbours moves the leaf up (rehashed from its
/// stored hash) to the root of one-by-one application; a leaf pushed down by a new neighbour is
/// rehashed from its value.
#[test]
fn no_op_updates_store_nothing_and_moved_leaves_match_one_by_one() {
    let key = |i: u8| {
        let mut k = [0u8; 32];
        k[31] = 0x80; // all share the first path bit
        k[0] = i;
        H256(k)
    };
    let mut t = SparseMerkleTree::new(MemoryStore::new());
    let ups: Vec<Update> = (0..6).map(|i| (key(i), Some(vec![i + 1]))).collect();
    let root = t.update_batch(ups).unwrap();
    let stored = t.store().len();
    let again = vec![
        (key(2), Some(vec![3])),
        (key(9), None),
        (H256([0x55; 32]), None),
        (key(4), Some(vec![5])),
    ];
    assert_eq!(t.update_batch(again).unwrap(), root);
    assert_eq!(t.store().len(), stored, "a no-op update stored nodes");

    // Delete all but key 5 (it moves up to just under the root), change key 3 back in, and
    // add a key next to key 5 (it moves down again): compare with one by one.
    let mixed = vec![
        (key(0), None),
        (key(1), None),
        (key(2), None),
        (key(4), None),
        (key(3), Some(vec![0xaa])),
        (key(7), Some(vec![0xbb])),
    ];
    let batch = t.update_batch(mixed.clone()).unwrap();
    let mut one = SparseMerkleTree::new(MemoryStore::new());
    one.update_batch((0..6).map(|i| (key(i), Some(vec![i + 1]))).collect())
        .unwrap();
    for u in mixed {
        one.update_batch(vec![u]).unwrap();
    }
    assert_eq!(batch, one.root());
    let mut fresh = SparseMerkleTree::new(MemoryStore::new());
    for (k, v) in [(key(3), 0xaa), (key(5), 6), (key(7), 0xbb)] {
        fresh.set(k, vec![v]).unwrap();
    }
    assert_eq!(batch, fresh.root());
    // Down to one leaf: it hangs under the root, stored once.
    let last = t
        .update_batch(vec![(key(3), None), (key(7), None)])
        .unwrap();
    assert_eq!(last, super::hasher::single_leaf_hash(&key(5), &[6], 256));
    assert_eq!(t.get(&key(5)).unwrap(), Some(vec![6]));
}

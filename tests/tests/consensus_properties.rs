//! Correctness properties of the sequencer consensus rules (design properties 2, 3 and 11).

use casl2_verifier::consensus::{
    check_no_double_sign, elect_leader, find_double_signs, leader_now, quorum_reached,
    verify_block_quorum, LastBlock, LeaderElection, LeaderElectionResult, RegisteredSequencer,
    SequencerInfo, SequencerSet, VoteTally, MAX_BACKUP_SEQUENCERS,
};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::{sha256d, Address, L2Block, PrivateKey, Vote, VoteType, H256};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// A registry of 1..=14 sequencers with distinct addresses (a distinct first byte), stakes of
/// 0..=5000 CAS (plus dust) and HAT scores 0..=100, in a random registry order.
fn registry_strategy() -> impl Strategy<Value = Vec<SequencerInfo>> {
    prop::collection::vec(
        (any::<[u8; 19]>(), 0i64..=5_000, 0i64..COIN, 0u32..=100),
        1..=14,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (rest, cas, dust, hat))| {
                let mut a = [0u8; 20];
                a[0] = (i as u8).wrapping_mul(37); // distinct, not sorted
                a[1..].copy_from_slice(&rest);
                SequencerInfo {
                    address: Address(a),
                    stake: cas * COIN + dust,
                    hat_score: hat,
                }
            })
            .collect()
    })
}

fn regtest_rule() -> LeaderElection {
    LeaderElection::from_params(&ChainParams::for_network(Network::Regtest))
}

/// Checks shared by properties 2 and 3: the result is well formed for `eligible`.
fn assert_well_formed(r: &LeaderElectionResult, eligible: &[SequencerInfo]) {
    let weight = |a: &Address| {
        eligible
            .iter()
            .find(|s| s.address == *a)
            .map(SequencerInfo::weight)
    };
    assert!(
        weight(&r.leader).is_some_and(|w| w > 0),
        "leader not eligible"
    );
    assert!(r.backups.len() <= MAX_BACKUP_SEQUENCERS);
    assert_eq!(
        r.backups.len(),
        (eligible.len() - 1).min(MAX_BACKUP_SEQUENCERS)
    );
    let order = r.failover_order();
    let distinct: BTreeSet<_> = order.iter().collect();
    assert_eq!(distinct.len(), order.len(), "failover order repeats");
    for pair in r.backups.windows(2) {
        let (wa, wb) = (weight(&pair[0]), weight(&pair[1]));
        assert!(wa.is_some() && wb.is_some(), "ineligible backup");
        assert!(
            wa > wb || (wa == wb && pair[0] < pair[1]),
            "backups out of order"
        );
    }
    // the backups are the heaviest of the others
    if let Some(last) = r.backups.last() {
        let lw = weight(last).unwrap_or(0);
        for s in eligible {
            if s.address != r.leader && !r.backups.contains(&s.address) {
                assert!(
                    s.weight() < lw || (s.weight() == lw && s.address > *last),
                    "a heavier sequencer was left out of the backups"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Property 2: same slot, set and seed → same leader and backups; the leader is always
    /// eligible; over many seeds each sequencer leads with a frequency close to its weight share.
    #[test]
    fn property_02_sequencer_election_determinism(
        registry in registry_strategy(),
        slot in any::<u64>(),
        seed in any::<[u8; 32]>(),
    ) {
        let rule = regtest_rule();
        let seed = H256(seed);
        let eligible = rule.eligible(&registry);
        let first = rule.elect(slot, &registry, &seed);
        let second = rule.elect(slot, &registry.clone(), &H256(seed.0));
        prop_assert_eq!(&first, &second);
        let Ok(r) = first else {
            prop_assert!(eligible.is_empty());
            return Ok(());
        };
        prop_assert_eq!(r.slot, slot);
        prop_assert_eq!(r.seed, seed);
        assert_well_formed(&r, &eligible);
        // elect_leader on the eligible list is the same rule
        prop_assert_eq!(elect_leader(slot, &eligible, &seed, rule.blocks_per_leader), Ok(r.clone()));

        // Frequencies over 1000 fixed pseudo-random seeds track the weight shares. Each count
        // is binomial with standard deviation at most 0.016; the bound is six of those.
        let total: u128 = eligible.iter().map(SequencerInfo::weight).sum();
        let n = 1_000u32;
        let mut counts = vec![0u32; eligible.len()];
        for i in 0..n {
            let s = sha256d(&[&i.to_le_bytes()[..], &seed.0[..]].concat());
            let r = elect_leader(slot, &eligible, &s, 5).map_err(|e| TestCaseError::fail(e.to_string()))?;
            if let Some(p) = eligible.iter().position(|e| e.address == r.leader) {
                counts[p] += 1;
            }
        }
        for (s, c) in eligible.iter().zip(&counts) {
            let share = s.weight() as f64 / total as f64;
            let freq = *c as f64 / n as f64;
            prop_assert!((freq - share).abs() < 0.1, "{} led {} of {} times, weight share {:.3}", s.address, c, n, share);
        }
    }

    /// Property 3: nodes with the same inputs name the same leader after k timeouts; the order
    /// never repeats a sequencer nor includes an ineligible one.
    #[test]
    fn property_03_failover_consistency(
        registry in registry_strategy(),
        slot in any::<u64>(),
        seed in any::<[u8; 32]>(),
        k in 0u64..40,
        into_turn in 0u64..1_000,
        slot_start_ms in 0u64..1u64 << 50,
        timeout_ms in 1u64..20_000,
        producer_pick in any::<prop::sample::Index>(),
        block_after_ms in 0u64..60_000,
    ) {
        let rule = regtest_rule();
        let seed = H256(seed);
        let eligible = rule.eligible(&registry);
        // three "nodes", each computing from its own copy of the inputs
        let results: Vec<_> = (0..3).map(|_| rule.elect(slot, &registry.clone(), &seed)).collect();
        prop_assert!(results.windows(2).all(|w| w[0] == w[1]));
        let Ok(r) = results[0].clone() else {
            prop_assert!(eligible.is_empty());
            return Ok(());
        };
        assert_well_formed(&r, &eligible);
        let eligible_set: BTreeSet<Address> = eligible.iter().map(|s| s.address).collect();
        prop_assert!(r.failover_order().iter().all(|a| eligible_set.contains(a)));

        let len = r.failover_len() as u64;
        // k timeouts with no block: the k-th in the order leads (wrapping after the last backup)
        let into = into_turn * timeout_ms / 1_000; // somewhere inside the turn
        let now = slot_start_ms + k * timeout_ms + into;
        let turns: Vec<_> = (0..3)
            .map(|_| leader_now(&r, slot_start_ms, None, now, timeout_ms))
            .collect();
        prop_assert!(turns.windows(2).all(|w| w[0] == w[1]));
        let t = turns[0].clone().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t.turn, k);
        prop_assert_eq!(t.leader, r.failover_order()[(k % len) as usize]);
        if k >= 1 && k <= r.backups.len() as u64 {
            prop_assert_eq!(t.leader, r.backups[(k - 1) as usize]);
        }
        prop_assert!(t.turn_started_ms <= now && now < t.deadline_ms);

        // after a block by position p, the turn continues from p
        let p = producer_pick.index(r.failover_len());
        let last = LastBlock { time_ms: slot_start_ms + block_after_ms, producer: r.failover_order()[p] };
        let now = last.time_ms + k * timeout_ms + into;
        let t = leader_now(&r, slot_start_ms, Some(last), now, timeout_ms)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t.leader, r.leader_at(p as u64 + k));
        prop_assert!(eligible_set.contains(&t.leader));
    }
}

/// A sequencer key per index (secret = index + 1 repeated; all valid scalars).
fn key(i: usize) -> PrivateKey {
    match PrivateKey::from_bytes(&[i as u8 + 1; 32]) {
        Ok(k) => k,
        Err(e) => panic!("test key {i}: {e}"),
    }
}

fn conflicting_blocks(height: u64) -> (L2Block, L2Block) {
    let mut a = L2Block::default();
    a.header.block_number = height;
    a.header.l2_chain_id = 1;
    a.header.slot_number = height / 5;
    let mut b = a.clone();
    b.header.state_root = H256([0xbb; 32]);
    (a, b)
}

fn vote(k: &PrivateKey, block: H256, slot: u64) -> Vote {
    let mut v = Vote {
        block_hash: block,
        voter_address: k.address(),
        vote: VoteType::Accept,
        reject_reason: String::new(),
        signature: Vec::new(),
        timestamp: 0,
        slot_number: slot,
    };
    if let Err(e) = v.sign(k) {
        panic!("signing a vote: {e}");
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Property 11: with a threshold above 50 % and honest signers signing at most one block per
    /// height, two conflicting blocks never both reach quorum; when they do, it is because of
    /// double-signers, and the two certificates yield verifiable evidence naming each of them.
    #[test]
    fn property_11_consensus_threshold_safety(
        members in prop::collection::vec((1i64..=2_000, 1u32..=100, 0u8..3, any::<bool>()), 1..=8),
        threshold_pct in 51u32..=100,
        height in 0u64..1_000_000,
        allow_double in any::<bool>(),
    ) {
        let set = SequencerSet::new(
            members
                .iter()
                .enumerate()
                .map(|(i, &(cas, hat, _, _))| RegisteredSequencer::new(key(i).public_key(), cas * COIN, hat))
                .collect(),
        )
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (mut a, mut b) = conflicting_blocks(height);
        let (ha, hb) = (a.hash(), b.hash());
        let junk = H256([0xee; 32]);
        let slot = a.header.slot_number;
        let mut tally = VoteTally::new(slot, height);
        let mut double_signers = BTreeSet::new();
        for (i, &(_, _, choice, double)) in members.iter().enumerate() {
            let k = key(i);
            if allow_double && double {
                a.sign(&k, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                b.sign(&k, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                double_signers.insert(k.address());
                // its votes: the first counts, the second is caught as conflicting
                let (first, second) = if choice == 1 { (hb, ha) } else { (ha, hb) };
                prop_assert!(tally.add(&vote(&k, first, slot), &set).is_ok());
                let err = tally.add(&vote(&k, second, slot), &set);
                prop_assert!(matches!(&err, Err(e) if e.code() == "CONSENSUS_CONFLICTING"));
                continue;
            }
            // honest: a REJECT of a junk proposal first (it must not stop the ACCEPT below),
            // then at most one block at this height
            let mut reject = vote(&k, junk, slot);
            reject.vote = VoteType::Reject;
            reject.sign(&k).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(tally.add(&reject, &set).is_ok());
            let target = match choice {
                1 => Some((&mut a, ha)),
                2 => Some((&mut b, hb)),
                _ => None,
            };
            if let Some((block, h)) = target {
                block.sign(&k, 1).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(tally.add(&vote(&k, h, slot), &set).is_ok());
            }
        }
        let qa = verify_block_quorum(&a, &set, threshold_pct);
        let qb = verify_block_quorum(&b, &set, threshold_pct);
        // signatures are all valid: an error can only be a missing quorum
        for q in [&qa, &qb] {
            if let Err(e) = q {
                prop_assert_eq!(e.code(), "CONSENSUS_NO_QUORUM");
            }
        }
        if double_signers.is_empty() {
            prop_assert!(!(qa.is_ok() && qb.is_ok()), "two conflicting blocks reached quorum");
            prop_assert!(check_no_double_sign(&a, &b, &set).is_ok());
        }
        if let (Ok(wa), Ok(wb)) = (&qa, &qb) {
            // overlap weight ≥ wa + wb − total > 0 with a threshold above 50 %
            let double_weight: u128 = double_signers.iter().map(|d| set.weight_of(d)).sum();
            prop_assert!(double_weight > 0);
            prop_assert!(wa + wb - set.total_weight() <= double_weight);
            let err = check_no_double_sign(&a, &b, &set);
            prop_assert!(matches!(&err, Err(e) if e.code() == "SEQ_DOUBLE_SIGN"));
        }
        // the certificates name exactly the double-signers, each verifiably
        let evidence = find_double_signs(&a, &b);
        let named: BTreeSet<Address> = evidence
            .iter()
            .map(|e| e.verify(&set))
            .collect::<Result<_, _>>()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&named, &double_signers);
        // votes: one counted vote per voter, so at most one block is accepted by a quorum
        let accepted_a = tally.has_quorum(&ha, &set, threshold_pct);
        let accepted_b = tally.has_quorum(&hb, &set, threshold_pct);
        prop_assert!(!(accepted_a && accepted_b));
        prop_assert_eq!(tally.conflicts().len(), double_signers.len());
        prop_assert!(tally.conflicts().iter().all(|c| c.verify(&set).is_ok()));
        // the bare threshold rule: two disjoint shares above 50 % cannot both pass
        let wa = tally.weights(&ha).accept;
        let wb = tally.weights(&hb).accept;
        prop_assert!(!(quorum_reached(wa, set.total_weight(), threshold_pct)
            && quorum_reached(wb, set.total_weight(), threshold_pct)));
    }
}

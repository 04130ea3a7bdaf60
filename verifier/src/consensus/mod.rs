//! Sequencer consensus rules: weights, eligibility, leader election, failover, vote tallies,
//! quorum certificates and double-sign evidence.
//!
//! Everything here is a pure function of its arguments: no clock, no randomness, no I/O. Time
//! (milliseconds) and L1 data (block hashes) come in as arguments, so every node that calls these
//! functions with the same inputs gets the same answer (design properties 2, 3 and 11).
//!
//! - [`election`]: the real node's election seed, weighted leader choice and backup order.
//! - [`failover`]: who leads after `k` leader timeouts, and who leads *now*.
//! - [`votes`]: signed votes, per-block weight tallies, conflicting votes, quorum certificates.
//! - [`evidence`]: double-sign evidence to post to L1 for slashing.
//!
//! The rules are specified in `docs/protocol.md`, section "Consensus rules".

pub mod election;
pub mod evidence;
pub mod failover;
mod quorum;
pub mod votes;

pub use election::{
    elect_leader, election_seed, election_seed_from_hash, election_seed_l1_height, seed_mod,
    slot_of_block, LeaderElection, LeaderElectionResult, ELECTION_SEED_CONFIRMATIONS,
    ELECTION_SEED_TAG, MAX_BACKUP_SEQUENCERS,
};
pub use evidence::{check_no_double_sign, find_double_signs, DoubleSignEvidence};
pub use failover::{check_producer, leader_now, LastBlock, LeaderTurn};
pub use quorum::{batch_weight, BatchSignatureError, BatchWeight};
pub use votes::{
    check_threshold, verify_block_quorum, verify_vote, ConflictingVotes, QuorumCertificate,
    VoteOutcome, VoteTally, VoteWeights,
};

use crate::hash::{Address, H256};
use crate::keys::PublicKey;
use crate::params::{ChainParams, COIN};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why a consensus rule was not met. Each variant's message starts with the design's error name
/// (see [`ConsensusError::code`]) and names who and what.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsensusError {
    /// A sequencer that does not meet the requirements, or is not in the set at all.
    #[error("SEQ_NOT_ELIGIBLE: sequencer {address}: {reason}")]
    SeqNotEligible {
        /// The sequencer.
        address: Address,
        /// Why (stake, HAT score, weight, not registered).
        reason: String,
    },
    /// A block produced by a leader whose turn had already timed out.
    #[error(
        "SEQ_TIMEOUT: sequencer {sequencer} produced for slot {slot} after its turn timed out; \
         {expected} leads now (turn {turn})"
    )]
    SeqTimeout {
        /// The late producer.
        sequencer: Address,
        /// The slot.
        slot: u64,
        /// Who leads at the block's time.
        expected: Address,
        /// The failover turn at the block's time.
        turn: u64,
    },
    /// A block produced by a sequencer that is not the leader at that time.
    #[error(
        "SEQ_NOT_LEADER: sequencer {producer} is not the leader of slot {slot}; {expected} is"
    )]
    SeqNotLeader {
        /// The producer.
        producer: Address,
        /// The slot.
        slot: u64,
        /// Who leads at the block's time.
        expected: Address,
    },
    /// A sequencer signed two different blocks at one height.
    #[error(
        "SEQ_DOUBLE_SIGN: sequencer {sequencer} signed two blocks at height {height}: \
         {hash_a} and {hash_b}"
    )]
    SeqDoubleSign {
        /// The offender.
        sequencer: Address,
        /// The height.
        height: u64,
        /// One block.
        hash_a: H256,
        /// The other block.
        hash_b: H256,
        /// Evidence to post to L1.
        evidence: Box<DoubleSignEvidence>,
    },
    /// The signed (or accepting) weight is below the threshold.
    #[error(
        "CONSENSUS_NO_QUORUM: block {block_hash} has weight {signed_weight} of {total_weight}, \
         below the {threshold_pct}% threshold"
    )]
    ConsensusNoQuorum {
        /// The block.
        block_hash: H256,
        /// Weight that signed or accepted it.
        signed_weight: u128,
        /// Total weight of the set.
        total_weight: u128,
        /// Threshold in percent.
        threshold_pct: u32,
    },
    /// One voter voted twice differently in one round (slot and height).
    #[error(
        "CONSENSUS_CONFLICTING: voter {voter} voted twice in slot {slot}: {first_block} and \
         {second_block}"
    )]
    ConsensusConflicting {
        /// The voter.
        voter: Address,
        /// The slot.
        slot: u64,
        /// The block of the vote counted first.
        first_block: H256,
        /// The block of the conflicting vote.
        second_block: H256,
        /// Both signed votes (verifiable evidence).
        evidence: Box<ConflictingVotes>,
    },
    /// A vote or block signature that does not verify or does not belong to the round.
    #[error("CONSENSUS_INVALID_VOTE: signature of {voter} on block {block_hash}: {reason}")]
    ConsensusInvalidVote {
        /// The claimed signer.
        voter: Address,
        /// The block voted on or signed.
        block_hash: H256,
        /// What is wrong.
        reason: String,
    },
    /// An election with no eligible sequencer.
    #[error("SEQ_NOT_ELIGIBLE: no eligible sequencer for slot {slot} ({registered} registered)")]
    NoEligibleSequencers {
        /// The slot.
        slot: u64,
        /// How many were registered.
        registered: usize,
    },
    /// An election whose candidates all weigh nothing.
    #[error("SEQ_NOT_ELIGIBLE: the {candidates} candidates of slot {slot} have zero total weight")]
    ZeroTotalWeight {
        /// The slot.
        slot: u64,
        /// How many candidates there were.
        candidates: usize,
    },
    /// The same address twice in a registry or set.
    #[error("SEQ_DUPLICATE: sequencer {address} appears more than once in the set")]
    DuplicateSequencer {
        /// The address.
        address: Address,
    },
    /// A public key whose address is not the sequencer's.
    #[error(
        "SEQ_KEY_MISMATCH: sequencer {address} registered a key whose address is {key_address}"
    )]
    KeyMismatch {
        /// The sequencer.
        address: Address,
        /// HASH160 of the key given.
        key_address: Address,
    },
    /// The L1 block the election seed needs is not known.
    #[error("L1_BLOCK_UNKNOWN: the election seed of slot {slot} needs L1 block {height}")]
    L1BlockUnknown {
        /// The slot.
        slot: u64,
        /// The L1 height looked up.
        height: u64,
    },
    /// Evidence that proves nothing.
    #[error("EVIDENCE_INVALID: {0}")]
    InvalidEvidence(String),
    /// A parameter outside its domain (zero blocks per leader, zero timeout, bad threshold).
    #[error("PARAM_INVALID: {what}: {detail}")]
    InvalidParameter {
        /// Which parameter.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
}

impl ConsensusError {
    /// The stable error name (the design's table where one fits), for logs and RPC errors.
    pub fn code(&self) -> &'static str {
        match self {
            ConsensusError::SeqNotEligible { .. }
            | ConsensusError::NoEligibleSequencers { .. }
            | ConsensusError::ZeroTotalWeight { .. } => "SEQ_NOT_ELIGIBLE",
            ConsensusError::SeqTimeout { .. } => "SEQ_TIMEOUT",
            ConsensusError::SeqNotLeader { .. } => "SEQ_NOT_LEADER",
            ConsensusError::SeqDoubleSign { .. } => "SEQ_DOUBLE_SIGN",
            ConsensusError::ConsensusNoQuorum { .. } => "CONSENSUS_NO_QUORUM",
            ConsensusError::ConsensusConflicting { .. } => "CONSENSUS_CONFLICTING",
            ConsensusError::ConsensusInvalidVote { .. } => "CONSENSUS_INVALID_VOTE",
            ConsensusError::DuplicateSequencer { .. } => "SEQ_DUPLICATE",
            ConsensusError::KeyMismatch { .. } => "SEQ_KEY_MISMATCH",
            ConsensusError::L1BlockUnknown { .. } => "L1_BLOCK_UNKNOWN",
            ConsensusError::InvalidEvidence(_) => "EVIDENCE_INVALID",
            ConsensusError::InvalidParameter { .. } => "PARAM_INVALID",
        }
    }
}

/// Weight of a sequencer, as the real node computes it: `hatScore × ⌈√(stake in whole CAS)⌉`.
/// A negative stake weighs nothing.
pub fn sequencer_weight(stake: i64, hat_score: u32) -> u128 {
    if stake <= 0 {
        return 0;
    }
    let whole = (stake / COIN) as u128;
    hat_score as u128 * ceil_sqrt(whole)
}

/// ⌈√n⌉ exactly (integer arithmetic, no overflow for any `n`).
pub fn ceil_sqrt(n: u128) -> u128 {
    if n == 0 {
        return 0;
    }
    let mut x = (n as f64).sqrt() as u128;
    while x.checked_mul(x).is_none_or(|sq| sq > n) {
        x -= 1;
    }
    while (x + 1).checked_mul(x + 1).is_some_and(|sq| sq <= n) {
        x += 1;
    }
    if x * x == n {
        x
    } else {
        x + 1
    }
}

/// True when `signed` is at least `threshold_pct` percent of `total` (exact: `signed × 100 ≥
/// total × threshold_pct`), and `total` is not zero.
pub fn quorum_reached(signed: u128, total: u128, threshold_pct: u32) -> bool {
    total > 0 && signed.saturating_mul(100) >= total.saturating_mul(threshold_pct as u128)
}

/// A sequencer as the L1 registry lists it (the input of the election).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencerInfo {
    /// The sequencer's address.
    pub address: Address,
    /// Stake in the smallest unit.
    pub stake: i64,
    /// HAT v2 score.
    pub hat_score: u32,
}

impl SequencerInfo {
    /// [`sequencer_weight`] of this sequencer.
    pub fn weight(&self) -> u128 {
        sequencer_weight(self.stake, self.hat_score)
    }

    /// Check the eligibility rule: stake ≥ `min_stake`, HAT score ≥ `min_hat` and a weight above
    /// zero (a weightless sequencer could never be elected nor add to a quorum).
    pub fn check_eligible(&self, min_stake: i64, min_hat: u32) -> Result<(), ConsensusError> {
        let reason = if self.stake < min_stake {
            format!("stake {} is below the minimum {}", self.stake, min_stake)
        } else if self.hat_score < min_hat {
            format!(
                "HAT score {} is below the minimum {}",
                self.hat_score, min_hat
            )
        } else if self.weight() == 0 {
            format!(
                "weight is zero (stake {}, HAT score {})",
                self.stake, self.hat_score
            )
        } else {
            return Ok(());
        };
        Err(ConsensusError::SeqNotEligible {
            address: self.address,
            reason,
        })
    }
}

/// The eligible sequencers of `registry` under `params`, in registry order.
pub fn eligible_sequencers(registry: &[SequencerInfo], params: &ChainParams) -> Vec<SequencerInfo> {
    registry
        .iter()
        .filter(|s| {
            s.check_eligible(params.min_sequencer_stake, params.min_sequencer_hat)
                .is_ok()
        })
        .copied()
        .collect()
}

/// A registered sequencer with the public key its votes and block signatures are checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredSequencer {
    /// Address, stake and HAT score.
    pub info: SequencerInfo,
    /// Its public key (HASH160 of it is `info.address`).
    pub public_key: PublicKey,
}

impl RegisteredSequencer {
    /// The entry for `public_key` with this stake and HAT score (the address is the key's).
    pub fn new(public_key: PublicKey, stake: i64, hat_score: u32) -> Self {
        RegisteredSequencer {
            info: SequencerInfo {
                address: public_key.address(),
                stake,
                hat_score,
            },
            public_key,
        }
    }
}

/// The sequencers whose votes and signatures count in a slot, in registry order, with their keys
/// and weights. Addresses are unique and every key matches its address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequencerSet {
    members: Vec<RegisteredSequencer>,
    index: BTreeMap<Address, usize>,
    total_weight: u128,
}

impl SequencerSet {
    /// A set of `members` in registry order. A repeated address or a key that does not hash to
    /// its address is an error.
    pub fn new(members: Vec<RegisteredSequencer>) -> Result<Self, ConsensusError> {
        let mut index = BTreeMap::new();
        let mut total_weight: u128 = 0;
        for (i, m) in members.iter().enumerate() {
            let key_address = m.public_key.address();
            if key_address != m.info.address {
                return Err(ConsensusError::KeyMismatch {
                    address: m.info.address,
                    key_address,
                });
            }
            if index.insert(m.info.address, i).is_some() {
                return Err(ConsensusError::DuplicateSequencer {
                    address: m.info.address,
                });
            }
            total_weight = total_weight.saturating_add(m.info.weight());
        }
        Ok(SequencerSet {
            members,
            index,
            total_weight,
        })
    }

    /// The members that meet [`SequencerInfo::check_eligible`], in registry order.
    pub fn eligible(&self, min_stake: i64, min_hat: u32) -> SequencerSet {
        let kept: Vec<RegisteredSequencer> = self
            .members
            .iter()
            .filter(|m| m.info.check_eligible(min_stake, min_hat).is_ok())
            .copied()
            .collect();
        // A subset of a valid set is valid.
        SequencerSet::new(kept).unwrap_or_default()
    }

    /// The member with this address.
    pub fn get(&self, address: &Address) -> Option<&RegisteredSequencer> {
        self.index.get(address).and_then(|&i| self.members.get(i))
    }

    /// True when `address` is a member.
    pub fn contains(&self, address: &Address) -> bool {
        self.index.contains_key(address)
    }

    /// The weight of `address` (zero when it is not a member).
    pub fn weight_of(&self, address: &Address) -> u128 {
        self.get(address).map_or(0, |m| m.info.weight())
    }

    /// Sum of the members' weights (saturating).
    pub fn total_weight(&self) -> u128 {
        self.total_weight
    }

    /// The members in registry order.
    pub fn members(&self) -> &[RegisteredSequencer] {
        &self.members
    }

    /// Address, stake and HAT score of the members, in registry order (the election's input).
    pub fn infos(&self) -> Vec<SequencerInfo> {
        self.members.iter().map(|m| m.info).collect()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod test_keys {
    use super::*;
    use crate::keys::PrivateKey;

    /// Deterministic test key `i` (secret = i+1 repeated).
    pub(crate) fn key(i: u8) -> PrivateKey {
        PrivateKey::from_bytes(&[i.wrapping_add(1).max(1); 32]).unwrap()
    }

    /// A set of `n` sequencers with keys `key(0..n)` and the given stakes (whole CAS) and HATs.
    pub(crate) fn set_of(entries: &[(u8, i64, u32)]) -> SequencerSet {
        SequencerSet::new(
            entries
                .iter()
                .map(|&(i, cas, hat)| {
                    RegisteredSequencer::new(key(i).public_key(), cas * COIN, hat)
                })
                .collect(),
        )
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::*;
    use super::*;
    use crate::params::Network;

    #[test]
    fn weights_and_thresholds() {
        assert_eq!(ceil_sqrt(0), 0);
        assert_eq!(ceil_sqrt(1), 1);
        assert_eq!(ceil_sqrt(2), 2);
        assert_eq!(ceil_sqrt(100), 10);
        assert_eq!(ceil_sqrt(101), 11);
        assert_eq!(ceil_sqrt(u128::MAX), 1u128 << 64);
        let m = u64::MAX as u128;
        assert_eq!(ceil_sqrt(m * m), m);
        assert_eq!(ceil_sqrt(m * m + 1), m + 1);
        assert_eq!(sequencer_weight(100 * COIN, 70), 700);
        assert_eq!(sequencer_weight(10 * COIN + 5, 50), 50 * 4);
        assert_eq!(sequencer_weight(-1, 50), 0);
        assert_eq!(
            sequencer_weight(i64::MAX, u32::MAX),
            u32::MAX as u128 * 960_384
        );
        assert!(quorum_reached(67, 100, 67));
        assert!(!quorum_reached(66, 100, 67));
        assert!(!quorum_reached(0, 0, 67));
    }

    #[test]
    fn eligibility() {
        let p = ChainParams::for_network(Network::Regtest);
        let a = SequencerInfo {
            address: Address([1; 20]),
            stake: 10 * COIN,
            hat_score: 50,
        };
        a.check_eligible(p.min_sequencer_stake, p.min_sequencer_hat)
            .unwrap();
        let low_stake = SequencerInfo {
            stake: 10 * COIN - 1,
            ..a
        };
        let e = low_stake
            .check_eligible(p.min_sequencer_stake, p.min_sequencer_hat)
            .unwrap_err();
        assert_eq!(e.code(), "SEQ_NOT_ELIGIBLE");
        assert!(e.to_string().contains("stake"), "{e}");
        let low_hat = SequencerInfo { hat_score: 49, ..a };
        assert!(low_hat.check_eligible(p.min_sequencer_stake, 50).is_err());
        // weight zero even with no minimum
        let zero = SequencerInfo {
            stake: COIN - 1,
            hat_score: 90,
            ..a
        };
        assert!(zero
            .check_eligible(0, 0)
            .unwrap_err()
            .to_string()
            .contains("weight"));
        assert_eq!(
            eligible_sequencers(&[low_stake, a, low_hat, zero], &p),
            vec![a]
        );
    }

    #[test]
    fn sets_reject_duplicates_and_foreign_keys() {
        let s = set_of(&[(0, 100, 70), (1, 16, 50)]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.total_weight(), 700 + 200);
        assert_eq!(s.weight_of(&key(1).address()), 200);
        assert_eq!(s.weight_of(&key(5).address()), 0);
        assert!(s.contains(&key(0).address()));
        let dup = SequencerSet::new(vec![
            RegisteredSequencer::new(key(0).public_key(), COIN, 1),
            RegisteredSequencer::new(key(0).public_key(), COIN, 2),
        ]);
        assert!(matches!(
            dup,
            Err(ConsensusError::DuplicateSequencer { .. })
        ));
        let mut wrong = RegisteredSequencer::new(key(0).public_key(), COIN, 1);
        wrong.public_key = key(1).public_key();
        let e = SequencerSet::new(vec![wrong]).unwrap_err();
        assert!(matches!(e, ConsensusError::KeyMismatch { .. }));
        let only_big = s.eligible(50 * COIN, 0);
        assert_eq!(only_big.infos(), vec![s.members()[0].info]);
    }
}

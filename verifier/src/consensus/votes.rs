//! Votes, weighted tallies, conflicting votes and quorum certificates (design property 11).
//!
//! - A vote counts when its DER signature verifies against the voter's registered key and it
//!   belongs to the round (slot) being tallied; it weighs the voter's stake-and-reputation weight.
//! - One voter has one vote per round (slot and height). A second vote on another block, or
//!   with another choice, is *conflicting*: the first vote stays counted and both signed votes are
//!   kept as [`ConflictingVotes`] evidence. A repeat of the same choice on the same block is a
//!   harmless duplicate.
//! - A block has a quorum when the weight that signed it (a [`QuorumCertificate`], the
//!   `signatures` of an `L2Block`) or accepted it reaches the chain's threshold of the set's total
//!   weight. With a threshold above 50 % and honest sequencers signing at most one block per
//!   height, two blocks at one height cannot both reach it unless someone double-signed.

use super::{quorum_reached, ConsensusError, SequencerSet};
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{Address, H256};
use crate::types::block::{BlockSignature, L2Block, MAX_BLOCK_SIGNATURES};
use crate::types::consensus::{Vote, VoteType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Check a threshold in percent: 1 ..= 100.
pub fn check_threshold(threshold_pct: u32) -> Result<(), ConsensusError> {
    if (1..=100).contains(&threshold_pct) {
        Ok(())
    } else {
        Err(ConsensusError::InvalidParameter {
            what: "threshold_pct",
            detail: format!("{threshold_pct} is not in 1..=100"),
        })
    }
}

/// Verify `vote` against the voter's registered key in `set`; returns the voter's weight.
pub fn verify_vote(vote: &Vote, set: &SequencerSet) -> Result<u128, ConsensusError> {
    let member =
        set.get(&vote.voter_address)
            .ok_or_else(|| ConsensusError::ConsensusInvalidVote {
                voter: vote.voter_address,
                block_hash: vote.block_hash,
                reason: "the voter is not a sequencer of this set".into(),
            })?;
    vote.verify(&member.public_key)
        .map_err(|e| ConsensusError::ConsensusInvalidVote {
            voter: vote.voter_address,
            block_hash: vote.block_hash,
            reason: e.to_string(),
        })?;
    Ok(member.info.weight())
}

/// Weight of the ACCEPT, REJECT and ABSTAIN votes on one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteWeights {
    /// Weight that accepted.
    pub accept: u128,
    /// Weight that rejected.
    pub reject: u128,
    /// Weight that abstained.
    pub abstain: u128,
}

impl VoteWeights {
    fn add(&mut self, t: VoteType, w: u128) {
        let slot = match t {
            VoteType::Accept => &mut self.accept,
            VoteType::Reject => &mut self.reject,
            VoteType::Abstain => &mut self.abstain,
        };
        *slot = slot.saturating_add(w);
    }
}

/// Two signed votes by one voter in one round that disagree (different block or choice): the
/// evidence behind `CONSENSUS_CONFLICTING`. Wire format: `first ‖ second` (each a `Vote`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictingVotes {
    /// The vote counted first.
    pub first: Vote,
    /// The conflicting vote.
    pub second: Vote,
}

impl ConflictingVotes {
    /// Check the evidence against `set`: same voter, same slot, both signatures valid, and
    /// either two choices on one block or ACCEPTs of two blocks (rejecting or abstaining on one
    /// block and accepting another is no conflict). Returns the voter.
    pub fn verify(&self, set: &SequencerSet) -> Result<Address, ConsensusError> {
        let (a, b) = (&self.first, &self.second);
        if a.voter_address != b.voter_address {
            return Err(ConsensusError::InvalidEvidence(format!(
                "votes by two voters ({} and {})",
                a.voter_address, b.voter_address
            )));
        }
        if a.slot_number != b.slot_number {
            return Err(ConsensusError::InvalidEvidence(format!(
                "votes in two slots ({} and {})",
                a.slot_number, b.slot_number
            )));
        }
        if a.block_hash == b.block_hash && a.vote == b.vote {
            return Err(ConsensusError::InvalidEvidence(format!(
                "both votes are {:?} on {}",
                a.vote, a.block_hash
            )));
        }
        let two_accepts = a.vote == VoteType::Accept && b.vote == VoteType::Accept;
        if a.block_hash != b.block_hash && !two_accepts {
            return Err(ConsensusError::InvalidEvidence(format!(
                "votes on two blocks that are not both ACCEPT ({:?} on {}, {:?} on {})",
                a.vote, a.block_hash, b.vote, b.block_hash
            )));
        }
        for v in [a, b] {
            verify_vote(v, set)
                .map_err(|e| ConsensusError::InvalidEvidence(format!("a vote is invalid: {e}")))?;
        }
        Ok(a.voter_address)
    }
}

impl Encode for ConflictingVotes {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.first.encode_to(out);
        self.second.encode_to(out);
    }
}

impl Decode for ConflictingVotes {
    const MIN_SIZE: usize = 2 * Vote::MIN_SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(ConflictingVotes {
            first: Vote::decode_from(r)?,
            second: Vote::decode_from(r)?,
        })
    }
}

/// What [`VoteTally::add`] did with a valid vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteOutcome {
    /// The vote was counted.
    Counted,
    /// The voter had already cast this same vote; nothing changed.
    Duplicate,
}

/// The votes of one round (a slot and an L2 height), weighted by the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteTally {
    slot: u64,
    height: u64,
    /// Each voter's vote on each block it voted on.
    votes: BTreeMap<(Address, H256), Vote>,
    /// Each voter's one ACCEPT of the round.
    accepts: BTreeMap<Address, H256>,
    weights: BTreeMap<H256, VoteWeights>,
    conflicts: Vec<ConflictingVotes>,
}

impl VoteTally {
    /// An empty tally of the round at `slot` and `height`.
    pub fn new(slot: u64, height: u64) -> Self {
        VoteTally {
            slot,
            height,
            votes: BTreeMap::new(),
            accepts: BTreeMap::new(),
            weights: BTreeMap::new(),
            conflicts: Vec::new(),
        }
    }

    /// The round's slot.
    pub fn slot(&self) -> u64 {
        self.slot
    }

    /// The round's height.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Add `vote`, checked against `set`.
    ///
    /// Errors: a bad signature, an unknown voter or another slot is `CONSENSUS_INVALID_VOTE`
    /// (nothing changes). A voter has one vote per block and one ACCEPT per round: another
    /// choice on a block it voted on, or an ACCEPT of a second block, is `CONSENSUS_CONFLICTING`
    /// (the first stays counted, the pair is kept in [`conflicts`](Self::conflicts)). Rejecting
    /// (or abstaining on) one block and accepting another is not a conflict: a REJECT of an
    /// invalid proposal never stops the voter from accepting the valid block of the same round.
    pub fn add(&mut self, vote: &Vote, set: &SequencerSet) -> Result<VoteOutcome, ConsensusError> {
        if vote.slot_number != self.slot {
            return Err(ConsensusError::ConsensusInvalidVote {
                voter: vote.voter_address,
                block_hash: vote.block_hash,
                reason: format!(
                    "the vote is for slot {}, this round is slot {}",
                    vote.slot_number, self.slot
                ),
            });
        }
        let weight = verify_vote(vote, set)?;
        let voter = vote.voter_address;
        // The earlier vote this one contradicts: another choice on the same block, or a second
        // ACCEPT of another block in the round.
        let earlier = match self.votes.get(&(voter, vote.block_hash)) {
            Some(first) if first.vote == vote.vote => return Ok(VoteOutcome::Duplicate),
            Some(first) => Some(first.clone()),
            None if vote.vote == VoteType::Accept => self
                .accepts
                .get(&voter)
                .and_then(|h| self.votes.get(&(voter, *h)))
                .cloned(),
            None => None,
        };
        if let Some(first) = earlier {
            let evidence = ConflictingVotes {
                first,
                second: vote.clone(),
            };
            self.conflicts.push(evidence.clone());
            return Err(ConsensusError::ConsensusConflicting {
                voter,
                slot: self.slot,
                first_block: evidence.first.block_hash,
                second_block: vote.block_hash,
                evidence: Box::new(evidence),
            });
        }
        self.weights
            .entry(vote.block_hash)
            .or_default()
            .add(vote.vote, weight);
        if vote.vote == VoteType::Accept {
            self.accepts.insert(voter, vote.block_hash);
        }
        self.votes.insert((voter, vote.block_hash), vote.clone());
        Ok(VoteOutcome::Counted)
    }

    /// The weights on `block_hash` (zero when nobody voted on it).
    pub fn weights(&self, block_hash: &H256) -> VoteWeights {
        self.weights.get(block_hash).copied().unwrap_or_default()
    }

    /// The counted vote of `voter` on `block_hash`.
    pub fn vote_on(&self, voter: &Address, block_hash: &H256) -> Option<&Vote> {
        self.votes.get(&(*voter, *block_hash))
    }

    /// The block `voter` accepted in this round, if it accepted one.
    pub fn accepted_by(&self, voter: &Address) -> Option<H256> {
        self.accepts.get(voter).copied()
    }

    /// The conflicting vote pairs seen so far.
    pub fn conflicts(&self) -> &[ConflictingVotes] {
        &self.conflicts
    }

    /// True when the ACCEPT weight on `block_hash` reaches `threshold_pct` of the set's weight.
    pub fn has_quorum(&self, block_hash: &H256, set: &SequencerSet, threshold_pct: u32) -> bool {
        self.check_quorum(block_hash, set, threshold_pct).is_ok()
    }

    /// The ACCEPT weight on `block_hash` if it reaches the threshold, else
    /// `CONSENSUS_NO_QUORUM`.
    pub fn check_quorum(
        &self,
        block_hash: &H256,
        set: &SequencerSet,
        threshold_pct: u32,
    ) -> Result<u128, ConsensusError> {
        check_threshold(threshold_pct)?;
        let accept = self.weights(block_hash).accept;
        if quorum_reached(accept, set.total_weight(), threshold_pct) {
            Ok(accept)
        } else {
            Err(ConsensusError::ConsensusNoQuorum {
                block_hash: *block_hash,
                signed_weight: accept,
                total_weight: set.total_weight(),
                threshold_pct,
            })
        }
    }

    /// The block that reached the threshold, if one did (with a threshold above 50 % and one
    /// counted vote per voter, at most one can; the smallest hash is returned otherwise).
    pub fn accepted_block(&self, set: &SequencerSet, threshold_pct: u32) -> Option<H256> {
        self.weights
            .keys()
            .find(|h| self.has_quorum(h, set, threshold_pct))
            .copied()
    }
}

/// The sequencer signatures on one block hash: the proof that a quorum signed it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuorumCertificate {
    /// The block hash signed.
    pub block_hash: H256,
    /// DER signatures over the block hash.
    pub signatures: Vec<BlockSignature>,
}

impl QuorumCertificate {
    /// The certificate carried by `block` (its hash and `signatures`).
    pub fn of_block(block: &L2Block) -> Self {
        QuorumCertificate {
            block_hash: block.hash(),
            signatures: block.signatures.clone(),
        }
    }

    /// Check every signature (distinct registered signers, each verifying over the block hash)
    /// and that their weight reaches `threshold_pct` of the set's. Returns the signed weight.
    ///
    /// Errors: an unknown signer, a repeated signer or a bad signature is
    /// `CONSENSUS_INVALID_VOTE`; too little weight is `CONSENSUS_NO_QUORUM`.
    pub fn verify(&self, set: &SequencerSet, threshold_pct: u32) -> Result<u128, ConsensusError> {
        check_threshold(threshold_pct)?;
        let invalid = |s: &BlockSignature, reason: String| ConsensusError::ConsensusInvalidVote {
            voter: s.sequencer,
            block_hash: self.block_hash,
            reason,
        };
        if self.signatures.len() as u64 > MAX_BLOCK_SIGNATURES {
            return Err(ConsensusError::InvalidParameter {
                what: "signatures",
                detail: format!(
                    "{} signatures, at most {MAX_BLOCK_SIGNATURES}",
                    self.signatures.len()
                ),
            });
        }
        let mut seen = BTreeSet::new();
        let mut signed: u128 = 0;
        for s in &self.signatures {
            let member = set
                .get(&s.sequencer)
                .ok_or_else(|| invalid(s, "the signer is not a sequencer of this set".into()))?;
            if !seen.insert(s.sequencer) {
                return Err(invalid(s, "the signer signed twice".into()));
            }
            s.verify(&self.block_hash, &member.public_key)
                .map_err(|e| invalid(s, e.to_string()))?;
            signed = signed.saturating_add(member.info.weight());
        }
        if quorum_reached(signed, set.total_weight(), threshold_pct) {
            Ok(signed)
        } else {
            Err(ConsensusError::ConsensusNoQuorum {
                block_hash: self.block_hash,
                signed_weight: signed,
                total_weight: set.total_weight(),
                threshold_pct,
            })
        }
    }
}

/// Check that `block`'s signatures come from distinct registered sequencers, verify over its hash
/// and reach `threshold_pct` of the set's weight; returns the signed weight.
pub fn verify_block_quorum(
    block: &L2Block,
    set: &SequencerSet,
    threshold_pct: u32,
) -> Result<u128, ConsensusError> {
    QuorumCertificate::of_block(block).verify(set, threshold_pct)
}

#[cfg(test)]
mod tests {
    use super::super::test_keys::*;
    use super::*;
    use crate::keys::PrivateKey;

    fn vote(k: &PrivateKey, block: H256, t: VoteType, slot: u64) -> Vote {
        let mut v = Vote {
            block_hash: block,
            voter_address: k.address(),
            vote: t,
            reject_reason: if t == VoteType::Reject {
                "bad state root".into()
            } else {
                String::new()
            },
            signature: Vec::new(),
            timestamp: 1_700_000_000,
            slot_number: slot,
        };
        v.sign(k).unwrap();
        v
    }

    /// Weights 700, 200, 360, 700 = 1960.
    fn set4() -> SequencerSet {
        set_of(&[(0, 100, 70), (1, 16, 50), (2, 10, 90), (3, 100, 70)])
    }

    #[test]
    fn votes_are_verified_and_weighted() {
        let s = set4();
        let b = H256([1; 32]);
        assert_eq!(
            verify_vote(&vote(&key(2), b, VoteType::Accept, 0), &s),
            Ok(360)
        );
        let mut bad = vote(&key(2), b, VoteType::Accept, 0);
        bad.block_hash = H256([2; 32]);
        let e = verify_vote(&bad, &s).unwrap_err();
        assert_eq!(e.code(), "CONSENSUS_INVALID_VOTE");
        assert!(e.to_string().contains(&key(2).address().to_string()), "{e}");
        let stranger = vote(&key(9), b, VoteType::Accept, 0);
        assert_eq!(
            verify_vote(&stranger, &s).unwrap_err().code(),
            "CONSENSUS_INVALID_VOTE"
        );
    }

    #[test]
    fn tally_and_quorum() {
        let s = set4();
        let b = H256([1; 32]);
        let mut t = VoteTally::new(5, 26);
        assert_eq!(
            t.add(&vote(&key(0), b, VoteType::Accept, 5), &s),
            Ok(VoteOutcome::Counted)
        );
        assert_eq!(
            t.add(&vote(&key(0), b, VoteType::Accept, 5), &s),
            Ok(VoteOutcome::Duplicate)
        );
        assert_eq!(
            t.add(&vote(&key(1), b, VoteType::Reject, 5), &s),
            Ok(VoteOutcome::Counted)
        );
        assert_eq!(
            t.add(&vote(&key(2), b, VoteType::Abstain, 5), &s),
            Ok(VoteOutcome::Counted)
        );
        assert_eq!(
            t.weights(&b),
            VoteWeights {
                accept: 700,
                reject: 200,
                abstain: 360
            }
        );
        let e = t.check_quorum(&b, &s, 67).unwrap_err();
        assert_eq!(e.code(), "CONSENSUS_NO_QUORUM");
        assert!(e.to_string().contains("700 of 1960"), "{e}");
        assert_eq!(t.accepted_block(&s, 67), None);
        t.add(&vote(&key(3), b, VoteType::Accept, 5), &s).unwrap();
        // 1400 / 1960 = 71.4 %
        assert_eq!(t.check_quorum(&b, &s, 67), Ok(1400));
        assert!(!t.has_quorum(&b, &s, 72));
        assert_eq!(t.accepted_block(&s, 67), Some(b));
        assert!(t.check_quorum(&b, &s, 0).is_err());
        assert!(t.check_quorum(&b, &s, 101).is_err());
        // wrong slot
        let e = t
            .add(&vote(&key(1), b, VoteType::Accept, 6), &s)
            .unwrap_err();
        assert!(e.to_string().contains("slot 6"), "{e}");
    }

    #[test]
    fn conflicting_votes_are_evidence() {
        let s = set4();
        let (b1, b2) = (H256([1; 32]), H256([2; 32]));
        let mut t = VoteTally::new(5, 26);
        t.add(&vote(&key(0), b1, VoteType::Accept, 5), &s).unwrap();
        let e = t
            .add(&vote(&key(0), b2, VoteType::Accept, 5), &s)
            .unwrap_err();
        assert_eq!(e.code(), "CONSENSUS_CONFLICTING");
        let ConsensusError::ConsensusConflicting {
            evidence, voter, ..
        } = e
        else {
            panic!("not conflicting");
        };
        assert_eq!(voter, key(0).address());
        assert_eq!(evidence.verify(&s), Ok(key(0).address()));
        assert_eq!(
            ConflictingVotes::decode(&evidence.encode()).unwrap(),
            *evidence
        );
        // the first vote stays counted, the second never is
        assert_eq!(t.weights(&b1).accept, 700);
        assert_eq!(t.weights(&b2).accept, 0);
        assert_eq!(t.conflicts().len(), 1);
        // a changed choice on the same block conflicts too
        assert!(t.add(&vote(&key(0), b1, VoteType::Reject, 5), &s).is_err());
        // rejecting one block and accepting another does not: the ACCEPT counts
        let b3 = H256([3; 32]);
        assert!(t.add(&vote(&key(1), b3, VoteType::Reject, 5), &s).is_ok());
        assert!(t.add(&vote(&key(1), b1, VoteType::Accept, 5), &s).is_ok());
        assert_eq!(t.accepted_by(&key(1).address()), Some(b1));
        assert_eq!(t.weights(&b3).reject, t.weights(&b1).accept - 700);
        // …and such a pair is no evidence
        let not_conflicting = ConflictingVotes {
            first: vote(&key(1), b3, VoteType::Reject, 5),
            second: vote(&key(1), b1, VoteType::Accept, 5),
        };
        assert_eq!(
            not_conflicting.verify(&s).unwrap_err().code(),
            "EVIDENCE_INVALID"
        );
        // evidence that proves nothing
        let same = ConflictingVotes {
            first: vote(&key(0), b1, VoteType::Accept, 5),
            second: vote(&key(0), b1, VoteType::Accept, 5),
        };
        assert_eq!(same.verify(&s).unwrap_err().code(), "EVIDENCE_INVALID");
        let two_voters = ConflictingVotes {
            first: vote(&key(0), b1, VoteType::Accept, 5),
            second: vote(&key(1), b2, VoteType::Accept, 5),
        };
        assert!(two_voters.verify(&s).is_err());
        let two_slots = ConflictingVotes {
            first: vote(&key(0), b1, VoteType::Accept, 5),
            second: vote(&key(0), b2, VoteType::Accept, 6),
        };
        assert!(two_slots.verify(&s).is_err());
        let mut forged = ConflictingVotes {
            first: vote(&key(0), b1, VoteType::Accept, 5),
            second: vote(&key(0), b2, VoteType::Accept, 5),
        };
        forged.second.signature[10] ^= 1;
        assert!(forged.verify(&s).is_err());
    }

    #[test]
    fn block_quorum() {
        let s = set4();
        let mut block = L2Block::default();
        block.header.block_number = 26;
        let e = verify_block_quorum(&block, &s, 67).unwrap_err();
        assert_eq!(e.code(), "CONSENSUS_NO_QUORUM");
        block.sign(&key(0), 1).unwrap();
        block.sign(&key(2), 1).unwrap();
        assert!(verify_block_quorum(&block, &s, 67).is_err()); // 1060 / 1960
        block.sign(&key(1), 1).unwrap();
        assert_eq!(verify_block_quorum(&block, &s, 60), Ok(1260)); // 64 %
        assert!(verify_block_quorum(&block, &s, 67).is_err());
        block.sign(&key(3), 1).unwrap();
        assert_eq!(verify_block_quorum(&block, &s, 67), Ok(1960));
        // a repeated signer
        let mut twice = block.clone();
        twice.sign(&key(0), 2).unwrap();
        assert!(verify_block_quorum(&twice, &s, 67)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        // a stranger
        let mut stranger = block.clone();
        stranger.sign(&key(9), 2).unwrap();
        assert_eq!(
            verify_block_quorum(&stranger, &s, 67).unwrap_err().code(),
            "CONSENSUS_INVALID_VOTE"
        );
        // signatures over another header
        let mut moved = block.clone();
        moved.header.block_number = 27;
        assert_eq!(
            verify_block_quorum(&moved, &s, 67).unwrap_err().code(),
            "CONSENSUS_INVALID_VOTE"
        );
        // an empty set never has a quorum
        assert!(verify_block_quorum(&block, &SequencerSet::default(), 67).is_err());
    }
}

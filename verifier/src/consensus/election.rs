//! Leader election, exactly as the real node's `LeaderElection` computes it.
//!
//! - Slot of L2 block `n` = `n / blocksPerLeader`; the leader of slot `s` is valid until L2 block
//!   `(s + 1) · blocksPerLeader` (exclusive), the node's `validUntilBlock`.
//! - Seed of slot `s` = SHA256d(`s u64 ‖ L1 block hash at h ‖ chainId u64 ‖ CompactSize string
//!   "CASCOIN_L2_ELECTION_SEED_V1"`), `h = s·blocksPerLeader − 6`, or 0 when `s·blocksPerLeader ≤
//!   6` (the product wraps at 2⁶⁴ as the node's `uint64_t` does).
//! - Leader: the seed read as a 256-bit **little-endian** integer (the node's `UintToArith256`),
//!   modulo the total weight, located on the cumulative weights in registry order (the first
//!   candidate whose cumulative weight exceeds the value).
//! - Backups: up to [`MAX_BACKUP_SEQUENCERS`] other candidates by weight descending, ties by
//!   address in ascending **raw byte order** (the node's `uint160::operator<`, a `memcmp`).
//!
//! Where casl2 is stricter than the node: an empty candidate list or a zero total weight is an
//! error (the node falls back to a uniform choice), and a repeated address is an error.

use super::{ConsensusError, SequencerInfo};
use crate::codec::write_compact_size;
use crate::hash::{sha256d, Address, H256};
use crate::params::ChainParams;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Domain tag hashed into every election seed.
pub const ELECTION_SEED_TAG: &str = "CASCOIN_L2_ELECTION_SEED_V1";
/// The seed uses the L1 block this many blocks below `slot · blocksPerLeader`.
pub const ELECTION_SEED_CONFIRMATIONS: u64 = 6;
/// Most backups in an election result (the node's `MAX_BACKUP_SEQUENCERS`).
pub const MAX_BACKUP_SEQUENCERS: usize = 10;

/// The L1 height whose block hash goes into the seed of `slot`: `slot · blocks_per_leader − 6`,
/// or 0 when that product is at most 6. The product wraps at 2⁶⁴ like the node's `uint64_t`.
pub fn election_seed_l1_height(slot: u64, blocks_per_leader: u64) -> u64 {
    slot.wrapping_mul(blocks_per_leader)
        .saturating_sub(ELECTION_SEED_CONFIRMATIONS)
}

/// The seed of `slot` given the hash of the L1 block at [`election_seed_l1_height`] (raw byte
/// order, as the node stores a `uint256`).
pub fn election_seed_from_hash(slot: u64, l1_block_hash: &H256, chain_id: u64) -> H256 {
    let mut out = Vec::with_capacity(8 + 32 + 8 + 1 + ELECTION_SEED_TAG.len());
    out.extend_from_slice(&slot.to_le_bytes());
    out.extend_from_slice(&l1_block_hash.0);
    out.extend_from_slice(&chain_id.to_le_bytes());
    write_compact_size(&mut out, ELECTION_SEED_TAG.len() as u64);
    out.extend_from_slice(ELECTION_SEED_TAG.as_bytes());
    sha256d(&out)
}

/// The seed of `slot`, looking the L1 block hash up with `l1_block_hash_at(height)`; an unknown
/// block is [`ConsensusError::L1BlockUnknown`].
pub fn election_seed(
    slot: u64,
    blocks_per_leader: u64,
    l1_block_hash_at: impl FnOnce(u64) -> Option<H256>,
    chain_id: u64,
) -> Result<H256, ConsensusError> {
    let height = election_seed_l1_height(slot, blocks_per_leader);
    let hash = l1_block_hash_at(height).ok_or(ConsensusError::L1BlockUnknown { slot, height })?;
    Ok(election_seed_from_hash(slot, &hash, chain_id))
}

/// The slot of L2 block `block_number`: `block_number / blocks_per_leader`.
pub fn slot_of_block(block_number: u64, blocks_per_leader: u64) -> Result<u64, ConsensusError> {
    block_number
        .checked_div(blocks_per_leader)
        .ok_or_else(|| ConsensusError::InvalidParameter {
            what: "blocks_per_leader",
            detail: "must be at least 1".into(),
        })
}

/// The seed read as a 256-bit little-endian integer, modulo `modulus` (`None` for zero).
/// Exact for every modulus; no overflow.
pub fn seed_mod(seed: &H256, modulus: u128) -> Option<u128> {
    if modulus == 0 {
        return None;
    }
    let mut r: u128 = 0;
    // Most significant byte first: byte 31 down to byte 0, each bit from the top.
    for &byte in seed.0.iter().rev() {
        for bit in (0..8).rev() {
            // r = 2r mod m, without overflow (r < m).
            r = if r >= modulus - r {
                r - (modulus - r)
            } else {
                r * 2
            };
            if (byte >> bit) & 1 == 1 {
                r = if r == modulus - 1 { 0 } else { r + 1 };
            }
        }
    }
    Some(r)
}

/// The outcome of an election (the node's `LeaderElectionResult`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderElectionResult {
    /// The elected leader.
    pub leader: Address,
    /// The slot.
    pub slot: u64,
    /// The leader leads L2 blocks below this number: `(slot + 1) · blocksPerLeader`.
    pub valid_until_block: u64,
    /// Failover order after the leader (at most [`MAX_BACKUP_SEQUENCERS`], no repeats).
    pub backups: Vec<Address>,
    /// The seed used.
    pub seed: H256,
}

/// Elect the leader and backups of `slot` among `candidates` (taken as eligible, in registry
/// order) with `seed`.
///
/// Errors: no candidate ([`ConsensusError::NoEligibleSequencers`]), zero total weight
/// ([`ConsensusError::ZeroTotalWeight`]), a repeated address, `blocks_per_leader == 0`.
/// Weightless candidates can never lead but may be backups, as in the node.
pub fn elect_leader(
    slot: u64,
    candidates: &[SequencerInfo],
    seed: &H256,
    blocks_per_leader: u64,
) -> Result<LeaderElectionResult, ConsensusError> {
    if blocks_per_leader == 0 {
        return Err(ConsensusError::InvalidParameter {
            what: "blocks_per_leader",
            detail: "must be at least 1".into(),
        });
    }
    if candidates.is_empty() {
        return Err(ConsensusError::NoEligibleSequencers {
            slot,
            registered: 0,
        });
    }
    let mut seen = BTreeSet::new();
    for c in candidates {
        if !seen.insert(c.address) {
            return Err(ConsensusError::DuplicateSequencer { address: c.address });
        }
    }
    let total = candidates
        .iter()
        .fold(0u128, |acc, c| acc.saturating_add(c.weight()));
    let target = seed_mod(seed, total).ok_or(ConsensusError::ZeroTotalWeight {
        slot,
        candidates: candidates.len(),
    })?;
    let mut cumulative: u128 = 0;
    let mut leader = None;
    for c in candidates {
        cumulative = cumulative.saturating_add(c.weight());
        if target < cumulative {
            leader = Some(c.address);
            break;
        }
    }
    // target < total = the final cumulative weight, so a leader is always found; stay total.
    let leader = leader.ok_or(ConsensusError::ZeroTotalWeight {
        slot,
        candidates: candidates.len(),
    })?;
    let mut ranked: Vec<(u128, Address)> = candidates
        .iter()
        .filter(|c| c.address != leader)
        .map(|c| (c.weight(), c.address))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let backups = ranked
        .into_iter()
        .take(MAX_BACKUP_SEQUENCERS)
        .map(|(_, a)| a)
        .collect();
    Ok(LeaderElectionResult {
        leader,
        slot,
        valid_until_block: slot.saturating_add(1).saturating_mul(blocks_per_leader),
        backups,
        seed: *seed,
    })
}

/// The election rule with a chain's parameters: filters the registry by eligibility, then
/// [`elect_leader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderElection {
    /// L2 blocks per slot.
    pub blocks_per_leader: u64,
    /// Minimum stake (smallest units).
    pub min_stake: i64,
    /// Minimum HAT score.
    pub min_hat: u32,
}

impl LeaderElection {
    /// The rule of `params`.
    pub fn from_params(params: &ChainParams) -> Self {
        LeaderElection {
            blocks_per_leader: params.blocks_per_leader,
            min_stake: params.min_sequencer_stake,
            min_hat: params.min_sequencer_hat,
        }
    }

    /// The eligible members of `registry`, in registry order.
    pub fn eligible(&self, registry: &[SequencerInfo]) -> Vec<SequencerInfo> {
        registry
            .iter()
            .filter(|s| s.check_eligible(self.min_stake, self.min_hat).is_ok())
            .copied()
            .collect()
    }

    /// Elect the leader of `slot` from the eligible members of `registry` (in registry order).
    pub fn elect(
        &self,
        slot: u64,
        registry: &[SequencerInfo],
        seed: &H256,
    ) -> Result<LeaderElectionResult, ConsensusError> {
        let eligible = self.eligible(registry);
        if eligible.is_empty() {
            return Err(ConsensusError::NoEligibleSequencers {
                slot,
                registered: registry.len(),
            });
        }
        elect_leader(slot, &eligible, seed, self.blocks_per_leader)
    }

    /// The seed of `slot` (see [`election_seed`]).
    pub fn seed(
        &self,
        slot: u64,
        l1_block_hash_at: impl FnOnce(u64) -> Option<H256>,
        chain_id: u64,
    ) -> Result<H256, ConsensusError> {
        election_seed(slot, self.blocks_per_leader, l1_block_hash_at, chain_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Network, COIN};

    /// SHA256d(7 ‖ 0x01..0x20 ‖ 1 ‖ tag), computed independently with Python's hashlib.
    const SEED_SLOT7: &str = "0x635211972e85d9a5041cb1389040680016df25cae8c1695cc57504da9159f90b";
    /// SHA256d(0 ‖ 32 zero bytes ‖ 1 ‖ tag).
    const SEED_SLOT0: &str = "0x2e3f4074643700aabdb072659f34100d7455a0fc26b1844fcfcc690e4a9e4ded";

    fn l1_hash() -> H256 {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8 + 1;
        }
        H256(b)
    }

    pub(super) fn four() -> Vec<SequencerInfo> {
        [(1u8, 100, 70), (2, 16, 50), (3, 10, 90), (4, 100, 70)]
            .iter()
            .map(|&(a, cas, hat)| SequencerInfo {
                address: Address([a; 20]),
                stake: cas * COIN,
                hat_score: hat,
            })
            .collect()
    }

    #[test]
    fn seed_heights() {
        assert_eq!(election_seed_l1_height(7, 5), 29);
        assert_eq!(election_seed_l1_height(0, 5), 0);
        assert_eq!(election_seed_l1_height(1, 5), 0);
        assert_eq!(election_seed_l1_height(1, 6), 0);
        assert_eq!(election_seed_l1_height(1, 7), 1);
        assert_eq!(election_seed_l1_height(2, 5), 4);
        // wraps like uint64_t: 2^63 · 2 = 0
        assert_eq!(election_seed_l1_height(1 << 63, 2), 0);
        assert_eq!(election_seed_l1_height(u64::MAX, 1), u64::MAX - 6);
    }

    #[test]
    fn seed_vectors() {
        let s = election_seed(7, 5, |h| (h == 29).then(l1_hash), 1).unwrap();
        assert_eq!(s.to_hex(), SEED_SLOT7);
        assert_eq!(election_seed_from_hash(7, &l1_hash(), 1), s);
        let s0 = election_seed_from_hash(0, &H256::ZERO, 1);
        assert_eq!(s0.to_hex(), SEED_SLOT0);
        let e = election_seed(7, 5, |_| None, 1).unwrap_err();
        assert_eq!(
            e,
            ConsensusError::L1BlockUnknown {
                slot: 7,
                height: 29
            }
        );
        assert_ne!(election_seed_from_hash(7, &l1_hash(), 2), s);
    }

    #[test]
    fn seed_mod_is_little_endian_and_exact() {
        let mut b = [0u8; 32];
        b[0] = 5;
        assert_eq!(seed_mod(&H256(b), 1000), Some(5));
        b[1] = 1; // 256 + 5
        assert_eq!(seed_mod(&H256(b), 1000), Some(261));
        assert_eq!(seed_mod(&H256(b), 0), None);
        assert_eq!(seed_mod(&H256([0xff; 32]), 1), Some(0));
        // 2^256 − 1 mod (2^128 − 1) = 0; mod 2^127 = 2^127 − 1; mod u128::MAX handled
        assert_eq!(seed_mod(&H256([0xff; 32]), u128::MAX), Some(0));
        assert_eq!(
            seed_mod(&H256([0xff; 32]), 1u128 << 127),
            Some((1u128 << 127) - 1)
        );
        // SEED_SLOT7 mod 1960 = 523 (Python: int.from_bytes(seed, 'little') % 1960)
        let s = H256::from_hex(SEED_SLOT7).unwrap();
        assert_eq!(seed_mod(&s, 1960), Some(523));
    }

    #[test]
    fn election_vector() {
        // weights 700, 200, 360, 700 (total 1960); target 523 < 700 → 0x01…
        let r = elect_leader(7, &four(), &H256::from_hex(SEED_SLOT7).unwrap(), 5).unwrap();
        assert_eq!(r.leader, Address([1; 20]));
        assert_eq!(
            r.backups,
            vec![Address([4; 20]), Address([3; 20]), Address([2; 20])]
        );
        assert_eq!(r.valid_until_block, 40);
        assert_eq!(r.slot, 7);
        // a seed equal to 700 lands on the second candidate, 900 on the third
        let mut b = [0u8; 32];
        b[..2].copy_from_slice(&700u16.to_le_bytes());
        assert_eq!(
            elect_leader(7, &four(), &H256(b), 5).unwrap().leader,
            Address([2; 20])
        );
        b[..2].copy_from_slice(&900u16.to_le_bytes());
        let r = elect_leader(7, &four(), &H256(b), 5).unwrap();
        assert_eq!(r.leader, Address([3; 20]));
        assert_eq!(
            r.backups,
            vec![Address([1; 20]), Address([4; 20]), Address([2; 20])]
        );
    }

    #[test]
    fn at_most_ten_backups() {
        let many: Vec<SequencerInfo> = (1..=15u8)
            .map(|a| SequencerInfo {
                address: Address([a; 20]),
                stake: 100 * COIN,
                hat_score: 50 + a as u32,
            })
            .collect();
        let r = elect_leader(0, &many, &H256([7; 32]), 5).unwrap();
        assert_eq!(r.backups.len(), MAX_BACKUP_SEQUENCERS);
        assert!(!r.backups.contains(&r.leader));
    }

    #[test]
    fn errors_not_defaults() {
        let seed = H256([9; 32]);
        assert!(matches!(
            elect_leader(3, &[], &seed, 5),
            Err(ConsensusError::NoEligibleSequencers { slot: 3, .. })
        ));
        let weightless = vec![SequencerInfo {
            address: Address([1; 20]),
            stake: 0,
            hat_score: 90,
        }];
        assert!(matches!(
            elect_leader(3, &weightless, &seed, 5),
            Err(ConsensusError::ZeroTotalWeight { .. })
        ));
        let mut dup = four();
        dup.push(dup[0]);
        assert!(matches!(
            elect_leader(3, &dup, &seed, 5),
            Err(ConsensusError::DuplicateSequencer { .. })
        ));
        assert!(elect_leader(3, &four(), &seed, 0).is_err());
        assert!(slot_of_block(10, 0).is_err());
        assert_eq!(slot_of_block(10, 5), Ok(2));
        let rule = LeaderElection::from_params(&ChainParams::for_network(Network::Mainnet));
        // mainnet: min stake 100 CAS, min HAT 70 → only 0x01 and 0x04 qualify
        let r = rule.elect(1, &four(), &seed).unwrap();
        assert!(r.leader == Address([1; 20]) || r.leader == Address([4; 20]));
        assert_eq!(r.backups.len(), 1);
        assert_eq!(r.valid_until_block, 20);
        let none = rule.elect(1, &four()[1..3], &seed).unwrap_err();
        assert!(matches!(
            none,
            ConsensusError::NoEligibleSequencers { registered: 2, .. }
        ));
    }
}

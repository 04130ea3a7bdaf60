//! Failover: who leads a slot after leader timeouts (design property 3).
//!
//! The failover order of a slot is the leader followed by its backups
//! ([`LeaderElectionResult::failover_order`]); it never repeats an address. After `k` timeouts
//! in a slot, position `k mod len` leads: the `k`-th backup for `1 ≤ k ≤ backups`, and then the
//! order starts over with the leader (casl2's choice for liveness; the node gives up instead).
//!
//! Who leads *now* depends only on arguments: the slot's start time, the newest block of the slot
//! (its time and producer), the current time and the leader timeout, all in milliseconds. The
//! producer of the newest block keeps the turn: the turn counts on from its position, one step
//! per full timeout without a block.

use super::election::LeaderElectionResult;
use super::ConsensusError;
use crate::hash::Address;
use serde::{Deserialize, Serialize};

impl LeaderElectionResult {
    /// The leader followed by the backups: the order in which sequencers take over.
    pub fn failover_order(&self) -> Vec<Address> {
        let mut v = Vec::with_capacity(1 + self.backups.len());
        v.push(self.leader);
        v.extend_from_slice(&self.backups);
        v
    }

    /// Number of sequencers in the failover order.
    pub fn failover_len(&self) -> usize {
        1 + self.backups.len()
    }

    /// Who leads after `missed` timeouts in this slot: position `missed mod len` of
    /// [`failover_order`](Self::failover_order) (0 → the leader, k → the k-th backup).
    pub fn leader_at(&self, missed: u64) -> Address {
        let len = self.failover_len() as u64;
        match (missed % len) as usize {
            0 => self.leader,
            i => self.backups.get(i - 1).copied().unwrap_or(self.leader),
        }
    }

    /// Position of `address` in the failover order, if it is there.
    pub fn failover_position(&self, address: &Address) -> Option<usize> {
        if *address == self.leader {
            return Some(0);
        }
        self.backups
            .iter()
            .position(|a| a == address)
            .map(|i| i + 1)
    }
}

/// The newest block of the current slot: when it was made and by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastBlock {
    /// Its time (ms).
    pub time_ms: u64,
    /// Its producer.
    pub producer: Address,
}

/// Who leads at a given moment, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderTurn {
    /// The sequencer that may produce now.
    pub leader: Address,
    /// Number of turns since the slot began (position = `turn mod len`).
    pub turn: u64,
    /// Its position in the failover order.
    pub position: usize,
    /// When this turn began (ms).
    pub turn_started_ms: u64,
    /// When this turn times out if no block comes (ms; saturating).
    pub deadline_ms: u64,
}

/// Who leads `result`'s slot at `now_ms`.
///
/// `slot_start_ms` is when the slot began; `last_block` is the newest block **of this slot**, if
/// any (a block older than the slot start is ignored). Without a block in the slot, the turn is
/// `⌊(now − slot_start) / timeout⌋`; after a block by position `p` at time `t`, it is `p + ⌊(now −
/// t) / timeout⌋` (a time before the reference counts as no time elapsed). A producer outside the
/// failover order is [`ConsensusError::SeqNotEligible`]; a zero timeout is an error.
pub fn leader_now(
    result: &LeaderElectionResult,
    slot_start_ms: u64,
    last_block: Option<LastBlock>,
    now_ms: u64,
    leader_timeout_ms: u64,
) -> Result<LeaderTurn, ConsensusError> {
    if leader_timeout_ms == 0 {
        return Err(ConsensusError::InvalidParameter {
            what: "leader_timeout_ms",
            detail: "must be at least 1".into(),
        });
    }
    let (base, reference) = match last_block {
        Some(b) if b.time_ms >= slot_start_ms => {
            let p = result.failover_position(&b.producer).ok_or_else(|| {
                ConsensusError::SeqNotEligible {
                    address: b.producer,
                    reason: format!("not in the failover order of slot {}", result.slot),
                }
            })?;
            (p as u64, b.time_ms)
        }
        _ => (0, slot_start_ms),
    };
    let missed = now_ms.saturating_sub(reference) / leader_timeout_ms;
    let turn = base.saturating_add(missed);
    let turn_started_ms = reference.saturating_add(missed.saturating_mul(leader_timeout_ms));
    Ok(LeaderTurn {
        leader: result.leader_at(turn),
        turn,
        position: (turn % result.failover_len() as u64) as usize,
        turn_started_ms,
        deadline_ms: turn_started_ms.saturating_add(leader_timeout_ms),
    })
}

/// Check that `producer` may produce a block of `result`'s slot at `block_time_ms`, given the
/// slot start and the previous block of the slot. Returns the turn on success.
///
/// A producer whose turn already passed is [`ConsensusError::SeqTimeout`]; any other wrong
/// producer is [`ConsensusError::SeqNotLeader`].
pub fn check_producer(
    result: &LeaderElectionResult,
    producer: &Address,
    slot_start_ms: u64,
    last_block: Option<LastBlock>,
    block_time_ms: u64,
    leader_timeout_ms: u64,
) -> Result<LeaderTurn, ConsensusError> {
    let turn = leader_now(
        result,
        slot_start_ms,
        last_block,
        block_time_ms,
        leader_timeout_ms,
    )?;
    if turn.leader == *producer {
        return Ok(turn);
    }
    match result.failover_position(producer) {
        Some(_) => Err(ConsensusError::SeqTimeout {
            sequencer: *producer,
            slot: result.slot,
            expected: turn.leader,
            turn: turn.turn,
        }),
        None => Err(ConsensusError::SeqNotLeader {
            producer: *producer,
            slot: result.slot,
            expected: turn.leader,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::H256;

    fn result() -> LeaderElectionResult {
        LeaderElectionResult {
            leader: Address([1; 20]),
            slot: 4,
            valid_until_block: 25,
            backups: vec![Address([4; 20]), Address([3; 20]), Address([2; 20])],
            seed: H256::ZERO,
        }
    }

    #[test]
    fn order_and_positions() {
        let r = result();
        assert_eq!(r.failover_order().len(), 4);
        assert_eq!(r.leader_at(0), Address([1; 20]));
        assert_eq!(r.leader_at(1), Address([4; 20]));
        assert_eq!(r.leader_at(3), Address([2; 20]));
        assert_eq!(r.leader_at(4), Address([1; 20]));
        assert_eq!(r.leader_at(u64::MAX), r.leader_at(u64::MAX % 4));
        assert_eq!(r.failover_position(&Address([3; 20])), Some(2));
        assert_eq!(r.failover_position(&Address([9; 20])), None);
    }

    #[test]
    fn leader_now_counts_timeouts() {
        let r = result();
        let t = leader_now(&r, 1_000, None, 1_000, 3_000).unwrap();
        assert_eq!((t.leader, t.turn, t.deadline_ms), (r.leader, 0, 4_000));
        let t = leader_now(&r, 1_000, None, 3_999, 3_000).unwrap();
        assert_eq!(t.turn, 0);
        let t = leader_now(&r, 1_000, None, 4_000, 3_000).unwrap();
        assert_eq!(
            (t.leader, t.turn, t.turn_started_ms),
            (Address([4; 20]), 1, 4_000)
        );
        let t = leader_now(&r, 1_000, None, 13_000, 3_000).unwrap();
        assert_eq!((t.leader, t.position), (Address([1; 20]), 0)); // wrapped
                                                                   // now before the slot start: no time elapsed
        assert_eq!(leader_now(&r, 1_000, None, 0, 3_000).unwrap().turn, 0);
        // a block by backup 2 (0x03) keeps the turn with it
        let last = LastBlock {
            time_ms: 8_000,
            producer: Address([3; 20]),
        };
        let t = leader_now(&r, 1_000, Some(last), 9_000, 3_000).unwrap();
        assert_eq!((t.leader, t.turn), (Address([3; 20]), 2));
        let t = leader_now(&r, 1_000, Some(last), 11_000, 3_000).unwrap();
        assert_eq!(t.leader, Address([2; 20]));
        // a block older than the slot is ignored
        let old = LastBlock {
            time_ms: 500,
            producer: Address([9; 20]),
        };
        assert_eq!(
            leader_now(&r, 1_000, Some(old), 1_500, 3_000).unwrap().turn,
            0
        );
        let stranger = LastBlock {
            time_ms: 1_500,
            producer: Address([9; 20]),
        };
        assert_eq!(
            leader_now(&r, 1_000, Some(stranger), 1_600, 3_000)
                .unwrap_err()
                .code(),
            "SEQ_NOT_ELIGIBLE"
        );
        assert!(leader_now(&r, 1_000, None, 1_600, 0).is_err());
        // extremes do not overflow
        let t = leader_now(&r, 0, None, u64::MAX, 1).unwrap();
        assert_eq!(t.deadline_ms, u64::MAX);
    }

    #[test]
    fn producers_are_checked() {
        let r = result();
        check_producer(&r, &r.leader, 0, None, 100, 3_000).unwrap();
        let e = check_producer(&r, &r.leader, 0, None, 3_100, 3_000).unwrap_err();
        assert_eq!(e.code(), "SEQ_TIMEOUT");
        assert!(e.to_string().contains(&Address([4; 20]).to_string()), "{e}");
        let e = check_producer(&r, &Address([9; 20]), 0, None, 100, 3_000).unwrap_err();
        assert_eq!(e.code(), "SEQ_NOT_LEADER");
        check_producer(&r, &Address([4; 20]), 0, None, 3_100, 3_000).unwrap();
    }
}

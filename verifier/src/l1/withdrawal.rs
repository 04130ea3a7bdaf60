//! The withdrawal path rule, written once: whether a withdrawal proven against an anchor is paid
//! on the standard path (the anchor is final) or on the fast path (the sender's L1 HAT score is
//! high enough, the amount small enough and the fast challenge period over), and from which L1
//! height. [`L1State`](super::L1State) applies it when it pays a withdrawal; a wallet applies it
//! to learn when to ask.

use super::registry::L2Status;
use crate::codec::Encode;
use crate::hash::H256;
use crate::params::ChainParams;
use crate::settlement::{Anchor, L1Error};
use crate::smt::{verify_compact_proof, CompactProof};
use crate::types::WithdrawalRecord;
use serde::{Deserialize, Serialize};

/// The path by which the L1 pays a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WithdrawalPath {
    /// Against a final anchor (after the standard challenge period).
    Standard,
    /// Against an anchor not final yet, after its fast challenge period.
    Fast,
}

impl WithdrawalPath {
    /// `"standard"` or `"fast"`.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalPath::Standard => "standard",
            WithdrawalPath::Fast => "fast",
        }
    }
}

/// True when a sender with L1 HAT score `hat` may take the fast path for `amount` under
/// `params`: `hat ≥ fast_withdrawal_hat` and `amount ≤ max_deposit_per_tx`.
pub fn fast_withdrawal_eligible(params: &ChainParams, hat: u32, amount: i64) -> bool {
    hat >= params.fast_withdrawal_hat && amount <= params.max_deposit_per_tx
}

/// True when no anchor from the first non-final one (`finalized_count`) up to `index` is
/// disputed (a dispute holds back the fast path of every later anchor too).
pub fn undisputed_through(anchors: &[Anchor], finalized_count: u64, index: u64) -> bool {
    anchors
        .iter()
        .skip(usize::try_from(finalized_count).unwrap_or(usize::MAX))
        .take_while(|a| a.index <= index)
        .all(|a| !a.disputed)
}

/// What decides the path of one withdrawal proven against one anchor of one chain.
#[derive(Debug, Clone, Copy)]
pub struct WithdrawalCase<'a> {
    /// The L2 chain.
    pub chain: u64,
    /// Its parameters.
    pub params: &'a ChainParams,
    /// Its status (EMERGENCY voids the anchors that are not final).
    pub status: L2Status,
    /// The anchor whose post-state root proves the withdrawal record.
    pub anchor: &'a Anchor,
    /// The anchor is final (`anchor.index < finalizedCount`).
    pub finalized: bool,
    /// No anchor from the first non-final one up to `anchor` is disputed
    /// (see [`undisputed_through`]).
    pub undisputed: bool,
    /// The L2 sender's HAT score on L1.
    pub hat: u32,
    /// The amount withdrawn.
    pub amount: i64,
}

impl WithdrawalCase<'_> {
    /// The path on which the L1 pays the withdrawal at L1 height `tip`, or why it does not yet:
    /// `BRIDGE_NOT_FINAL` (neither final nor past a fast deadline it may use) or
    /// `BRIDGE_WITHDRAWAL_LIMIT` (the fast path is open but the amount is over its limit).
    pub fn check(&self, tip: u64) -> Result<WithdrawalPath, L1Error> {
        if self.finalized {
            return Ok(WithdrawalPath::Standard);
        }
        let (p, a) = (self.params, self.anchor);
        let fast = self.status != L2Status::Emergency
            && self.undisputed
            && self.hat >= p.fast_withdrawal_hat
            && tip >= a.fast_deadline;
        if !fast {
            return Err(L1Error::NotFinal(format!(
                "anchor {} of chain {} is final at L1 height {} (fast: {} for HAT ≥ {}, sender has {})",
                a.index, self.chain, a.deadline, a.fast_deadline, p.fast_withdrawal_hat, self.hat
            )));
        }
        if self.amount > p.max_deposit_per_tx {
            return Err(L1Error::WithdrawalLimit(format!(
                "fast withdrawals are limited to {}; {} waits for the standard period",
                p.max_deposit_per_tx, self.amount
            )));
        }
        Ok(WithdrawalPath::Fast)
    }

    /// The path that will apply and the L1 height from which [`WithdrawalCase::check`] passes
    /// if nothing changes (a final anchor: its deadline, already reached). `None` when this
    /// anchor cannot pay as things stand: it is void (the chain is in EMERGENCY and it is not
    /// final) or a dispute holds it back.
    pub fn payable_from(&self) -> Option<(WithdrawalPath, u64)> {
        let a = self.anchor;
        if self.finalized {
            return Some((WithdrawalPath::Standard, a.deadline));
        }
        if self.status == L2Status::Emergency || !self.undisputed {
            return None;
        }
        if fast_withdrawal_eligible(self.params, self.hat, self.amount) {
            Some((WithdrawalPath::Fast, a.fast_deadline))
        } else {
            Some((WithdrawalPath::Standard, a.deadline))
        }
    }
}

/// Check that `proof` proves `record` (its exact encoding, at its key) under the state root
/// `root`, as the L1 does before it pays (`BRIDGE_PROOF_INVALID` otherwise).
pub fn check_withdrawal_proof(
    record: &WithdrawalRecord,
    proof: &CompactProof,
    root: &H256,
) -> Result<(), L1Error> {
    if proof.key != record.key() {
        return Err(L1Error::ProofInvalid(format!(
            "proof is for key {}, the record's key is {}",
            proof.key,
            record.key()
        )));
    }
    match verify_compact_proof(proof, root) {
        Ok(Some(v)) if v == record.encode() => Ok(()),
        Ok(_) => Err(L1Error::ProofInvalid(
            "the proven value is not the record".into(),
        )),
        Err(e) => Err(L1Error::ProofInvalid(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Address;
    use crate::params::Network;
    use crate::types::BatchHeader;

    fn anchor(index: u64, disputed: bool) -> Anchor {
        Anchor {
            index,
            l1_height: 10,
            header: BatchHeader::default(),
            batch_hash: H256::ZERO,
            data_root: H256::ZERO,
            poster: Address::default(),
            deadline: 110,
            fast_deadline: 20,
            messages_start: 0,
            messages_end: 0,
            disputed,
            finalized: false,
            payload: Vec::new(),
            commitment: None,
            steps: 0,
            sequencers: Vec::new(),
            signers: Vec::new(),
            l1_time: 0,
            last_timestamp: 0,
        }
    }

    #[test]
    fn the_path_follows_hat_amount_status_and_disputes() {
        let p = ChainParams::for_network(Network::Regtest);
        let a = anchor(1, false);
        let case = WithdrawalCase {
            chain: 1,
            params: &p,
            status: L2Status::Active,
            anchor: &a,
            finalized: false,
            undisputed: true,
            hat: p.fast_withdrawal_hat,
            amount: 1,
        };
        assert_eq!(case.payable_from(), Some((WithdrawalPath::Fast, 20)));
        assert!(matches!(case.check(19), Err(L1Error::NotFinal(_))));
        assert_eq!(case.check(20), Ok(WithdrawalPath::Fast));
        let low = WithdrawalCase {
            hat: p.fast_withdrawal_hat - 1,
            ..case
        };
        assert_eq!(low.payable_from(), Some((WithdrawalPath::Standard, 110)));
        assert!(matches!(low.check(50), Err(L1Error::NotFinal(_))));
        let big = WithdrawalCase {
            amount: p.max_deposit_per_tx + 1,
            ..case
        };
        assert!(!fast_withdrawal_eligible(&p, big.hat, big.amount));
        assert_eq!(big.payable_from(), Some((WithdrawalPath::Standard, 110)));
        assert!(matches!(big.check(50), Err(L1Error::WithdrawalLimit(_))));
        let emergency = WithdrawalCase {
            status: L2Status::Emergency,
            ..case
        };
        assert_eq!(emergency.payable_from(), None);
        assert!(matches!(emergency.check(50), Err(L1Error::NotFinal(_))));
        let held = WithdrawalCase {
            undisputed: false,
            ..case
        };
        assert_eq!(held.payable_from(), None);
        let fin = WithdrawalCase {
            finalized: true,
            status: L2Status::Emergency,
            ..big
        };
        assert_eq!(fin.check(0), Ok(WithdrawalPath::Standard));
        assert_eq!(fin.payable_from(), Some((WithdrawalPath::Standard, 110)));
    }

    #[test]
    fn a_dispute_holds_back_later_anchors() {
        let anchors = vec![anchor(0, false), anchor(1, true), anchor(2, false)];
        assert!(undisputed_through(&anchors, 0, 0));
        assert!(!undisputed_through(&anchors, 0, 1));
        assert!(!undisputed_through(&anchors, 0, 2));
        assert!(undisputed_through(&anchors, 2, 2));
    }
}

//! The withdrawal path rule, written once: whether a withdrawal proven against an anchor is paid
//! on the standard path (the anchor is final) or on the fast path (the sender's L1 HAT score is
//! high enough, the amount small enough and the fast challenge period over), and from which L1
//! height. [`L1State`](super::L1State) applies it when it pays a withdrawal; a wallet applies it
//! to learn when to ask.

use super::registry::L2Status;
use crate::params::ChainParams;
use crate::settlement::{Anchor, L1Error};
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

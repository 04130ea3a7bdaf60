//! Events: what applying a block did.

use super::registry::L2Status;
use crate::fraud::{FraudKind, GameResult};
use crate::hash::{Address, H256};
use serde::{Deserialize, Serialize};

/// Something that happened while applying a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum L1Event {
    /// L1 coins moved.
    Transfer {
        /// Payer.
        from: Address,
        /// Payee.
        to: Address,
        /// Amount.
        amount: i64,
    },
    /// A HAT score was set.
    HatScoreSet {
        /// The address.
        address: Address,
        /// Its new score.
        score: u32,
    },
    /// A chain was registered.
    ChainRegistered {
        /// The chain.
        chain: u64,
    },
    /// A chain's status changed.
    ChainStatusChanged {
        /// The chain.
        chain: u64,
        /// Old status.
        from: L2Status,
        /// New status.
        to: L2Status,
        /// Why.
        reason: String,
    },
    /// A sequencer announced itself.
    SequencerAnnounced {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
        /// Its stake.
        stake: i64,
    },
    /// A sequencer was reported offline (`SEQ_OFFLINE`) and left the active set.
    SequencerOffline {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
        /// The number of consecutive anchors it did not sign (the chain's `offlineAfter`).
        missed: u64,
    },
    /// A sequencer started unbonding (by itself or because its stake fell below the minimum).
    SequencerUnbonding {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
        /// When its stake can be withdrawn.
        release_at: u64,
    },
    /// An unbonded stake was paid back and the sequencer left the registry.
    StakeWithdrawn {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
        /// Amount returned.
        amount: i64,
    },
    /// A sequencer was slashed.
    SequencerSlashed {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
        /// Amount taken.
        amount: i64,
        /// Who received it (`None`: burned).
        beneficiary: Option<Address>,
    },
    /// An L1→L2 message was queued.
    MessageQueued {
        /// The chain.
        chain: u64,
        /// Its queue index.
        index: u64,
        /// Its hash (id).
        hash: H256,
    },
    /// A queued message passed its inclusion deadline unconsumed.
    MessageMissed {
        /// The chain.
        chain: u64,
        /// Its queue index.
        index: u64,
    },
    /// A batch was anchored.
    BatchAnchored {
        /// The chain.
        chain: u64,
        /// Anchor index.
        index: u64,
        /// Batch header hash.
        batch_hash: H256,
        /// Its challenge deadline (L1 height).
        deadline: u64,
    },
    /// An anchor became final.
    AnchorFinalized {
        /// The chain.
        chain: u64,
        /// Anchor index.
        index: u64,
        /// Its post-state root, now the chain's finalized root.
        root: H256,
    },
    /// A withdrawal was paid from the escrow.
    WithdrawalPaid {
        /// The chain.
        chain: u64,
        /// Withdrawal id.
        id: H256,
        /// L1 recipient.
        recipient: Address,
        /// Amount.
        amount: i64,
    },
    /// An emergency exit was paid from the escrow.
    EmergencyExit {
        /// The chain.
        chain: u64,
        /// The account (L2 and L1 address).
        address: Address,
        /// Amount.
        amount: i64,
    },
    /// A deposit no final anchor consumed was refunded on entering EMERGENCY.
    DepositRefunded {
        /// The chain.
        chain: u64,
        /// Its queue index.
        index: u64,
        /// The L1 depositor.
        recipient: Address,
        /// Amount.
        amount: i64,
    },
    /// A bisection game was opened and the challenger's bond locked.
    ChallengeOpened {
        /// Game id.
        game: u64,
        /// The chain.
        chain: u64,
        /// The disputed anchor.
        anchor: u64,
        /// The challenger.
        challenger: Address,
        /// The locked bond.
        bond: i64,
        /// Steps in the disputed trace.
        steps: u64,
    },
    /// The defender revealed its root at a midpoint.
    BisectionRevealed {
        /// Game id.
        game: u64,
        /// The midpoint.
        index: u64,
        /// The defender's root there.
        root: H256,
    },
    /// The challenger answered; the interval is now `agreed_index..disputed_index`.
    BisectionAnswered {
        /// Game id.
        game: u64,
        /// Whether it agreed with the revealed root.
        agree: bool,
        /// Index of the agreed root.
        agreed_index: u64,
        /// Index of the disputed root.
        disputed_index: u64,
    },
    /// An availability challenge opened (`ChallengeAvailability`).
    AvailabilityChallenged {
        /// Challenge id.
        id: u64,
        /// The chain.
        chain: u64,
        /// The anchor.
        anchor: u64,
        /// Who asked.
        challenger: Address,
        /// Shares asked for.
        shares: u32,
        /// The answer must come below this L1 height.
        deadline: u64,
    },
    /// An availability challenge ended; its bond was paid to `bond_to`.
    AvailabilityResolved {
        /// Challenge id.
        id: u64,
        /// How.
        result: crate::l1::AvailabilityResult,
        /// Payee of the bond.
        bond_to: Address,
        /// The bond.
        bond: i64,
    },
    /// A game ended.
    GameResolved {
        /// Game id.
        game: u64,
        /// How.
        result: GameResult,
    },
    /// A challenger's bond was paid out (back to the challenger, or to the poster).
    BondPaid {
        /// Game id.
        game: u64,
        /// Payee.
        to: Address,
        /// Amount.
        amount: i64,
    },
    /// Fraud was proven against an anchor.
    FraudProven {
        /// The chain.
        chain: u64,
        /// The anchor.
        anchor: u64,
        /// The proof's type.
        kind: FraudKind,
        /// Who proved it (rewarded).
        prover: Address,
    },
    /// Anchors `from..` were removed; the chain continues from `root`.
    AnchorsReverted {
        /// The chain.
        chain: u64,
        /// First removed anchor index.
        from: u64,
        /// The chain's latest root after the revert.
        root: H256,
    },
}

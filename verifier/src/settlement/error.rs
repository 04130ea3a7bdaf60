//! The errors of the L1 rules, named after the design's error tables where one fits, each with a
//! stable numeric code for JSON-RPC.

use crate::hash::{Address, H256};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why an L1 block or an L1 transaction was rejected.
///
/// A rejected block changes nothing. A rejected transaction changes nothing either, except that
/// a transaction whose signature and nonce were good consumes its nonce (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail")]
pub enum L1Error {
    /// The block does not extend the tip (height, previous hash, time, size).
    #[error("L1_INVALID_BLOCK: {0}")]
    InvalidBlock(String),
    /// The transaction's signature is malformed or does not recover `from`.
    #[error("L1_BAD_SIGNATURE: {0}")]
    BadSignature(String),
    /// The transaction's nonce is not the sender's next nonce (replays fail here).
    #[error("L1_BAD_NONCE: expected nonce {expected}, got {got}")]
    BadNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The sender's L1 balance is too low.
    #[error("L1_INSUFFICIENT_FUNDS: {address} has {balance}, needs {needed}")]
    InsufficientFunds {
        /// The account.
        address: Address,
        /// Its balance.
        balance: i64,
        /// What the operation needs.
        needed: i64,
    },
    /// The sender may not perform this operation.
    #[error("L1_NOT_AUTHORIZED: {0}")]
    NotAuthorized(String),
    /// An amount is zero, negative or otherwise out of range.
    #[error("L1_INVALID_AMOUNT: {0}")]
    InvalidAmount(String),
    /// Checked arithmetic overflowed.
    #[error("L1_OVERFLOW: arithmetic overflow in {0}")]
    Overflow(String),
    /// An argument is malformed (name, parameters, sizes, encodings).
    #[error("L1_INVALID_ARGUMENT: {0}")]
    InvalidArgument(String),
    /// The operation needs something this build or this version does not have.
    #[error("L1_NOT_SUPPORTED: {0}")]
    NotSupported(String),
    /// No chain with this id is registered.
    #[error("CHAIN_UNKNOWN: no L2 chain {0}")]
    UnknownChain(u64),
    /// A chain with this id is already registered.
    #[error("CHAIN_EXISTS: L2 chain {0} is already registered")]
    ChainExists(u64),
    /// The chain's status does not allow the operation.
    #[error("CHAIN_WRONG_STATUS: chain {chain} is {status}: {detail}")]
    WrongStatus {
        /// The chain.
        chain: u64,
        /// Its status.
        status: String,
        /// What was attempted.
        detail: String,
    },
    /// The sequencer does not meet the chain's stake or reputation minimum.
    #[error("SEQ_NOT_ELIGIBLE: {0}")]
    SeqNotEligible(String),
    /// The address is not a (suitable) sequencer of the chain.
    #[error("SEQ_UNKNOWN: {address} is not {detail} of chain {chain}")]
    SeqUnknown {
        /// The chain.
        chain: u64,
        /// The address.
        address: Address,
        /// What it should have been ("an active sequencer", …).
        detail: String,
    },
    /// The sequencer is already registered on the chain.
    #[error("SEQ_ALREADY_REGISTERED: {address} is already a sequencer of chain {chain}")]
    SeqAlreadyRegistered {
        /// The chain.
        chain: u64,
        /// The sequencer.
        address: Address,
    },
    /// The sequencer's stake is still bonded.
    #[error("SEQ_STILL_BONDED: stake of {address} is released at L1 height {release_at}")]
    SeqStillBonded {
        /// The sequencer.
        address: Address,
        /// When the stake can be withdrawn.
        release_at: u64,
    },
    /// A deposit over the per-transaction or per-day limit.
    #[error("BRIDGE_DEPOSIT_LIMIT: {0}")]
    DepositLimit(String),
    /// A withdrawal over the limit of its path.
    #[error("BRIDGE_WITHDRAWAL_LIMIT: {0}")]
    WithdrawalLimit(String),
    /// The chain's escrow cannot pay.
    #[error("BRIDGE_INSUFFICIENT_BALANCE: escrow of chain {chain} holds {escrow}, needs {needed}")]
    BridgeInsufficientBalance {
        /// The chain.
        chain: u64,
        /// What the escrow holds.
        escrow: i64,
        /// What the payment needs.
        needed: i64,
    },
    /// A challenge that cannot be accepted (window closed, anchor final, already disputed).
    #[error("BRIDGE_CHALLENGE_FAILED: {0}")]
    ChallengeFailed(String),
    /// A tree proof does not prove what is claimed.
    #[error("BRIDGE_PROOF_INVALID: {0}")]
    ProofInvalid(String),
    /// The withdrawal or emergency exit was already paid.
    #[error("BRIDGE_ALREADY_PAID: {0}")]
    AlreadyPaid(String),
    /// The anchor is not final (for this withdrawal).
    #[error("BRIDGE_NOT_FINAL: {0}")]
    NotFinal(String),
    /// The burn script is invalid.
    #[error("BRIDGE_BURN_INVALID: {0}")]
    BurnInvalid(String),
    /// The forced-inclusion transaction is invalid.
    #[error("BRIDGE_FORCED_TX_INVALID: {0}")]
    ForcedTxInvalid(String),
    /// The batch's signatures do not reach the quorum.
    #[error("CONSENSUS_NO_QUORUM: signed weight {signed} of {total}, threshold {threshold_pct}%")]
    NoQuorum {
        /// Weight of the valid signatures.
        signed: u128,
        /// Weight of all active sequencers.
        total: u128,
        /// The chain's threshold.
        threshold_pct: u32,
    },
    /// A batch signature is invalid, duplicated or by a non-sequencer.
    #[error("CONSENSUS_INVALID_VOTE: {0}")]
    InvalidVote(String),
    /// The batch does not start from the chain's latest anchored root.
    #[error("STATE_ROOT_MISMATCH: {what} is {got}, expected {expected}")]
    StateRootMismatch {
        /// Which root.
        what: String,
        /// The root given.
        got: H256,
        /// The root required.
        expected: H256,
    },
    /// The batch is inconsistent (block numbers, chain id, L1 anchor, contents).
    #[error("BATCH_INVALID: {0}")]
    BatchInvalid(String),
    /// The DA commitment does not match the payload.
    #[error("BATCH_DA_MISMATCH: {0}")]
    DaMismatch(String),
    /// The batch's blocks do not consume the next L1→L2 messages in order.
    #[error("BATCH_MESSAGES_MISMATCH: {0}")]
    MessagesMismatch(String),
    /// A fraud proof (one-step or non-interactive) does not prove what it claims.
    #[error("FRAUD_PROOF_INVALID: {0}")]
    FraudProofInvalid(String),
    /// No game with this id.
    #[error("GAME_UNKNOWN: no fraud-proof game {0}")]
    UnknownGame(u64),
    /// The move is not the sender's to make now (wrong party, phase, or the game is over).
    #[error("GAME_WRONG_TURN: {0}")]
    GameWrongTurn(String),
    /// The mover's chess clock has run out (anyone may call `Timeout`).
    #[error("GAME_CLOCK_EXPIRED: {0}")]
    GameClockExpired(String),
    /// `Timeout` before the clock of the side to move ran out.
    #[error("GAME_CLOCK_RUNNING: {0}")]
    GameClockRunning(String),
    /// No anchor with this index.
    #[error("ANCHOR_UNKNOWN: chain {chain} has no anchor {index}")]
    UnknownAnchor {
        /// The chain.
        chain: u64,
        /// The anchor index.
        index: u64,
    },
}

impl L1Error {
    /// The stable numeric code (JSON-RPC error code). Groups: 1000s L1 transactions and blocks,
    /// 1100s sequencers, 1200s bridge, 1300s consensus, 1400s state and batches, 1500s registry, 1600s fraud proofs.
    pub fn code(&self) -> i32 {
        match self {
            L1Error::InvalidBlock(_) => 1000,
            L1Error::BadSignature(_) => 1001,
            L1Error::BadNonce { .. } => 1002,
            L1Error::InsufficientFunds { .. } => 1003,
            L1Error::NotAuthorized(_) => 1004,
            L1Error::InvalidAmount(_) => 1005,
            L1Error::Overflow(_) => 1006,
            L1Error::InvalidArgument(_) => 1007,
            L1Error::NotSupported(_) => 1008,
            L1Error::SeqNotEligible(_) => 1101,
            L1Error::SeqUnknown { .. } => 1102,
            L1Error::SeqAlreadyRegistered { .. } => 1103,
            L1Error::SeqStillBonded { .. } => 1104,
            L1Error::DepositLimit(_) => 1201,
            L1Error::WithdrawalLimit(_) => 1202,
            L1Error::BridgeInsufficientBalance { .. } => 1203,
            L1Error::ChallengeFailed(_) => 1204,
            L1Error::ProofInvalid(_) => 1205,
            L1Error::AlreadyPaid(_) => 1206,
            L1Error::NotFinal(_) => 1207,
            L1Error::BurnInvalid(_) => 1208,
            L1Error::ForcedTxInvalid(_) => 1209,
            L1Error::NoQuorum { .. } => 1301,
            L1Error::InvalidVote(_) => 1302,
            L1Error::StateRootMismatch { .. } => 1401,
            L1Error::BatchInvalid(_) => 1402,
            L1Error::DaMismatch(_) => 1403,
            L1Error::MessagesMismatch(_) => 1404,
            L1Error::UnknownChain(_) => 1501,
            L1Error::ChainExists(_) => 1502,
            L1Error::WrongStatus { .. } => 1503,
            L1Error::UnknownAnchor { .. } => 1504,
            L1Error::FraudProofInvalid(_) => 1601,
            L1Error::UnknownGame(_) => 1602,
            L1Error::GameWrongTurn(_) => 1603,
            L1Error::GameClockExpired(_) => 1604,
            L1Error::GameClockRunning(_) => 1605,
        }
    }

    /// The error's name (the design's name where one fits), as in its message.
    pub fn name(&self) -> &'static str {
        match self {
            L1Error::InvalidBlock(_) => "L1_INVALID_BLOCK",
            L1Error::BadSignature(_) => "L1_BAD_SIGNATURE",
            L1Error::BadNonce { .. } => "L1_BAD_NONCE",
            L1Error::InsufficientFunds { .. } => "L1_INSUFFICIENT_FUNDS",
            L1Error::NotAuthorized(_) => "L1_NOT_AUTHORIZED",
            L1Error::InvalidAmount(_) => "L1_INVALID_AMOUNT",
            L1Error::Overflow(_) => "L1_OVERFLOW",
            L1Error::InvalidArgument(_) => "L1_INVALID_ARGUMENT",
            L1Error::NotSupported(_) => "L1_NOT_SUPPORTED",
            L1Error::SeqNotEligible(_) => "SEQ_NOT_ELIGIBLE",
            L1Error::SeqUnknown { .. } => "SEQ_UNKNOWN",
            L1Error::SeqAlreadyRegistered { .. } => "SEQ_ALREADY_REGISTERED",
            L1Error::SeqStillBonded { .. } => "SEQ_STILL_BONDED",
            L1Error::DepositLimit(_) => "BRIDGE_DEPOSIT_LIMIT",
            L1Error::WithdrawalLimit(_) => "BRIDGE_WITHDRAWAL_LIMIT",
            L1Error::BridgeInsufficientBalance { .. } => "BRIDGE_INSUFFICIENT_BALANCE",
            L1Error::ChallengeFailed(_) => "BRIDGE_CHALLENGE_FAILED",
            L1Error::ProofInvalid(_) => "BRIDGE_PROOF_INVALID",
            L1Error::AlreadyPaid(_) => "BRIDGE_ALREADY_PAID",
            L1Error::NotFinal(_) => "BRIDGE_NOT_FINAL",
            L1Error::BurnInvalid(_) => "BRIDGE_BURN_INVALID",
            L1Error::ForcedTxInvalid(_) => "BRIDGE_FORCED_TX_INVALID",
            L1Error::NoQuorum { .. } => "CONSENSUS_NO_QUORUM",
            L1Error::InvalidVote(_) => "CONSENSUS_INVALID_VOTE",
            L1Error::StateRootMismatch { .. } => "STATE_ROOT_MISMATCH",
            L1Error::BatchInvalid(_) => "BATCH_INVALID",
            L1Error::DaMismatch(_) => "BATCH_DA_MISMATCH",
            L1Error::MessagesMismatch(_) => "BATCH_MESSAGES_MISMATCH",
            L1Error::UnknownChain(_) => "CHAIN_UNKNOWN",
            L1Error::ChainExists(_) => "CHAIN_EXISTS",
            L1Error::WrongStatus { .. } => "CHAIN_WRONG_STATUS",
            L1Error::UnknownAnchor { .. } => "ANCHOR_UNKNOWN",
            L1Error::FraudProofInvalid(_) => "FRAUD_PROOF_INVALID",
            L1Error::UnknownGame(_) => "GAME_UNKNOWN",
            L1Error::GameWrongTurn(_) => "GAME_WRONG_TURN",
            L1Error::GameClockExpired(_) => "GAME_CLOCK_EXPIRED",
            L1Error::GameClockRunning(_) => "GAME_CLOCK_RUNNING",
        }
    }
}

/// Checked addition of amounts, naming the context on overflow.
pub(crate) fn add(a: i64, b: i64, what: &str) -> Result<i64, L1Error> {
    a.checked_add(b)
        .ok_or_else(|| L1Error::Overflow(what.into()))
}

/// Checked subtraction of amounts, naming the context on overflow.
pub(crate) fn sub(a: i64, b: i64, what: &str) -> Result<i64, L1Error> {
    a.checked_sub(b)
        .ok_or_else(|| L1Error::Overflow(what.into()))
}

/// Checked addition of heights, naming the context on overflow.
pub(crate) fn add_u64(a: u64, b: u64, what: &str) -> Result<u64, L1Error> {
    a.checked_add(b)
        .ok_or_else(|| L1Error::Overflow(what.into()))
}

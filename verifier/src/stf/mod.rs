//! The state transition function: one deterministic piece of code for blocks, batches and
//! stateless one-step execution.
//!
//! A block runs as a sequence of [`Step`]s — each L1 message it applies, each transaction, and
//! the block end — and every step is a pure function of (pre-state, step, [`BlockContext`]).
//! The same [`execute_step`] runs in the sequencer's and the follower's fast block application
//! ([`execute_block`], [`verify_block`], [`seal_block`]), in the challenger's per-step trace
//! ([`trace_block`]) and in the L1's one-step proof check ([`execute_step_stateless`]).
//!
//! Rules per step: the signature recovers to `from`; the chain id is this chain's; the nonce is
//! the account's; value and gas price are not negative; the gas limit covers the intrinsic gas;
//! the balance covers value plus fee; all arithmetic is checked. DEPOSIT and FORCED_INCLUSION
//! come only from the L1 queue, in queue order. The fee is gas × price less the reputation
//! discount, split 70 % to the producer, 20 % to the sequencer pool (paid out to the other
//! active sequencers at the block end), 10 % burned. CONTRACT_DEPLOY and CONTRACT_CALL run in
//! the EVM (revm, spec Cancun, [`cvm`]): the sender pays the fee on the gas used, also when the
//! call reverts or runs out of gas; contract storage is a per-contract tree of the same kind
//! whose root is the account's `storageRoot`, code a leaf of the account tree (docs/protocol.md,
//! "CVM"). CROSS_LAYER_MSG is not supported yet: it fails with an `unsupported transaction
//! type` receipt and pays the intrinsic fee.
//!
//! Rules per block ([`check_block_rules`]): parent link, strictly increasing timestamps within
//! the allowed drift of the L1 anchor's time (Property 15), the L1 message hashes, the
//! transactions root, the gas limit, and the per-sender transaction limit by reputation
//! (Property 14).

mod accounts;
mod block;
pub mod cvm;
mod exec;
mod history;
pub mod rules;
mod state;
mod stateless;
mod types;

pub use block::{
    apply_parts, block_context, block_steps, check_block_rules, execute_block, execute_block_steps,
    execute_block_steps_with_senders, recover_senders, seal_block, trace_block, verify_block,
    BlockEnv, BlockOutcome, BlockSenders,
};
pub use exec::{check_value_and_gas, execute_step, queue_cursor, queue_key};
pub use history::StateHistory;
pub use state::{storage_root_field, storage_tree_root, AtRoot, Overlay, StateView};
pub use stateless::{build_step_witness, execute_step_stateless, StepWitness, StorageWitness};
pub use types::{BlockContext, CvmOutcome, Log, Receipt, Step, TxError};

use crate::hash::{Address, H256};
use thiserror::Error;

/// Why a step or a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StfError {
    /// A transaction breaks a rule (the block holding it is invalid).
    #[error("transaction {hash}: {reason}")]
    InvalidTransaction {
        /// The transaction.
        hash: H256,
        /// The rule it breaks.
        reason: TxError,
    },
    /// An L1 message out of queue order.
    #[error("L1 message {got} applied, the queue is at {expected}")]
    L1MessageOutOfOrder {
        /// Index expected next.
        expected: u64,
        /// Index given.
        got: u64,
    },
    /// A timestamp rule is broken (Property 15).
    #[error("TIMESTAMP_MANIPULATION: {0}")]
    TimestampManipulation(String),
    /// A sender has more transactions in the block than its reputation allows (Property 14).
    #[error("rate limit: {address} has {count} transactions in the block, limit {limit}")]
    RateLimit {
        /// The sender.
        address: Address,
        /// Its transactions in the block.
        count: u32,
        /// Its limit.
        limit: u32,
    },
    /// Another block-level rule is broken.
    #[error("SEQ_INVALID_BLOCK: {0}")]
    BlockInvalid(String),
    /// Execution gives another root than the block claims.
    #[error("STATE_ROOT_MISMATCH: computed {computed}, block claims {claimed}")]
    StateRootMismatch {
        /// Computed root.
        computed: H256,
        /// Claimed root.
        claimed: H256,
    },
    /// The witness does not prove what the step touches.
    #[error("STATE_PROOF_INVALID: witness lacks tree node {hash} at height {height}")]
    MissingWitness {
        /// The missing node.
        hash: H256,
        /// Its height.
        height: usize,
    },
    /// The witness does not verify against the pre-state root.
    #[error("STATE_PROOF_INVALID: witness: {0}")]
    WitnessInvalid(String),
    /// The state store failed or holds something invalid.
    #[error("state: {0}")]
    State(String),
}

#[cfg(test)]
mod tests;

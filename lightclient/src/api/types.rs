//! Parameter and result types of the RPC methods that have a shape of their own (the others
//! carry verifier types such as [`casl2_verifier::l1::Anchor`] directly). Field names are the
//! wire names of `docs/protocol.md`.

use casl2_verifier::l1::{L1Receipt, L2ChainInfo};
use casl2_verifier::H256;
use serde::{Deserialize, Serialize};

/// `l2_getchain`: a chain as the devnet L1 holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainState {
    /// The registry record.
    pub info: L2ChainInfo,
    /// Funds held in the bridge escrow.
    pub escrow: i64,
    /// Total deposited.
    pub total_deposited: i64,
    /// Total paid out to withdrawals.
    pub total_withdrawn: i64,
    /// Total paid out to emergency exits.
    pub total_exited: i64,
    /// Total refunded.
    pub total_refunded: i64,
    /// Length of the L1→L2 queue.
    pub queue_length: u64,
    /// Hash chain head of the queue.
    pub queue_head: H256,
    /// Queue messages consumed by anchored batches.
    pub consumed: u64,
    /// Queue messages consumed by finalized batches.
    pub finalized_consumed: u64,
    /// Queue messages that missed their inclusion deadline.
    pub missed: Vec<u64>,
    /// Number of anchors.
    pub anchors: u64,
    /// Number of finalized anchors.
    pub finalized_anchors: u64,
    /// Number of sequencers.
    pub sequencers: u64,
}

/// One entry of `l2_getwithdrawals`: a withdrawal L1 has paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidWithdrawal {
    /// The withdrawal id.
    pub id: H256,
    /// The amount paid.
    pub amount: i64,
}

/// `getblock <hash> 1` on the devnet: what the callers of a verbose block read (the answer
/// has more fields: `txs`, `events`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerboseBlock {
    /// The block hash.
    pub hash: H256,
    /// Its height.
    pub height: u64,
    /// Its time.
    pub time: u64,
    /// Whether it is in the active chain.
    pub in_active_chain: bool,
    /// Its transaction ids, in order (absent for a block off the active chain).
    #[serde(default)]
    pub txids: Vec<H256>,
    /// The receipts of its transactions, in the same order.
    #[serde(default)]
    pub receipts: Vec<L1Receipt>,
}

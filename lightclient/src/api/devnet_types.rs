//! The answers of the devnet L1's methods that have a shape of their own (the others carry
//! verifier types such as [`casl2_verifier::l1::Anchor`] or [`casl2_verifier::fraud::Game`]
//! directly). Field names are the wire names of `docs/protocol.md`, "Devnet L1 RPC"; the
//! server builds these and the client reads them, so neither writes a field name again.

use casl2_verifier::l1::{L1Event, L1Receipt, L1Tx, L2ChainInfo, Sequencer};
use casl2_verifier::{Address, H256};
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

/// An L1 account as the L1 reports it (what [`crate::l1::L1Client::account`] answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1AccountInfo {
    /// Spendable balance (smallest units).
    pub balance: i64,
    /// Nonce of the next transaction to be mined.
    pub nonce: u64,
    /// Nonce for the next transaction to send (counting the L1's mempool).
    pub next_nonce: u64,
    /// HAT v2 score.
    pub hat_score: u32,
}

/// `getaccount`: the address and the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetAccount {
    /// The address asked about.
    pub address: Address,
    /// Its account (`balance`, `nonce`, `nextNonce`, `hatScore` beside `address`).
    #[serde(flatten)]
    pub account: L1AccountInfo,
}

/// One entry of `l2_getsequencers`: the registered sequencer and the HAT score L1 gives it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencerEntry {
    /// The registry record (its fields sit beside `hatScore`).
    #[serde(flatten)]
    pub sequencer: Sequencer,
    /// The sequencer's current HAT v2 score.
    pub hat_score: u32,
}

/// `getblock <hash> <verbosity ≠ 0>`: a block with its transactions.
///
/// A block of the active chain has every field but `invalid`; a stored block off the active
/// chain (`inActiveChain: false`) has `hash`, `height`, `time`, `prevHash`, `inActiveChain`,
/// `invalid` and `txs` only. The fields that only one of the two has are `Option`s, absent
/// from the JSON when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerboseBlock {
    /// The block hash.
    pub hash: H256,
    /// Its height.
    pub height: u64,
    /// Its time (Unix seconds).
    pub time: u64,
    /// The previous block's hash.
    pub prev_hash: H256,
    /// Whether it is in the active chain.
    pub in_active_chain: bool,
    /// Its transactions, in order.
    pub txs: Vec<L1Tx>,
    /// Merkle root of its transaction ids (active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txs_root: Option<H256>,
    /// Tip height − height + 1 (active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmations: Option<u64>,
    /// Its transaction ids, in order (active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txids: Option<Vec<H256>>,
    /// The receipts of its transactions, in the same order (active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<Vec<L1Receipt>>,
    /// The events of the block's own rules (active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<L1Event>>,
    /// Whether it was marked invalid (`invalidateblock`; off the active chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid: Option<bool>,
}

impl VerboseBlock {
    /// The receipt of transaction `id` if the block carries it: `Some((index, receipt))`,
    /// the receipt `None` when the block lists the id without one.
    pub fn receipt_of(&self, id: &H256) -> Option<(usize, Option<&L1Receipt>)> {
        let i = self.txids.as_ref()?.iter().position(|t| t == id)?;
        Some((i, self.receipts.as_ref().and_then(|r| r.get(i))))
    }
}

/// `getblock`'s answer: the serialized block as hex (no `0x`) for verbosity 0, the
/// [`VerboseBlock`] for any other verbosity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BlockAnswer {
    /// Verbosity 0: hex of the serialized `L1Block`.
    Hex(String),
    /// Verbosity ≠ 0: the block with its transactions.
    Verbose(Box<VerboseBlock>),
}

impl<'de> Deserialize<'de> for BlockAnswer {
    /// A string is [`BlockAnswer::Hex`], anything else must be a [`VerboseBlock`] (and a
    /// malformed one says which field is wrong).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(BlockAnswer::Hex(s)),
            v => VerboseBlock::deserialize(v)
                .map(|b| BlockAnswer::Verbose(Box::new(b)))
                .map_err(D::Error::custom),
        }
    }
}

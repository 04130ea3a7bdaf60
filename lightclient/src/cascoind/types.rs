//! The real node's answers, field for field, decoded with its quirks: booleans as `true`/`false`
//! or `0`/`1`, hashes and addresses in reversed `GetHex()` order (stored here in raw order),
//! CAS amounts as decimal numbers or strings (stored as exact smallest units).

use super::amount::parse_cas;
use casl2_verifier::{Address, H256};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A boolean the node prints as `true`/`false` or `0`/`1`.
pub fn bool01<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Int(i64),
    }
    match B::deserialize(d)? {
        B::Bool(b) => Ok(b),
        B::Int(0) => Ok(false),
        B::Int(1) => Ok(true),
        B::Int(n) => Err(de::Error::custom(format!(
            "boolean must be true, false, 0 or 1, got {n}"
        ))),
    }
}

fn opt_bool01<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool01(d).map(Some)
}

/// A CAS amount: a JSON number or string of decimal CAS, kept as exact smallest units.
pub fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    let text = raw.get();
    let inner: String = if text.starts_with('"') {
        serde_json::from_str(text).map_err(de::Error::custom)?
    } else {
        text.to_string()
    };
    parse_cas(&inner).map_err(de::Error::custom)
}

fn opt_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    amount(d).map(Some)
}

/// A `uint256` printed with `GetHex()` (reversed), as raw bytes.
pub fn node_hash<'de, D: Deserializer<'de>>(d: D) -> Result<H256, D::Error> {
    let s = String::deserialize(d)?;
    H256::from_node_hex(&s).map_err(|e| de::Error::custom(format!("hash {s:?}: {e}")))
}

fn opt_node_hash<'de, D: Deserializer<'de>>(d: D) -> Result<Option<H256>, D::Error> {
    node_hash(d).map(Some)
}

/// A `uint160` printed as `"0x" + GetHex()` (reversed), as raw bytes.
pub fn node_address<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
    let s = String::deserialize(d)?;
    Address::from_node_hex(&s).map_err(|e| de::Error::custom(format!("address {s:?}: {e}")))
}

fn opt_node_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Address>, D::Error> {
    node_address(d).map(Some)
}

fn node_addresses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Address>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter()
        .map(|s| {
            Address::from_node_hex(s).map_err(|e| de::Error::custom(format!("address {s:?}: {e}")))
        })
        .collect()
}

/// `getblock <hash> 1`: the fields casl2 reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NodeBlock {
    /// Block hash.
    #[serde(deserialize_with = "node_hash")]
    pub hash: H256,
    /// Height.
    pub height: u64,
    /// Time (Unix seconds).
    pub time: u64,
    /// Previous block (absent for genesis).
    #[serde(default, deserialize_with = "opt_node_hash")]
    pub previousblockhash: Option<H256>,
    /// Confirmations (-1 when off the active chain).
    #[serde(default)]
    pub confirmations: i64,
}

/// `getsecuretrust`.
#[derive(Debug, Clone, Deserialize)]
pub struct SecureTrust {
    /// The final HAT v2 score as printed (an integer 0..=100).
    pub trust_score: Box<RawValue>,
}

/// `l2_getchaininfo`: the node's own L2 chain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeChainInfo {
    /// The chain id the node runs (`-l2chainid`).
    pub chain_id: u64,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Whether L2 is enabled.
    #[serde(default, deserialize_with = "opt_bool01")]
    pub enabled: Option<bool>,
    /// Node mode (FULL_NODE, LIGHT_CLIENT, DISABLED).
    #[serde(default)]
    pub mode: String,
    /// The node's L2 block height.
    #[serde(default)]
    pub block_height: u64,
}

/// Parameters of a registered chain (`params` of `l2_getregisteredchain`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeChainParams {
    /// L2 block time (ms).
    pub block_time_ms: u64,
    /// Gas limit per L2 block.
    pub gas_limit: u64,
    /// Challenge period (seconds).
    pub challenge_period: u64,
    /// Minimum sequencer stake (smallest units).
    #[serde(deserialize_with = "amount")]
    pub min_sequencer_stake: i64,
    /// Minimum sequencer HAT score.
    pub min_sequencer_hat_score: u32,
    /// L1 anchor interval.
    #[serde(default)]
    pub l1_anchor_interval: u64,
}

/// `l2_getregisteredchain`: one entry of the node's registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeChain {
    /// Chain id.
    pub chain_id: u64,
    /// Name.
    pub name: String,
    /// Deployer (a key of the registering node's wallet).
    #[serde(deserialize_with = "node_address")]
    pub deployer: Address,
    /// L1 height of the registration.
    pub deployment_block: u64,
    /// Registration time.
    #[serde(default)]
    pub deployment_time: u64,
    /// Status (BOOTSTRAPPING, ACTIVE, PAUSED, EMERGENCY, DEPRECATED).
    pub status: String,
    /// Deployer stake (smallest units).
    #[serde(deserialize_with = "amount")]
    pub stake: i64,
    /// Latest state root the node knows.
    #[serde(default, deserialize_with = "opt_node_hash")]
    pub latest_state_root: Option<H256>,
    /// Latest L2 block.
    #[serde(default)]
    pub latest_l2_block: u64,
    /// Latest L1 anchor height.
    #[serde(default)]
    pub latest_l1_anchor: u64,
    /// Total value locked (smallest units).
    #[serde(default, deserialize_with = "opt_amount")]
    pub total_value_locked: Option<i64>,
    /// Number of sequencers.
    #[serde(default)]
    pub sequencer_count: u64,
    /// Parameters.
    pub params: NodeChainParams,
}

/// `l2_getregisteredchain` wrapper: `found` first.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FoundFlag {
    #[serde(deserialize_with = "bool01")]
    pub found: bool,
}

/// One entry of `l2_listregisteredchains`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeChainSummary {
    /// Chain id.
    pub chain_id: u64,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Deployer.
    #[serde(deserialize_with = "node_address")]
    pub deployer: Address,
    /// Deployer stake (smallest units).
    #[serde(deserialize_with = "amount")]
    pub stake: i64,
    /// Latest L2 block.
    #[serde(default)]
    pub latest_l2_block: u64,
    /// Total value locked (smallest units).
    #[serde(default, deserialize_with = "opt_amount")]
    pub tvl: Option<i64>,
    /// Number of sequencers.
    #[serde(default)]
    pub sequencer_count: u64,
}

/// One entry of `l2_getsequencers` (the node's sequencer discovery; no public keys).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeSequencer {
    /// Address.
    #[serde(deserialize_with = "node_address")]
    pub address: Address,
    /// Verified stake (smallest units).
    #[serde(deserialize_with = "amount")]
    pub stake: i64,
    /// Verified HAT v2 score.
    pub hat_score: u32,
    /// Connected peers.
    #[serde(default)]
    pub peer_count: u32,
    /// Public endpoint.
    #[serde(default)]
    pub endpoint: String,
    /// Eligibility verified.
    #[serde(deserialize_with = "bool01")]
    pub is_verified: bool,
    /// Currently eligible.
    #[serde(deserialize_with = "bool01")]
    pub is_eligible: bool,
    /// Blocks produced.
    #[serde(default)]
    pub blocks_produced: u64,
    /// Blocks missed.
    #[serde(default)]
    pub blocks_missed: u64,
    /// Uptime (percent, informational).
    #[serde(default)]
    pub uptime_percent: f64,
    /// Election weight.
    #[serde(default)]
    pub weight: u64,
    /// Last announcement (Unix seconds).
    #[serde(default)]
    pub last_announcement: u64,
}

/// `l2_getleader`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeLeader {
    /// Whether there is an active leader (the other fields are present only then).
    #[serde(deserialize_with = "bool01")]
    pub has_leader: bool,
    /// Leader address.
    #[serde(default, deserialize_with = "opt_node_address")]
    pub address: Option<Address>,
    /// Slot.
    #[serde(default)]
    pub slot_number: Option<u64>,
    /// Last L1 block of the leader's term.
    #[serde(default)]
    pub valid_until_block: Option<u64>,
    /// Election seed.
    #[serde(default, deserialize_with = "opt_node_hash")]
    pub election_seed: Option<H256>,
    /// Whether the answering node is the leader.
    #[serde(default, deserialize_with = "opt_bool01")]
    pub is_local_node: Option<bool>,
    /// Failover under way.
    #[serde(default, deserialize_with = "opt_bool01")]
    pub failover_in_progress: Option<bool>,
    /// Backups in failover order.
    #[serde(default, deserialize_with = "node_addresses")]
    pub backup_sequencers: Vec<Address>,
    /// The node's note when there is no leader.
    #[serde(default)]
    pub message: String,
}

/// `l2_createburntx`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedBurn {
    pub hex: String,
    pub burn_script: String,
    pub chain_id: u64,
    #[serde(deserialize_with = "amount")]
    pub burn_amount: i64,
}

/// `l2_sendburntx`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SentBurn {
    #[serde(deserialize_with = "node_hash")]
    pub txid: H256,
}

/// `signrawtransactionwithwallet` / `signrawtransaction`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Signed {
    pub hex: String,
    #[serde(deserialize_with = "bool01")]
    pub complete: bool,
    #[serde(default)]
    pub errors: Option<serde_json::Value>,
}

/// `fundrawtransaction`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Funded {
    pub hex: String,
}

/// `l2_getburnstatus`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnStatus {
    /// Whether the node knows the burn.
    #[serde(deserialize_with = "bool01")]
    pub found: bool,
    /// L1 confirmations (the node reports 0 when it does not know).
    #[serde(default)]
    pub confirmations: Option<u64>,
    /// Confirmations required before minting (6).
    #[serde(default)]
    pub confirmations_required: Option<u64>,
    /// WAITING_CONFIRMATIONS, PENDING, REACHED, MINTED, FAILED.
    #[serde(default)]
    pub consensus_status: Option<String>,
    /// NOT_MINTED or MINTED.
    #[serde(default)]
    pub mint_status: Option<String>,
    /// Burned amount (smallest units).
    #[serde(default, deserialize_with = "opt_amount")]
    pub burn_amount: Option<i64>,
    /// L2 recipient.
    #[serde(default, deserialize_with = "opt_node_address")]
    pub l2_recipient: Option<Address>,
    /// L2 mint transaction, once minted.
    #[serde(default, deserialize_with = "opt_node_hash")]
    pub l2_mint_tx_hash: Option<H256>,
    /// L2 block of the mint.
    #[serde(default)]
    pub l2_mint_block: Option<u64>,
    /// The node's message.
    #[serde(default)]
    pub message: Option<String>,
}

/// `l2_announcesequencer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Announced {
    #[serde(deserialize_with = "bool01")]
    pub success: bool,
    #[serde(deserialize_with = "node_address")]
    pub address: Address,
    #[serde(default, deserialize_with = "opt_bool01")]
    pub eligible: Option<bool>,
    #[serde(default)]
    pub message: String,
}

/// `l2_registerchain`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Registered {
    #[serde(deserialize_with = "bool01")]
    pub success: bool,
    pub chain_id: u64,
    #[serde(deserialize_with = "node_address")]
    pub deployer: Address,
    #[serde(default)]
    pub message: String,
}

/// `getblockchaininfo`: the fields casl2 reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BlockchainInfo {
    /// The network: `main`, `test` or `regtest`.
    pub chain: String,
    /// Height of the active chain.
    pub blocks: u64,
}

/// `l2_updatechainstatus`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusUpdated {
    #[serde(deserialize_with = "bool01")]
    pub success: bool,
    #[serde(default)]
    pub old_status: String,
    #[serde(default)]
    pub message: String,
}

//! The L2 node's JSON-RPC methods (`casl2 node`, `docs/protocol.md` "Sequencer node RPC"):
//! each name written once, used by [`crate::l2::NodeClient`] and the node's server dispatch.
//! Each method also has a type (below the names) tying it to its parameters and answer.

use super::NoParams;
use crate::{method, params};
use casl2_verifier::Address;

/// `l2_getchaininfo`.
pub const L2_GETCHAININFO: &str = "l2_getchaininfo";
/// `l2_blocknumber`.
pub const L2_BLOCKNUMBER: &str = "l2_blocknumber";
/// `l2_getblockbynumber`.
pub const L2_GETBLOCKBYNUMBER: &str = "l2_getblockbynumber";
/// `l2_getbalance`.
pub const L2_GETBALANCE: &str = "l2_getbalance";
/// `l2_gettransactioncount`.
pub const L2_GETTRANSACTIONCOUNT: &str = "l2_gettransactioncount";
/// `l2_getaccount`.
pub const L2_GETACCOUNT: &str = "l2_getaccount";
/// `l2_sendrawtransaction`.
pub const L2_SENDRAWTRANSACTION: &str = "l2_sendrawtransaction";
/// `l2_gettransactionreceipt`.
pub const L2_GETTRANSACTIONRECEIPT: &str = "l2_gettransactionreceipt";
/// `l2_getproof`.
pub const L2_GETPROOF: &str = "l2_getproof";
/// `l2_getwithdrawalproof`.
pub const L2_GETWITHDRAWALPROOF: &str = "l2_getwithdrawalproof";
/// `l2_getbatch`.
pub const L2_GETBATCH: &str = "l2_getbatch";
/// `l2_getshare`.
pub const L2_GETSHARE: &str = "l2_getshare";
/// `l2_getsequencers`.
pub const L2_GETSEQUENCERS: &str = "l2_getsequencers";
/// `l2_getleader`.
pub const L2_GETLEADER: &str = "l2_getleader";
/// `admin_status`.
pub const ADMIN_STATUS: &str = "admin_status";

/// The node's methods, besides the contract methods of [`CVM_METHODS`].
pub const METHODS: &[&str] = &[
    L2_GETCHAININFO,
    L2_BLOCKNUMBER,
    L2_GETBLOCKBYNUMBER,
    L2_GETBALANCE,
    L2_GETTRANSACTIONCOUNT,
    L2_GETACCOUNT,
    L2_SENDRAWTRANSACTION,
    L2_GETTRANSACTIONRECEIPT,
    L2_GETPROOF,
    L2_GETWITHDRAWALPROOF,
    L2_GETBATCH,
    L2_GETSHARE,
    L2_GETSEQUENCERS,
    L2_GETLEADER,
    ADMIN_STATUS,
];

/// `l2_call`.
pub const L2_CALL: &str = "l2_call";
/// `l2_estimategas`.
pub const L2_ESTIMATEGAS: &str = "l2_estimategas";
/// `l2_getcode`.
pub const L2_GETCODE: &str = "l2_getcode";
/// `l2_getstorageat`.
pub const L2_GETSTORAGEAT: &str = "l2_getstorageat";
/// `l2_getlogs`.
pub const L2_GETLOGS: &str = "l2_getlogs";
/// `eth_chainId`.
pub const ETH_CHAIN_ID: &str = "eth_chainId";
/// `eth_blockNumber`.
pub const ETH_BLOCK_NUMBER: &str = "eth_blockNumber";
/// `eth_getBalance`.
pub const ETH_GET_BALANCE: &str = "eth_getBalance";
/// `eth_getCode`.
pub const ETH_GET_CODE: &str = "eth_getCode";
/// `eth_getStorageAt`.
pub const ETH_GET_STORAGE_AT: &str = "eth_getStorageAt";
/// `eth_call`.
pub const ETH_CALL: &str = "eth_call";
/// `eth_estimateGas`.
pub const ETH_ESTIMATE_GAS: &str = "eth_estimateGas";
/// `eth_getLogs`.
pub const ETH_GET_LOGS: &str = "eth_getLogs";

/// The contract methods (served by the node beside [`METHODS`]).
pub const CVM_METHODS: &[&str] = &[
    L2_CALL,
    L2_ESTIMATEGAS,
    L2_GETCODE,
    L2_GETSTORAGEAT,
    L2_GETLOGS,
    ETH_CHAIN_ID,
    ETH_BLOCK_NUMBER,
    ETH_GET_BALANCE,
    ETH_GET_CODE,
    ETH_GET_STORAGE_AT,
    ETH_CALL,
    ETH_ESTIMATE_GAS,
    ETH_GET_LOGS,
];

params! {
    /// The parameters of the methods that take one account address.
    pub struct AddressParams {
        /// The account.
        pub address: Address,
    }
}

method!(
    /// `l2_blocknumber`: the node's head height.
    BlockNumber = L2_BLOCKNUMBER, NoParams => u64
);
method!(
    /// `l2_getbalance`: an account's balance in the node's head state (the node's word).
    GetBalance = L2_GETBALANCE, AddressParams => i64
);

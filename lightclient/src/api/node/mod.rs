//! The L2 node's JSON-RPC methods (`casl2 node`, `docs/protocol.md` "Sequencer node RPC"):
//! each name written once, used by [`crate::l2::NodeClient`] and the node's server dispatch.
//! Each method also has a type (below the names) tying it to its parameters and answer; the
//! answer types are in [`types`] (the `l2_*` methods) and [`cvm`] (the contract and `eth_*`
//! methods), re-exported here.

pub mod cvm;
pub mod types;

pub use cvm::*;
pub use types::*;

use super::NoParams;
use crate::{method, params};
use casl2_verifier::{AccountState, Address, H256};

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

params! {
    /// `l2_getblockbynumber`.
    pub struct BlockNumberParams {
        /// The block's number.
        pub block_number: u64,
    }
}

params! {
    /// `l2_sendrawtransaction`.
    pub struct RawTransactionParams {
        /// The encoded signed transaction, hex (`0x` optional).
        pub raw_transaction_hex: String,
    }
}

params! {
    /// `l2_gettransactionreceipt`.
    pub struct TransactionHashParams {
        /// The transaction (or L1 message) hash.
        pub transaction_hash: H256,
    }
}

params! {
    /// `l2_getproof`.
    pub struct ProofParams {
        /// The account.
        pub address: Address,
        /// Against which root (default `"latest"`).
        pub at: Option<ProofAt>,
    }
}

params! {
    /// `l2_getwithdrawalproof`.
    pub struct WithdrawalProofParams {
        /// The withdrawal id (the WITHDRAWAL transaction's hash).
        pub withdrawal_id: H256,
        /// Against which root (default `"latest"`).
        pub at: Option<ProofAt>,
    }
}

params! {
    /// `l2_getbatch`.
    pub struct AnchorParams {
        /// The anchor's index on L1.
        pub anchor_index: u64,
    }
}

params! {
    /// `l2_getshare`.
    pub struct ShareParams {
        /// The anchor's index on L1.
        pub anchor_index: u64,
        /// The share's row in the extended square.
        pub row: u64,
        /// Its column.
        pub column: u64,
        /// The axis of its proof (default `"row"`).
        pub axis: Option<Axis>,
    }
}

params! {
    /// `l2_call`, `eth_call`, `l2_estimategas`, `eth_estimateGas`.
    pub struct CallParams {
        /// The call.
        pub call_object: CallRequest,
        /// The block whose state it runs on (default the head).
        pub block: Option<BlockId>,
    }
}

params! {
    /// `l2_getcode`, `eth_getCode`, `eth_getBalance`.
    pub struct AddressAtParams {
        /// The account.
        pub address: Address,
        /// The block (default the head).
        pub block: Option<BlockId>,
    }
}

params! {
    /// `l2_getstorageat`, `eth_getStorageAt`.
    pub struct StorageParams {
        /// The contract.
        pub address: Address,
        /// The slot.
        pub storage_slot: Word,
        /// The block (default the head).
        pub block: Option<BlockId>,
    }
}

params! {
    /// `l2_getlogs`, `eth_getLogs`.
    pub struct LogsParams {
        /// The filter (absent: the head's logs).
        pub filter: Option<LogFilter>,
    }
}

method!(
    /// `l2_getchaininfo`: the node's head and its view of L1.
    GetChainInfo = L2_GETCHAININFO, NoParams => ChainInfo
);
method!(
    /// `l2_blocknumber`: the node's head height.
    BlockNumber = L2_BLOCKNUMBER, NoParams => u64
);
method!(
    /// `l2_getblockbynumber`: a final block (`None` past the node's head).
    GetBlockByNumber = L2_GETBLOCKBYNUMBER, BlockNumberParams => Option<BlockAnswer>
);
method!(
    /// `l2_getbalance`: an account's balance in the node's head state (the node's word).
    GetBalance = L2_GETBALANCE, AddressParams => i64
);
method!(
    /// `l2_gettransactioncount`: an account's nonce and next nonce.
    GetTransactionCount = L2_GETTRANSACTIONCOUNT, AddressParams => NonceInfo
);
method!(
    /// `l2_getaccount`: an account in the node's head state (the node's word).
    GetAccount = L2_GETACCOUNT, AddressParams => AccountState
);
method!(
    /// `l2_sendrawtransaction`: submit a signed transaction; its hash.
    SendRawTransaction = L2_SENDRAWTRANSACTION, RawTransactionParams => H256
);
method!(
    /// `l2_gettransactionreceipt`: `None` for a transaction the node does not know.
    GetTransactionReceipt = L2_GETTRANSACTIONRECEIPT, TransactionHashParams => Option<ReceiptAnswer>
);
method!(
    /// `l2_getproof`: an account's proof against the head, L1's anchored or finalised root.
    GetProof = L2_GETPROOF, ProofParams => ProofAnswer
);
method!(
    /// `l2_getwithdrawalproof`: a withdrawal record's proof.
    GetWithdrawalProof = L2_GETWITHDRAWALPROOF, WithdrawalProofParams => WithdrawalProofAnswer
);
method!(
    /// `l2_getbatch`: an anchored batch with its payload.
    GetBatch = L2_GETBATCH, AnchorParams => BatchAnswer
);
method!(
    /// `l2_getshare`: one share of a batch's extended square with its proof.
    GetShare = L2_GETSHARE, ShareParams => ShareAnswer
);
method!(
    /// `l2_getsequencers`: the chain's sequencers as the node sees them on L1.
    GetSequencers = L2_GETSEQUENCERS, NoParams => Vec<SequencerEntry>
);
method!(
    /// `l2_getleader`: who may produce the next block now.
    GetLeader = L2_GETLEADER, NoParams => LeaderAnswer
);
method!(
    /// `admin_status`: counters, evidence and peers (needs the node's bearer token).
    AdminStatus = ADMIN_STATUS, NoParams => NodeStatus
);
method!(
    /// `l2_call`: run a call without a transaction.
    Call = L2_CALL, CallParams => CallAnswer
);
method!(
    /// `l2_estimategas`: the gas a call or creation would use.
    EstimateGas = L2_ESTIMATEGAS, CallParams => u64
);
method!(
    /// `l2_getcode`: an account's code.
    GetCode = L2_GETCODE, AddressAtParams => HexBytes
);
method!(
    /// `l2_getstorageat`: a contract's storage slot.
    GetStorageAt = L2_GETSTORAGEAT, StorageParams => H256
);
method!(
    /// `l2_getlogs`: the logs a filter matches.
    GetLogs = L2_GETLOGS, LogsParams => Vec<LogEntry<u64>>
);
method!(
    /// `eth_chainId`.
    EthChainId = ETH_CHAIN_ID, NoParams => HexU64
);
method!(
    /// `eth_blockNumber`.
    EthBlockNumber = ETH_BLOCK_NUMBER, NoParams => HexU64
);
method!(
    /// `eth_getBalance` (a negative balance cannot be: it reads as 0).
    EthGetBalance = ETH_GET_BALANCE, AddressAtParams => HexU64
);
method!(
    /// `eth_getCode`.
    EthGetCode = ETH_GET_CODE, AddressAtParams => HexBytes
);
method!(
    /// `eth_getStorageAt`.
    EthGetStorageAt = ETH_GET_STORAGE_AT, StorageParams => H256
);
method!(
    /// `eth_call`: the output of a successful call (a failure is an error: code 3 with the
    /// revert data for a revert).
    EthCall = ETH_CALL, CallParams => HexBytes
);
method!(
    /// `eth_estimateGas`.
    EthEstimateGas = ETH_ESTIMATE_GAS, CallParams => HexU64
);
method!(
    /// `eth_getLogs`.
    EthGetLogs = ETH_GET_LOGS, LogsParams => Vec<LogEntry<HexU64>>
);

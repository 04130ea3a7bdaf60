//! The real Cascoin node's RPC methods casl2 calls (`shared/cascoin-compat.md`), each name
//! written once.

/// `getblock`.
pub const GETBLOCK: &str = "getblock";
/// `getblockcount`.
pub const GETBLOCKCOUNT: &str = "getblockcount";
/// `getblockhash`.
pub const GETBLOCKHASH: &str = "getblockhash";
/// `sendrawtransaction`.
pub const SENDRAWTRANSACTION: &str = "sendrawtransaction";
/// `createrawtransaction`.
pub const CREATERAWTRANSACTION: &str = "createrawtransaction";
/// `fundrawtransaction`.
pub const FUNDRAWTRANSACTION: &str = "fundrawtransaction";
/// `signrawtransactionwithwallet`.
pub const SIGNRAWTRANSACTIONWITHWALLET: &str = "signrawtransactionwithwallet";
/// `signrawtransaction`.
pub const SIGNRAWTRANSACTION: &str = "signrawtransaction";
/// `getsecuretrust`.
pub const GETSECURETRUST: &str = "getsecuretrust";
/// `l2_getchaininfo`.
pub const L2_GETCHAININFO: &str = "l2_getchaininfo";
/// `l2_getregisteredchain`.
pub const L2_GETREGISTEREDCHAIN: &str = "l2_getregisteredchain";
/// `l2_listregisteredchains`.
pub const L2_LISTREGISTEREDCHAINS: &str = "l2_listregisteredchains";
/// `l2_getsequencers`.
pub const L2_GETSEQUENCERS: &str = "l2_getsequencers";
/// `l2_getleader`.
pub const L2_GETLEADER: &str = "l2_getleader";
/// `l2_getburnstatus`.
pub const L2_GETBURNSTATUS: &str = "l2_getburnstatus";
/// `l2_createburntx`.
pub const L2_CREATEBURNTX: &str = "l2_createburntx";
/// `l2_sendburntx`.
pub const L2_SENDBURNTX: &str = "l2_sendburntx";
/// `l2_announcesequencer`.
pub const L2_ANNOUNCESEQUENCER: &str = "l2_announcesequencer";
/// `l2_registerchain`.
pub const L2_REGISTERCHAIN: &str = "l2_registerchain";
/// `getblockchaininfo`: the network the node runs.
pub const GETBLOCKCHAININFO: &str = "getblockchaininfo";
/// `l2_updatechainstatus <chainId> <STATUS>`.
pub const L2_UPDATECHAINSTATUS: &str = "l2_updatechainstatus";

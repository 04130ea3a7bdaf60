//! The devnet L1's JSON-RPC methods (`casl2 l1 devnet`, `docs/protocol.md` "Devnet L1 RPC"):
//! each name written once, used by [`crate::l1::DevnetClient`] and the devnet's server dispatch.

/// `getblockcount`.
pub const GETBLOCKCOUNT: &str = "getblockcount";
/// `getblockhash`.
pub const GETBLOCKHASH: &str = "getblockhash";
/// `getblock`.
pub const GETBLOCK: &str = "getblock";
/// `getbestblockhash`.
pub const GETBESTBLOCKHASH: &str = "getbestblockhash";
/// `sendrawtransaction`.
pub const SENDRAWTRANSACTION: &str = "sendrawtransaction";
/// `getrawmempool`.
pub const GETRAWMEMPOOL: &str = "getrawmempool";
/// `generate`.
pub const GENERATE: &str = "generate";
/// `getbalance`.
pub const GETBALANCE: &str = "getbalance";
/// `getaccount`.
pub const GETACCOUNT: &str = "getaccount";
/// `invalidateblock`.
pub const INVALIDATEBLOCK: &str = "invalidateblock";
/// `reconsiderblock`.
pub const RECONSIDERBLOCK: &str = "reconsiderblock";
/// `l2_listchains`.
pub const L2_LISTCHAINS: &str = "l2_listchains";
/// `l2_getchain`.
pub const L2_GETCHAIN: &str = "l2_getchain";
/// `l2_getsequencers`.
pub const L2_GETSEQUENCERS: &str = "l2_getsequencers";
/// `l2_getanchors`.
pub const L2_GETANCHORS: &str = "l2_getanchors";
/// `l2_getqueue`.
pub const L2_GETQUEUE: &str = "l2_getqueue";
/// `l2_getdeposits`.
pub const L2_GETDEPOSITS: &str = "l2_getdeposits";
/// `l2_getwithdrawals`.
pub const L2_GETWITHDRAWALS: &str = "l2_getwithdrawals";
/// `l2_getforcedqueue`.
pub const L2_GETFORCEDQUEUE: &str = "l2_getforcedqueue";
/// `l2_getgames`.
pub const L2_GETGAMES: &str = "l2_getgames";
/// `l2_getavailability`.
pub const L2_GETAVAILABILITY: &str = "l2_getavailability";
/// `l2_getexits`.
pub const L2_GETEXITS: &str = "l2_getexits";
/// `l2_getgame`.
pub const L2_GETGAME: &str = "l2_getgame";

/// The methods the devnet L1 answers.
pub const METHODS: &[&str] = &[
    GETBLOCKCOUNT,
    GETBLOCKHASH,
    GETBLOCK,
    GETBESTBLOCKHASH,
    SENDRAWTRANSACTION,
    GETRAWMEMPOOL,
    GENERATE,
    GETBALANCE,
    GETACCOUNT,
    INVALIDATEBLOCK,
    RECONSIDERBLOCK,
    L2_LISTCHAINS,
    L2_GETCHAIN,
    L2_GETSEQUENCERS,
    L2_GETANCHORS,
    L2_GETQUEUE,
    L2_GETDEPOSITS,
    L2_GETWITHDRAWALS,
    L2_GETFORCEDQUEUE,
    L2_GETGAMES,
    L2_GETAVAILABILITY,
    L2_GETEXITS,
    L2_GETGAME,
];

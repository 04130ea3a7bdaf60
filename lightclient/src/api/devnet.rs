//! The devnet L1's JSON-RPC methods (`casl2 l1 devnet`, `docs/protocol.md` "Devnet L1 RPC"):
//! each name written once, used by [`crate::l1::DevnetClient`] and the devnet's server dispatch.
//! Each method also has a type (below the names) tying it to its parameters and answer; the
//! answers with a shape of their own are in [`super::devnet_types`].

use super::devnet_types::{BlockAnswer, ChainState, DevnetAccount, PaidWithdrawal, SequencerEntry};
use super::NoParams;
use crate::{method, params};
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{Anchor, AvailabilityChallenge, L2ChainInfo, QueuedMessage};
use casl2_verifier::{Address, H256};

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

params! {
    /// `getblockhash`.
    pub struct HeightParams {
        /// The height of the active block.
        pub height: u64,
    }
}

params! {
    /// `getblock`.
    pub struct GetBlockParams {
        /// The block.
        pub block_hash: H256,
        /// 0: the serialized block as hex; anything else (the default, 1): a
        /// [`super::devnet_types::VerboseBlock`].
        pub verbosity: Option<u64>,
    }
}

params! {
    /// `invalidateblock`, `reconsiderblock`.
    pub struct BlockHashParams {
        /// The block.
        pub block_hash: H256,
    }
}

params! {
    /// `sendrawtransaction`.
    pub struct RawTransactionParams {
        /// Hex (an optional `0x`) of the serialized `L1Tx`.
        pub transaction_hex: String,
    }
}

params! {
    /// `generate`.
    pub struct GenerateParams {
        /// How many blocks to mine (default 1, at most 10 000).
        pub blocks: Option<u64>,
    }
}

params! {
    /// `getbalance`, `getaccount`.
    pub struct AddressParams {
        /// The account.
        pub address: Address,
    }
}

params! {
    /// The `l2_*` methods about one chain.
    pub struct ChainParams {
        /// The chain.
        pub chain_id: u64,
    }
}

params! {
    /// The `l2_*` methods that answer a window of a chain's list.
    pub struct WindowParams {
        /// The chain.
        pub chain_id: u64,
        /// The first index (default 0).
        pub from: Option<u64>,
        /// How many (default and at most 1000).
        pub count: Option<u64>,
    }
}

params! {
    /// `l2_getgames`, `l2_getavailability`.
    pub struct OpenOnlyParams {
        /// The chain.
        pub chain_id: u64,
        /// Only the open ones (default `false`).
        pub open_only: Option<bool>,
    }
}

params! {
    /// `l2_getgame`.
    pub struct GameParams {
        /// The game.
        pub game_id: u64,
    }
}

method!(
    /// `getblockcount`: the tip height.
    GetBlockCount = GETBLOCKCOUNT, NoParams => u64
);
method!(
    /// `getbestblockhash`: the tip hash.
    GetBestBlockHash = GETBESTBLOCKHASH, NoParams => H256
);
method!(
    /// `getblockhash`: the hash of the active block at a height.
    GetBlockHash = GETBLOCKHASH, HeightParams => H256
);
method!(
    /// `getblock`: a block, as hex or verbose by the verbosity asked for.
    GetBlock = GETBLOCK, GetBlockParams => BlockAnswer
);
method!(
    /// `sendrawtransaction`: submit a signed `L1Tx`; the answer is its id.
    SendRawTransaction = SENDRAWTRANSACTION, RawTransactionParams => H256
);
method!(
    /// `getrawmempool`: the waiting transaction ids in mining order.
    GetRawMempool = GETRAWMEMPOOL, NoParams => Vec<H256>
);
method!(
    /// `generate`: mine blocks now; the answer is their hashes.
    Generate = GENERATE, GenerateParams => Vec<H256>
);
method!(
    /// `getbalance`: an account's balance.
    GetBalance = GETBALANCE, AddressParams => i64
);
method!(
    /// `getaccount`: an account with its next nonce and HAT score.
    GetAccount = GETACCOUNT, AddressParams => DevnetAccount
);
method!(
    /// `invalidateblock`: mark a block invalid (reorgs the chain); answers `null`.
    InvalidateBlock = INVALIDATEBLOCK, BlockHashParams => ()
);
method!(
    /// `reconsiderblock`: clear a block's invalid mark; answers `null`.
    ReconsiderBlock = RECONSIDERBLOCK, BlockHashParams => ()
);
method!(
    /// `l2_listchains`: every registered chain.
    ListChains = L2_LISTCHAINS, NoParams => Vec<L2ChainInfo>
);
method!(
    /// `l2_getchain`: a chain's escrow, totals and counts.
    GetChain = L2_GETCHAIN, ChainParams => ChainState
);
method!(
    /// `l2_getsequencers`: a chain's sequencers with their HAT scores.
    GetSequencers = L2_GETSEQUENCERS, ChainParams => Vec<SequencerEntry>
);
method!(
    /// `l2_getanchors`: a window of a chain's anchors.
    GetAnchors = L2_GETANCHORS, WindowParams => Vec<Anchor>
);
method!(
    /// `l2_getqueue`: a window of a chain's L1→L2 queue (deposits and forced transactions).
    GetQueue = L2_GETQUEUE, WindowParams => Vec<QueuedMessage>
);
method!(
    /// `l2_getdeposits`: a window of the queue's deposits only.
    GetDeposits = L2_GETDEPOSITS, WindowParams => Vec<QueuedMessage>
);
method!(
    /// `l2_getwithdrawals`: the withdrawals L1 has paid, by id.
    GetWithdrawals = L2_GETWITHDRAWALS, ChainParams => Vec<PaidWithdrawal>
);
method!(
    /// `l2_getforcedqueue`: the forced transactions not yet consumed.
    GetForcedQueue = L2_GETFORCEDQUEUE, ChainParams => Vec<QueuedMessage>
);
method!(
    /// `l2_getgames`: the chain's fraud-proof games, by id.
    GetGames = L2_GETGAMES, OpenOnlyParams => Vec<Game>
);
method!(
    /// `l2_getavailability`: the chain's availability challenges, by id.
    GetAvailability = L2_GETAVAILABILITY, OpenOnlyParams => Vec<AvailabilityChallenge>
);
method!(
    /// `l2_getexits`: the addresses whose emergency exit was paid, in order.
    GetExits = L2_GETEXITS, ChainParams => Vec<Address>
);
method!(
    /// `l2_getgame`: one fraud-proof game (`GAME_UNKNOWN` if there is none).
    GetGame = L2_GETGAME, GameParams => Game
);

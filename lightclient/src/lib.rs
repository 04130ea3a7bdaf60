//! casl2 light client: a user checks what a node tells them against what L1 anchors, in a
//! terminal or (through `wasm/`) in a browser tab.
//!
//! - [`l1`]: the [`l1::L1Client`] trait through which casl2 reaches the L1, with two backends:
//!   [`l1::DevnetClient`] for the embedded devnet L1 (JSON-RPC over `reqwest`), and
//!   [`cascoind::CascoindClient`] for a real Cascoin node (JSON-RPC with basic or cookie auth;
//!   reversed-hex, 0/1-boolean and exact decimal-amount conversions; burns, batch commitments,
//!   transfers, chain registrations and sequencer announcements through the node's wallet and
//!   `l2_*` RPCs). What the real node lacks (state anchors, the L1→L2 queue, escrowed and
//!   emergency withdrawals, fraud games and proofs) is an [`l1::L1ClientError::Unsupported`]
//!   that names it (`docs/protocol.md`, "cascoind backend").
//! - [`rpc`]: the one JSON-RPC client beneath every client here (ids, auth, error objects,
//!   a response-size cap); [`api`]: every server method's name and typed shapes, shared with
//!   the servers; [`endpoint`]: an L1 URL of either backend and [`endpoint::AnyL1`].
//! - [`l2`]: [`l2::NodeClient`], the L2 node's JSON-RPC, carried without trust.
//! - [`verify`]: the checks, as small free functions over the evidence and the trusted root or
//!   set (`verify_account_proof`, `verify_header_quorum`, `verify_batch_sample`, …).
//! - [`LightClient`]: follows L1 (anchors, finalisation, the sequencer set and weights), proves
//!   balances and withdrawals against L1's finalised root (hard) or a quorum-signed head (soft)
//!   and says which and at which L1 height, and samples each batch's availability
//!   ([`sampling`]) to a wanted confidence, reporting failures as failures.
//! - [`watcher`] (native only): the replica rebuilt from L1 data, the judgement of anchors, the
//!   one game player (the challenger's and a sequencer's defence) and the challenger.
//!
//! Everything here is async over `reqwest` only (no tokio), so it runs natively and in wasm;
//! loops and timers (following the chain) belong to the caller. What is verified against what,
//! and the JSON shapes: `docs/protocol.md`, "Light client".

pub mod api;
pub mod cascoind;
mod client;
pub mod endpoint;
pub mod l1;
pub mod l2;
pub mod rpc;
pub mod sampling;
pub mod verify;
#[cfg(not(target_arch = "wasm32"))]
pub mod watcher;
pub mod withdrawal;

pub use casl2_verifier as verifier;
pub use client::{
    Finality, FollowUpdate, L1Snapshot, LightClient, LightError, ProofSummary, Trust,
    VerifiedBalance, VerifiedHead, WithdrawalState, WithdrawalStatus,
};
pub use sampling::{SampleProgress, SampleReport};

//! casl2 light client.
//!
//! Built so far: [`l1`], the [`l1::L1Client`] trait through which casl2 reaches the L1, with two
//! backends: [`l1::DevnetClient`] for the embedded devnet L1 (JSON-RPC over `reqwest`), and
//! [`cascoind::CascoindClient`] for a real Cascoin node (JSON-RPC with basic or cookie auth;
//! reversed-hex, 0/1-boolean and exact decimal-amount conversions; burns, batch commitments,
//! transfers, chain registrations and sequencer announcements through the node's wallet and
//! `l2_*` RPCs). What the real node lacks (state anchors, the L1→L2 queue, escrowed and
//! emergency withdrawals, fraud games and proofs) is an [`l1::L1ClientError::Unsupported`] that
//! names it (`docs/protocol.md`, "cascoind backend").
//!
//! [`l2::NodeClient`] is the L2 node's JSON-RPC, carried without trust.
//!
//! Not built yet: the light verification of balances and data availability (issue "Light
//! client").

pub mod cascoind;
pub mod l1;
pub mod l2;

pub use casl2_verifier as verifier;

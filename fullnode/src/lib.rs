//! casl2 full node.
//!
//! - [`node`]: the L2 sequencer / follower node (`casl2 node`): the final chain and state in
//!   redb, the mempool, leader election with failover, two-thirds consensus over HTTP, the
//!   batcher that anchors batches on L1, the L1 follower, JSON-RPC and Prometheus metrics.
//! - [`store::RedbNodeStore`]: the persistent home of the state tree (a
//!   [`casl2_verifier::smt::NodeStore`] in a redb file) with the history of recent block roots.
//! - [`devnet::Devnet`]: the embedded devnet L1 (the `verifier::l1` rules over a single-miner
//!   chain persisted in redb), and [`devnet::rpc`], its JSON-RPC 2.0 server (`casl2 l1 devnet`).
//! - `harness` (cargo feature `harness`): the demo and test harness — `localnet` (the devnet
//!   L1, a registered chain and N sequencers in one process), `dishonest`, `tamper` and `www`.
//! - [`jsonrpc`]: the JSON-RPC 2.0 envelope both servers share; [`ratelimit`]: per-client
//!   request budgets.
//! - [`fuzzing`]: the bodies of the fuzz targets over the node's RPC and peer endpoints
//!   (`docs/security.md`).

pub mod devnet;
pub mod fuzzing;
#[cfg(feature = "harness")]
pub mod harness;
pub mod jsonrpc;
pub mod node;
pub mod ratelimit;
pub mod store;

pub use casl2_lightclient as lightclient;
pub use store::RedbNodeStore;

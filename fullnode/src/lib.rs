//! casl2 full node.
//!
//! - [`node`]: the L2 sequencer / follower node (`casl2 node`): the final chain and state in
//!   redb, the mempool, leader election with failover, two-thirds consensus over HTTP, the
//!   batcher that anchors batches on L1, the L1 follower, JSON-RPC and Prometheus metrics.
//! - [`store::RedbNodeStore`]: the persistent home of the state tree (a
//!   [`casl2_verifier::smt::NodeStore`] in a redb file) with the history of recent block roots.
//! - [`devnet::Devnet`]: the embedded devnet L1 (the `verifier::l1` rules over a single-miner
//!   chain persisted in redb), and [`devnet_rpc`], its JSON-RPC 2.0 server (`casl2 l1 devnet`).
//! - [`localnet`]: the devnet L1, a registered chain and N sequencers on 127.0.0.1 in one
//!   process (the end-to-end tests and `casl2 devnet`).
//! - [`jsonrpc`]: the JSON-RPC 2.0 envelope both servers share.

pub mod devnet;
pub mod devnet_rpc;
pub mod jsonrpc;
pub mod localnet;
pub mod node;
pub mod store;
pub mod tamper;
pub mod www;

pub use casl2_lightclient as lightclient;
pub use store::RedbNodeStore;

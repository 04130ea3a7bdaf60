//! casl2 full node.
//!
//! Built so far: [`store::RedbNodeStore`], the persistent home of the state tree (a
//! [`casl2_verifier::smt::NodeStore`] in a redb file) with the history of recent block roots.
//! [`devnet::Devnet`], the embedded devnet L1 (the `verifier::l1` rules over a single-miner
//! chain persisted in redb), and [`devnet_rpc`], its JSON-RPC 2.0 server (`casl2 l1 devnet`).
//! The sequencer, consensus networking and the L2 node's RPC come with their issue ("Sequencer
//! full node"); there is no `casl2 node` command until they exist.

pub mod devnet;
pub mod devnet_rpc;
pub mod store;

pub use casl2_lightclient as lightclient;
pub use store::RedbNodeStore;

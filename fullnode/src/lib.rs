//! casl2 full node.
//!
//! This crate will hold the node's storage, the sequencer, consensus networking, the JSON-RPC
//! server and the embedded devnet L1 (issues "The L1 side" and "Sequencer full node"). None of
//! that is built yet: there is no `casl2 node` command until it is.

pub use casl2_lightclient as lightclient;

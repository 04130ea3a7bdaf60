//! casl2 full node.
//!
//! Built so far: [`store::RedbNodeStore`], the persistent home of the state tree (a
//! [`casl2_verifier::smt::NodeStore`] in a redb file) with the history of recent block roots.
//! The sequencer, consensus networking, the JSON-RPC server and the embedded devnet L1 come
//! with their issues ("The L1 side", "Sequencer full node"); there is no `casl2 node` command
//! until they exist.

pub mod store;

pub use casl2_lightclient as lightclient;
pub use store::RedbNodeStore;

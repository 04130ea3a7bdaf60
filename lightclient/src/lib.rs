//! casl2 light client.
//!
//! Built so far: [`l1`], the [`l1::L1Client`] trait through which casl2 reaches the L1, with its
//! devnet backend [`l1::DevnetClient`] (JSON-RPC over `reqwest`). Not built yet: the cascoind
//! backend, the L2 node RPC client and the light verification of balances and data
//! availability (issues "The L1 side" and "Light client").

pub mod cascoind;
pub mod l1;

pub use casl2_verifier as verifier;

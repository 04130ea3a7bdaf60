//! casl2 light client.
//!
//! This crate will hold the L1 client trait with its devnet and cascoind backends, the L2 node
//! RPC client and the light verification of balances and data availability (issues "The L1 side"
//! and "Light client"). None of that is built yet, so the crate exposes nothing but the verifier
//! it is built on.

pub use casl2_verifier as verifier;

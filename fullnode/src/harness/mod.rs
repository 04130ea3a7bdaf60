//! The demo and test harness (cargo feature `harness`; never part of a real deployment):
//!
//! - [`localnet`]: the devnet L1, a registered chain and N sequencers on 127.0.0.1 in one
//!   process (the end-to-end tests and `casl2 devnet`).
//! - [`dishonest`]: a sequencer that anchors bad batches (`casl2 node --dishonest`), plugged
//!   into the node through [`crate::node::Misbehaviour`].
//! - [`censor`]: sequencers that leave one address's transactions (and optionally the forced
//!   queue) out of their blocks (`casl2 devnet --scenario censor`).
//! - [`tamper`]: a JSON-RPC proxy that alters a node's answers (light-client demos).
//! - [`www`]: the light-client page on HTTP (`casl2 devnet`).

pub mod censor;
pub mod dishonest;
pub mod localnet;
pub mod tamper;
pub mod www;

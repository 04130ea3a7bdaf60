//! The typed face of casl2's JSON-RPC servers, shared by their clients (in this crate) and the
//! servers' dispatch (in `casl2-fullnode`): a method's name is written once, here, and so is
//! the shape of its parameters and answer where it has a type of its own.
//!
//! - [`node`]: the L2 node's methods (`l2_*`, `eth_*`, `admin_status`), their parameter and
//!   answer types in `node::types` and `node::cvm`.
//! - [`devnet`]: the devnet L1's methods (bitcoind-style names and `l2_*`), their answer types
//!   in [`devnet_types`].
//! - [`method`]: the [`Method`] trait that ties a name to its [`Params`] and result type.
//!
//! A new RPC method goes here first: its const, its parameter struct ([`params!`](crate::params))
//! and result type, its [`Method`] impl; then the client method (over
//! [`crate::rpc::RpcClient::request`]), then the server's handler
//! (`casl2_fullnode::jsonrpc::handle`) in the dispatch that matches on the const.

pub mod devnet;
pub mod devnet_types;
pub mod method;
pub mod node;

pub use method::{positional, Method, NoParams, Params};

//! A user's withdrawal (L2 → L1): its record and stages ([`Withdrawal`], [`Stage`]) and the
//! state machine that takes it from one stage to the next ([`Machine`]), for every front end
//! (`casl2 withdraw`, the wasm package).
//!
//! The machine is generic over the L1 ([`crate::l1::L1Client`]), the L2 node
//! ([`WithdrawalNode`], implemented by [`crate::l2::NodeClient`]) and the front end
//! ([`Host`]: it saves each stage before the next step, hears the progress as [`Event`]s and
//! does the waiting, so the machine has no clock and builds for wasm32). Signing is with the
//! caller's key. The rule that decides the path and the proof check are the verifier's
//! (`verifier::l1::{fast_withdrawal_eligible, WithdrawalCase, check_withdrawal_proof}`).

mod host;
mod machine;
mod node;
mod record;
#[cfg(test)]
mod tests;

pub use host::{poll_until, Event, Host, Step, Wait, WithdrawError};
pub use machine::Machine;
pub use node::{L2Receipt, ProofAnswer, ProofAt, WithdrawalNode};
pub use record::{Stage, Withdrawal};

//! What the L1 rules (`verifier::l1`) and the fraud rules (`verifier::fraud`) share, below both:
//! the anchored batch ([`Anchor`]) and the L1 error type ([`L1Error`]). Both are re-exported at
//! their old paths, `verifier::l1::{Anchor, L1Error}`.

mod anchor;
mod error;

pub use anchor::{da_error, Anchor};
pub use error::L1Error;
pub(crate) use error::{add, add_u64, sub};

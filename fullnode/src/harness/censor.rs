//! Censoring sequencers, for tests and demos of forced inclusion (`casl2 devnet --scenario
//! censor`). The nodes accept every transaction, but the blocks they build leave out the
//! mempool transactions of one address; with `ignore_forced`, they also stop at the first
//! forced transaction of the L1 queue, so its inclusion deadline passes and the L1 rules punish
//! the chain (`docs/protocol.md`, "L1 rules"). The node reads none of this directly:
//! [`Censor`] is its [`Misbehaviour`].

use crate::node::Misbehaviour;
use casl2_verifier::Address;

/// What the censoring sequencers ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Censor {
    /// The address whose mempool transactions never get into a block.
    pub address: Address,
    /// Also ignore the forced-inclusion queue (nothing from the first forced transaction on).
    pub ignore_forced: bool,
}

impl Misbehaviour for Censor {
    fn censors(&self, from: &Address) -> bool {
        *from == self.address
    }

    fn ignores_forced_queue(&self) -> bool {
        self.ignore_forced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_address_is_censored() {
        let a = Address([1; 20]);
        let c = Censor {
            address: a,
            ignore_forced: false,
        };
        assert!(c.censors(&a));
        assert!(!c.censors(&Address([2; 20])));
        assert!(!c.ignores_forced_queue());
        let c = Censor {
            ignore_forced: true,
            ..c
        };
        assert!(c.ignores_forced_queue());
    }
}

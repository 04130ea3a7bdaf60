//! The node's one extension point for demos and tests of the fraud proofs and of forced
//! inclusion: how the batches it anchors, the trace it defends, its availability answers and
//! the blocks it builds (censorship) may deviate from the honest node. The production node holds none ([`super::NodeConfig::misbehaviour`] is `None`); the
//! harness's `Dishonest` (cargo feature `harness`) implements it.

use casl2_verifier::l1::L2ChainInfo;
use casl2_verifier::{Address, L2Block, PrivateKey, H256};

/// How a node deviates from the honest protocol. Every method's default is the honest
/// behaviour.
pub trait Misbehaviour: std::fmt::Debug + Send + Sync {
    /// Rewrite the final `blocks` of a batch before it is planned (`key`: the poster's key, to
    /// sign changed blocks again) or before a peer's batch header is checked for signing
    /// (`key` is `None`), given the chain's L1 entry. Honest: leave them.
    fn rewrite_batch(&self, info: &L2ChainInfo, blocks: &mut [L2Block], key: Option<&PrivateKey>) {
        let _ = (info, blocks, key);
    }

    /// The trace to defend in a game over an anchor this node posted and that replays as bad
    /// (it anchored a lie): `honest` is the true trace of its `blocks`. Honest: `honest`.
    fn defence_trace(&self, honest: &[H256], blocks: &[L2Block]) -> Vec<H256> {
        let _ = blocks;
        honest.to_vec()
    }

    /// Whether the node withholds its batches' data now (serves no shares and answers no
    /// availability challenge), given the chain's L1 entry. Honest: never.
    fn withholds(&self, info: &L2ChainInfo) -> bool {
        let _ = info;
        false
    }

    /// Whether the blocks this node builds leave out the mempool transactions of `from`
    /// (censorship: the node still accepts them). Honest: never.
    fn censors(&self, from: &Address) -> bool {
        let _ = from;
        false
    }

    /// Whether the blocks this node builds stop at the first forced transaction of the L1
    /// queue (and so apply nothing queued after it). Honest: never.
    fn ignores_forced_queue(&self) -> bool {
        false
    }
}

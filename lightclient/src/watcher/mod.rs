//! The watcher: everything that judges and disputes a chain's anchors from L1 data alone.
//!
//! - [`replica`]: [`ChainData`] (a chain's registry entry, anchors and L1→L2 queue as L1
//!   holds them) and [`Replica`] (the L2 state rebuilt from them, anchor by anchor, and the
//!   [`Verdict`] on each), generic over the tree's [`casl2_verifier::smt::NodeStore`].
//! - [`player`]: the one game player ([`play`]): the moves from our trace, deduped for a few
//!   L1 blocks ([`SentOps`]); [`Defence`] is a sequencer's use of it (the node's `defend` task).
//! - [`Challenger`]: the challenger (`casl2 challenger run`) over any [`crate::l1::L1Client`]:
//!   fraud proofs, games, availability sampling and challenges, its persisted
//!   [`ChallengerState`] (`challenger.json`) and its Prometheus metrics.
//!
//! Native only (files, clocks and the replay's threads): not built for wasm.

mod availability;
mod challenger;
mod metrics;
pub mod player;
pub mod replica;
mod state;

pub use challenger::{Challenger, TREE_FILE};
pub use player::{move_op, play, Defence, LyingTrace, Play, PlayFailure, SentOps};
pub use replica::{ChainData, Judged, Replica, ReplicaError, Verdict};
pub use state::{
    ChallengerConfig, ChallengerError, ChallengerEvent, ChallengerState, ChallengerStats,
    GameRecord, Sampled, SAMPLES_PER_ANCHOR, STATE_FILE,
};

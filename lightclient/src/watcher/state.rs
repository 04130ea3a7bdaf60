//! What the challenger persists (`challenger.json`), counts and reports.

use super::player::SentOps;
use super::replica::{Judged, ReplicaError};
use casl2_verifier::fraud::{Game, GameResult};
use casl2_verifier::l1::{AvailabilityChallenge, AvailabilityResult, SharePosition};
use casl2_verifier::{Address, PrivateKey, H256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// File of the persisted state in the data directory.
pub const STATE_FILE: &str = "challenger.json";

/// Why the challenger stopped or a tick failed.
#[derive(Debug, Error)]
pub enum ChallengerError {
    /// The data directory could not be used.
    #[error("challenger data directory {path}: {message}")]
    Storage {
        /// The path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The data directory belongs to another chain or key.
    #[error("{0}")]
    Mismatch(String),
    /// Replaying L1 failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

/// How to run a challenger.
#[derive(Clone)]
pub struct ChallengerConfig {
    /// Data directory (created if missing).
    pub data_dir: PathBuf,
    /// The L2 chain watched.
    pub chain_id: u64,
    /// The L1's JSON-RPC URL.
    pub l1_url: String,
    /// The key that posts proofs, locks bonds and plays.
    pub key: PrivateKey,
}

impl std::fmt::Debug for ChallengerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengerConfig")
            .field("data_dir", &self.data_dir)
            .field("chain_id", &self.chain_id)
            .field("l1_url", &self.l1_url)
            .field("address", &self.key.address())
            .finish()
    }
}

/// Counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengerStats {
    /// Anchors judged (re-executed).
    pub anchors_judged: u64,
    /// Anchors found bad (fraud or standing on fraud).
    pub anchors_bad: u64,
    /// Transactions re-executed.
    pub transactions_replayed: u64,
    /// Time spent re-executing (ms).
    pub replay_ms: u64,
    /// Non-interactive proofs sent.
    pub proofs_sent: u64,
    /// Games opened.
    pub games_opened: u64,
    /// Game moves sent (answers, one-step proofs, timeouts).
    pub moves_sent: u64,
    /// Games won (fraud proven).
    pub games_won: u64,
    /// Games lost (challenge failed).
    pub games_lost: u64,
    /// Games cancelled (anchor gone; bond returned).
    pub games_cancelled: u64,
    /// L1 transactions that failed to send.
    pub send_errors: u64,
    /// Anchors whose availability was sampled from the sequencers.
    #[serde(default)]
    pub anchors_sampled: u64,
    /// Shares fetched and verified against the anchors' DA commitments.
    #[serde(default)]
    pub shares_verified: u64,
    /// Availability challenges opened.
    #[serde(default)]
    pub availability_opened: u64,
    /// Availability challenges won (unanswered: the data was withheld).
    #[serde(default)]
    pub availability_won: u64,
    /// Availability challenges lost (the shares were published: the bond went to the poster).
    #[serde(default)]
    pub availability_lost: u64,
    /// Availability challenges cancelled (the anchor was reverted otherwise).
    #[serde(default)]
    pub availability_cancelled: u64,
}

/// Shares sampled per anchor (at most the square's size).
pub const SAMPLES_PER_ANCHOR: usize = 8;

/// The availability of one anchor as this challenger sampled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sampled {
    /// The anchor's batch hash when sampled.
    pub batch_hash: H256,
    /// Shares asked for.
    pub samples: u32,
    /// Shares no node served with a valid proof (they went into an availability challenge).
    pub missing: Vec<SharePosition>,
    /// `available`, `withheld` (some node answered, none served every share: challenged) or
    /// `unreachable` (no node answered: sampled again next tick).
    pub status: String,
}

/// A game this challenger plays, as last seen on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameRecord {
    /// The game as L1 last reported it.
    pub game: Game,
    /// Moves this challenger sent in it.
    pub moves: u32,
}

/// What `challenger.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengerState {
    /// The chain.
    pub chain_id: u64,
    /// The challenger's address.
    pub address: Address,
    /// Every anchor judged, in order.
    pub judged: Vec<Judged>,
    /// Games this challenger opened or played, by id.
    pub games: BTreeMap<u64, GameRecord>,
    /// Availability of each anchor sampled, by anchor index.
    #[serde(default)]
    pub sampled: BTreeMap<u64, Sampled>,
    /// Availability challenges this challenger opened, as L1 last reported them, by id.
    #[serde(default)]
    pub availability: BTreeMap<u64, AvailabilityChallenge>,
    /// L1 operations sent in the last 3 L1 blocks: operation key → L1 tip when sent. Written
    /// before the operation is sent, so a restarted challenger does not send it again while it
    /// may still be waiting in the mempool (a second `OpenChallenge` would open a second game).
    #[serde(default)]
    pub sent: SentOps,
    /// Counters.
    pub stats: ChallengerStats,
    /// L1 tip at the last tick.
    pub l1_tip: u64,
    /// Anchors on L1 at the last tick.
    pub l1_anchors: u64,
    /// Unix ms of the last tick.
    pub updated_ms: u64,
}

impl ChallengerState {
    /// Read `challenger.json` from `dir` (`None` when there is none).
    pub fn load(dir: &Path) -> Result<Option<ChallengerState>, ChallengerError> {
        let path = dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ChallengerError::Storage {
                    path,
                    message: e.to_string(),
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ChallengerError::Storage {
                path,
                message: format!("not a challenger state file: {e}"),
            })
    }

    pub(super) fn save(&self, dir: &Path) -> Result<(), ChallengerError> {
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let err = |e: std::io::Error| ChallengerError::Storage {
            path: path.clone(),
            message: e.to_string(),
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| ChallengerError::Storage {
            path: path.clone(),
            message: e.to_string(),
        })?;
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// Bonds locked in this challenger's open games.
    pub fn bonds_at_risk(&self) -> i64 {
        self.games
            .values()
            .filter(|r| r.game.result.is_none())
            .map(|r| r.game.bond)
            .chain(
                self.availability
                    .values()
                    .filter(|c| c.result.is_none())
                    .map(|c| c.bond),
            )
            .sum()
    }

    /// Open games.
    pub fn open_games(&self) -> usize {
        self.games
            .values()
            .filter(|r| r.game.result.is_none())
            .count()
    }

    /// Anchors on L1 not judged yet.
    pub fn lag(&self) -> u64 {
        self.l1_anchors.saturating_sub(self.judged.len() as u64)
    }
}

/// Something the challenger did or saw, for its log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "camelCase")]
pub enum ChallengerEvent {
    /// An anchor was judged.
    Judged {
        /// The judgement.
        anchor: Box<Judged>,
    },
    /// An L1 operation was sent.
    Sent {
        /// What (`SubmitFraudProof`, `OpenChallenge`, `BisectAnswer`, …).
        op: String,
        /// Anchor or game it concerns.
        about: String,
        /// L1 transaction id.
        txid: String,
    },
    /// Sending failed.
    SendFailed {
        /// What.
        op: String,
        /// Why.
        error: String,
    },
    /// An anchor's availability was sampled from the sequencers' nodes.
    Sampled {
        /// The anchor.
        anchor: u64,
        /// What was found.
        result: Sampled,
    },
    /// An availability challenge ended.
    AvailabilityOver {
        /// Challenge id.
        id: u64,
        /// The anchor.
        anchor: u64,
        /// How.
        result: AvailabilityResult,
    },
    /// A game ended.
    GameOver {
        /// Game id.
        game: u64,
        /// The anchor.
        anchor: u64,
        /// How.
        result: GameResult,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_sent_survive_a_restart_and_old_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut st = ChallengerState {
            chain_id: 1,
            address: Address([8; 20]),
            ..Default::default()
        };
        st.sent.record("open:0:0xab".into(), 12);
        st.save(dir.path()).unwrap();
        let back = ChallengerState::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, st);
        assert_eq!(back.sent.get("open:0:0xab"), Some(12));
        // A file written before `sent` existed.
        let mut v = serde_json::to_value(&st).unwrap();
        v.as_object_mut().unwrap().remove("sent");
        std::fs::write(dir.path().join(STATE_FILE), v.to_string()).unwrap();
        let old = ChallengerState::load(dir.path()).unwrap().unwrap();
        assert!(old.sent.is_empty());
        assert_eq!(old.chain_id, 1);
    }
}

//! The challenger (`casl2 challenger run`): a watcher with nothing but L1 access.
//!
//! Every tick it reads the chain's anchors from L1, re-executes each new batch from the state it
//! rebuilt from L1 data alone ([`Replica`], persisted in `state.redb`), and acts on every bad
//! anchor whose challenge window is open: a non-interactive fraud proof when one applies
//! (`SubmitFraudProof`, no bond), otherwise a bisection game (`OpenChallenge`, locking the
//! chain's bond) that it then plays move by move from its own trace ([`honest_move`]): answers,
//! the one-step proof, and the timeouts of a stalling defender. Games whose anchor L1 replaced
//! are cancelled (bond back). Several games run at once; a restart resumes them all, since the
//! games live on L1 and the judged anchors in `challenger.json` (test:
//! `a_challenger_restarted_during_a_game_resumes_and_wins`), and does not send again what was
//! sent in the last 3 L1 blocks (recorded before sending: no second game on an anchor).
//!
//! The data directory holds `state.redb` (the tree) and `challenger.json` (judged anchors, the
//! games played, the operations just sent, counters), written atomically after every tick and
//! before every L1 operation; `casl2 challenger status` reads the latter while `run` is
//! running.

use crate::store::RedbNodeStore;
use crate::watch::{move_op, ChainData, Judged, Replica, ReplicaError, Verdict};
use casl2_lightclient::l1::{DevnetClient, L1Client};
use casl2_verifier::da::{verify_sample, Sample};
use casl2_verifier::fraud::{honest_move, Game, GameResult, Move};
use casl2_verifier::l1::{
    AvailabilityChallenge, AvailabilityResult, L1Op, L1Tx, L2Status, SharePosition,
};
use casl2_verifier::{Address, PrivateKey, H256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
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
    pub sent: BTreeMap<String, u64>,
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

    fn save(&self, dir: &Path) -> Result<(), ChallengerError> {
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

    /// The Prometheus exposition of the counters.
    pub fn metrics(&self) -> String {
        let s = &self.stats;
        let open_avail = self
            .availability
            .values()
            .filter(|c| c.result.is_none())
            .count() as i64;
        let unavailable = self
            .sampled
            .values()
            .filter(|x| x.status == "withheld")
            .count() as i64;
        let rows: [(&str, &str, &str, i64); 18] = [
            (
                "casl2_challenger_l1_tip",
                "L1 tip at the last tick.",
                "gauge",
                self.l1_tip as i64,
            ),
            (
                "casl2_challenger_anchors_judged_total",
                "Anchors re-executed.",
                "counter",
                s.anchors_judged as i64,
            ),
            (
                "casl2_challenger_anchors_bad_total",
                "Anchors found fraudulent or standing on fraud.",
                "counter",
                s.anchors_bad as i64,
            ),
            (
                "casl2_challenger_lag_anchors",
                "Anchors on L1 not judged yet.",
                "gauge",
                self.lag() as i64,
            ),
            (
                "casl2_challenger_transactions_replayed_total",
                "Transactions re-executed.",
                "counter",
                s.transactions_replayed as i64,
            ),
            (
                "casl2_challenger_proofs_sent_total",
                "Non-interactive fraud proofs sent.",
                "counter",
                s.proofs_sent as i64,
            ),
            (
                "casl2_challenger_games_opened_total",
                "Games opened.",
                "counter",
                s.games_opened as i64,
            ),
            (
                "casl2_challenger_games_open",
                "Games open.",
                "gauge",
                self.open_games() as i64,
            ),
            (
                "casl2_challenger_moves_sent_total",
                "Game moves sent.",
                "counter",
                s.moves_sent as i64,
            ),
            (
                "casl2_challenger_games_won_total",
                "Games won (fraud proven).",
                "counter",
                s.games_won as i64,
            ),
            (
                "casl2_challenger_games_lost_total",
                "Games lost (challenge failed).",
                "counter",
                s.games_lost as i64,
            ),
            (
                "casl2_challenger_bonds_at_risk",
                "Bond locked in open games (smallest units).",
                "gauge",
                self.bonds_at_risk(),
            ),
            (
                "casl2_challenger_anchors_sampled_total",
                "Anchors whose availability was sampled from the sequencers.",
                "counter",
                s.anchors_sampled as i64,
            ),
            (
                "casl2_challenger_shares_verified_total",
                "Shares fetched and verified against DA commitments.",
                "counter",
                s.shares_verified as i64,
            ),
            (
                "casl2_challenger_anchors_withheld",
                "Anchors whose shares the nodes refused or served wrong.",
                "gauge",
                unavailable,
            ),
            (
                "casl2_challenger_availability_challenges_open",
                "Availability challenges open.",
                "gauge",
                open_avail,
            ),
            (
                "casl2_challenger_availability_won_total",
                "Availability challenges won (data withheld, anchor reverted).",
                "counter",
                s.availability_won as i64,
            ),
            (
                "casl2_challenger_send_errors_total",
                "L1 transactions that failed to send.",
                "counter",
                s.send_errors as i64,
            ),
        ];
        let mut out = String::new();
        for (name, help, kind, v) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        }
        out
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

/// The running challenger.
#[derive(Debug)]
pub struct Challenger {
    cfg: ChallengerConfig,
    l1: DevnetClient,
    data: Option<ChainData>,
    replica: Replica<RedbNodeStore>,
    state: ChallengerState,
    /// HTTP client for sampling the sequencers' nodes.
    http: reqwest::Client,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Challenger {
    /// Open (or create) the data directory. A directory of another chain or key is refused.
    pub fn open(cfg: ChallengerConfig) -> Result<Challenger, ChallengerError> {
        let dir = cfg.data_dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| ChallengerError::Storage {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        let me = cfg.key.address();
        let state = match ChallengerState::load(&dir)? {
            Some(s) if s.chain_id != cfg.chain_id || s.address != me => {
                return Err(ChallengerError::Mismatch(format!(
                    "{} belongs to the challenger {} of chain {}, not {me} of chain {}",
                    dir.display(),
                    s.address,
                    s.chain_id,
                    cfg.chain_id
                )))
            }
            Some(s) => s,
            None => ChallengerState {
                chain_id: cfg.chain_id,
                address: me,
                ..Default::default()
            },
        };
        let path = dir.join("state.redb");
        let store = RedbNodeStore::open(&path).map_err(|e| ChallengerError::Storage {
            path: path.clone(),
            message: format!("{e} (is another challenger running on this directory?)"),
        })?;
        let replica = Replica::new(cfg.chain_id, store, state.judged.clone())?;
        Ok(Challenger {
            l1: DevnetClient::new(cfg.l1_url.clone()),
            cfg,
            data: None,
            replica,
            state,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
        })
    }

    /// The persisted state as of the last tick.
    pub fn state(&self) -> &ChallengerState {
        &self.state
    }

    /// The replica (its tree is the state after the last valid anchor).
    pub fn replica(&self) -> &Replica<RedbNodeStore> {
        &self.replica
    }

    /// Send `op`, recorded under `key` at `tip` first ([`ChallengerState::sent`]: saved before
    /// it leaves, so it is not sent again within 3 blocks, even by a restarted challenger).
    async fn send(&mut self, op: L1Op, key: String, tip: u64, about: String) -> ChallengerEvent {
        let name = op_name(&op).to_string();
        let me = self.cfg.key.address();
        self.state.sent.insert(key.clone(), tip);
        if let Err(e) = self.state.save(&self.cfg.data_dir) {
            self.state.sent.remove(&key);
            self.state.stats.send_errors += 1;
            return ChallengerEvent::SendFailed {
                op: name,
                error: format!("not sent, it could not be recorded first: {e}"),
            };
        }
        let res = async {
            let acct = self.l1.account(&me).await.map_err(|e| e.to_string())?;
            let tx = L1Tx::signed(&self.cfg.key, acct.next_nonce, op).map_err(|e| e.to_string())?;
            self.l1
                .send_transaction(&tx)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match res {
            Ok(txid) => ChallengerEvent::Sent {
                op: name,
                about,
                txid: txid.to_hex(),
            },
            Err(error) => {
                // Not sent: it may be tried again at once (saved with the tick).
                self.state.sent.remove(&key);
                self.state.stats.send_errors += 1;
                ChallengerEvent::SendFailed { op: name, error }
            }
        }
    }

    /// Sample every new anchor's availability from the sequencers' nodes, challenge the shares
    /// that nodes refuse or serve wrong, and end this challenger's availability challenges
    /// whose deadline passed (or whose anchor is gone).
    async fn availability(
        &mut self,
        data: &ChainData,
        tip: u64,
        emergency: bool,
    ) -> Vec<ChallengerEvent> {
        let mut events = Vec::new();
        let chain = self.cfg.chain_id;
        let mut endpoints: Option<Vec<String>> = None;
        for a in &data.anchors {
            if emergency || a.finalized || tip + 1 >= a.deadline {
                continue;
            }
            let done = self
                .state
                .sampled
                .get(&a.index)
                .is_some_and(|s| s.batch_hash == a.batch_hash && s.status != "unreachable");
            if done {
                continue;
            }
            let Some(commitment) = a.commitment.as_ref() else {
                continue;
            };
            if endpoints.is_none() {
                endpoints = Some(match self.l1.sequencers(chain).await {
                    Ok(list) => list
                        .into_iter()
                        .filter(|s| s.status == casl2_verifier::l1::SequencerStatus::Active)
                        .map(|s| s.endpoint)
                        .collect(),
                    Err(_) => return events,
                });
            }
            let urls = endpoints.as_deref().unwrap_or_default();
            let width = commitment.width();
            let mut seed_src = self.cfg.key.to_hex().into_bytes();
            seed_src.extend_from_slice(&a.batch_hash.0);
            let seed = casl2_verifier::sha256d(&seed_src).0;
            let count = SAMPLES_PER_ANCHOR.min(width * width);
            let Ok(plan) = casl2_verifier::da::sampling_plan(&seed, width, count) else {
                continue;
            };
            let mut missing = Vec::new();
            let mut answered = false;
            for (row, column) in plan {
                let mut ok = false;
                for url in urls {
                    match fetch_share(&self.http, url, a.index, row, column).await {
                        Reply::Share(v) => {
                            answered = true;
                            let good = serde_json::from_value::<Sample>(v["sample"].clone())
                                .ok()
                                .filter(|s| s.row == row && s.column == column)
                                .is_some_and(|s| verify_sample(commitment, &s).is_ok());
                            if good {
                                ok = true;
                                break;
                            }
                        }
                        // A node that answers with an error is reachable, and refusing.
                        Reply::Refused => answered = true,
                        Reply::Unreachable => {}
                    }
                }
                if ok {
                    self.state.stats.shares_verified += 1;
                } else {
                    missing.push(SharePosition { row, column });
                }
            }
            let status = if missing.is_empty() {
                "available"
            } else if answered {
                "withheld"
            } else {
                "unreachable"
            };
            let result = Sampled {
                batch_hash: a.batch_hash,
                samples: count as u32,
                missing: missing.clone(),
                status: status.into(),
            };
            let first = !self.state.sampled.contains_key(&a.index);
            if status != "unreachable" || first {
                events.push(ChallengerEvent::Sampled {
                    anchor: a.index,
                    result: result.clone(),
                });
            }
            if status != "unreachable" {
                self.state.stats.anchors_sampled += 1;
            }
            self.state.sampled.insert(a.index, result);
            if status == "withheld" {
                let key = format!("avail:{}:{}", a.index, a.batch_hash);
                if self.recently_sent(&key, tip) {
                    continue;
                }
                missing.truncate(casl2_verifier::l1::MAX_AVAILABILITY_POSITIONS);
                let op = L1Op::ChallengeAvailability {
                    chain,
                    anchor: a.index,
                    positions: missing,
                };
                let ev = self.send(op, key, tip, format!("anchor {}", a.index)).await;
                if matches!(ev, ChallengerEvent::Sent { .. }) {
                    self.state.stats.availability_opened += 1;
                }
                events.push(ev);
            }
        }
        let me = self.cfg.key.address();
        let Ok(list) = self.l1.availability_challenges(chain, false).await else {
            return events;
        };
        for c in list.into_iter().filter(|c| c.challenger == me) {
            let before = self.state.availability.get(&c.id).and_then(|o| o.result);
            if let (Some(result), None) = (c.result, before) {
                match result {
                    AvailabilityResult::Withheld => self.state.stats.availability_won += 1,
                    AvailabilityResult::Answered => self.state.stats.availability_lost += 1,
                    AvailabilityResult::Cancelled => self.state.stats.availability_cancelled += 1,
                }
                events.push(ChallengerEvent::AvailabilityOver {
                    id: c.id,
                    anchor: c.anchor,
                    result,
                });
            }
            let gone = data
                .anchors
                .get(c.anchor as usize)
                .is_none_or(|a| a.batch_hash != c.batch_hash);
            if c.result.is_none() && (tip + 1 >= c.deadline || gone) {
                let key = format!("avail-timeout:{}", c.id);
                if !self.recently_sent(&key, tip) {
                    let op = L1Op::TimeoutAvailability { id: c.id };
                    let ev = self
                        .send(op, key, tip, format!("availability {}", c.id))
                        .await;
                    if matches!(ev, ChallengerEvent::Sent { .. }) {
                        self.state.stats.moves_sent += 1;
                    }
                    events.push(ev);
                }
            }
            self.state.availability.insert(c.id, c);
        }
        events
    }

    fn recently_sent(&self, key: &str, tip: u64) -> bool {
        self.state
            .sent
            .get(key)
            .is_some_and(|t| tip < t.saturating_add(3))
    }

    /// One round: read L1, judge new anchors (`progress(done, total)` while replaying), act on
    /// bad ones, play every open game, persist. Returns what happened.
    pub async fn tick(
        &mut self,
        progress: impl FnMut(u64, u64),
    ) -> Result<Vec<ChallengerEvent>, ChallengerError> {
        let mut events = Vec::new();
        let tip = self.l1.tip_height().await.map_err(ReplicaError::from)?;
        self.state.sent.retain(|_, t| tip < t.saturating_add(3));
        let data = match self.data.take() {
            Some(mut d) => {
                d.refresh(&self.l1).await?;
                d
            }
            None => ChainData::fetch(&self.l1, self.cfg.chain_id).await?,
        };
        let started = Instant::now();
        let new = self.replica.sync(&data, progress);
        let new = match new {
            Ok(n) => n,
            Err(e) => {
                self.data = Some(data);
                return Err(e.into());
            }
        };
        if !new.is_empty() {
            self.state.stats.replay_ms += started.elapsed().as_millis() as u64;
        }
        // Kept in step with the replica's tree (the state may be saved before a send).
        self.state.judged = self.replica.judged().to_vec();
        for j in &new {
            self.state.stats.anchors_judged += 1;
            self.state.stats.transactions_replayed += j.transactions;
            if j.verdict.is_bad() {
                self.state.stats.anchors_bad += 1;
            }
            events.push(ChallengerEvent::Judged {
                anchor: Box::new(j.clone()),
            });
        }
        let me = self.cfg.key.address();
        let games = match self.l1.games(self.cfg.chain_id, false).await {
            Ok(g) => g,
            Err(e) => {
                self.data = Some(data);
                return Err(ReplicaError::from(e).into());
            }
        };
        let mine: Vec<Game> = games.into_iter().filter(|g| g.challenger == me).collect();
        // Act on every bad anchor that may still be challenged.
        let emergency = data.info.status == L2Status::Emergency;
        let judged: Vec<Judged> = self.replica.judged().to_vec();
        for j in judged.iter().filter(|j| j.verdict.is_bad()) {
            let Some(a) = data.anchors.get(j.index as usize) else {
                continue;
            };
            if emergency || a.finalized || tip + 1 >= a.deadline || a.batch_hash != j.batch_hash {
                continue;
            }
            let chain = self.cfg.chain_id;
            match &j.verdict {
                Verdict::Evidence { evidence } => {
                    let key = format!("proof:{}:{}", j.index, j.batch_hash);
                    if self.recently_sent(&key, tip) {
                        continue;
                    }
                    let op = L1Op::SubmitFraudProof {
                        chain,
                        anchor: j.index,
                        evidence: evidence.clone(),
                    };
                    let ev = self.send(op, key, tip, format!("anchor {}", j.index)).await;
                    if matches!(ev, ChallengerEvent::Sent { .. }) {
                        self.state.stats.proofs_sent += 1;
                    }
                    events.push(ev);
                }
                Verdict::WrongRoot { .. } => {
                    let playing = mine.iter().any(|g| {
                        g.anchor == j.index && g.batch_hash == a.batch_hash && g.result.is_none()
                    });
                    let key = format!("open:{}:{}", j.index, j.batch_hash);
                    if playing || self.recently_sent(&key, tip) {
                        continue;
                    }
                    let op = L1Op::OpenChallenge {
                        chain,
                        anchor: j.index,
                        disputed_root: a.header.post_state_root,
                    };
                    let ev = self.send(op, key, tip, format!("anchor {}", j.index)).await;
                    if matches!(ev, ChallengerEvent::Sent { .. }) {
                        self.state.stats.games_opened += 1;
                    }
                    events.push(ev);
                }
                Verdict::Valid | Verdict::BuildsOnFraud => {}
            }
        }
        events.extend(self.availability(&data, tip, emergency).await);
        // Play.
        for g in &mine {
            let known = self.state.games.get(&g.id).cloned();
            if let (Some(result), false) = (
                g.result,
                known.as_ref().is_some_and(|r| r.game.result.is_some()),
            ) {
                match result {
                    GameResult::FraudProven => self.state.stats.games_won += 1,
                    GameResult::ChallengeFailed => self.state.stats.games_lost += 1,
                    GameResult::Cancelled => self.state.stats.games_cancelled += 1,
                }
                events.push(ChallengerEvent::GameOver {
                    game: g.id,
                    anchor: g.anchor,
                    result,
                });
            }
            let moves = known.map_or(0, |r| r.moves);
            self.state.games.insert(
                g.id,
                GameRecord {
                    game: g.clone(),
                    moves,
                },
            );
            if g.result.is_some() {
                continue;
            }
            let m = match self.replica.trace(&data, g.anchor)? {
                Some(trace) => honest_move(g, &me, &trace, tip + 1),
                // The anchor is gone: the game is cancelled by a timeout at any time.
                None => Some(Move::Timeout { game: g.id }),
            };
            let Some(m) = m else { continue };
            let key = format!(
                "move:{}:{}:{:?}",
                g.id,
                g.rounds,
                std::mem::discriminant(&m)
            );
            if self.recently_sent(&key, tip) {
                continue;
            }
            let witness = match m {
                Move::OneStep { index, .. } => {
                    match self.replica.witness(&data, g.anchor, index, g.agreed_root) {
                        Ok(w) => Some(w),
                        Err(e) => {
                            events.push(ChallengerEvent::SendFailed {
                                op: "SubmitOneStepProof".into(),
                                error: e.to_string(),
                            });
                            continue;
                        }
                    }
                }
                _ => None,
            };
            let Some(op) = move_op(m, witness) else {
                continue;
            };
            let ev = self.send(op, key, tip, format!("game {}", g.id)).await;
            if matches!(ev, ChallengerEvent::Sent { .. }) {
                self.state.stats.moves_sent += 1;
                if let Some(r) = self.state.games.get_mut(&g.id) {
                    r.moves += 1;
                }
            }
            events.push(ev);
        }
        self.state.l1_tip = tip;
        self.state.l1_anchors = data.anchors.len() as u64;
        self.state.updated_ms = now_ms();
        self.data = Some(data);
        self.state.save(&self.cfg.data_dir)?;
        Ok(events)
    }
}

/// A node's answer to `l2_getshare`.
enum Reply {
    /// A result (the share and its proof, still to be verified).
    Share(serde_json::Value),
    /// A JSON-RPC error (or a body that is not JSON-RPC): the node answered but gave no share.
    Refused,
    /// No HTTP answer at all.
    Unreachable,
}

async fn fetch_share(
    http: &reqwest::Client,
    url: &str,
    index: u64,
    row: u32,
    column: u32,
) -> Reply {
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "l2_getshare", "params": [index, row, column, "row"]
    });
    let resp = match http.post(url).json(&body).send().await {
        Ok(r) => r,
        Err(_) => return Reply::Unreachable,
    };
    match resp.json::<serde_json::Value>().await {
        Ok(v) if v.get("error").is_none() && v.get("result").is_some() => {
            Reply::Share(v["result"].clone())
        }
        _ => Reply::Refused,
    }
}

fn op_name(op: &L1Op) -> &'static str {
    match op {
        L1Op::OpenChallenge { .. } => "OpenChallenge",
        L1Op::BisectReveal { .. } => "BisectReveal",
        L1Op::BisectAnswer { .. } => "BisectAnswer",
        L1Op::SubmitOneStepProof { .. } => "SubmitOneStepProof",
        L1Op::SubmitFraudProof { .. } => "SubmitFraudProof",
        L1Op::Timeout { .. } => "Timeout",
        L1Op::ChallengeAvailability { .. } => "ChallengeAvailability",
        L1Op::TimeoutAvailability { .. } => "TimeoutAvailability",
        _ => "L1Op",
    }
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
        st.sent.insert("open:0:0xab".into(), 12);
        st.save(dir.path()).unwrap();
        let back = ChallengerState::load(dir.path()).unwrap().unwrap();
        assert_eq!(back, st);
        assert_eq!(back.sent.get("open:0:0xab"), Some(&12));
        // A file written before `sent` existed.
        let mut v = serde_json::to_value(&st).unwrap();
        v.as_object_mut().unwrap().remove("sent");
        std::fs::write(dir.path().join(STATE_FILE), v.to_string()).unwrap();
        let old = ChallengerState::load(dir.path()).unwrap().unwrap();
        assert!(old.sent.is_empty());
        assert_eq!(old.chain_id, 1);
    }
}

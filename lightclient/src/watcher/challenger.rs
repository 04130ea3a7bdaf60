//! The challenger (`casl2 challenger run`): a watcher with nothing but L1 access.
//!
//! Every tick it reads the chain's anchors from L1, re-executes each new batch from the state it
//! rebuilt from L1 data alone ([`Replica`], its tree in the caller's store, `state.redb` for the
//! CLI), and acts on every bad anchor whose challenge window is open: a non-interactive fraud
//! proof when one applies (`SubmitFraudProof`, no bond), otherwise a bisection game
//! (`OpenChallenge`, locking the chain's bond) that it then plays move by move from its own
//! trace ([`super::player::play`]): answers, the one-step proof, and the timeouts of a stalling
//! defender. Games whose anchor L1 replaced are cancelled (bond back). Several games run at
//! once; a restart resumes them all, since the games live on L1 and the judged anchors in
//! `challenger.json` (test: `a_challenger_restarted_during_a_game_resumes_and_wins`), and does
//! not send again what was sent in the last 3 L1 blocks (recorded before sending: no second
//! game on an anchor).
//!
//! The data directory holds the tree's store and `challenger.json` (judged anchors, the games
//! played, the operations just sent, counters), written atomically after every tick and before
//! every L1 operation; `casl2 challenger status` reads the latter while `run` is running.

use super::player::{play, PlayFailure};
use super::replica::{ChainData, Judged, Replica, ReplicaError, Verdict};
use super::state::{
    ChallengerConfig, ChallengerError, ChallengerEvent, ChallengerState, GameRecord,
};
use crate::l1::L1Client;
use crate::l2::NodeClient;
use casl2_verifier::fraud::{Game, GameResult};
use casl2_verifier::l1::{L1Op, L1Tx, L2Status};
use casl2_verifier::smt::NodeStore;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// File of the replica's tree store in the data directory.
pub const TREE_FILE: &str = "state.redb";

/// The running challenger, over the tree store `S` and the L1 client `C`.
#[derive(Debug)]
pub struct Challenger<S: NodeStore, C: L1Client> {
    pub(super) cfg: ChallengerConfig,
    pub(super) l1: C,
    data: Option<ChainData>,
    replica: Replica<S>,
    pub(super) state: ChallengerState,
    /// HTTP client for sampling the sequencers' nodes (3 s timeout).
    pub(super) http: reqwest::Client,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The name of an L1 operation the challenger sends, for its events.
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

impl<S: NodeStore, C: L1Client> Challenger<S, C> {
    /// Open (or create) the data directory, reaching L1 through `l1`; `open_store` opens the
    /// tree's store at the path it is given ([`TREE_FILE`] in the directory). A directory of
    /// another chain or key is refused.
    pub fn open(
        cfg: ChallengerConfig,
        l1: C,
        open_store: impl FnOnce(&Path) -> Result<S, String>,
    ) -> Result<Challenger<S, C>, ChallengerError> {
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
        let path = dir.join(TREE_FILE);
        let store = open_store(&path).map_err(|e| ChallengerError::Storage {
            path: path.clone(),
            message: format!("{e} (is another challenger running on this directory?)"),
        })?;
        let replica = Replica::new(cfg.chain_id, store, state.judged.clone())?;
        Ok(Challenger {
            l1,
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
    pub fn replica(&self) -> &Replica<S> {
        &self.replica
    }

    /// A client of the node at `url`, for sampling shares.
    pub(super) fn node(&self, url: &str) -> NodeClient {
        NodeClient::with_rpc(crate::rpc::RpcClient::new(url).with_http(self.http.clone()))
    }

    /// Send `op`, recorded under `key` at `tip` first ([`ChallengerState::sent`]: saved before
    /// it leaves, so it is not sent again within 3 blocks, even by a restarted challenger).
    async fn send(&mut self, op: L1Op, key: String, tip: u64, about: String) -> ChallengerEvent {
        let name = op_name(&op).to_string();
        let me = self.cfg.key.address();
        self.state.sent.record(key.clone(), tip);
        if let Err(e) = self.state.save(&self.cfg.data_dir) {
            self.state.sent.forget(&key);
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
            Ok(txid) => {
                tracing::info!(op = %name, %about, txid = %txid.to_hex(), "challenger sent");
                ChallengerEvent::Sent {
                    op: name,
                    about,
                    txid: txid.to_hex(),
                }
            }
            Err(error) => {
                // Not sent: it may be tried again at once (saved with the tick).
                self.state.sent.forget(&key);
                self.state.stats.send_errors += 1;
                tracing::warn!(op = %name, %error, "challenger send failed");
                ChallengerEvent::SendFailed { op: name, error }
            }
        }
    }

    /// Send `op` unless `key` was sent recently; `count` is bumped when it leaves.
    pub(super) async fn send_once(
        &mut self,
        op: L1Op,
        key: String,
        tip: u64,
        about: String,
        count: fn(&mut ChallengerState),
    ) -> Option<ChallengerEvent> {
        if self.state.sent.recently_sent(&key, tip) {
            return None;
        }
        let ev = self.send(op, key, tip, about).await;
        if matches!(ev, ChallengerEvent::Sent { .. }) {
            count(&mut self.state);
        }
        Some(ev)
    }

    /// One round: read L1, judge new anchors (`progress(done, total)` while replaying), act on
    /// bad ones, play every open game, persist. Returns what happened.
    pub async fn tick(
        &mut self,
        progress: impl FnMut(u64, u64),
    ) -> Result<Vec<ChallengerEvent>, ChallengerError> {
        let tip = self.l1.tip_height().await.map_err(ReplicaError::from)?;
        self.state.sent.expire(tip);
        let data = match self.data.take() {
            Some(mut d) => {
                d.refresh(&self.l1).await?;
                d
            }
            None => ChainData::fetch(&self.l1, self.cfg.chain_id).await?,
        };
        let res = self.tick_with(&data, tip, progress).await;
        self.data = Some(data);
        let events = res?;
        self.state.save(&self.cfg.data_dir)?;
        Ok(events)
    }

    async fn tick_with(
        &mut self,
        data: &ChainData,
        tip: u64,
        progress: impl FnMut(u64, u64),
    ) -> Result<Vec<ChallengerEvent>, ChallengerError> {
        let mut events = self.judge(data, progress)?;
        let me = self.cfg.key.address();
        let games = self
            .l1
            .games(self.cfg.chain_id, false)
            .await
            .map_err(ReplicaError::from)?;
        let mine: Vec<Game> = games.into_iter().filter(|g| g.challenger == me).collect();
        let emergency = data.info.status == L2Status::Emergency;
        events.extend(self.dispute(data, tip, emergency, &mine).await);
        events.extend(self.availability(data, tip, emergency).await);
        events.extend(self.play(data, tip, &mine).await?);
        self.state.l1_tip = tip;
        self.state.l1_anchors = data.anchors.len() as u64;
        self.state.updated_ms = now_ms();
        Ok(events)
    }

    /// Judge the anchors of `data` not judged yet.
    fn judge(
        &mut self,
        data: &ChainData,
        progress: impl FnMut(u64, u64),
    ) -> Result<Vec<ChallengerEvent>, ChallengerError> {
        let started = Instant::now();
        let new = self.replica.sync(data, progress)?;
        if !new.is_empty() {
            self.state.stats.replay_ms += started.elapsed().as_millis() as u64;
        }
        // Kept in step with the replica's tree (the state may be saved before a send).
        self.state.judged = self.replica.judged().to_vec();
        let mut events = Vec::new();
        for j in new {
            self.state.stats.anchors_judged += 1;
            self.state.stats.transactions_replayed += j.transactions;
            if j.verdict.is_bad() {
                self.state.stats.anchors_bad += 1;
                tracing::warn!(anchor = j.index, verdict = ?j.verdict, "challenger: bad anchor");
            }
            events.push(ChallengerEvent::Judged {
                anchor: Box::new(j),
            });
        }
        Ok(events)
    }

    /// Act on every bad anchor that may still be challenged: a fraud proof, or a game opened
    /// (unless one of `mine`, under way or ended, is on that batch).
    async fn dispute(
        &mut self,
        data: &ChainData,
        tip: u64,
        emergency: bool,
        mine: &[Game],
    ) -> Vec<ChallengerEvent> {
        let mut events = Vec::new();
        let chain = self.cfg.chain_id;
        let judged: Vec<Judged> = self.replica.judged().to_vec();
        for j in judged.iter().filter(|j| j.verdict.is_bad()) {
            let Some(a) = data.anchors.get(j.index as usize) else {
                continue;
            };
            if emergency || !a.open_to_challenge(tip + 1) || a.batch_hash != j.batch_hash {
                continue;
            }
            let about = format!("anchor {}", j.index);
            let ev = match &j.verdict {
                Verdict::Evidence { evidence } => {
                    let op = L1Op::SubmitFraudProof {
                        chain,
                        anchor: j.index,
                        evidence: evidence.clone(),
                    };
                    let key = format!("proof:{}:{}", j.index, j.batch_hash);
                    self.send_once(op, key, tip, about, |s| s.stats.proofs_sent += 1)
                        .await
                }
                Verdict::WrongRoot { .. } => {
                    // One game per bad batch: one under way is played, and one that ended
                    // (won: the anchor is being reverted, the data here may not show it yet;
                    // lost: another would be lost too) is not opened again.
                    let played = mine
                        .iter()
                        .any(|g| g.anchor == j.index && g.batch_hash == a.batch_hash);
                    if played {
                        continue;
                    }
                    let op = L1Op::OpenChallenge {
                        chain,
                        anchor: j.index,
                        disputed_root: a.header.post_state_root,
                    };
                    let key = format!("open:{}:{}", j.index, j.batch_hash);
                    self.send_once(op, key, tip, about, |s| s.stats.games_opened += 1)
                        .await
                }
                Verdict::Valid | Verdict::BuildsOnFraud => None,
            };
            events.extend(ev);
        }
        events
    }

    /// Record how each of `mine` stands, then make this challenger's moves in the open ones.
    async fn play(
        &mut self,
        data: &ChainData,
        tip: u64,
        mine: &[Game],
    ) -> Result<Vec<ChallengerEvent>, ChallengerError> {
        let mut events = Vec::new();
        for g in mine {
            let known = self.state.games.get(&g.id);
            let moves = known.map_or(0, |r| r.moves);
            let ended_before = known.is_some_and(|r| r.game.result.is_some());
            if let (Some(result), false) = (g.result, ended_before) {
                let stats = &mut self.state.stats;
                match result {
                    GameResult::FraudProven => stats.games_won += 1,
                    GameResult::ChallengeFailed => stats.games_lost += 1,
                    GameResult::Cancelled => stats.games_cancelled += 1,
                }
                events.push(ChallengerEvent::GameOver {
                    game: g.id,
                    anchor: g.anchor,
                    result,
                });
            }
            let record = GameRecord {
                game: g.clone(),
                moves,
            };
            self.state.games.insert(g.id, record);
        }
        let me = self.cfg.key.address();
        let plays = play(
            mine,
            &me,
            &mut self.replica,
            data,
            tip,
            &self.state.sent,
            None,
        );
        for p in plays {
            let p = match p {
                Ok(p) => p,
                Err(PlayFailure::Trace { error, .. }) => return Err(error.into()),
                Err(PlayFailure::Move { op, error, .. }) => {
                    events.push(ChallengerEvent::SendFailed {
                        op: op.into(),
                        error: error.to_string(),
                    });
                    continue;
                }
            };
            let ev = self
                .send(p.op, p.key, tip, format!("game {}", p.game))
                .await;
            if matches!(ev, ChallengerEvent::Sent { .. }) {
                self.state.stats.moves_sent += 1;
                if let Some(r) = self.state.games.get_mut(&p.game) {
                    r.moves += 1;
                }
            }
            events.push(ev);
        }
        Ok(events)
    }
}

//! The one game player: the challenger's moves and a sequencer's defence are computed here.
//!
//! Given the open games, our address, the [`Replica`] (the trace source) and the L1 tip,
//! [`play`] gives the L1 operations to send now ([`fraud::honest_move`] from our trace, the
//! one-step witness when the move needs one), each under a key ([`move_key`]) that [`SentOps`]
//! remembers for [`RESEND_AFTER`] L1 blocks so a move is not sent twice while it waits in the
//! mempool. The challenger persists its [`SentOps`] (in `challenger.json`) and records every
//! other operation it sends there too; [`Defence`] is the node's side: the chain data, the
//! replica and the sent set of a sequencer that defends its anchors.
//!
//! [`fraud::honest_move`]: casl2_verifier::fraud::honest_move

use super::replica::{ChainData, Replica, ReplicaError};
use crate::l1::L1Client;
use casl2_verifier::fraud::{honest_move, BatchData, Game, Move};
use casl2_verifier::l1::L1Op;
use casl2_verifier::smt::NodeStore;
use casl2_verifier::stf::StepWitness;
use casl2_verifier::{Address, H256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// L1 blocks during which an operation just sent is not sent again.
pub const RESEND_AFTER: u64 = 3;

/// The L1 operations sent recently: key → L1 tip when sent. Serialised as that map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SentOps(BTreeMap<String, u64>);

impl SentOps {
    /// Whether `key` was sent within [`RESEND_AFTER`] blocks of `tip`.
    pub fn recently_sent(&self, key: &str, tip: u64) -> bool {
        self.0
            .get(key)
            .is_some_and(|t| tip < t.saturating_add(RESEND_AFTER))
    }

    /// Record `key` as sent at `tip`.
    pub fn record(&mut self, key: String, tip: u64) {
        self.0.insert(key, tip);
    }

    /// Forget `key` (it was not sent after all).
    pub fn forget(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// Forget everything sent [`RESEND_AFTER`] or more blocks before `tip`.
    pub fn expire(&mut self, tip: u64) {
        self.0.retain(|_, t| tip < t.saturating_add(RESEND_AFTER));
    }

    /// The L1 tip `key` was sent at, if it is remembered.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).copied()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The key under which a move of `kind` in round `rounds` of game `game` is remembered.
pub fn move_key(game: &Game, m: &Move) -> String {
    let kind = match m {
        Move::Reveal { .. } => "reveal",
        Move::Answer { .. } => "answer",
        Move::OneStep { .. } => "one-step",
        Move::Timeout { .. } => "timeout",
    };
    format!("move:{}:{}:{kind}", game.id, game.rounds)
}

/// The L1 operation of a move; a one-step proof needs its `witness` (`None` without one).
pub fn move_op(m: Move, witness: Option<StepWitness>) -> Option<L1Op> {
    Some(match m {
        Move::Reveal { game, root, .. } => L1Op::BisectReveal { game, root },
        Move::Answer { game, agree } => L1Op::BisectAnswer { game, agree },
        Move::OneStep { game, .. } => L1Op::SubmitOneStepProof {
            game,
            witness: witness?,
        },
        Move::Timeout { game } => L1Op::Timeout { game },
    })
}

/// The trace a player defends instead of its own for an anchor its replica judged bad: given
/// the true trace and the anchored batch (the demo harness's dishonest node lies with it).
pub type LyingTrace<'a> = &'a (dyn Fn(&[H256], &BatchData) -> Vec<H256> + Send + Sync);

/// A move to send.
#[derive(Debug, Clone)]
pub struct Play {
    /// The game.
    pub game: u64,
    /// Its key in [`SentOps`] (record it before sending).
    pub key: String,
    /// The L1 operation.
    pub op: L1Op,
}

/// Why no move could be computed in a game.
#[derive(Debug)]
pub enum PlayFailure {
    /// Our trace of the game's anchor could not be computed.
    Trace {
        /// The game.
        game: u64,
        /// Why.
        error: ReplicaError,
    },
    /// The one-step witness (or the batch a lying trace needs) could not be built.
    Move {
        /// The game.
        game: u64,
        /// The L1 operation it was for.
        op: &'static str,
        /// Why.
        error: ReplicaError,
    },
}

impl std::fmt::Display for PlayFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlayFailure::Trace { game, error } => write!(f, "game {game}: {error}"),
            PlayFailure::Move { game, op, error } => write!(f, "game {game}, {op}: {error}"),
        }
    }
}

/// The moves `me` makes now in the open `games` (as L1 reports them) at L1 tip `tip`, from
/// `replica`'s trace of each game's anchor in `data`; moves in `sent` recently are left out.
/// An anchor the replica has no trace of (L1 replaced it) is ended by a timeout when `me` is
/// the challenger (the game is cancelled, the bond comes back) and left alone otherwise.
/// `lie`, when given, replaces the trace of anchors the replica judged bad.
pub fn play<S: NodeStore>(
    games: &[Game],
    me: &Address,
    replica: &mut Replica<S>,
    data: &ChainData,
    tip: u64,
    sent: &SentOps,
    lie: Option<LyingTrace<'_>>,
) -> Vec<Result<Play, PlayFailure>> {
    let mut out = Vec::new();
    for g in games.iter().filter(|g| g.result.is_none()) {
        let m = match replica.trace(data, g.anchor) {
            Ok(Some(trace)) => {
                let trace = match lied_trace(replica, data, g, trace, lie) {
                    Ok(t) => t,
                    Err(e) => {
                        out.push(Err(e));
                        continue;
                    }
                };
                honest_move(g, me, &trace, tip + 1)
            }
            // The anchor is gone: the game is cancelled by a timeout at any time.
            Ok(None) if g.challenger == *me => Some(Move::Timeout { game: g.id }),
            Ok(None) => None,
            Err(error) => {
                out.push(Err(PlayFailure::Trace { game: g.id, error }));
                continue;
            }
        };
        let Some(m) = m else { continue };
        let key = move_key(g, &m);
        if sent.recently_sent(&key, tip) {
            continue;
        }
        let witness = match m {
            Move::OneStep { index, .. } => {
                match replica.witness(data, g.anchor, index, g.agreed_root) {
                    Ok(w) => Some(w),
                    Err(error) => {
                        out.push(Err(PlayFailure::Move {
                            game: g.id,
                            op: "SubmitOneStepProof",
                            error,
                        }));
                        continue;
                    }
                }
            }
            _ => None,
        };
        if let Some(op) = move_op(m, witness) {
            out.push(Ok(Play {
                game: g.id,
                key,
                op,
            }));
        }
    }
    out
}

/// `trace`, or the lie `lie` tells for it when the replica judged the game's anchor bad.
fn lied_trace<S: NodeStore>(
    replica: &Replica<S>,
    data: &ChainData,
    g: &Game,
    trace: Vec<H256>,
    lie: Option<LyingTrace<'_>>,
) -> Result<Vec<H256>, PlayFailure> {
    let Some(lie) = lie else { return Ok(trace) };
    let lied = replica
        .judged()
        .get(g.anchor as usize)
        .is_some_and(|j| j.verdict.is_bad());
    if !lied {
        return Ok(trace);
    }
    let batch = data.batch(g.anchor).map_err(|error| PlayFailure::Move {
        game: g.id,
        op: "BisectReveal",
        error,
    })?;
    Ok(lie(&trace, &batch))
}

/// What a sequencer needs to defend its anchors: the chain's L1 data, the state replayed from
/// it, and the moves sent.
#[derive(Debug)]
pub struct Defence<S: NodeStore> {
    data: ChainData,
    replica: Replica<S>,
    sent: SentOps,
}

impl<S: NodeStore> Defence<S> {
    /// Read chain `chain` from L1 and start a replica of it over `store` (empty).
    pub async fn open<C: L1Client>(
        l1: &C,
        chain: u64,
        store: S,
    ) -> Result<Defence<S>, ReplicaError> {
        let data = ChainData::fetch(l1, chain).await?;
        let replica = Replica::new(chain, store, Vec::new())?;
        Ok(Defence {
            data,
            replica,
            sent: SentOps::default(),
        })
    }

    /// Bring the chain data up to date from L1.
    pub async fn refresh<C: L1Client>(&mut self, l1: &C) -> Result<(), ReplicaError> {
        self.data.refresh(l1).await
    }

    /// Judge the new anchors, then the moves `me` makes now in `games` at L1 tip `tip` (see
    /// [`play`]), recorded as sent; what failed in a game is in the second list.
    pub fn moves(
        &mut self,
        games: &[Game],
        me: &Address,
        tip: u64,
        lie: Option<LyingTrace<'_>>,
    ) -> Result<(Vec<L1Op>, Vec<PlayFailure>), ReplicaError> {
        self.replica.sync(&self.data, |_, _| {})?;
        self.sent.expire(tip);
        let mut ops = Vec::new();
        let mut failures = Vec::new();
        let plays = play(
            games,
            me,
            &mut self.replica,
            &self.data,
            tip,
            &self.sent,
            lie,
        );
        for p in plays {
            match p {
                Ok(p) => {
                    self.sent.record(p.key, tip);
                    ops.push(p.op);
                }
                Err(e) => failures.push(e),
            }
        }
        Ok((ops, failures))
    }
}

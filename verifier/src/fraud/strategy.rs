//! How an honest player plays: the move an honest defender or challenger makes in a game
//! given its own trace, and the non-interactive evidence a batch offers. Used by
//! `casl2 challenger` (as challenger) and by sequencer nodes (defending their anchors).

use super::evidence::breaks_stateless_rule;
use super::{verify_evidence, BatchData, FraudEvidence, Game, GamePhase, Senders, Side};
use crate::hash::{Address, H256};
use crate::stf::BlockSenders;
use rayon::prelude::*;
use std::collections::HashMap;

/// A move in a game, as an L1 operation would carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// `BisectReveal`: the defender's root at the midpoint.
    Reveal {
        /// Game id.
        game: u64,
        /// Trace index revealed.
        index: u64,
        /// The root.
        root: H256,
    },
    /// `BisectAnswer`: the challenger agrees or not with the revealed root.
    Answer {
        /// Game id.
        game: u64,
        /// Agree.
        agree: bool,
    },
    /// `SubmitOneStepProof` of step `index` (the caller builds the witness).
    OneStep {
        /// Game id.
        game: u64,
        /// The step.
        index: u64,
    },
    /// `Timeout`: the other side let its clock run out.
    Timeout {
        /// Game id.
        game: u64,
    },
}

/// The move `me` makes now in `game` when the next L1 block has height `height`, `trace`
/// being `me`'s trace of the batch (`r₀ …`; shorter than `N + 1` when a step is invalid, every
/// later root then being disputed). `None`: nothing to do (the game is over, or waits for the
/// other side with its clock running, or `me` plays no part).
///
/// The honest challenger agrees with a revealed root iff its own trace has that root at that
/// index; the honest defender reveals its own root. Either side claims a timeout as soon as the
/// side to move has let its clock run out.
pub fn honest_move(game: &Game, me: &Address, trace: &[H256], height: u64) -> Option<Move> {
    if game.result.is_some() {
        return None;
    }
    let to_move = game.to_move();
    let mine = game.address_of(to_move) == *me;
    if game.expired(height) {
        // The side to move may no longer move; anyone may end the game.
        return (!mine).then_some(Move::Timeout { game: game.id });
    }
    if !mine {
        return None;
    }
    match (to_move, game.phase) {
        (Side::Defender, GamePhase::Reveal) => {
            let index = game.midpoint();
            let root = *trace.get(usize::try_from(index).ok()?)?;
            Some(Move::Reveal {
                game: game.id,
                index,
                root,
            })
        }
        (Side::Challenger, GamePhase::Answer { index, root }) => {
            let agree = usize::try_from(index)
                .ok()
                .and_then(|i| trace.get(i))
                .is_some_and(|r| *r == root);
            Some(Move::Answer {
                game: game.id,
                agree,
            })
        }
        (Side::Challenger, GamePhase::OneStep) => Some(Move::OneStep {
            game: game.id,
            index: game.agreed_index,
        }),
        _ => None,
    }
}

/// The first non-interactive evidence that proves `batch` fraudulent, if there is one:
/// timestamps, then per transaction in batch order its signature, its stateless rules and
/// double spends, then block signatures. Candidates are screened in parallel (one signature
/// recovery per transaction); the one returned is confirmed with [`verify_evidence`], so it is
/// what the L1 accepts.
pub fn find_evidence(batch: &BatchData) -> Option<FraudEvidence> {
    find_evidence_with_senders(batch).0
}

/// [`find_evidence`], also returning the transaction hashes and senders the screening
/// recovered, for [`replay_batch_with_senders`](super::replay_batch_with_senders) (the
/// challenger's judgement recovers each signature once). The senders are empty when the
/// screening stopped before the signatures (a timestamp proof).
pub fn find_evidence_with_senders(batch: &BatchData) -> (Option<FraudEvidence>, Senders) {
    if let Some(e) = timestamp_evidence(batch) {
        return (Some(e), Senders::default());
    }
    let screened = (0..batch.blocks.len())
        .map(|b| screen_block(batch, b))
        .collect();
    conclude(batch, screened)
}

/// Judge `batch` as the challenger does, [`find_evidence_with_senders`] then
/// [`replay_batch_with_senders`](super::replay_batch_with_senders), with the two overlapped:
/// block i is replayed while block i + 1's signatures are screened (the replay's steps run one
/// after another and leave cores idle). `tree` must be at the batch's pre-state root.
/// Returns the evidence (then the tree is left at some root of the batch) or, without
/// evidence, whether the replay gives the batch's roots: the same answers as the two calls.
pub fn judge_batch<S: crate::smt::NodeStore>(
    tree: &mut crate::smt::SparseMerkleTree<S>,
    batch: &BatchData,
) -> Result<(Option<FraudEvidence>, bool), crate::stf::StfError> {
    if let Some(e) = timestamp_evidence(batch) {
        return Ok((Some(e), false));
    }
    let n = batch.blocks.len();
    let mut screened: Vec<Screened> = Vec::with_capacity(n);
    if n > 0 {
        screened.push(screen_block(batch, 0));
    }
    // `Ok(true)` while every block so far gave its root; the replay stops at the first that
    // does not, the screening goes on to the end.
    let mut replay: Result<bool, crate::stf::StfError> = Ok(true);
    for i in 0..n {
        let senders = block_senders(&screened[i]);
        let replaying = matches!(replay, Ok(true));
        let (r, next) = rayon::join(
            || replaying.then(|| super::replay_block(tree, batch, i, Some(&senders))),
            || (i + 1 < n).then(|| screen_block(batch, i + 1)),
        );
        if let Some(r) = r {
            replay = r;
        }
        if let Some(next) = next {
            screened.push(next);
        }
    }
    let (evidence, _) = conclude(batch, screened);
    if evidence.is_some() {
        return Ok((evidence, false));
    }
    Ok((None, replay? && tree.root() == batch.post_state_root))
}

/// Per transaction of a block: its hash, its sender and the first evidence that applies to it
/// alone.
type Screened = Vec<(H256, Option<Address>, Option<FraudEvidence>)>;

fn timestamp_evidence(batch: &BatchData) -> Option<FraudEvidence> {
    (0..batch.blocks.len()).find_map(|b| {
        let e = FraudEvidence::TimestampManipulation { block: b as u32 };
        verify_evidence(batch, None, &e).is_ok().then_some(e)
    })
}

/// Screen block `b`'s transactions in parallel (one signature recovery each).
fn screen_block(batch: &BatchData, b: usize) -> Screened {
    let block = &batch.blocks[b];
    let ctx = batch.context(b);
    let b32 = b as u32;
    block
        .transactions
        .par_iter()
        .enumerate()
        .map(|(t, tx)| {
            let hash = tx.hash();
            let sender = tx.recover_sender_with_hash(&hash).ok();
            let found = if sender != Some(tx.from) {
                Some(FraudEvidence::InvalidTxSignature {
                    block: b32,
                    tx: t as u32,
                })
            } else {
                ctx.as_ref().and_then(|ctx| {
                    breaks_stateless_rule(tx, ctx, sender).then_some(
                        FraudEvidence::InvalidTransaction {
                            block: b32,
                            tx: t as u32,
                            witness: None,
                        },
                    )
                })
            };
            (hash, sender, found)
        })
        .collect()
}

fn block_senders(screened: &Screened) -> BlockSenders {
    BlockSenders {
        hashes: screened.iter().map(|s| s.0).collect(),
        senders: screened.iter().map(|s| s.1).collect(),
    }
}

/// From every block's screening, in batch order: the first per-transaction evidence or double
/// spend the L1 accepts, then the block signatures; with the senders for the replay.
fn conclude(batch: &BatchData, screened: Vec<Screened>) -> (Option<FraudEvidence>, Senders) {
    let accepted = |e: FraudEvidence| verify_evidence(batch, None, &e).is_ok().then_some(e);
    let senders = Senders {
        blocks: screened.iter().map(block_senders).collect(),
    };
    let mut seen: HashMap<(Address, u64), (u32, u32)> = HashMap::new();
    for (b, block) in screened.into_iter().enumerate() {
        for (t, (_, _, found)) in block.into_iter().enumerate() {
            let pos = (b as u32, t as u32);
            if let Some(e) = found.and_then(accepted) {
                return (Some(e), senders);
            }
            let tx = &batch.blocks[b].transactions[t];
            if let Some(first) = seen.insert((tx.from, tx.nonce), pos) {
                if let Some(e) = accepted(FraudEvidence::DoubleSpend { first, second: pos }) {
                    return (Some(e), senders);
                }
            }
        }
    }
    let sigs: Vec<(u32, u32)> = batch
        .blocks
        .iter()
        .enumerate()
        .flat_map(|(b, block)| (0..block.signatures.len()).map(move |s| (b as u32, s as u32)))
        .collect();
    let evidence = sigs
        .par_iter()
        .find_first(|&&(block, signature)| {
            verify_evidence(
                batch,
                None,
                &FraudEvidence::InvalidBlockSignature { block, signature },
            )
            .is_ok()
        })
        .map(|&(block, signature)| FraudEvidence::InvalidBlockSignature { block, signature });
    (evidence, senders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fraud::Game;

    fn root(n: u8) -> H256 {
        H256([n; 32])
    }

    fn game(steps: u64) -> Game {
        Game::new(
            7,
            1,
            0,
            root(0xbb),
            Address([0xc; 20]),
            Address([0xd; 20]),
            1,
            steps,
            root(0),
            root(0xff),
            10,
            100,
        )
        .unwrap()
    }

    #[test]
    fn the_defender_reveals_its_root_and_the_challenger_compares() {
        let honest: Vec<H256> = (0..=8).map(root).collect();
        let (c, d) = (Address([0xc; 20]), Address([0xd; 20]));
        let mut g = game(8);
        assert_eq!(honest_move(&g, &c, &honest, 101), None, "defender to move");
        let m = honest_move(&g, &d, &honest, 101).unwrap();
        assert_eq!(
            m,
            Move::Reveal {
                game: 7,
                index: 4,
                root: root(4)
            }
        );
        g.reveal(&d, root(4), 101).unwrap();
        assert_eq!(
            honest_move(&g, &c, &honest, 102),
            Some(Move::Answer {
                game: 7,
                agree: true
            })
        );
        // A lying reveal is disagreed with.
        let mut g2 = game(8);
        g2.reveal(&d, root(0x44), 101).unwrap();
        assert_eq!(
            honest_move(&g2, &c, &honest, 102),
            Some(Move::Answer {
                game: 7,
                agree: false
            })
        );
        // A short trace (an invalid step before the index) disagrees.
        assert_eq!(
            honest_move(&g, &c, &honest[..3], 102),
            Some(Move::Answer {
                game: 7,
                agree: false
            })
        );
    }

    #[test]
    fn timeouts_are_claimed_by_the_other_side_only_after_the_clock() {
        let (c, d) = (Address([0xc; 20]), Address([0xd; 20]));
        let g = game(8);
        let t: Vec<H256> = (0..=8).map(root).collect();
        assert_eq!(honest_move(&g, &c, &t, 110), None, "clock still running");
        assert_eq!(
            honest_move(&g, &c, &t, 111),
            Some(Move::Timeout { game: 7 })
        );
        assert_eq!(honest_move(&g, &d, &t, 111), None, "the late side cannot");
        let one = game(1);
        assert_eq!(
            honest_move(&one, &c, &t, 101),
            Some(Move::OneStep { game: 7, index: 0 })
        );
    }
}

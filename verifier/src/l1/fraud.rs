//! The L1 fraud verifier: bisection games with bonds and chess clocks, one-step proofs,
//! non-interactive fraud proofs, slashing, rewards and reverts (see `verifier::fraud` for the
//! game itself and `docs/protocol.md`, "Fraud proofs").
//!
//! Numbers: the challenger locks the chain's `challengeBond`; each side's clock holds
//! `challengePeriod` L1 blocks; a proven fraud slashes every sequencer that signed the batch
//! (and its poster) by `minSlash` each, [`CHALLENGER_REWARD_PCT`] % of it to the prover and the
//! rest burned, and returns the winning challenger's bond; a failed challenge pays the bond to
//! the poster.

use super::registry::L2Status;
use super::{L1Event, L1State};
use crate::fraud::{
    verify_evidence, BatchData, FraudEvidence, FraudKind, Game, GameResult, CHALLENGER_REWARD_PCT,
};
use crate::hash::{Address, H256};
use crate::settlement::Anchor;
use crate::settlement::{add, add_u64, L1Error};
use crate::stf::{execute_step_stateless, StepWitness};
use std::collections::BTreeMap;

impl L1State {
    /// Every game, open or over, by id.
    pub fn games(&self) -> &BTreeMap<u64, Game> {
        &self.games
    }

    /// One game.
    pub fn game(&self, id: u64) -> Option<&Game> {
        self.games.get(&id)
    }

    /// The games still open.
    pub fn open_games(&self) -> impl Iterator<Item = &Game> {
        self.games.values().filter(|g| g.result.is_none())
    }

    /// Coins locked as challenge bonds of open games and open availability challenges.
    pub fn locked_bonds(&self) -> Option<i64> {
        let games = self
            .open_games()
            .try_fold(0i64, |t, g| t.checked_add(g.bond))?;
        self.availability
            .values()
            .filter(|c| c.result.is_none())
            .try_fold(games, |t, c| t.checked_add(c.bond))
    }

    /// The batch data of anchor `index` of `chain` as the L1 holds it (decoded payload, the
    /// consumed messages, the sequencer set at posting). Needs zstd (`L1_NOT_SUPPORTED`
    /// without it).
    pub fn batch_data(&self, chain: u64, index: u64) -> Result<BatchData, L1Error> {
        let c = self.chain_ref(chain)?;
        let a = anchor_at(&c.anchors, chain, index)?;
        let range = usize::try_from(a.messages_start)
            .ok()
            .zip(usize::try_from(a.messages_end).ok())
            .and_then(|(s, e)| c.queue.get(s..e))
            .ok_or_else(|| L1Error::MessagesMismatch("the consumed range left the queue".into()))?;
        let msgs: Vec<_> = range.iter().map(|q| q.message.clone()).collect();
        let prev = index
            .checked_sub(1)
            .and_then(|p| anchor_at(&c.anchors, chain, p).ok());
        BatchData::from_anchor(chain, a, prev, &msgs, &c.info.params)
    }

    /// The anchor, if it may still be challenged (not final, window open, no EMERGENCY).
    pub(crate) fn challengeable_anchor(&self, chain: u64, index: u64) -> Result<&Anchor, L1Error> {
        self.challengeable(chain, index)
    }

    /// A fraud of `kind` proven against anchor `index` by `prover`, outside a game.
    pub(crate) fn prove_fraud_pub(
        &mut self,
        chain: u64,
        index: u64,
        prover: &Address,
        kind: FraudKind,
    ) -> Result<Vec<L1Event>, L1Error> {
        self.prove_fraud(chain, index, prover, kind, None)
    }

    fn challengeable(&self, chain: u64, index: u64) -> Result<&Anchor, L1Error> {
        let c = self.chain_ref(chain)?;
        if c.info.status == L2Status::Emergency {
            return Err(L1Error::ChallengeFailed(format!(
                "chain {chain} is in EMERGENCY"
            )));
        }
        let a = anchor_at(&c.anchors, chain, index)?;
        if index < c.finalized_count || a.finalized {
            return Err(L1Error::ChallengeFailed(format!("anchor {index} is final")));
        }
        if !a.challenge_window_open(self.height) {
            return Err(L1Error::ChallengeFailed(format!(
                "the challenge window of anchor {index} closed at L1 height {}",
                a.deadline
            )));
        }
        Ok(a)
    }

    /// Whether a game's anchor still exists as it was when the game opened.
    fn game_alive(&self, g: &Game) -> bool {
        self.chain(g.chain).is_some_and(|c| {
            c.info.status != L2Status::Emergency
                && anchor_at(&c.anchors, g.chain, g.anchor)
                    .is_ok_and(|a| a.batch_hash == g.batch_hash)
        })
    }

    fn open_game(&self, id: u64) -> Result<Game, L1Error> {
        let g = self.games.get(&id).ok_or(L1Error::UnknownGame(id))?;
        if g.result.is_some() {
            return Err(L1Error::GameWrongTurn(format!("game {id} is over")));
        }
        if !self.game_alive(g) {
            return Err(L1Error::ChallengeFailed(format!(
                "the anchor of game {id} is gone; `Timeout` cancels the game"
            )));
        }
        Ok(g.clone())
    }

    pub(crate) fn open_challenge(
        &mut self,
        from: &Address,
        chain: u64,
        index: u64,
        disputed_root: &H256,
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let a = self.challengeable(chain, index)?.clone();
        if a.header.post_state_root != *disputed_root {
            return Err(L1Error::ChallengeFailed(format!(
                "anchor {index}'s post-state root is {}, not {disputed_root}",
                a.header.post_state_root
            )));
        }
        if a.poster == *from {
            return Err(L1Error::NotAuthorized(
                "the poster cannot challenge its own batch".into(),
            ));
        }
        let params = &self.chain_ref(chain)?.info.params;
        let bond = params.challenge_bond.max(0);
        let clock = params.challenge_period;
        let new_balance = self.debit_check(from, bond)?;
        let id = self.next_game;
        let next = add_u64(id, 1, "game id")?;
        let game = Game::new(
            id,
            chain,
            index,
            a.batch_hash,
            *from,
            a.poster,
            bond,
            a.steps,
            a.header.pre_state_root,
            a.header.post_state_root,
            clock,
            h,
        )?;
        if !a.disputed {
            self.open_dispute(chain, index)?;
        }
        self.set_balance(from, new_balance);
        self.next_game = next;
        let ev = L1Event::ChallengeOpened {
            game: id,
            chain,
            anchor: index,
            challenger: *from,
            bond,
            steps: game.steps,
        };
        self.games.insert(id, game);
        Ok(vec![ev])
    }

    pub(crate) fn bisect_reveal(
        &mut self,
        from: &Address,
        id: u64,
        root: &H256,
    ) -> Result<Vec<L1Event>, L1Error> {
        let mut g = self.open_game(id)?;
        let index = g.midpoint();
        g.reveal(from, *root, self.height)?;
        self.games.insert(id, g);
        Ok(vec![L1Event::BisectionRevealed {
            game: id,
            index,
            root: *root,
        }])
    }

    pub(crate) fn bisect_answer(
        &mut self,
        from: &Address,
        id: u64,
        agree: bool,
    ) -> Result<Vec<L1Event>, L1Error> {
        let mut g = self.open_game(id)?;
        g.answer(from, agree, self.height)?;
        let ev = L1Event::BisectionAnswered {
            game: id,
            agree,
            agreed_index: g.agreed_index,
            disputed_index: g.disputed_index,
        };
        self.games.insert(id, g);
        Ok(vec![ev])
    }

    pub(crate) fn submit_one_step(
        &mut self,
        id: u64,
        witness: &StepWitness,
    ) -> Result<Vec<L1Event>, L1Error> {
        let g = self.open_game(id)?;
        let index = g.one_step_index().ok_or_else(|| {
            L1Error::GameWrongTurn(format!("game {id} is not at its one-step proof"))
        })?;
        let batch = self.batch_data(g.chain, g.anchor)?;
        let (step, ctx) = batch.step(index)?;
        let computed =
            execute_step_stateless(&g.agreed_root, witness, &step, &ctx).map(|(root, _)| root);
        let result = g.judge_one_step(self.height, computed)?;
        self.atomically(|s| s.finish_game(&g, result))
    }

    pub(crate) fn timeout_game(&mut self, id: u64) -> Result<Vec<L1Event>, L1Error> {
        let g = self.games.get(&id).ok_or(L1Error::UnknownGame(id))?.clone();
        let result = if g.result.is_none() && !self.game_alive(&g) {
            GameResult::Cancelled
        } else {
            g.timeout(self.height)?
        };
        self.atomically(|s| s.finish_game(&g, result))
    }

    pub(crate) fn submit_fraud_proof(
        &mut self,
        from: &Address,
        chain: u64,
        index: u64,
        evidence: &FraudEvidence,
    ) -> Result<Vec<L1Event>, L1Error> {
        let a = self.challengeable(chain, index)?;
        let commitment = a.commitment.clone();
        let batch = self.batch_data(chain, index)?;
        verify_evidence(&batch, commitment.as_ref(), evidence)?;
        self.atomically(|s| s.prove_fraud(chain, index, from, evidence.kind(), None))
    }

    /// Run `f`; on error put the state back as it was.
    fn atomically(
        &mut self,
        f: impl FnOnce(&mut L1State) -> Result<Vec<L1Event>, L1Error>,
    ) -> Result<Vec<L1Event>, L1Error> {
        let before = self.clone();
        let r = f(self);
        if r.is_err() {
            *self = before;
        }
        r
    }

    /// Pay `amount` to `to`'s L1 balance.
    fn pay(&mut self, to: &Address, amount: i64) -> Result<(), L1Error> {
        let b = add(self.balance(to), amount, "balance")?;
        self.set_balance(to, b);
        Ok(())
    }

    /// Close game `g` with `result`, paying its bond.
    fn close_game(&mut self, g: &Game, result: GameResult) -> Result<Vec<L1Event>, L1Error> {
        let to = match result {
            GameResult::ChallengeFailed => g.defender,
            GameResult::FraudProven | GameResult::Cancelled => g.challenger,
        };
        self.pay(&to, g.bond)?;
        if let Some(s) = self.games.get_mut(&g.id) {
            s.result = Some(result);
        }
        Ok(vec![
            L1Event::GameResolved { game: g.id, result },
            L1Event::BondPaid {
                game: g.id,
                to,
                amount: g.bond,
            },
        ])
    }

    fn finish_game(&mut self, g: &Game, result: GameResult) -> Result<Vec<L1Event>, L1Error> {
        match result {
            GameResult::FraudProven => self.prove_fraud(
                g.chain,
                g.anchor,
                &g.challenger,
                FraudKind::InvalidStateTransition,
                Some(g.id),
            ),
            GameResult::Cancelled => self.close_game(g, result),
            GameResult::ChallengeFailed => {
                let events = self.close_game(g, result)?;
                let others = self.anchor_still_disputed(g.chain, g.anchor, u64::MAX);
                let disputed = self
                    .chain(g.chain)
                    .and_then(|c| anchor_at(&c.anchors, g.chain, g.anchor).ok())
                    .is_some_and(|a| a.disputed);
                if !others && disputed && self.game_alive(g) {
                    self.resolve_dispute(g.chain, g.anchor, false)?;
                }
                Ok(events)
            }
        }
    }

    /// Fraud proven against anchor `index` by `prover`: slash the batch's signers and poster,
    /// reward the prover, settle every open game on this or a later anchor (the winning game's
    /// bond back to its challenger, the others refunded), and revert the anchors.
    fn prove_fraud(
        &mut self,
        chain: u64,
        index: u64,
        prover: &Address,
        kind: FraudKind,
        winner: Option<u64>,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        let a = anchor_at(&c.anchors, chain, index)?.clone();
        let min_slash = c.info.params.min_slash.max(0);
        if !a.disputed {
            self.open_dispute(chain, index)?;
        }
        let reward = min_slash
            .checked_mul(CHALLENGER_REWARD_PCT)
            .map(|v| v / 100)
            .ok_or_else(|| L1Error::Overflow("slash reward".into()))?;
        let burn = min_slash - reward;
        let mut culprits = a.signers.clone();
        culprits.push(a.poster);
        culprits.sort();
        culprits.dedup();
        let mut events = Vec::new();
        for s in &culprits {
            if self.chain_ref(chain)?.sequencer(s).is_none() {
                continue;
            }
            if reward > 0 {
                events.extend(self.slash(chain, s, reward, Some(*prover))?);
            }
            if burn > 0 {
                events.extend(self.slash(chain, s, burn, None)?);
            }
        }
        let settled: Vec<Game> = self
            .open_games()
            .filter(|g| g.chain == chain && g.anchor >= index)
            .cloned()
            .collect();
        for g in &settled {
            let r = if Some(g.id) == winner {
                GameResult::FraudProven
            } else {
                GameResult::Cancelled
            };
            events.extend(self.close_game(g, r)?);
        }
        events.extend(self.cancel_availability_from(chain, index)?);
        self.resolve_dispute(chain, index, true)?;
        let root = self.chain_ref(chain)?.info.latest_state_root;
        events.push(L1Event::FraudProven {
            chain,
            anchor: index,
            kind,
            prover: *prover,
        });
        events.push(L1Event::AnchorsReverted {
            chain,
            from: index,
            root,
        });
        Ok(events)
    }
}

fn anchor_at(anchors: &[Anchor], chain: u64, index: u64) -> Result<&Anchor, L1Error> {
    usize::try_from(index)
        .ok()
        .and_then(|i| anchors.get(i))
        .ok_or(L1Error::UnknownAnchor { chain, index })
}

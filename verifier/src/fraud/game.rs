//! The bisection game with its chess clocks, as a pure state machine over L1 heights.

use crate::hash::{Address, H256};
use crate::settlement::L1Error;
use crate::stf::StfError;
use serde::{Deserialize, Serialize};

/// A party of a game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Side {
    /// The batch's poster, who defends its post-root.
    Defender,
    /// Who opened the game and disputes the post-root.
    Challenger,
}

/// What the game waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum GamePhase {
    /// The defender must reveal its root at the midpoint.
    Reveal,
    /// The challenger must agree or disagree with the revealed root at `index`.
    Answer {
        /// The midpoint.
        index: u64,
        /// The defender's root there.
        root: H256,
    },
    /// One step is left: the challenger (or anyone) must submit its one-step proof.
    OneStep,
}

/// How a game ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GameResult {
    /// Fraud proven (by the one-step proof or the defender's timeout).
    FraudProven,
    /// The challenge failed (the one-step proof gave the defender's root, or the challenger's
    /// timeout).
    ChallengeFailed,
    /// The anchor was reverted by another proof or voided by EMERGENCY; the bond was returned.
    Cancelled,
}

/// One bisection game over an anchor's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Game {
    /// Game id (0, 1, … over the whole L1).
    pub id: u64,
    /// The chain.
    pub chain: u64,
    /// The disputed anchor's index.
    pub anchor: u64,
    /// The disputed anchor's batch hash (guards against a replaced anchor).
    pub batch_hash: H256,
    /// Who opened the game.
    pub challenger: Address,
    /// The anchor's poster.
    pub defender: Address,
    /// The challenger's locked bond.
    pub bond: i64,
    /// Steps in the trace (`N`).
    pub steps: u64,
    /// Index of the agreed root.
    pub agreed_index: u64,
    /// The agreed root.
    pub agreed_root: H256,
    /// Index of the disputed root.
    pub disputed_index: u64,
    /// The disputed (defender's) root.
    pub disputed_root: H256,
    /// What the game waits for.
    pub phase: GamePhase,
    /// L1 height at which the current turn started.
    pub turn_since: u64,
    /// Blocks left on the defender's clock (at `turn_since` when it is its turn).
    pub defender_clock: u64,
    /// Blocks left on the challenger's clock.
    pub challenger_clock: u64,
    /// Bisection rounds played.
    pub rounds: u32,
    /// L1 height of the opening.
    pub opened_at: u64,
    /// The result once the game is over.
    pub result: Option<GameResult>,
}

/// ⌈log₂ steps⌉: the bisection rounds of a trace of `steps` steps.
pub fn max_rounds(steps: u64) -> u32 {
    if steps <= 1 {
        0
    } else {
        64 - (steps - 1).leading_zeros()
    }
}

impl Game {
    /// A new game over a trace of `steps` steps from `pre` to `post`, opened at `height`, each
    /// clock holding `clock` blocks (at least 1).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        chain: u64,
        anchor: u64,
        batch_hash: H256,
        challenger: Address,
        defender: Address,
        bond: i64,
        steps: u64,
        pre: H256,
        post: H256,
        clock: u64,
        height: u64,
    ) -> Result<Game, L1Error> {
        if steps == 0 {
            return Err(L1Error::InvalidArgument("a trace without steps".into()));
        }
        let clock = clock.max(1);
        Ok(Game {
            id,
            chain,
            anchor,
            batch_hash,
            challenger,
            defender,
            bond,
            steps,
            agreed_index: 0,
            agreed_root: pre,
            disputed_index: steps,
            disputed_root: post,
            phase: if steps == 1 {
                GamePhase::OneStep
            } else {
                GamePhase::Reveal
            },
            turn_since: height,
            defender_clock: clock,
            challenger_clock: clock,
            rounds: 0,
            opened_at: height,
            result: None,
        })
    }

    /// The side whose clock runs.
    pub fn to_move(&self) -> Side {
        match self.phase {
            GamePhase::Reveal => Side::Defender,
            GamePhase::Answer { .. } | GamePhase::OneStep => Side::Challenger,
        }
    }

    /// The address of a side.
    pub fn address_of(&self, side: Side) -> Address {
        match side {
            Side::Defender => self.defender,
            Side::Challenger => self.challenger,
        }
    }

    /// Blocks left on a side's clock (not counting the running turn).
    pub fn clock_of(&self, side: Side) -> u64 {
        match side {
            Side::Defender => self.defender_clock,
            Side::Challenger => self.challenger_clock,
        }
    }

    /// The last L1 height at which the side to move may still move; from the next height on
    /// anyone may call `Timeout`.
    pub fn deadline(&self) -> u64 {
        self.turn_since
            .saturating_add(self.clock_of(self.to_move()))
    }

    /// The midpoint the defender reveals next.
    pub fn midpoint(&self) -> u64 {
        self.agreed_index + (self.disputed_index.saturating_sub(self.agreed_index)) / 2
    }

    /// The step the one-step proof checks (`Some` in the one-step phase).
    pub fn one_step_index(&self) -> Option<u64> {
        (self.phase == GamePhase::OneStep).then_some(self.agreed_index)
    }

    /// Whether the side to move has let its clock run out at `height`.
    pub fn expired(&self, height: u64) -> bool {
        height > self.deadline()
    }

    fn check_open(&self) -> Result<(), L1Error> {
        if self.result.is_some() {
            return Err(L1Error::GameWrongTurn(format!("game {} is over", self.id)));
        }
        Ok(())
    }

    /// Check that `who` is the side to move and its clock has time left; charge the elapsed
    /// blocks and restart the turn for the other side.
    fn charge(&mut self, who: &Address, side: Side, height: u64) -> Result<(), L1Error> {
        self.check_open()?;
        if self.to_move() != side || self.address_of(side) != *who {
            return Err(L1Error::GameWrongTurn(format!(
                "game {}: {who} may not move now ({:?} to move)",
                self.id,
                self.to_move()
            )));
        }
        if self.expired(height) {
            return Err(L1Error::GameClockExpired(format!(
                "game {}: the {:?}'s clock ran out at L1 height {}",
                self.id,
                side,
                self.deadline()
            )));
        }
        let used = height.saturating_sub(self.turn_since);
        let left = self.clock_of(side).saturating_sub(used);
        match side {
            Side::Defender => self.defender_clock = left,
            Side::Challenger => self.challenger_clock = left,
        }
        self.turn_since = height;
        Ok(())
    }

    /// The defender reveals its root at the midpoint.
    pub fn reveal(&mut self, who: &Address, root: H256, height: u64) -> Result<(), L1Error> {
        if self.phase != GamePhase::Reveal {
            return Err(L1Error::GameWrongTurn(format!(
                "game {} does not wait for a reveal",
                self.id
            )));
        }
        self.charge(who, Side::Defender, height)?;
        self.phase = GamePhase::Answer {
            index: self.midpoint(),
            root,
        };
        Ok(())
    }

    /// The challenger agrees or disagrees with the revealed root; the interval halves.
    pub fn answer(&mut self, who: &Address, agree: bool, height: u64) -> Result<(), L1Error> {
        let GamePhase::Answer { index, root } = self.phase else {
            return Err(L1Error::GameWrongTurn(format!(
                "game {} does not wait for an answer",
                self.id
            )));
        };
        self.charge(who, Side::Challenger, height)?;
        if agree {
            self.agreed_index = index;
            self.agreed_root = root;
        } else {
            self.disputed_index = index;
            self.disputed_root = root;
        }
        self.rounds = self.rounds.saturating_add(1);
        self.phase = if self.disputed_index.saturating_sub(self.agreed_index) <= 1 {
            GamePhase::OneStep
        } else {
            GamePhase::Reveal
        };
        Ok(())
    }

    /// Judge the one-step proof from the result of stateless execution of step
    /// [`one_step_index`](Self::one_step_index) against the agreed root. A post-root other than
    /// the disputed root, or an invalid step, proves the fraud; the disputed root means the
    /// challenge failed; a witness that does not verify or misses a node is refused.
    pub fn judge_one_step(
        &self,
        height: u64,
        computed: Result<H256, StfError>,
    ) -> Result<GameResult, L1Error> {
        self.check_open()?;
        if self.phase != GamePhase::OneStep {
            return Err(L1Error::GameWrongTurn(format!(
                "game {} is not at its one-step proof",
                self.id
            )));
        }
        if self.expired(height) {
            return Err(L1Error::GameClockExpired(format!(
                "game {}: the challenger's clock ran out at L1 height {}",
                self.id,
                self.deadline()
            )));
        }
        match computed {
            Ok(root) if root == self.disputed_root => Ok(GameResult::ChallengeFailed),
            Ok(_) => Ok(GameResult::FraudProven),
            Err(StfError::InvalidTransaction { .. } | StfError::L1MessageOutOfOrder { .. }) => {
                Ok(GameResult::FraudProven)
            }
            Err(e) => Err(L1Error::FraudProofInvalid(format!(
                "game {}: one-step proof refused: {e}",
                self.id
            ))),
        }
    }

    /// The result of a `Timeout` at `height`: the side to move loses once its clock ran out.
    pub fn timeout(&self, height: u64) -> Result<GameResult, L1Error> {
        self.check_open()?;
        if !self.expired(height) {
            return Err(L1Error::GameClockRunning(format!(
                "game {}: the {:?} may move until L1 height {}",
                self.id,
                self.to_move(),
                self.deadline()
            )));
        }
        Ok(match self.to_move() {
            Side::Defender => GameResult::FraudProven,
            Side::Challenger => GameResult::ChallengeFailed,
        })
    }
}

//! The L1 side of the design as a deterministic state machine over L1 blocks: an L1 account
//! model, the L2 registry, sequencer stakes, the bridge escrow and its L1→L2 queue, state anchors
//! with challenge deadlines, withdrawals, forced inclusion and emergency mode.
//!
//! No I/O, no clock, no randomness: time is the L1 height. [`L1State`] is `Clone` (snapshots for
//! reorgs) and serde-serializable (persistence). [`L1State::apply_block`] applies one block:
//!
//! 1. The block must extend the tip: height + 1, `prev_hash` = tip hash, time not below the tip's,
//!    at most [`MAX_BLOCK_TXS`] transactions. Otherwise the whole block is rejected, nothing
//!    changes.
//! 2. Begin block: anchors whose challenge deadline is reached (`deadline ≤ height`) and that
//!    are not disputed become final, in order (a disputed anchor holds back those after it).
//! 3. Each transaction: the signature must recover `from`, the nonce must be the account's next
//!    nonce. A transaction failing either check changes nothing. Otherwise its nonce is consumed
//!    and its operation applied; a failing operation changes nothing else (no fees exist).
//! 4. End block: forced-inclusion deadlines and the emergency timer (see `docs/protocol.md`,
//!    "L1 rules").
//!
//! The rules in short (numbers from the chain's [`ChainParams`]):
//! - A chain is BOOTSTRAPPING until its first sequencer announces, then ACTIVE. The deployer may
//!   pause (ACTIVE → PAUSED), resume (PAUSED → ACTIVE) and deprecate (any but EMERGENCY →
//!   DEPRECATED, which returns the deployer stake). EMERGENCY is entered only by the rules and is
//!   final.
//! - Deposits (plain and `L2BURN`) and forced transactions are accepted while ACTIVE; burns are
//!   locked in the escrow like deposits (the devnet never destroys them, so the escrow backs all
//!   L2 coins). Batches are accepted while ACTIVE or DEPRECATED.
//! - A queued message not consumed by an anchored batch within `forced_inclusion_deadline`
//!   blocks (of an ACTIVE chain) slashes every active sequencer by `min_slash` (burned), once
//!   per message; the [`MAX_MISSED_MESSAGES`]-th missed message puts the chain in EMERGENCY.
//! - No anchor for `emergency_after` blocks (counted from activation or the latest anchor) while
//!   ACTIVE or PAUSED puts the chain in EMERGENCY. Entering EMERGENCY voids the anchors that are
//!   not final and refunds to their L1 senders the deposits that no final anchor consumed.
//! - Fraud proofs (`OpenChallenge`, `BisectReveal`, `BisectAnswer`, `SubmitOneStepProof`,
//!   `SubmitFraudProof`, `Timeout`): bisection games with bonds and chess clocks over an anchor's
//!   execution trace, non-interactive proofs, slashing and reverts (`verifier::fraud`).

mod anchor;
mod availability;
mod bridge;
mod events;
mod fraud;
mod offline;
mod registry;
mod tx;
mod withdrawal;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_availability;
#[cfg(test)]
mod tests_batch;
#[cfg(test)]
mod tests_bridge;
#[cfg(test)]
mod tests_codec;
#[cfg(test)]
mod tests_fraud;
#[cfg(test)]
mod tests_offline;

pub use crate::settlement::Anchor;
pub use crate::settlement::L1Error;
pub use availability::{
    answer_samples, AvailabilityChallenge, AvailabilityResult, SharePosition,
    MAX_AVAILABILITY_POSITIONS,
};
pub use events::L1Event;
pub use offline::check_offline;
pub use registry::{
    ChainState, DailyDeposits, L2ChainInfo, L2Status, QueuedMessage, Sequencer, SequencerStatus,
};
pub use tx::{
    L1Block, L1Op, L1Tx, L1_TX_TAG, MAX_BATCH_SIGNATURES, MAX_BLOCK_TXS, MAX_CHAIN_NAME,
    MAX_ENDPOINT, MAX_PAYLOAD,
};
pub use withdrawal::{
    check_withdrawal_proof, fast_withdrawal_eligible, undisputed_through, WithdrawalCase,
    WithdrawalPath,
};

use crate::hash::{Address, H256};
use crate::keys::PublicKey;
#[cfg(doc)]
use crate::params::ChainParams;
use crate::settlement::{add, add_u64, sub};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Missed forced-inclusion messages after which a chain enters EMERGENCY.
pub const MAX_MISSED_MESSAGES: u64 = 3;

/// An L1 account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Account {
    /// Spendable balance (smallest units).
    pub balance: i64,
    /// Next nonce.
    pub nonce: u64,
}

/// The genesis of an L1 chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Genesis {
    /// Time of the genesis block (Unix seconds).
    pub time: u64,
    /// The devnet authority: the only sender of `SetHatScore`.
    pub authority: Address,
    /// Funded accounts (positive balances, each address once).
    pub accounts: Vec<(Address, i64)>,
    /// Initial HAT scores (0..=100).
    pub hat_scores: Vec<(Address, u32)>,
}

impl L1Genesis {
    /// The genesis block (height 0, no transactions, zero previous hash).
    pub fn block(&self) -> L1Block {
        L1Block {
            height: 0,
            time: self.time,
            prev_hash: H256::ZERO,
            txs: Vec::new(),
        }
    }
}

/// The result of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Receipt {
    /// The transaction id.
    pub tx_hash: H256,
    /// Its events, or why it failed.
    pub outcome: Result<Vec<L1Event>, L1Error>,
}

/// The result of one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockOutcome {
    /// The block hash.
    pub hash: H256,
    /// One receipt per transaction, in order.
    pub receipts: Vec<L1Receipt>,
    /// Events of the block's own rules (finalizations, deadlines, emergencies), begin-block ones
    /// first.
    pub events: Vec<L1Event>,
}

/// The whole L1 state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1State {
    pub(crate) height: u64,
    pub(crate) tip_time: u64,
    pub(crate) block_hashes: Vec<H256>,
    pub(crate) authority: Address,
    pub(crate) accounts: BTreeMap<Address, L1Account>,
    pub(crate) hat_scores: BTreeMap<Address, u32>,
    pub(crate) chains: BTreeMap<u64, ChainState>,
    pub(crate) burned: i64,
    pub(crate) genesis_supply: i64,
    /// Fraud-proof games, open and over, by id.
    #[serde(default)]
    pub(crate) games: BTreeMap<u64, crate::fraud::Game>,
    /// Id of the next game.
    #[serde(default)]
    pub(crate) next_game: u64,
    /// Availability challenges, open and over, by id.
    #[serde(default)]
    pub(crate) availability: BTreeMap<u64, AvailabilityChallenge>,
    /// Id of the next availability challenge.
    #[serde(default)]
    pub(crate) next_availability: u64,
}

impl L1State {
    /// The state after the genesis block. Fails on a non-positive or duplicate balance, a score
    /// over 100, or a total supply over `i64::MAX`.
    pub fn genesis(g: &L1Genesis) -> Result<L1State, L1Error> {
        let mut accounts = BTreeMap::new();
        let mut supply: i64 = 0;
        for (a, bal) in &g.accounts {
            if *bal <= 0 {
                return Err(L1Error::InvalidAmount(format!(
                    "genesis balance {bal} of {a}"
                )));
            }
            supply = add(supply, *bal, "genesis supply")?;
            let prev = accounts.insert(
                *a,
                L1Account {
                    balance: *bal,
                    nonce: 0,
                },
            );
            if prev.is_some() {
                return Err(L1Error::InvalidArgument(format!(
                    "genesis account {a} twice"
                )));
            }
        }
        let mut hat_scores = BTreeMap::new();
        for (a, s) in &g.hat_scores {
            if *s > 100 {
                return Err(L1Error::InvalidArgument(format!("HAT score {s} over 100")));
            }
            hat_scores.insert(*a, *s);
        }
        Ok(L1State {
            height: 0,
            tip_time: g.time,
            block_hashes: vec![g.block().hash()],
            authority: g.authority,
            accounts,
            hat_scores,
            chains: BTreeMap::new(),
            burned: 0,
            genesis_supply: supply,
            games: BTreeMap::new(),
            next_game: 0,
            availability: BTreeMap::new(),
            next_availability: 0,
        })
    }

    /// Apply one block (see the module docs). A block-level error leaves the state unchanged.
    pub fn apply_block(&mut self, block: &L1Block) -> Result<BlockOutcome, L1Error> {
        self.check_block(block)?;
        let hash = block.hash();
        self.height = block.height;
        self.tip_time = block.time;
        self.block_hashes.push(hash);
        let mut events = self.begin_block();
        let receipts = block.txs.iter().map(|t| self.apply_tx(t)).collect();
        events.extend(self.end_block());
        Ok(BlockOutcome {
            hash,
            receipts,
            events,
        })
    }

    /// Check that `block` may extend the tip, without applying it.
    pub fn check_block(&self, block: &L1Block) -> Result<(), L1Error> {
        let next = add_u64(self.height, 1, "block height")?;
        if block.height != next {
            return Err(L1Error::InvalidBlock(format!(
                "height {} does not follow the tip {}",
                block.height, self.height
            )));
        }
        if block.prev_hash != self.tip_hash() {
            return Err(L1Error::InvalidBlock(format!(
                "previous hash {} is not the tip {}",
                block.prev_hash,
                self.tip_hash()
            )));
        }
        if block.time < self.tip_time {
            return Err(L1Error::InvalidBlock(format!(
                "time {} is before the tip's {}",
                block.time, self.tip_time
            )));
        }
        if block.txs.len() > MAX_BLOCK_TXS {
            return Err(L1Error::InvalidBlock(format!(
                "{} transactions, at most {MAX_BLOCK_TXS}",
                block.txs.len()
            )));
        }
        Ok(())
    }

    /// Check a transaction's signature and nonce against the current state (for a mempool);
    /// returns the signing key.
    pub fn check_tx(&self, tx: &L1Tx) -> Result<PublicKey, L1Error> {
        let key = tx.recover_signer()?;
        let expected = self.nonce_of(&tx.from);
        if tx.nonce != expected {
            return Err(L1Error::BadNonce {
                expected,
                got: tx.nonce,
            });
        }
        Ok(key)
    }

    fn apply_tx(&mut self, tx: &L1Tx) -> L1Receipt {
        let tx_hash = tx.hash();
        let outcome = self.check_tx(tx).and_then(|key| {
            let acct = self.accounts.entry(tx.from).or_default();
            acct.nonce = acct
                .nonce
                .checked_add(1)
                .ok_or_else(|| L1Error::Overflow("nonce".into()))?;
            self.apply_op(&tx.from, &key, &tx_hash, &tx.op)
        });
        L1Receipt { tx_hash, outcome }
    }

    fn apply_op(
        &mut self,
        from: &Address,
        key: &PublicKey,
        tx_hash: &H256,
        op: &L1Op,
    ) -> Result<Vec<L1Event>, L1Error> {
        match op {
            L1Op::Transfer { to, amount } => self.transfer(from, to, *amount),
            L1Op::SetHatScore { address, score } => self.set_hat_score(from, address, *score),
            L1Op::RegisterChain {
                chain_id,
                name,
                params,
                genesis_root,
                deployer_stake,
            } => self.register_chain(from, *chain_id, name, params, genesis_root, *deployer_stake),
            L1Op::SetChainStatus { chain, status } => self.set_chain_status(from, *chain, *status),
            L1Op::AnnounceSequencer {
                chain,
                stake,
                endpoint,
            } => self.announce_sequencer(from, key, *chain, *stake, endpoint),
            L1Op::Unbond { chain } => self.unbond(from, *chain),
            L1Op::WithdrawStake { chain } => self.withdraw_stake(from, *chain),
            L1Op::Deposit {
                chain,
                recipient,
                amount,
            } => self.deposit(from, tx_hash, *chain, recipient, *amount),
            L1Op::BurnDeposit { script } => self.burn_deposit(from, tx_hash, script),
            L1Op::ForceTransaction { chain, tx } => {
                self.force_transaction(from, tx_hash, *chain, tx)
            }
            L1Op::PostBatch {
                chain,
                header,
                commitment,
                payload,
                signatures,
            } => self.post_batch(from, *chain, header, commitment, payload, signatures),
            L1Op::FinalizeWithdrawal {
                chain,
                anchor,
                record,
                proof,
            } => self.finalize_withdrawal(*chain, *anchor, record, proof),
            L1Op::EmergencyWithdraw {
                chain,
                address,
                account,
                proof,
            } => self.emergency_withdraw(*chain, address, account, proof),
            L1Op::OpenChallenge {
                chain,
                anchor,
                disputed_root,
            } => self.open_challenge(from, *chain, *anchor, disputed_root),
            L1Op::BisectReveal { game, root } => self.bisect_reveal(from, *game, root),
            L1Op::BisectAnswer { game, agree } => self.bisect_answer(from, *game, *agree),
            L1Op::SubmitOneStepProof { game, witness } => self.submit_one_step(*game, witness),
            L1Op::SubmitFraudProof {
                chain,
                anchor,
                evidence,
            } => self.submit_fraud_proof(from, *chain, *anchor, evidence),
            L1Op::Timeout { game } => self.timeout_game(*game),
            L1Op::ReportDoubleSign { chain, evidence } => {
                self.report_double_sign(from, *chain, evidence)
            }
            L1Op::ChallengeAvailability {
                chain,
                anchor,
                positions,
            } => self.challenge_availability(from, *chain, *anchor, positions),
            L1Op::AnswerAvailability { id, samples } => {
                self.answer_availability(from, *id, samples)
            }
            L1Op::TimeoutAvailability { id } => self.timeout_availability(*id),
            L1Op::ReportOffline { chain, sequencer } => self.report_offline(*chain, sequencer),
        }
    }

    fn transfer(
        &mut self,
        from: &Address,
        to: &Address,
        amount: i64,
    ) -> Result<Vec<L1Event>, L1Error> {
        if amount <= 0 {
            return Err(L1Error::InvalidAmount(format!("transfer of {amount}")));
        }
        let new_from = self.debit_check(from, amount)?;
        if from != to {
            let new_to = add(self.balance(to), amount, "recipient balance")?;
            self.accounts.entry(*to).or_default().balance = new_to;
            self.accounts.entry(*from).or_default().balance = new_from;
        }
        Ok(vec![L1Event::Transfer {
            from: *from,
            to: *to,
            amount,
        }])
    }

    fn set_hat_score(
        &mut self,
        from: &Address,
        address: &Address,
        score: u32,
    ) -> Result<Vec<L1Event>, L1Error> {
        if *from != self.authority {
            return Err(L1Error::NotAuthorized(
                "only the devnet authority sets HAT scores".into(),
            ));
        }
        if score > 100 {
            return Err(L1Error::InvalidArgument(format!(
                "HAT score {score} over 100"
            )));
        }
        self.hat_scores.insert(*address, score);
        Ok(vec![L1Event::HatScoreSet {
            address: *address,
            score,
        }])
    }

    /// The new balance of `who` after paying `amount`, or `InsufficientFunds`.
    pub(crate) fn debit_check(&self, who: &Address, amount: i64) -> Result<i64, L1Error> {
        let balance = self.balance(who);
        if amount < 0 || balance < amount {
            return Err(L1Error::InsufficientFunds {
                address: *who,
                balance,
                needed: amount,
            });
        }
        sub(balance, amount, "balance")
    }

    /// Set a balance computed by a checked operation.
    pub(crate) fn set_balance(&mut self, who: &Address, balance: i64) {
        self.accounts.entry(*who).or_default().balance = balance;
    }

    // ----- views -----

    /// Height of the tip.
    pub fn height(&self) -> u64 {
        self.height
    }
    /// Hash of the tip.
    pub fn tip_hash(&self) -> H256 {
        self.block_hashes.last().copied().unwrap_or(H256::ZERO)
    }
    /// Time of the tip (Unix seconds).
    pub fn tip_time(&self) -> u64 {
        self.tip_time
    }
    /// Hash of the block at `height`, if there is one.
    pub fn block_hash(&self, height: u64) -> Option<H256> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.block_hashes.get(h).copied())
    }
    /// The devnet authority.
    pub fn authority(&self) -> Address {
        self.authority
    }
    /// An account (default when never used).
    pub fn account(&self, a: &Address) -> L1Account {
        self.accounts.get(a).copied().unwrap_or_default()
    }
    /// All accounts ever used.
    pub fn accounts(&self) -> &BTreeMap<Address, L1Account> {
        &self.accounts
    }
    /// Spendable balance.
    pub fn balance(&self, a: &Address) -> i64 {
        self.account(a).balance
    }
    /// Next nonce.
    pub fn nonce_of(&self, a: &Address) -> u64 {
        self.account(a).nonce
    }
    /// HAT v2 score as set by the authority (0 when never set).
    pub fn hat_score(&self, a: &Address) -> u32 {
        self.hat_scores.get(a).copied().unwrap_or(0)
    }
    /// The registered chains.
    pub fn chains(&self) -> &BTreeMap<u64, ChainState> {
        &self.chains
    }
    /// One chain.
    pub fn chain(&self, id: u64) -> Option<&ChainState> {
        self.chains.get(&id)
    }
    /// Coins destroyed (slashes without a beneficiary).
    pub fn burned(&self) -> i64 {
        self.burned
    }
    /// The genesis supply.
    pub fn genesis_supply(&self) -> i64 {
        self.genesis_supply
    }
    /// Every coin accounted for: balances + sequencer stakes + deployer stakes + escrows +
    /// burned + locked challenge bonds (`None` on overflow). Equals
    /// [`genesis_supply`](Self::genesis_supply) always.
    pub fn total_supply(&self) -> Option<i64> {
        let mut t: i64 = self.burned.checked_add(self.locked_bonds()?)?;
        for a in self.accounts.values() {
            t = t.checked_add(a.balance)?;
        }
        for c in self.chains.values() {
            t = t
                .checked_add(c.escrow)?
                .checked_add(c.info.deployer_stake)?;
            for s in &c.sequencers {
                t = t.checked_add(s.stake)?;
            }
        }
        Some(t)
    }

    pub(crate) fn chain_mut(&mut self, id: u64) -> Result<&mut ChainState, L1Error> {
        self.chains.get_mut(&id).ok_or(L1Error::UnknownChain(id))
    }

    pub(crate) fn chain_ref(&self, id: u64) -> Result<&ChainState, L1Error> {
        self.chains.get(&id).ok_or(L1Error::UnknownChain(id))
    }
}

//! The L2 registry on L1: chains, their status, and their sequencers' stakes.

use super::{L1Event, L1State};
use crate::consensus::sequencer_weight;
use crate::hash::{Address, H256};
use crate::keys::PublicKey;
use crate::params::ChainParams;
use crate::settlement::Anchor;
use crate::settlement::{add, add_u64, sub, L1Error};
use crate::types::{L1Message, L1MessageBody};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Most sequencers (active or unbonding) one chain may have.
pub const MAX_SEQUENCERS: usize = 100;

/// The status of an L2 chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum L2Status {
    /// Registered, no sequencer yet.
    Bootstrapping,
    /// Normal operation.
    Active,
    /// Paused by the deployer: no deposits, forced transactions or batches.
    Paused,
    /// Emergency mode: withdrawals and emergency exits only. Final.
    Emergency,
    /// Phased out by the deployer: no deposits or forced transactions; batches and withdrawals
    /// continue. Final.
    Deprecated,
}

impl L2Status {
    /// The one-byte encoding (0..=4 in declaration order).
    pub fn as_u8(self) -> u8 {
        match self {
            L2Status::Bootstrapping => 0,
            L2Status::Active => 1,
            L2Status::Paused => 2,
            L2Status::Emergency => 3,
            L2Status::Deprecated => 4,
        }
    }
    /// Decode the one-byte encoding.
    pub fn from_u8(b: u8) -> Option<L2Status> {
        Some(match b {
            0 => L2Status::Bootstrapping,
            1 => L2Status::Active,
            2 => L2Status::Paused,
            3 => L2Status::Emergency,
            4 => L2Status::Deprecated,
            _ => return None,
        })
    }
}

impl fmt::Display for L2Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            L2Status::Bootstrapping => "BOOTSTRAPPING",
            L2Status::Active => "ACTIVE",
            L2Status::Paused => "PAUSED",
            L2Status::Emergency => "EMERGENCY",
            L2Status::Deprecated => "DEPRECATED",
        })
    }
}

/// A chain's registry entry (the design's `L2ChainInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2ChainInfo {
    /// Chain id.
    pub chain_id: u64,
    /// Name.
    pub name: String,
    /// Who registered it.
    pub deployer: Address,
    /// L1 height of the registration.
    pub deployment_block: u64,
    /// Its parameters (block time, gas limit, challenge periods, minimum stake and reputation, …).
    pub params: ChainParams,
    /// Stake locked by the deployer (0 after it was returned on deprecation).
    pub deployer_stake: i64,
    /// Status.
    pub status: L2Status,
    /// State root of L2 block 0.
    pub genesis_root: H256,
    /// Post-state root of the latest anchor (the genesis root before any).
    pub latest_state_root: H256,
    /// Last L2 block of the latest anchor (0 before any).
    pub latest_l2_block: u64,
    /// L1 height of the latest anchor, or of the activation before any (emergency timer base).
    pub latest_l1_anchor: u64,
    /// Post-state root of the latest final anchor (the genesis root before any).
    pub finalized_state_root: H256,
    /// Last L2 block of the latest final anchor.
    pub finalized_l2_block: u64,
    /// L1 height of activation.
    pub activated_at: Option<u64>,
    /// L1 height at which EMERGENCY was entered.
    pub emergency_since: Option<u64>,
    /// Number of frauds proven against this chain (each reverted its anchor and the later
    /// ones).
    #[serde(default)]
    pub frauds_proven: u64,
}

/// A sequencer's bonding state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum SequencerStatus {
    /// Bonded and counted in weights and quorums.
    Active,
    /// Leaving: not counted; the stake (still slashable) is released at `release_at`.
    Unbonding {
        /// L1 height from which `WithdrawStake` succeeds.
        release_at: u64,
    },
    /// Reported offline (`SEQ_OFFLINE`): not counted; the stake stays locked and slashable
    /// until it announces again (back to active) or unbonds.
    Offline {
        /// L1 height of the report.
        since: u64,
    },
}

/// A registered sequencer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sequencer {
    /// Address.
    pub address: Address,
    /// Public key (recovered from the announcing transaction), for batch signatures.
    pub public_key: PublicKey,
    /// Locked stake.
    pub stake: i64,
    /// Announced endpoint.
    pub endpoint: String,
    /// L1 height of the announcement.
    pub announced_at: u64,
    /// Bonding state.
    pub status: SequencerStatus,
    /// Total slashed so far.
    pub slashed: i64,
    /// Its earlier active periods, `[from, to)` in L1 heights (the current one, while ACTIVE,
    /// is `[announced_at, ∞)`): a node catching up over old heights needs the set as it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_active: Vec<(u64, u64)>,
}

impl Sequencer {
    /// Whether it was in the active set at L1 height `h` (counted in the weights and quorums
    /// of L2 blocks anchored there).
    pub fn active_at(&self, h: u64) -> bool {
        (self.status == SequencerStatus::Active && self.announced_at <= h)
            || self
                .past_active
                .iter()
                .any(|(from, to)| *from <= h && h < *to)
    }

    /// Leave the active set at L1 height `h` for `status` (its current period is kept in
    /// `past_active`).
    pub(crate) fn deactivate(&mut self, h: u64, status: SequencerStatus) {
        if self.status == SequencerStatus::Active && self.announced_at < h {
            self.past_active.push((self.announced_at, h));
        }
        self.status = status;
    }

    /// `WithdrawStake`'s rule for an L1 block at `height`: the sequencer must have unbonded
    /// and its `release_at` must be reached (`SEQ_STILL_BONDED` otherwise; `release_at` is
    /// `u64::MAX` while it is still active). The L1 and `casl2 sequencer withdraw-stake` both
    /// ask it.
    pub fn check_withdraw_stake(&self, height: u64) -> Result<(), L1Error> {
        let release_at = match self.status {
            SequencerStatus::Active | SequencerStatus::Offline { .. } => u64::MAX,
            SequencerStatus::Unbonding { release_at } => release_at,
        };
        if height < release_at {
            return Err(L1Error::SeqStillBonded {
                address: self.address,
                release_at,
            });
        }
        Ok(())
    }
}

/// Everything the L1 keeps about one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainState {
    /// The registry entry.
    pub info: L2ChainInfo,
    /// Sequencers in announcement order (the registry order leader election uses).
    pub sequencers: Vec<Sequencer>,
    /// CAS held for the L2 (deposits minus withdrawals, exits and refunds).
    pub escrow: i64,
    /// Sum of all deposits (plain and burn).
    pub total_deposited: i64,
    /// Sum of all paid withdrawals.
    pub total_withdrawn: i64,
    /// Sum of all emergency exits.
    pub total_exited: i64,
    /// Sum of deposits refunded on entering EMERGENCY.
    pub total_refunded: i64,
    /// Deposits of the current L1 day.
    pub daily: DailyDeposits,
    /// The L1→L2 queue.
    pub queue: Vec<QueuedMessage>,
    /// Queue hash chain after the last message (zero when empty).
    pub queue_head: H256,
    /// Messages consumed by anchored batches (the next one to consume).
    pub consumed: u64,
    /// Messages consumed by final anchors.
    pub finalized_consumed: u64,
    /// Messages below this index were checked against their deadline.
    pub deadline_checked: u64,
    /// Messages that missed their inclusion deadline.
    pub missed: Vec<u64>,
    /// Anchors in order.
    pub anchors: Vec<Anchor>,
    /// Number of final anchors (a prefix of `anchors`).
    pub finalized_count: u64,
    /// Paid withdrawal ids with their amounts.
    pub paid_withdrawals: BTreeMap<H256, i64>,
    /// Addresses that made their emergency exit.
    pub exited: BTreeSet<Address>,
    /// Ids of the double-sign evidence already punished.
    #[serde(default)]
    pub double_signs: BTreeSet<H256>,
}

impl ChainState {
    /// The sequencer at `address`.
    pub fn sequencer(&self, address: &Address) -> Option<&Sequencer> {
        self.sequencers.iter().find(|s| &s.address == address)
    }

    /// Active sequencers with their weights (`sequencer_weight(stake, HAT score)`), in registry
    /// order, using `hat` for the scores.
    pub fn weights(&self, hat: impl Fn(&Address) -> u32) -> Vec<(Address, u128)> {
        self.sequencers
            .iter()
            .filter(|s| s.status == SequencerStatus::Active)
            .map(|s| (s.address, sequencer_weight(s.stake, hat(&s.address))))
            .collect()
    }

    /// Unconsumed forced transactions (the forced-inclusion queue).
    pub fn pending_forced(&self) -> impl Iterator<Item = &QueuedMessage> {
        self.queue
            .iter()
            .skip(usize::try_from(self.consumed).unwrap_or(usize::MAX))
            .filter(|m| m.is_forced())
    }

    pub(crate) fn wrong_status(&self, detail: &str) -> L1Error {
        L1Error::WrongStatus {
            chain: self.info.chain_id,
            status: self.info.status.to_string(),
            detail: detail.into(),
        }
    }
}

/// Check a chain's parameters for usability.
fn validate_params(p: &ChainParams) -> Result<(), L1Error> {
    let bad = |m: &str| Err(L1Error::InvalidArgument(format!("chain parameters: {m}")));
    if p.challenge_period == 0 || p.fast_challenge_period > p.challenge_period {
        return bad("need 0 < challenge_period and fast_challenge_period ≤ challenge_period");
    }
    if p.min_sequencer_stake <= 0 || p.min_slash <= 0 || p.challenge_bond < 0 {
        return bad("stakes and slashes must be positive");
    }
    if p.max_deposit_per_tx <= 0 || p.max_daily_deposit <= 0 || p.l1_blocks_per_day == 0 {
        return bad("deposit limits and the L1 day must be positive");
    }
    if p.consensus_threshold_pct == 0 || p.consensus_threshold_pct > 100 {
        return bad("consensus threshold must be 1..=100");
    }
    if p.min_sequencer_hat > 100 || p.fast_withdrawal_hat > 100 {
        return bad("HAT thresholds must be 0..=100");
    }
    if p.forced_inclusion_deadline == 0 || p.emergency_after == 0 {
        return bad("forced-inclusion deadline and emergency_after must be positive");
    }
    Ok(())
}

impl L1State {
    pub(crate) fn register_chain(
        &mut self,
        from: &Address,
        chain_id: u64,
        name: &str,
        params: &ChainParams,
        genesis_root: &H256,
        deployer_stake: i64,
    ) -> Result<Vec<L1Event>, L1Error> {
        if self.chains.contains_key(&chain_id) {
            return Err(L1Error::ChainExists(chain_id));
        }
        if name.is_empty()
            || name.len() > super::MAX_CHAIN_NAME as usize
            || !name.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(L1Error::InvalidArgument(
                "chain name must be 1..=64 printable ASCII bytes".into(),
            ));
        }
        validate_params(params)?;
        if deployer_stake < params.min_sequencer_stake {
            return Err(L1Error::InvalidAmount(format!(
                "deployer stake {deployer_stake} below the minimum {}",
                params.min_sequencer_stake
            )));
        }
        let new_balance = self.debit_check(from, deployer_stake)?;
        let info = L2ChainInfo {
            chain_id,
            name: name.into(),
            deployer: *from,
            deployment_block: self.height,
            params: params.clone(),
            deployer_stake,
            status: L2Status::Bootstrapping,
            genesis_root: *genesis_root,
            latest_state_root: *genesis_root,
            latest_l2_block: 0,
            latest_l1_anchor: self.height,
            finalized_state_root: *genesis_root,
            finalized_l2_block: 0,
            activated_at: None,
            emergency_since: None,
            frauds_proven: 0,
        };
        self.set_balance(from, new_balance);
        self.chains.insert(
            chain_id,
            ChainState {
                info,
                sequencers: Vec::new(),
                escrow: 0,
                total_deposited: 0,
                total_withdrawn: 0,
                total_exited: 0,
                total_refunded: 0,
                daily: DailyDeposits::default(),
                queue: Vec::new(),
                queue_head: H256::ZERO,
                consumed: 0,
                finalized_consumed: 0,
                deadline_checked: 0,
                missed: Vec::new(),
                anchors: Vec::new(),
                finalized_count: 0,
                paid_withdrawals: BTreeMap::new(),
                exited: BTreeSet::new(),
                double_signs: BTreeSet::new(),
            },
        );
        Ok(vec![L1Event::ChainRegistered { chain: chain_id }])
    }

    pub(crate) fn set_chain_status(
        &mut self,
        from: &Address,
        chain: u64,
        to: L2Status,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        if c.info.deployer != *from {
            return Err(L1Error::NotAuthorized(format!(
                "only the deployer {} changes the status of chain {chain}",
                c.info.deployer
            )));
        }
        let cur = c.info.status;
        let allowed = matches!(
            (cur, to),
            (L2Status::Active, L2Status::Paused)
                | (L2Status::Paused, L2Status::Active)
                | (
                    L2Status::Bootstrapping | L2Status::Active | L2Status::Paused,
                    L2Status::Deprecated
                )
        );
        if !allowed {
            return Err(c.wrong_status(&format!("the deployer cannot move it to {to}")));
        }
        let mut events = Vec::new();
        if to == L2Status::Deprecated {
            let (deployer, stake) = (c.info.deployer, c.info.deployer_stake);
            let nb = add(self.balance(&deployer), stake, "deployer balance")?;
            self.set_balance(&deployer, nb);
            self.chain_mut(chain)?.info.deployer_stake = 0;
            events.push(L1Event::StakeWithdrawn {
                chain,
                address: deployer,
                amount: stake,
            });
        }
        let h = self.height;
        let c = self.chain_mut(chain)?;
        c.info.status = to;
        if to == L2Status::Active {
            // Resuming restarts the emergency timer.
            c.info.latest_l1_anchor = h;
        }
        events.insert(
            0,
            L1Event::ChainStatusChanged {
                chain,
                from: cur,
                to,
                reason: "deployer".into(),
            },
        );
        Ok(events)
    }

    pub(crate) fn announce_sequencer(
        &mut self,
        from: &Address,
        key: &PublicKey,
        chain: u64,
        stake: i64,
        endpoint: &str,
    ) -> Result<Vec<L1Event>, L1Error> {
        let hat = self.hat_score(from);
        let c = self.chain_ref(chain)?;
        if !matches!(
            c.info.status,
            L2Status::Bootstrapping | L2Status::Active | L2Status::Paused
        ) {
            return Err(c.wrong_status("sequencers cannot announce"));
        }
        if let Some(s) = c.sequencer(from) {
            if matches!(s.status, SequencerStatus::Offline { .. }) {
                return self.reannounce(from, chain, stake, endpoint, hat);
            }
            return Err(L1Error::SeqAlreadyRegistered {
                chain,
                address: *from,
            });
        }
        if c.sequencers.len() >= MAX_SEQUENCERS {
            return Err(L1Error::SeqNotEligible(format!(
                "chain {chain} has the maximum of {MAX_SEQUENCERS} sequencers"
            )));
        }
        check_announcement(&c.info.params, stake, hat, endpoint)?;
        let new_balance = self.debit_check(from, stake)?;
        let h = self.height;
        self.set_balance(from, new_balance);
        let c = self.chain_mut(chain)?;
        c.sequencers.push(Sequencer {
            address: *from,
            public_key: *key,
            stake,
            endpoint: endpoint.into(),
            announced_at: h,
            status: SequencerStatus::Active,
            slashed: 0,
            past_active: Vec::new(),
        });
        let mut events = vec![L1Event::SequencerAnnounced {
            chain,
            address: *from,
            stake,
        }];
        if c.info.status == L2Status::Bootstrapping {
            c.info.status = L2Status::Active;
            c.info.activated_at = Some(h);
            c.info.latest_l1_anchor = h;
            events.push(L1Event::ChainStatusChanged {
                chain,
                from: L2Status::Bootstrapping,
                to: L2Status::Active,
                reason: "first sequencer announced".into(),
            });
        }
        Ok(events)
    }

    /// `AnnounceSequencer` by a sequencer reported offline: it adds `stake` (0 allowed) to the
    /// stake it kept locked, must meet the minimums again, and is active again at its new
    /// endpoint.
    fn reannounce(
        &mut self,
        from: &Address,
        chain: u64,
        stake: i64,
        endpoint: &str,
        hat: u32,
    ) -> Result<Vec<L1Event>, L1Error> {
        if stake < 0 {
            return Err(L1Error::InvalidAmount(format!("stake {stake} is negative")));
        }
        let c = self.chain_ref(chain)?;
        let locked = c.sequencer(from).map_or(0, |s| s.stake);
        let total = add(locked, stake, "stake")?;
        check_announcement(&c.info.params, total, hat, endpoint)?;
        let new_balance = self.debit_check(from, stake)?;
        let h = self.height;
        self.set_balance(from, new_balance);
        let c = self.chain_mut(chain)?;
        if let Some(s) = c.sequencers.iter_mut().find(|s| &s.address == from) {
            s.stake = total;
            s.endpoint = endpoint.into();
            s.announced_at = h;
            s.status = SequencerStatus::Active;
        }
        Ok(vec![L1Event::SequencerAnnounced {
            chain,
            address: *from,
            stake: total,
        }])
    }

    pub(crate) fn unbond(&mut self, from: &Address, chain: u64) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let c = self.chain_mut(chain)?;
        let release_at = add_u64(h, c.info.params.unbonding_delay, "release height")?;
        let s = c
            .sequencers
            .iter_mut()
            .find(|s| {
                &s.address == from
                    && matches!(
                        s.status,
                        SequencerStatus::Active | SequencerStatus::Offline { .. }
                    )
            })
            .ok_or_else(|| L1Error::SeqUnknown {
                chain,
                address: *from,
                detail: "an active or offline sequencer".into(),
            })?;
        s.deactivate(h, SequencerStatus::Unbonding { release_at });
        Ok(vec![L1Event::SequencerUnbonding {
            chain,
            address: *from,
            release_at,
        }])
    }

    pub(crate) fn withdraw_stake(
        &mut self,
        from: &Address,
        chain: u64,
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let c = self.chain_ref(chain)?;
        let (pos, s) = c
            .sequencers
            .iter()
            .enumerate()
            .find(|(_, s)| &s.address == from)
            .ok_or_else(|| L1Error::SeqUnknown {
                chain,
                address: *from,
                detail: "a sequencer".into(),
            })?;
        s.check_withdraw_stake(h)?;
        let amount = s.stake;
        let nb = add(self.balance(from), amount, "balance")?;
        self.set_balance(from, nb);
        self.chain_mut(chain)?.sequencers.remove(pos);
        Ok(vec![L1Event::StakeWithdrawn {
            chain,
            address: *from,
            amount,
        }])
    }

    /// `ReportDoubleSign`: check the evidence against the offender's registered key and the
    /// chain, once per evidence id; slash the offender's whole stake, half
    /// ([`crate::fraud::CHALLENGER_REWARD_PCT`]) to the reporter and the rest burned (it leaves
    /// the active set, as every slash below the minimum stake does).
    pub(crate) fn report_double_sign(
        &mut self,
        reporter: &Address,
        chain: u64,
        evidence: &crate::consensus::DoubleSignEvidence,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        let offender = evidence.offender();
        let s = c.sequencer(&offender).ok_or_else(|| L1Error::SeqUnknown {
            chain,
            address: offender,
            detail: "a sequencer".into(),
        })?;
        if evidence.header_a.l2_chain_id != chain {
            return Err(L1Error::FraudProofInvalid(format!(
                "the evidence is about chain {}, not {chain}",
                evidence.header_a.l2_chain_id
            )));
        }
        evidence
            .verify_with_key(&s.public_key)
            .map_err(|e| L1Error::FraudProofInvalid(e.to_string()))?;
        let id = evidence.id();
        if c.double_signs.contains(&id) {
            return Err(L1Error::FraudProofInvalid(format!(
                "SEQ_DOUBLE_SIGN evidence {id} was already punished"
            )));
        }
        let stake = s.stake;
        if stake <= 0 {
            return Err(L1Error::FraudProofInvalid(format!(
                "{offender} has no stake left to slash"
            )));
        }
        let reward = stake / 100 * crate::fraud::CHALLENGER_REWARD_PCT
            + stake % 100 * crate::fraud::CHALLENGER_REWARD_PCT / 100;
        let mut events = Vec::new();
        if reward > 0 {
            events.extend(self.slash(chain, &offender, reward, Some(*reporter))?);
        }
        if stake - reward > 0 {
            events.extend(self.slash(chain, &offender, stake - reward, None)?);
        }
        self.chain_mut(chain)?.double_signs.insert(id);
        Ok(events)
    }

    /// Slash up to `amount` of `sequencer`'s stake on `chain` (active or unbonding) and give it
    /// to `beneficiary` (`None`: burn it). A stake left below the chain's minimum starts
    /// unbonding. Returns the events (the amount taken is in `SequencerSlashed`). This is the
    /// hook other rules (fraud proofs) call.
    pub fn slash(
        &mut self,
        chain: u64,
        sequencer: &Address,
        amount: i64,
        beneficiary: Option<Address>,
    ) -> Result<Vec<L1Event>, L1Error> {
        if amount <= 0 {
            return Err(L1Error::InvalidAmount(format!("slash of {amount}")));
        }
        let h = self.height;
        let c = self.chain_ref(chain)?;
        let s = c.sequencer(sequencer).ok_or_else(|| L1Error::SeqUnknown {
            chain,
            address: *sequencer,
            detail: "a sequencer".into(),
        })?;
        let taken = amount.min(s.stake);
        let left = sub(s.stake, taken, "stake")?;
        let slashed = add(s.slashed, taken, "slashed total")?;
        let release_at = add_u64(h, c.info.params.unbonding_delay, "release height")?;
        let eject = s.status == SequencerStatus::Active && left < c.info.params.min_sequencer_stake;
        let new_burned;
        let mut new_benef = None;
        match beneficiary {
            None => new_burned = add(self.burned, taken, "burned")?,
            Some(b) => {
                new_burned = self.burned;
                new_benef = Some((b, add(self.balance(&b), taken, "beneficiary balance")?));
            }
        }
        self.burned = new_burned;
        if let Some((b, bal)) = new_benef {
            self.set_balance(&b, bal);
        }
        let c = self.chain_mut(chain)?;
        let mut events = vec![L1Event::SequencerSlashed {
            chain,
            address: *sequencer,
            amount: taken,
            beneficiary,
        }];
        if let Some(s) = c.sequencers.iter_mut().find(|s| &s.address == sequencer) {
            s.stake = left;
            s.slashed = slashed;
            if eject {
                s.deactivate(h, SequencerStatus::Unbonding { release_at });
                events.push(L1Event::SequencerUnbonding {
                    chain,
                    address: *sequencer,
                    release_at,
                });
            }
        }
        Ok(events)
    }

    /// Active sequencers of `chain` with their weights, in registry order (for leader election).
    pub fn sequencer_weights(&self, chain: u64) -> Result<Vec<(Address, u128)>, L1Error> {
        Ok(self.chain_ref(chain)?.weights(|a| self.hat_score(a)))
    }
}

/// An announcement's own rules: the endpoint's length, and the stake it leaves locked and the
/// sender's HAT score against the chain's minimums (`SEQ_NOT_ELIGIBLE`).
fn check_announcement(
    p: &crate::params::ChainParams,
    stake: i64,
    hat: u32,
    endpoint: &str,
) -> Result<(), L1Error> {
    if endpoint.len() > super::MAX_ENDPOINT as usize {
        return Err(L1Error::InvalidArgument("endpoint too long".into()));
    }
    if stake < p.min_sequencer_stake || hat < p.min_sequencer_hat {
        return Err(L1Error::SeqNotEligible(format!(
            "stake {stake} (minimum {}), HAT score {hat} (minimum {})",
            p.min_sequencer_stake, p.min_sequencer_hat
        )));
    }
    Ok(())
}

/// Deposits of one L1 day (`height / l1_blocks_per_day`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyDeposits {
    /// The day.
    pub day: u64,
    /// Sum deposited that day.
    pub total: i64,
}

/// One entry of a chain's L1→L2 queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedMessage {
    /// The message.
    pub message: L1Message,
    /// Its hash (id).
    pub hash: H256,
    /// The queue hash chain after it.
    pub chain_after: H256,
}

impl QueuedMessage {
    /// The L1 height from which the message counts as missed if no anchored batch consumed it
    /// yet: its L1 block plus the chain's `forced_inclusion_deadline` (checked at the end of
    /// that block).
    pub fn inclusion_deadline(&self, params: &ChainParams) -> u64 {
        self.message
            .l1_block
            .saturating_add(params.forced_inclusion_deadline)
    }

    /// True for a forced transaction.
    pub fn is_forced(&self) -> bool {
        matches!(self.message.body, L1MessageBody::ForcedTransaction { .. })
    }
}

//! Availability challenges: a watcher that cannot get a batch's shares from the sequencers asks
//! for them on L1, and the batch's signers must publish them there in time.
//!
//! `ChallengeAvailability` names up to [`MAX_AVAILABILITY_POSITIONS`] shares of a non-final
//! anchor's extended square and locks the chain's `challengeBond`; the anchor (and so every later
//! one) stops finalising. Before `challengePeriod` L1 blocks have passed, the batch's poster or
//! any of its signers answers with `AnswerAvailability`: each share with its proof against the
//! anchor's DA commitment. An answer that verifies ends the challenge and pays the bond to the
//! poster (Property 16). When the deadline passes unanswered, anyone may send
//! `TimeoutAvailability`: the data is taken as withheld (`DATA_WITHHOLDING`), the bond goes back
//! to the challenger, the batch's signers and poster are slashed as for any proven fraud
//! (Property 17) and the anchor and every later one are reverted. A challenge whose anchor was
//! reverted by another proof is cancelled (bond refunded) the same way.

use super::{L1Event, L1State};
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::da::{verify_sample, Sample};
use crate::fraud::FraudKind;
use crate::hash::{Address, H256};
use crate::settlement::{add_u64, L1Error};
use serde::{Deserialize, Serialize};

/// Most shares one availability challenge may ask for.
pub const MAX_AVAILABILITY_POSITIONS: usize = 16;

/// A share's place in the extended square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SharePosition {
    /// Row.
    pub row: u32,
    /// Column.
    pub column: u32,
}

impl Encode for SharePosition {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.row.to_le_bytes());
        out.extend_from_slice(&self.column.to_le_bytes());
    }
}

impl Decode for SharePosition {
    const MIN_SIZE: usize = 8;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(SharePosition {
            row: r.u32("row")?,
            column: r.u32("column")?,
        })
    }
}

/// How an availability challenge ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AvailabilityResult {
    /// The shares were published in time: the bond went to the poster.
    Answered,
    /// No answer in time: the data is withheld, the anchor reverted, the bond returned.
    Withheld,
    /// The anchor was reverted by another proof (or the chain left normal operation): the bond
    /// returned.
    Cancelled,
}

/// One availability challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityChallenge {
    /// Challenge id (its own sequence, apart from game ids).
    pub id: u64,
    /// The chain.
    pub chain: u64,
    /// The anchor index.
    pub anchor: u64,
    /// The anchor's batch hash when the challenge opened.
    pub batch_hash: H256,
    /// Who asked (and locked the bond).
    pub challenger: Address,
    /// The batch's poster (paid the bond if the shares come).
    pub poster: Address,
    /// The bond.
    pub bond: i64,
    /// The shares asked for.
    pub positions: Vec<SharePosition>,
    /// L1 height at which it opened.
    pub opened: u64,
    /// The answer must be in a block below this height.
    pub deadline: u64,
    /// Who answered, if anyone did.
    #[serde(default)]
    pub answered_by: Option<Address>,
    /// How it ended (`None`: open).
    #[serde(default)]
    pub result: Option<AvailabilityResult>,
}

impl AvailabilityChallenge {
    /// True when the answer window is over at L1 height `height` (`height ≥ deadline`): an
    /// answer mined there is refused and `TimeoutAvailability` is accepted.
    pub fn answer_window_over(&self, height: u64) -> bool {
        height >= self.deadline
    }
}

impl L1State {
    /// Every availability challenge, open or over, by id.
    pub fn availability_challenges(
        &self,
    ) -> &std::collections::BTreeMap<u64, AvailabilityChallenge> {
        &self.availability
    }

    /// Whether an open game or availability challenge other than availability challenge
    /// `except` still disputes anchor `index` of `chain`.
    pub(crate) fn anchor_still_disputed(&self, chain: u64, index: u64, except: u64) -> bool {
        self.open_games()
            .any(|g| g.chain == chain && g.anchor == index)
            || self.availability.values().any(|c| {
                c.result.is_none() && c.chain == chain && c.anchor == index && c.id != except
            })
    }

    fn availability_alive(&self, c: &AvailabilityChallenge) -> bool {
        self.chain(c.chain).is_some_and(|ch| {
            ch.info.status != super::registry::L2Status::Emergency
                && usize::try_from(c.anchor)
                    .ok()
                    .and_then(|i| ch.anchors.get(i))
                    .is_some_and(|a| a.batch_hash == c.batch_hash)
        })
    }

    fn open_availability(&self, id: u64) -> Result<AvailabilityChallenge, L1Error> {
        let c = self
            .availability
            .get(&id)
            .ok_or_else(|| L1Error::ChallengeFailed(format!("no availability challenge {id}")))?;
        if c.result.is_some() {
            return Err(L1Error::GameWrongTurn(format!(
                "availability challenge {id} is over"
            )));
        }
        Ok(c.clone())
    }

    pub(crate) fn challenge_availability(
        &mut self,
        from: &Address,
        chain: u64,
        index: u64,
        positions: &[SharePosition],
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let a = self.challengeable_anchor(chain, index)?.clone();
        if a.poster == *from {
            return Err(L1Error::NotAuthorized(
                "the poster cannot challenge its own batch".into(),
            ));
        }
        let commitment = a.commitment.as_ref().ok_or_else(|| {
            L1Error::NotSupported(format!("anchor {index} carries no DA commitment"))
        })?;
        let width = commitment.width() as u64;
        if positions.is_empty() || positions.len() > MAX_AVAILABILITY_POSITIONS {
            return Err(L1Error::InvalidArgument(format!(
                "an availability challenge asks for 1 to {MAX_AVAILABILITY_POSITIONS} shares, not {}",
                positions.len()
            )));
        }
        let mut sorted = positions.to_vec();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != positions.len() {
            return Err(L1Error::InvalidArgument(
                "an availability challenge names a share twice".into(),
            ));
        }
        if let Some(p) = positions
            .iter()
            .find(|p| u64::from(p.row) >= width || u64::from(p.column) >= width)
        {
            return Err(L1Error::InvalidArgument(format!(
                "share ({}, {}) is outside the {width}×{width} extended square",
                p.row, p.column
            )));
        }
        let params = &self.chain_ref(chain)?.info.params;
        let bond = params.challenge_bond.max(0);
        let deadline = add_u64(h, params.challenge_period.max(1), "deadline")?;
        let new_balance = self.debit_check(from, bond)?;
        let id = self.next_availability;
        let next = add_u64(id, 1, "availability challenge id")?;
        if !a.disputed {
            self.open_dispute(chain, index)?;
        }
        self.set_balance(from, new_balance);
        self.next_availability = next;
        self.availability.insert(
            id,
            AvailabilityChallenge {
                id,
                chain,
                anchor: index,
                batch_hash: a.batch_hash,
                challenger: *from,
                poster: a.poster,
                bond,
                positions: positions.to_vec(),
                opened: h,
                deadline,
                answered_by: None,
                result: None,
            },
        );
        Ok(vec![L1Event::AvailabilityChallenged {
            id,
            chain,
            anchor: index,
            challenger: *from,
            shares: positions.len() as u32,
            deadline,
        }])
    }

    pub(crate) fn answer_availability(
        &mut self,
        from: &Address,
        id: u64,
        samples: &[Sample],
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.open_availability(id)?;
        if !self.availability_alive(&c) {
            return Err(L1Error::ChallengeFailed(format!(
                "the anchor of availability challenge {id} is gone; `TimeoutAvailability` cancels it"
            )));
        }
        if c.answer_window_over(self.height) {
            return Err(L1Error::GameClockExpired(format!(
                "availability challenge {id} had to be answered below L1 height {}",
                c.deadline
            )));
        }
        let ch = self.chain_ref(c.chain)?;
        let a = usize::try_from(c.anchor)
            .ok()
            .and_then(|i| ch.anchors.get(i))
            .ok_or(L1Error::UnknownAnchor {
                chain: c.chain,
                index: c.anchor,
            })?;
        if a.poster != *from && !a.signers.contains(from) {
            return Err(L1Error::NotAuthorized(format!(
                "only the batch's poster or signers answer availability challenge {id}"
            )));
        }
        let commitment = a.commitment.as_ref().ok_or_else(|| {
            L1Error::NotSupported(format!("anchor {} carries no DA commitment", c.anchor))
        })?;
        if samples.len() != c.positions.len() {
            return Err(L1Error::FraudProofInvalid(format!(
                "availability challenge {id} asks for {} shares, the answer has {}",
                c.positions.len(),
                samples.len()
            )));
        }
        for (p, s) in c.positions.iter().zip(samples) {
            if (s.row, s.column) != (p.row, p.column) {
                return Err(L1Error::FraudProofInvalid(format!(
                    "share ({}, {}) answered where ({}, {}) was asked",
                    s.row, s.column, p.row, p.column
                )));
            }
            verify_sample(commitment, s).map_err(|e| {
                L1Error::FraudProofInvalid(format!("share ({}, {}): {e}", p.row, p.column))
            })?;
        }
        let poster = c.poster;
        let events = self.close_availability(&c, AvailabilityResult::Answered, &poster)?;
        if !self.anchor_still_disputed(c.chain, c.anchor, c.id) {
            self.resolve_dispute(c.chain, c.anchor, false)?;
        }
        if let Some(s) = self.availability.get_mut(&id) {
            s.answered_by = Some(*from);
        }
        Ok(events)
    }

    pub(crate) fn timeout_availability(&mut self, id: u64) -> Result<Vec<L1Event>, L1Error> {
        let c = self.open_availability(id)?;
        if !self.availability_alive(&c) {
            let to = c.challenger;
            return self.close_availability(&c, AvailabilityResult::Cancelled, &to);
        }
        if !c.answer_window_over(self.height) {
            return Err(L1Error::GameClockRunning(format!(
                "availability challenge {id} may be answered until L1 height {}",
                c.deadline
            )));
        }
        let before = self.clone();
        let r = (|| {
            let to = c.challenger;
            let mut events = self.close_availability(&c, AvailabilityResult::Withheld, &to)?;
            events.extend(self.prove_withholding(c.chain, c.anchor, &c.challenger)?);
            Ok(events)
        })();
        if r.is_err() {
            *self = before;
        }
        r
    }

    /// End challenge `c` with `result`, paying its bond to `to`.
    fn close_availability(
        &mut self,
        c: &AvailabilityChallenge,
        result: AvailabilityResult,
        to: &Address,
    ) -> Result<Vec<L1Event>, L1Error> {
        let b = crate::settlement::add(self.balance(to), c.bond, "balance")?;
        self.set_balance(to, b);
        if let Some(s) = self.availability.get_mut(&c.id) {
            s.result = Some(result);
        }
        Ok(vec![L1Event::AvailabilityResolved {
            id: c.id,
            result,
            bond_to: *to,
            bond: c.bond,
        }])
    }

    /// Cancel (bond refunded) every open availability challenge on anchor `index` or later of
    /// `chain`: called when those anchors are reverted.
    pub(crate) fn cancel_availability_from(
        &mut self,
        chain: u64,
        index: u64,
    ) -> Result<Vec<L1Event>, L1Error> {
        let open: Vec<AvailabilityChallenge> = self
            .availability
            .values()
            .filter(|c| c.result.is_none() && c.chain == chain && c.anchor >= index)
            .cloned()
            .collect();
        let mut events = Vec::new();
        for c in &open {
            let to = c.challenger;
            events.extend(self.close_availability(c, AvailabilityResult::Cancelled, &to)?);
        }
        Ok(events)
    }

    fn prove_withholding(
        &mut self,
        chain: u64,
        index: u64,
        prover: &Address,
    ) -> Result<Vec<L1Event>, L1Error> {
        self.prove_fraud_pub(chain, index, prover, FraudKind::DataWithholding)
    }
}

/// The answer to an availability challenge on `anchor` as its signers give it: each asked share
/// of the square extended from the anchor's payload, with its row proof.
pub fn answer_samples(
    anchor: &super::Anchor,
    positions: &[SharePosition],
) -> Result<Vec<Sample>, L1Error> {
    let c = anchor.commitment.as_ref().ok_or_else(|| {
        L1Error::NotSupported(format!("anchor {} carries no DA commitment", anchor.index))
    })?;
    let enc = crate::da::encode_payload(
        &anchor.payload,
        c.data_hash,
        &crate::da::DaParams::default(),
    )
    .map_err(|e| L1Error::DaMismatch(e.to_string()))?;
    if enc.commitment != *c {
        return Err(L1Error::DaMismatch(format!(
            "anchor {}: the payload does not give its commitment",
            anchor.index
        )));
    }
    positions
        .iter()
        .map(|p| {
            enc.square
                .sample(p.row as usize, p.column as usize, crate::da::Axis::Row)
                .ok_or_else(|| {
                    L1Error::InvalidArgument(format!(
                        "share ({}, {}) is outside the square",
                        p.row, p.column
                    ))
                })
        })
        .collect()
}

//! The consensus round of the next height: building it from the L1 view, the leader's tick,
//! proposals, votes, the commit on a quorum, and the messages kept for later heights.

use super::*;
use crate::node::chain::MyVote;

impl Engine {
    /// Build the round of `head + 1` if there is none (or the L1 view now allows it).
    pub(super) fn ensure_round(&mut self, view: &L1View) -> Result<(), EngineError> {
        let h = self.height() + 1;
        if self.round.as_ref().is_some_and(|r| r.height == h) {
            return Ok(());
        }
        let params = params_of(view)?;
        let info = view.chain.as_ref().expect("checked by params_of");
        let bpl = params.blocks_per_leader.max(1);
        let slot = slot_of_block(h, bpl).map_err(|e| EngineError::Invalid(e.to_string()))?;
        // The L1 height that fixes the slot's set and seed: the anchor of the block before the
        // slot (none for slot 0: the whole registry and L1 block 0).
        let prev_last = (slot * bpl).checked_sub(1).filter(|n| *n >= 1);
        let (membership, seed_cap, slot_start_ms) = match prev_last {
            Some(n) => {
                let b = self
                    .chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?;
                (
                    Some(b.header.l1_anchor_block),
                    b.header.l1_anchor_block,
                    b.header.timestamp,
                )
            }
            None => {
                let act = info.activated_at.unwrap_or(0);
                let t = view
                    .block(act)
                    .ok_or_else(|| EngineError::NotYet(format!("L1 block {act} unknown")))?
                    .1;
                (None, 0, t.saturating_mul(1000))
            }
        };
        let set = view
            .set_at(membership)
            .eligible(params.min_sequencer_stake, params.min_sequencer_hat);
        if set.is_empty() {
            return Err(EngineError::NotYet(format!(
                "no eligible sequencer for slot {slot}"
            )));
        }
        let seed_h = election_seed_l1_height(slot, bpl).min(seed_cap);
        let (seed_hash, _) = view
            .block(seed_h)
            .ok_or_else(|| EngineError::NotYet(format!("L1 block {seed_h} unknown")))?;
        let seed = election_seed_from_hash(slot, &seed_hash, self.chain_id);
        let election = elect_leader(slot, &set.infos(), &seed, bpl)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        let last_block = self
            .head
            .as_ref()
            .filter(|p| p.block_number >= slot * bpl)
            .map(|p| LastBlock {
                producer: p.sequencer,
                time_ms: p.timestamp,
            });
        let my_vote = self
            .chain
            .my_vote(h)
            .map_err(storage)?
            .map(|v| v.block_hash);
        // After a restart: the block of this node's lock, proposed and voted for again.
        let restored = match my_vote {
            Some(_) => self.chain.locked_block(h).map_err(storage)?,
            None => None,
        };
        self.round = Some(Round {
            height: h,
            slot,
            set,
            election,
            slot_start_ms,
            last_block,
            proposals: HashMap::new(),
            tally: VoteTally::new(slot, h),
            signatures: BTreeMap::new(),
            my_vote,
            proposed_turns: Vec::new(),
            resend: Vec::new(),
            last_resend_ms: 0,
            first_signed: HashMap::new(),
            restored,
        });
        Ok(())
    }

    /// After a restart, the block this node accepted at the current height (stored with its
    /// vote): it goes to the peers again as a proposal (the producer's signature is the
    /// block's own) and this node votes for it again, so a lock taken before a crash never
    /// leaves the height without a block every locked node can accept. Kept until it could be
    /// validated (its L1 anchor known).
    pub fn resume_lock(
        &mut self,
        view: &L1View,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        self.running()?;
        self.ensure_round(view)?;
        let Some(block) = self.round.as_mut().and_then(|r| r.restored.take()) else {
            return Ok(Vec::new());
        };
        let hash = block.hash();
        let proposal = Outgoing::Proposal {
            block: Box::new(block.clone()),
        };
        let mut out = self.on_proposal(view, block.clone(), now_ms)?;
        let r = self.round.as_mut().expect("round ensured");
        if r.proposals.get(&hash).is_none_or(|p| p.verdict.is_none()) {
            r.restored = Some(block);
            return Ok(Vec::new());
        }
        tracing::info!("resumed the lock on block {hash} at height {}", r.height);
        r.resend.push(proposal.clone());
        out.insert(0, proposal);
        Ok(out)
    }

    /// One tick of the leader: propose if this node leads `head + 1` now and has not proposed
    /// in this turn. Returns the messages to send.
    pub fn tick(&mut self, view: &L1View, now_ms: u64) -> Result<Vec<Outgoing>, EngineError> {
        self.running()?;
        let Some(key) = self.key.clone() else {
            return Ok(Vec::new());
        };
        let started = *self.first_tick_ms.get_or_insert(now_ms);
        let turn = self.leader(view, now_ms)?;
        if turn.leader != key.address() {
            return Ok(Vec::new());
        }
        let params = params_of(view)?.clone();
        let parent_ts = self.head.as_ref().map_or(0, |h| h.timestamp);
        if now_ms < parent_ts.saturating_add(params.block_time_ms) {
            return Ok(Vec::new());
        }
        let r = self.round.as_ref().expect("round ensured");
        if r.proposed_turns.contains(&turn.turn) {
            return Ok(Vec::new());
        }
        // Re-propose a block someone accepted at this height (the one with the most weight),
        // if this node found it valid too: a block it rejected is never proposed again by it,
        // or one node's lock on a block the others rejected would hold every later turn.
        let accepted = r
            .proposals
            .values()
            .filter(|p| matches!(p.verdict, Some(Ok(_))))
            .filter(|p| {
                r.tally.weights(&p.block.hash()).accept > 0 || r.my_vote == Some(p.block.hash())
            })
            .max_by_key(|p| r.tally.weights(&p.block.hash()).accept)
            .map(|p| p.block.clone());
        let mut out = Vec::new();
        let block = match accepted {
            Some(b) => b,
            None => {
                if r.my_vote.is_some() {
                    // Locked on a block this node no longer has: it cannot propose another.
                    return Ok(Vec::new());
                }
                if self.restarted && now_ms < started.saturating_add(START_GRACE_MS) {
                    return Ok(Vec::new());
                }
                // One L1 confirmation; never below the chain's registration or the parent's.
                let deployed = view.chain.as_ref().map_or(0, |c| c.deployment_block);
                let anchor = view
                    .tip
                    .saturating_sub(1)
                    .max(deployed)
                    .max(self.head.as_ref().map_or(0, |h| h.l1_anchor_block));
                let messages = self.due_messages(view, anchor)?;
                let txs = self.select_txs(params.block_gas_limit);
                if txs.is_empty()
                    && messages.is_empty()
                    && now_ms < parent_ts.saturating_add(IDLE_BLOCK_MS)
                {
                    return Ok(Vec::new());
                }
                self.build_block(view, &params, &key, anchor, messages, txs, now_ms, r.slot)?
            }
        };
        let r = self.round.as_mut().expect("round ensured");
        r.proposed_turns.push(turn.turn);
        r.resend.retain(|m| !matches!(m, Outgoing::Proposal { .. }));
        r.resend.push(Outgoing::Proposal {
            block: Box::new(block.clone()),
        });
        self.stats.proposed += 1;
        out.push(Outgoing::Proposal {
            block: Box::new(block.clone()),
        });
        out.extend(self.on_proposal(view, block, now_ms)?);
        Ok(out)
    }

    pub(super) fn keep_future(&mut self, height: u64, msg: Outgoing) {
        if height <= self.height() + FUTURE_HEIGHTS && self.future.len() < MAX_FUTURE {
            self.future.push(msg);
        }
    }

    /// Process the kept messages of the (new) current height; returns what to send.
    pub fn replay_future(&mut self, view: &L1View, now_ms: u64) -> Vec<Outgoing> {
        let next = self.height() + 1;
        let height_of = |m: &Outgoing| match m {
            Outgoing::Proposal { block } | Outgoing::Commit { block } => block.header.block_number,
            Outgoing::Vote { height, .. } => *height,
            Outgoing::Transactions { .. } => 0,
        };
        self.future.retain(|m| height_of(m) >= next);
        let (ready, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.future)
            .into_iter()
            .partition(|m| height_of(m) == next);
        self.future = later;
        let mut out = Vec::new();
        for m in ready {
            let r = match m {
                Outgoing::Proposal { block } => self.on_proposal(view, *block, now_ms),
                Outgoing::Vote {
                    height,
                    vote,
                    signature,
                } => self.on_vote(view, vote, signature, height, now_ms),
                Outgoing::Commit { block } => {
                    self.on_commit(view, *block, now_ms).map(|_| Vec::new())
                }
                Outgoing::Transactions { .. } => Ok(Vec::new()),
            };
            if let Ok(o) = r {
                out.extend(o);
            }
        }
        out
    }

    /// This node's proposal and vote of the current round, once per [`RESEND_MS`] (lost
    /// messages and healed partitions).
    pub fn rebroadcast(&mut self, now_ms: u64) -> Vec<Outgoing> {
        match self.round.as_mut() {
            Some(r) if !r.resend.is_empty() && now_ms >= r.last_resend_ms + RESEND_MS => {
                if r.last_resend_ms == 0 {
                    r.last_resend_ms = now_ms;
                    return Vec::new();
                }
                r.last_resend_ms = now_ms;
                r.resend.clone()
            }
            _ => Vec::new(),
        }
    }

    /// Double signing: a block of this height signed by its producer, a member of the round's
    /// set (its turn or not), after a different one by the same producer is evidence (kept in
    /// `evidence`, reported on L1 by the defence). Checked before a proposal is dropped, so a
    /// sequencer cannot hide a double sign behind a wrong turn.
    fn note_signed(&mut self, block: &L2Block) {
        let Some(r) = self.round.as_mut() else {
            return;
        };
        if !signed_by_producer(&r.set, block) {
            return;
        }
        let (producer, hash) = (block.header.sequencer, block.hash());
        let Some(first) = r.first_signed.get(&producer) else {
            r.first_signed.insert(producer, block.clone());
            return;
        };
        if first.hash() == hash {
            return;
        }
        for e in find_double_signs(first, block) {
            if !self.evidence.iter().any(|x| x.id() == e.id()) {
                self.evidence.push(e);
            }
        }
    }

    /// The checks of a proposal that need no execution: the round's height and slot, a producer
    /// whose turn it is, that producer's signature, and a timestamp not ahead of this node's
    /// clock (that one alone is `NotYet`). A proposal failing the others is dropped by
    /// [`Engine::on_proposal`]: never voted on, never kept, so that nobody without the
    /// producer's key can touch the round.
    pub(super) fn check_proposer(
        &self,
        view: &L1View,
        block: &L2Block,
        now_ms: u64,
    ) -> Result<(), EngineError> {
        let params = params_of(view)?;
        let r = self.round.as_ref().expect("round ensured");
        let h = &block.header;
        if h.block_number != r.height {
            return Err(EngineError::Invalid(format!(
                "block {} proposed at height {}",
                h.block_number, r.height
            )));
        }
        if h.slot_number != r.slot {
            return Err(EngineError::Invalid(format!(
                "slotNumber {} in a block of slot {}",
                h.slot_number, r.slot
            )));
        }
        check_producer(
            &r.election,
            &h.sequencer,
            r.slot_start_ms,
            r.last_block,
            h.timestamp,
            params.leader_timeout_ms,
        )
        .map_err(|e| EngineError::Invalid(e.to_string()))?;
        if !r.set.contains(&h.sequencer) {
            return Err(EngineError::Invalid(format!(
                "producer {} not in the set",
                h.sequencer
            )));
        }
        let hash = block.hash();
        let signed = signed_by_producer(&r.set, block);
        if !signed {
            return Err(EngineError::Invalid(format!(
                "CONSENSUS_INVALID_VOTE: block {hash} lacks a valid signature of its producer {}",
                h.sequencer
            )));
        }
        if h.timestamp > now_ms.saturating_add(MAX_FUTURE_MS) {
            return Err(EngineError::NotYet(format!(
                "timestamp {} is ahead of this node's clock {now_ms}",
                h.timestamp
            )));
        }
        Ok(())
    }

    /// Validate `block` as the proposal of the current height (without committing it).
    pub(super) fn validate(
        &mut self,
        view: &L1View,
        block: &L2Block,
        now_ms: u64,
    ) -> Result<(H256, Vec<Receipt>), EngineError> {
        self.check_proposer(view, block, now_ms)?;
        let params = params_of(view)?.clone();
        let h = &block.header;
        let size = block.encode().len();
        if size > MAX_BLOCK_BYTES + 4096 {
            return Err(EngineError::Invalid(format!(
                "block of {size} bytes exceeds {MAX_BLOCK_BYTES}"
            )));
        }
        let parent_anchor = self.head.as_ref().map_or(0, |p| p.l1_anchor_block);
        if h.l1_anchor_block < parent_anchor {
            return Err(EngineError::Invalid(format!(
                "L1 anchor {} below the parent's {parent_anchor}",
                h.l1_anchor_block
            )));
        }
        let (anchor_hash, anchor_time) = view.block(h.l1_anchor_block).ok_or_else(|| {
            EngineError::NotYet(format!("L1 block {} not seen yet", h.l1_anchor_block))
        })?;
        if anchor_hash != h.l1_anchor_hash {
            // Not a REJECT: this node's L1 view may be the stale one (a reorganisation the
            // producer saw first). The block waits, unvoted, and is judged again when it is
            // re-sent; if the producer's L1 block never appears, the leader's turn times out.
            return Err(EngineError::NotYet(format!(
                "l1AnchorHash {} is not L1 block {}'s {anchor_hash} in this node's L1 view",
                h.l1_anchor_hash, h.l1_anchor_block
            )));
        }
        let messages = self.block_messages(view, block)?;
        let others = Self::others(view, &h.sequencer);
        let pre = self.tree.root();
        let parent = self.head.clone();
        let env = BlockEnv {
            params: &params,
            chain_id: self.chain_id,
            messages: &messages,
            other_sequencers: &others,
            parent: parent.as_ref(),
            l1_anchor_time: anchor_time,
        };
        let out = stf::verify_block(&mut self.tree, block, &env);
        self.tree.revert_to(pre).map_err(storage)?;
        let out = out.map_err(|e| EngineError::Invalid(e.to_string()))?;
        Ok((out.state_root, out.receipts))
    }

    /// Handle a proposal for the current height: validate it and vote (at most one ACCEPT per
    /// height). Also detects a producer signing two blocks at one height.
    pub fn on_proposal(
        &mut self,
        view: &L1View,
        block: L2Block,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        self.running()?;
        let n = block.header.block_number;
        if n > self.height() + 1 {
            // Kept for later only when signed by its producer, a sequencer of the registry:
            // nobody else can fill the queue of later heights.
            if !signed_by_producer(&view.set_at(None), &block) {
                self.stats.dropped_proposals += 1;
                return Err(EngineError::Invalid(format!(
                    "proposal dropped: block {n} is not signed by a registered producer"
                )));
            }
            self.keep_future(
                n,
                Outgoing::Proposal {
                    block: Box::new(block),
                },
            );
            return Ok(Vec::new());
        }
        if n <= self.height() {
            return Ok(Vec::new());
        }
        self.ensure_round(view)?;
        self.note_signed(&block);
        match self.check_proposer(view, &block, now_ms) {
            Err(EngineError::Invalid(reason)) => {
                self.stats.dropped_proposals += 1;
                return Err(EngineError::Invalid(format!("proposal dropped: {reason}")));
            }
            Err(e @ (EngineError::Storage(_) | EngineError::Halted(_))) => return Err(e),
            Ok(()) | Err(EngineError::NotYet(_)) => {}
        }
        let hash = block.hash();
        if self
            .round
            .as_ref()
            .and_then(|r| r.proposals.get(&hash))
            .is_some_and(|p| p.verdict.is_some())
        {
            return self.try_commit(view, now_ms);
        }
        let verdict = match self.validate(view, &block, now_ms) {
            Ok(v) => Some(Ok(v)),
            Err(EngineError::NotYet(_)) => None,
            Err(EngineError::Invalid(reason)) => Some(Err(reason)),
            Err(e) => return Err(e),
        };
        let r = self.round.as_mut().expect("round ensured");
        let kept = block.clone();
        r.proposals.insert(
            hash,
            Proposal {
                block,
                verdict: verdict.clone(),
            },
        );
        let mut out = Vec::new();
        if let (Some(v), Some(key)) = (verdict, self.key.clone()) {
            // One vote per block, one ACCEPT per round: a REJECT of an invalid block never
            // stops this node from accepting the valid block of the same round.
            let me = key.address();
            if r.set.contains(&me) && r.tally.vote_on(&me, &hash).is_none() {
                let accept = v.is_ok() && r.my_vote.is_none_or(|m| m == hash);
                if accept || v.is_err() || r.my_vote.is_none() {
                    let (vote_type, reason) = match &v {
                        Ok(_) if accept => (VoteType::Accept, String::new()),
                        Ok(_) => (VoteType::Abstain, "locked on another block".into()),
                        Err(reason) => (VoteType::Reject, truncate(reason, 200)),
                    };
                    if vote_type == VoteType::Reject {
                        self.stats.rejected += 1;
                        tracing::debug!("{:?}: REJECT {hash}: {reason}", key.address());
                    }
                    if vote_type == VoteType::Accept {
                        self.chain
                            .record_vote(
                                r.height,
                                &MyVote {
                                    block_hash: hash,
                                    slot: r.slot,
                                },
                                &kept,
                            )
                            .map_err(storage)?;
                        r.my_vote = Some(hash);
                    }
                    let mut vote = Vote {
                        block_hash: hash,
                        voter_address: key.address(),
                        vote: vote_type,
                        reject_reason: reason,
                        signature: Vec::new(),
                        timestamp: now_ms / 1000,
                        slot_number: r.slot,
                    };
                    vote.sign(&key)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                    let signature = if vote_type == VoteType::Accept {
                        Some(
                            BlockSignature::sign(&key, &hash, now_ms / 1000)
                                .map_err(|e| EngineError::Invalid(e.to_string()))?,
                        )
                    } else {
                        None
                    };
                    let height = r.height;
                    self.stats.votes += 1;
                    let msg = Outgoing::Vote {
                        height,
                        vote,
                        signature,
                    };
                    r.resend.push(msg.clone());
                    if let Outgoing::Vote {
                        vote, signature, ..
                    } = &msg
                    {
                        out.extend(self.on_vote(
                            view,
                            vote.clone(),
                            signature.clone(),
                            height,
                            now_ms,
                        )?);
                    }
                    out.insert(0, msg);
                    return Ok(out);
                }
            }
        }
        out.extend(self.try_commit(view, now_ms)?);
        Ok(out)
    }

    /// Handle a vote for `height`.
    pub fn on_vote(
        &mut self,
        view: &L1View,
        vote: Vote,
        signature: Option<BlockSignature>,
        height: u64,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        self.running()?;
        if height > self.height() + 1 {
            verify_vote(&vote, &view.set_at(None)).map_err(|e| {
                EngineError::Invalid(format!("vote for later height {height} dropped: {e}"))
            })?;
            self.keep_future(
                height,
                Outgoing::Vote {
                    height,
                    vote,
                    signature,
                },
            );
            return Ok(Vec::new());
        }
        if height <= self.height() {
            return Ok(Vec::new());
        }
        self.ensure_round(view)?;
        let r = self.round.as_mut().expect("round ensured");
        match r.tally.add(&vote, &r.set) {
            Ok(_) => {}
            Err(casl2_verifier::consensus::ConsensusError::ConsensusConflicting { .. }) => {
                self.stats.conflicting_votes += 1;
                return Ok(Vec::new());
            }
            Err(e) => return Err(EngineError::Invalid(e.to_string())),
        }
        if vote.vote == VoteType::Accept {
            let key = r.set.get(&vote.voter_address).map(|m| m.public_key);
            match (signature, key) {
                (Some(s), Some(k))
                    if s.sequencer == vote.voter_address
                        && s.verify(&vote.block_hash, &k).is_ok() =>
                {
                    r.signatures
                        .entry(vote.block_hash)
                        .or_default()
                        .insert(vote.voter_address, s);
                }
                _ => {
                    return Err(EngineError::Invalid(format!(
                        "CONSENSUS_INVALID_VOTE: ACCEPT by {} without a valid block signature",
                        vote.voter_address
                    )))
                }
            }
        }
        self.try_commit(view, now_ms)
    }

    /// Commit the current round's block if a quorum accepted one that this node validated.
    pub(super) fn try_commit(
        &mut self,
        view: &L1View,
        now_ms: u64,
    ) -> Result<Vec<Outgoing>, EngineError> {
        let params = params_of(view)?.clone();
        let r = self.round.as_ref().expect("round ensured");
        let Some(hash) = r
            .tally
            .accepted_block(&r.set, params.consensus_threshold_pct)
        else {
            return Ok(Vec::new());
        };
        let Some(p) = r.proposals.get(&hash) else {
            return Ok(Vec::new());
        };
        let Some(Ok((root, receipts))) = p.verdict.clone() else {
            return Ok(Vec::new());
        };
        let mut block = p.block.clone();
        block.signatures = r
            .signatures
            .get(&hash)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        block.is_finalized = true;
        verify_block_quorum(&block, &r.set, params.consensus_threshold_pct)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        // Every sequencer that counts the quorum commits by itself; the producer broadcasts
        // the final block for the nodes that missed votes (followers, late or cut-off nodes).
        let producer = block.header.sequencer;
        self.apply_final(block.clone(), root, &receipts, now_ms)?;
        if self.address() == Some(producer) {
            Ok(vec![Outgoing::Commit {
                block: Box::new(block),
            }])
        } else {
            Ok(Vec::new())
        }
    }
}

/// At most `n` characters of `s` and at most 255 bytes (a vote's `rejectReason` is capped at
/// 256 bytes), cut on a character boundary.
/// True when `block` carries a valid signature of its own producer, a member of `set`.
fn signed_by_producer(set: &SequencerSet, block: &L2Block) -> bool {
    let producer = &block.header.sequencer;
    let Some(key) = set.get(producer).map(|m| m.public_key) else {
        return false;
    };
    let hash = block.hash();
    block
        .signatures
        .iter()
        .any(|s| s.sequencer == *producer && s.verify(&hash, &key).is_ok())
}

fn truncate(s: &str, n: usize) -> String {
    let mut out = String::new();
    for c in s.chars().take(n) {
        if out.len() + c.len_utf8() > 255 {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_reasons_are_cut_on_character_boundaries() {
        let long = "ü".repeat(300);
        let t = truncate(&long, 200);
        assert!(t.len() <= 255 && t.chars().all(|c| c == 'ü'));
        assert_eq!(truncate("short", 200), "short");
    }
}

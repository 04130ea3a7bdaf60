//! Final application and revert: a block made final (by this round's quorum or a received
//! commit) is applied to the chain and the state; an L1 reorganisation reverts them.

use super::*;

impl Engine {
    pub(super) fn apply_final(
        &mut self,
        block: L2Block,
        root: H256,
        receipts: &[Receipt],
        now_ms: u64,
    ) -> Result<(), EngineError> {
        self.tree.revert_to(root).map_err(storage)?;
        self.chain.append(&block, receipts).map_err(storage)?;
        if let Some(r) = &self.round {
            if r.election.leader != block.header.sequencer {
                self.stats.failovers += 1;
            }
        }
        self.stats.transactions += block.transactions.len() as u64;
        self.mempool.remove_included(&block.transactions);
        let tree = &self.tree;
        self.mempool.prune(|a| {
            let st = Overlay::new(tree).account(a).unwrap_or_default();
            SenderState {
                nonce: st.nonce,
                balance: st.balance,
                hat_score: st.hat_score,
            }
        });
        tracing::debug!(
            "{:?}: final block {} by {} ({} txs, {} msgs, {} sigs)",
            self.address(),
            block.header.block_number,
            block.header.sequencer,
            block.transactions.len(),
            block.l1_message_hashes.len(),
            block.signatures.len()
        );
        self.head = Some(block.header);
        self.round = None;
        self.last_final_ms = now_ms;
        Ok(())
    }

    /// Property 20: after an L1 reorganisation, find the oldest final block that no longer fits
    /// L1 — it consumed a queue message L1 no longer has (or has another one at that index), or
    /// it anchors to an L1 block that was replaced — and revert the chain and the state to the
    /// block before it; the blocks after it are produced again from what L1 now holds. Only
    /// blocks anchored within the L1 view's recent window, or above the lowest L1 height a
    /// reorganisation of any depth changed (`L1View::reorg_from`), are checked. Returns the
    /// height reverted to.
    ///
    /// A revert this node cannot make (a block or a state root of its own history missing:
    /// `STATE_REVERT_FAILED`) halts it ([`Engine::halted`]): it would otherwise go on from
    /// blocks L1 no longer holds.
    pub fn revert_to_l1(&mut self, view: &L1View) -> Result<Option<u64>, EngineError> {
        self.running()?;
        match self.revert_checked(view) {
            Err(EngineError::Storage(e)) => {
                let reason = format!(
                    "STATE_REVERT_FAILED: after an L1 reorganisation this node could not revert its chain ({e}); it no longer takes part. Move its data directory away and start it again to catch up from its peers"
                );
                tracing::error!("{reason}");
                self.halted = Some(reason.clone());
                self.round = None;
                Err(EngineError::Halted(reason))
            }
            r => r,
        }
    }

    fn revert_checked(&mut self, view: &L1View) -> Result<Option<u64>, EngineError> {
        let (mut cursor, _) = queue_cursor(&self.tree).map_err(storage)?;
        // The view re-reads the hashes of the last 6 L1 blocks on every refresh, and walks
        // further down when they changed.
        let window = view
            .tip
            .saturating_sub(6)
            .min(view.reorg_from.unwrap_or(u64::MAX));
        let mut bad: Option<u64> = None;
        let mut n = self.height();
        while n >= 1 {
            let b = self
                .chain
                .block(n)
                .map_err(storage)?
                .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?;
            let h = &b.header;
            if h.l1_anchor_block < window && b.l1_message_hashes.is_empty() {
                break;
            }
            let start = cursor.saturating_sub(b.l1_message_hashes.len() as u64);
            let msgs_ok = b.l1_message_hashes.iter().enumerate().all(|(j, mh)| {
                view.queue
                    .get((start as usize).saturating_add(j))
                    .is_some_and(|q| q.hash == *mh)
            });
            let anchor_ok = h.l1_anchor_block < window
                || view
                    .block(h.l1_anchor_block)
                    .is_some_and(|(hash, _)| hash == h.l1_anchor_hash);
            if !msgs_ok || !anchor_ok {
                bad = Some(n);
            }
            cursor = start;
            if h.l1_anchor_block < window {
                break;
            }
            n -= 1;
        }
        let Some(first_bad) = bad else {
            return Ok(None);
        };
        let keep = first_bad - 1;
        let (root, head) = match keep {
            0 => (casl2_verifier::smt::empty_root(), None),
            k => {
                let b = self
                    .chain
                    .block(k)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {k} missing")))?;
                (b.header.state_root, Some(b.header))
            }
        };
        self.tree.revert_to(root).map_err(storage)?;
        self.chain.truncate(keep).map_err(storage)?;
        tracing::debug!(
            "L1 reorganised: blocks from {first_bad} no longer fit L1, reverted to {keep}"
        );
        self.head = head;
        self.round = None;
        self.future.clear();
        self.stats.reverts += 1;
        Ok(Some(keep))
    }

    /// Handle a final block (a commit, or one fetched while catching up): it must be
    /// `head + 1`, carry a quorum of the height's set, and re-execute to its state root.
    pub fn on_commit(
        &mut self,
        view: &L1View,
        block: L2Block,
        now_ms: u64,
    ) -> Result<bool, EngineError> {
        self.running()?;
        if block.header.block_number <= self.height() {
            return Ok(false);
        }
        if block.header.block_number != self.height() + 1 {
            // A gap: keep it for when the blocks before it arrive (the sync fetches them).
            let n = block.header.block_number;
            self.keep_future(
                n,
                Outgoing::Commit {
                    block: Box::new(block),
                },
            );
            return Ok(false);
        }
        self.ensure_round(view)?;
        let params = params_of(view)?.clone();
        {
            let r = self.round.as_ref().expect("round ensured");
            verify_block_quorum(&block, &r.set, params.consensus_threshold_pct)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            if let Some(mine) = r.my_vote.filter(|m| *m != block.hash()) {
                // This node's lock was on a block that never reached a quorum (it proposed or
                // voted while cut off); the quorum certificate decides. Locks restrict votes,
                // not what a node accepts as final.
                tracing::debug!(
                    "height {}: accepted {mine}, a quorum finalised {}",
                    r.height,
                    block.hash()
                );
            }
        }
        // The commit's timestamp may be older than now: validate at its own time.
        let (root, receipts) = self.validate(view, &block, block.header.timestamp.max(now_ms))?;
        self.apply_final(block, root, &receipts, now_ms)?;
        Ok(true)
    }
}

//! Block production: the L1 messages a block applies, the fee pool's payees, and sealing the
//! next block from the mempool.

use super::*;

impl Engine {
    /// The messages the next block must apply: the queue entries from the state's cursor whose
    /// L1 block is at most `anchor`.
    pub(super) fn due_messages(
        &self,
        view: &L1View,
        anchor: u64,
    ) -> Result<Vec<L1Message>, EngineError> {
        let (next, _) = queue_cursor(&self.tree).map_err(storage)?;
        let skip_forced = self
            .misbehaviour
            .as_ref()
            .is_some_and(|m| m.ignores_forced_queue());
        Ok(view
            .queue
            .iter()
            .skip(usize::try_from(next).unwrap_or(usize::MAX))
            .take_while(|q| q.message.l1_block <= anchor)
            .take_while(|q| !(skip_forced && q.is_forced()))
            .take(MAX_BLOCK_MESSAGES)
            .map(|q| q.message.clone())
            .collect())
    }

    /// The mempool's pick for the next block, less the senders a [`Misbehaviour`] censors.
    pub(super) fn select_txs(&self, gas_limit: u64) -> Vec<L2Transaction> {
        let mut txs = self
            .mempool
            .select(|a| self.sender_state(a), self.max_block_txs, gas_limit);
        if let Some(m) = &self.misbehaviour {
            txs.retain(|t| !m.censors(&t.from));
        }
        txs
    }

    /// The L1 messages `block` claims, looked up in the queue from the state's cursor.
    pub(super) fn block_messages(
        &self,
        view: &L1View,
        block: &L2Block,
    ) -> Result<Vec<L1Message>, EngineError> {
        let (next, _) = queue_cursor(&self.tree).map_err(storage)?;
        let mut out = Vec::with_capacity(block.l1_message_hashes.len());
        for (i, h) in block.l1_message_hashes.iter().enumerate() {
            let idx = next as usize + i;
            let q = view.queue.get(idx).ok_or_else(|| {
                EngineError::NotYet(format!("L1 queue message {idx} not seen yet"))
            })?;
            if q.hash != *h {
                return Err(EngineError::Invalid(format!(
                    "l1MessageHashes[{i}] is {h}, queue message {idx} is {}",
                    q.hash
                )));
            }
            if q.message.l1_block > block.header.l1_anchor_block {
                return Err(EngineError::Invalid(format!(
                    "queue message {idx} is from L1 block {}, after the block's L1 anchor {}",
                    q.message.l1_block, block.header.l1_anchor_block
                )));
            }
            out.push(q.message.clone());
        }
        Ok(out)
    }

    /// The other active sequencers (registry order, producer excluded): the fee pool's payees,
    /// the same list fraud proofs use (the L1's active set at posting).
    pub(super) fn others(view: &L1View, producer: &Address) -> Vec<Address> {
        view.set_at(None)
            .members()
            .iter()
            .map(|m| m.info.address)
            .filter(|a| a != producer)
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn build_block(
        &mut self,
        view: &L1View,
        params: &ChainParams,
        key: &PrivateKey,
        anchor: u64,
        messages: Vec<L1Message>,
        mut txs: Vec<L2Transaction>,
        now_ms: u64,
        slot: u64,
    ) -> Result<L2Block, EngineError> {
        let (anchor_hash, anchor_time) = view
            .block(anchor)
            .ok_or_else(|| EngineError::NotYet(format!("L1 block {anchor} unknown")))?;
        let parent_ts = self.head.as_ref().map_or(0, |h| h.timestamp);
        let me = key.address();
        let others = Self::others(view, &me);
        loop {
            let mut block = L2Block::default();
            let h = &mut block.header;
            h.block_number = self.height() + 1;
            h.parent_hash = self.head.as_ref().map_or(H256::ZERO, |p| p.hash());
            h.sequencer = me;
            h.timestamp = now_ms.max(parent_ts + 1);
            h.gas_limit = params.block_gas_limit;
            h.l2_chain_id = self.chain_id;
            h.l1_anchor_block = anchor;
            h.l1_anchor_hash = anchor_hash;
            h.slot_number = slot;
            block.transactions = txs.clone();
            let pre = self.tree.root();
            let parent = self.head.clone();
            let env = BlockEnv {
                params,
                chain_id: self.chain_id,
                messages: &messages,
                other_sequencers: &others,
                parent: parent.as_ref(),
                l1_anchor_time: anchor_time,
            };
            let res = stf::seal_block(&mut self.tree, &mut block, &env);
            self.tree.revert_to(pre).map_err(storage)?;
            match res {
                Ok(_) if block.encode().len() <= MAX_BLOCK_BYTES => {
                    block
                        .sign(key, now_ms / 1000)
                        .map_err(|e| EngineError::Invalid(e.to_string()))?;
                    return Ok(block);
                }
                Ok(_) => {
                    txs.truncate(txs.len() / 2);
                }
                Err(stf::StfError::InvalidTransaction { hash, reason }) => {
                    // Drop the offender from the block and the pool, and try again.
                    txs.retain(|t| t.hash() != hash);
                    if let Some(t) = self.mempool.get(&hash) {
                        self.mempool.remove_included(&[t]);
                    }
                    tracing::debug!("dropped transaction {hash}: {reason}");
                }
                Err(stf::StfError::RateLimit { address, .. }) => {
                    txs.retain(|t| t.from != address);
                }
                Err(e) => return Err(EngineError::Invalid(e.to_string())),
            }
        }
    }
}

//! Batching: planning the next batch to anchor on L1 and signing a peer's batch header.

use super::*;

impl Engine {
    /// Build the next batch to anchor: the final blocks after L1's latest anchored block, at
    /// most `batch_interval`, fewer if the payload would exceed the DA limit. `None` when fewer
    /// than `batch_interval` blocks wait and the oldest waiting block is younger than
    /// `max_wait_ms`.
    pub fn plan_batch(
        &self,
        view: &L1View,
        poster: Address,
        now_ms: u64,
        max_wait_ms: u64,
    ) -> Result<Option<BatchPlan>, EngineError> {
        self.running()?;
        let info = match &view.chain {
            Some(c) => c,
            None => return Ok(None),
        };
        let anchored = info.latest_l2_block;
        let head = self.height();
        if head <= anchored {
            return Ok(None);
        }
        let interval = info.params.batch_interval.max(1);
        let first = self
            .chain
            .block(anchored + 1)
            .map_err(storage)?
            .ok_or_else(|| EngineError::Storage(format!("block {} missing", anchored + 1)))?;
        if head - anchored < interval && now_ms < first.header.timestamp.saturating_add(max_wait_ms)
        {
            return Ok(None);
        }
        let end = head.min(anchored + interval);
        let mut blocks = Vec::new();
        for n in (anchored + 1)..=end {
            blocks.push(
                self.chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?,
            );
        }
        if let Some(m) = &self.misbehaviour {
            m.rewrite_batch(info, &mut blocks, self.key.as_ref());
        }
        // The batch must continue the anchored chain.
        let stored_pre = if anchored == 0 {
            casl2_verifier::smt::empty_root()
        } else {
            self.chain
                .block(anchored)
                .map_err(storage)?
                .map(|b| b.header.state_root)
                .unwrap_or_default()
        };
        if info.latest_state_root != stored_pre {
            return Err(EngineError::Invalid(format!(
                "STATE_ROOT_MISMATCH: L1's latest anchored root {} is not this node's root {stored_pre} of block {anchored}",
                info.latest_state_root
            )));
        }
        let da = DaParams::default();
        loop {
            let bytes = serialize_blocks(&blocks);
            let payload =
                compress_batch(&bytes, &da).map_err(|e| EngineError::Invalid(e.to_string()))?;
            if payload.len() > da.max_compressed_size && blocks.len() > 1 {
                blocks.pop();
                continue;
            }
            let encoded = encode_payload(&payload, casl2_verifier::sha256d(&bytes), &da)
                .map_err(|e| EngineError::Invalid(e.to_string()))?;
            let header = batch_header(info.latest_state_root, &blocks, self.chain_id, poster);
            return Ok(Some(BatchPlan {
                header,
                commitment: encoded.commitment,
                payload,
            }));
        }
    }

    /// Sign `header` as a batch of this node's final blocks if it describes them exactly.
    pub fn sign_batch(
        &self,
        header: &BatchHeader,
        pre_state_root: H256,
        info: Option<&L2ChainInfo>,
    ) -> Result<BlockSignature, EngineError> {
        self.running()?;
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| EngineError::Invalid("a follower signs no batches".into()))?;
        // Never load more blocks than a batch may hold (the request may come from anyone).
        let most = info.map_or(1, |i| i.params.batch_interval.max(1));
        if header.end_block.saturating_sub(header.start_block) >= most {
            return Err(EngineError::Invalid(format!(
                "batch {}..={} holds more than batchInterval = {most} blocks",
                header.start_block, header.end_block
            )));
        }
        if header.end_block > self.height()
            || header.start_block == 0
            || header.end_block < header.start_block
        {
            return Err(EngineError::NotYet(format!(
                "blocks {}..={} are not all final here (head {})",
                header.start_block,
                header.end_block,
                self.height()
            )));
        }
        let mut blocks = Vec::new();
        for n in header.start_block..=header.end_block {
            blocks.push(
                self.chain
                    .block(n)
                    .map_err(storage)?
                    .ok_or_else(|| EngineError::Storage(format!("block {n} missing")))?,
            );
        }
        if let (Some(m), Some(info)) = (&self.misbehaviour, info) {
            m.rewrite_batch(info, &mut blocks, None);
        }
        let expected = batch_header(
            pre_state_root,
            &blocks,
            self.chain_id,
            header.sequencer_address,
        );
        if expected != *header {
            return Err(EngineError::Invalid(format!(
                "batch header differs from this node's blocks {}..={}",
                header.start_block, header.end_block
            )));
        }
        BlockSignature::sign(key, &header.hash(), header.timestamp)
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }
}

/// The batch header of `blocks` (final, in order) after `pre_state_root`, posted by `poster`:
/// anchored at the last block's L1 anchor, timestamped with its time in seconds, the
/// transactions root over every transaction hash of the batch in order.
pub fn batch_header(
    pre_state_root: H256,
    blocks: &[L2Block],
    chain_id: u64,
    poster: Address,
) -> BatchHeader {
    let first = blocks.first().map_or(0, |b| b.header.block_number);
    let last = blocks.last().map(|b| b.header.clone()).unwrap_or_default();
    let hashes: Vec<H256> = blocks.iter().flat_map(|b| b.transaction_hashes()).collect();
    BatchHeader {
        version: BATCH_VERSION,
        start_block: first,
        end_block: last.block_number,
        pre_state_root,
        post_state_root: last.state_root,
        transactions_root: merkle_root(&hashes),
        transaction_count: hashes.len() as u64,
        total_gas_used: blocks.iter().map(|b| b.header.gas_used).sum(),
        l2_chain_id: chain_id,
        l1_anchor_block: last.l1_anchor_block,
        l1_anchor_hash: last.l1_anchor_hash,
        sequencer_address: poster,
        timestamp: last.timestamp / 1000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch header vector of `docs/protocol.md`.
    #[test]
    fn batch_header_of_two_blocks() {
        let mut blocks = Vec::new();
        for n in 1..=2u64 {
            let mut b = L2Block::default();
            b.header.block_number = n;
            b.header.state_root = H256([n as u8; 32]);
            b.header.timestamp = 1_700_000_000_000 + n * 100;
            b.header.gas_used = 21_000 * n;
            b.header.l1_anchor_block = 40 + n;
            b.header.l1_anchor_hash = H256([0xa0 + n as u8; 32]);
            b.header.l2_chain_id = 1;
            let mut t = L2Transaction {
                nonce: n,
                l2_chain_id: 1,
                ..Default::default()
            };
            t.value = n as i64;
            b.transactions.push(t);
            blocks.push(b);
        }
        let h = batch_header(H256([0xee; 32]), &blocks, 1, Address([0x5e; 20]));
        assert_eq!((h.start_block, h.end_block), (1, 2));
        assert_eq!(h.post_state_root, H256([2; 32]));
        assert_eq!(h.transaction_count, 2);
        assert_eq!(h.total_gas_used, 63_000);
        assert_eq!((h.l1_anchor_block, h.timestamp), (42, 1_700_000_000));
        assert_eq!(
            h.transactions_root,
            merkle_root(&[
                blocks[0].transactions[0].hash(),
                blocks[1].transactions[0].hash()
            ])
        );
        assert_eq!(
            h.hash().to_hex(),
            "0x8ba69e04a4f9804c7411cbb9d10b0a502cb666a1e0e1b31847f50bbadc883413"
        );
    }
}

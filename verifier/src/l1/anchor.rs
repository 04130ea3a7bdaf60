//! State anchors: batches posted with their data and quorum signatures, challenge deadlines,
//! finality, and the dispute hooks the fraud-proof rules drive.

use super::registry::{ChainState, L2Status, SequencerStatus};
use super::{L1Event, L1State};
use crate::consensus::{batch_weight, sequencer_weight, BatchSignatureError, BatchWeight};
use crate::da::{decode_blocks, decompress_batch, encode_payload, DACommitment, DaParams};
use crate::hash::{sha256d, Address, H256};
use crate::settlement::{add_u64, da_error, Anchor, L1Error};
use crate::types::{BatchHeader, BlockSignature, L2Block};

impl L1State {
    /// The weight of a batch's signatures over `hash` by `chain`'s active sequencers (the
    /// rule of [`batch_weight`]).
    fn signed_weight(
        &self,
        chain: u64,
        hash: &H256,
        signatures: &[BlockSignature],
    ) -> Result<BatchWeight, L1Error> {
        let c = self.chain_ref(chain)?;
        let active: Vec<_> = c
            .sequencers
            .iter()
            .filter(|s| s.status == SequencerStatus::Active)
            .map(|s| (s, sequencer_weight(s.stake, self.hat_score(&s.address))))
            .collect();
        let total = active.iter().fold(0u128, |t, (_, w)| t.saturating_add(*w));
        batch_weight(hash, signatures, total, |a| {
            active
                .iter()
                .find(|(s, _)| s.address == *a)
                .map(|(s, w)| (&s.public_key, *w))
        })
        .map_err(|e| match e {
            BatchSignatureError::NotActive(a) => {
                L1Error::InvalidVote(format!("{a} is not an active sequencer of chain {chain}"))
            }
            e => L1Error::InvalidVote(e.to_string()),
        })
    }

    /// The header checks of a `PostBatch`: the chain accepts batches, `from` is an active
    /// sequencer and named by the header, and the header continues the chain from an earlier L1
    /// block of this chain.
    fn check_batch_header(
        &self,
        from: &Address,
        chain: u64,
        header: &BatchHeader,
    ) -> Result<(), L1Error> {
        let h = self.height;
        let c = self.chain_ref(chain)?;
        if !matches!(c.info.status, L2Status::Active | L2Status::Deprecated) {
            return Err(c.wrong_status("batches need an ACTIVE or DEPRECATED chain"));
        }
        if !c
            .sequencer(from)
            .is_some_and(|s| s.status == SequencerStatus::Active)
        {
            return Err(L1Error::SeqUnknown {
                chain,
                address: *from,
                detail: "an active sequencer".into(),
            });
        }
        if header.sequencer_address != *from {
            return Err(bad(format!(
                "header names sequencer {}, posted by {from}",
                header.sequencer_address
            )));
        }
        if header.l2_chain_id != chain {
            return Err(bad(format!("header is for chain {}", header.l2_chain_id)));
        }
        if header.pre_state_root != c.info.latest_state_root {
            return Err(L1Error::StateRootMismatch {
                what: "preStateRoot".into(),
                got: header.pre_state_root,
                expected: c.info.latest_state_root,
            });
        }
        let next = add_u64(c.info.latest_l2_block, 1, "L2 block number")?;
        if header.start_block != next || header.end_block < header.start_block {
            return Err(bad(format!(
                "blocks {}..={} do not continue from {}",
                header.start_block, header.end_block, c.info.latest_l2_block
            )));
        }
        if header.l1_anchor_block >= h
            || self.block_hash(header.l1_anchor_block) != Some(header.l1_anchor_hash)
        {
            return Err(bad(format!(
                "L1 anchor {} at height {} is not an earlier block of this chain",
                header.l1_anchor_hash, header.l1_anchor_block
            )));
        }
        Ok(())
    }

    pub(crate) fn post_batch(
        &mut self,
        from: &Address,
        chain: u64,
        header: &BatchHeader,
        commitment: &DACommitment,
        payload: &[u8],
        signatures: &[BlockSignature],
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        self.check_batch_header(from, chain, header)?;
        let c = self.chain_ref(chain)?;
        let batch_hash = header.hash();
        let weight = self.signed_weight(chain, &batch_hash, signatures)?;
        let pct = c.info.params.consensus_threshold_pct;
        if !weight.reached(pct) {
            return Err(L1Error::NoQuorum {
                signed: weight.signed,
                total: weight.total,
                threshold_pct: pct,
            });
        }
        let blocks = open_payload(commitment, payload)?;
        let cursor = check_batch_blocks(c, chain, header, &blocks)?;
        let deadline = add_u64(h, c.info.params.challenge_period, "deadline")?;
        let fast_deadline = add_u64(h, c.info.params.fast_challenge_period, "deadline")?;
        let index = c.anchors.len() as u64;
        let anchor = Anchor {
            index,
            l1_height: h,
            header: header.clone(),
            batch_hash,
            data_root: commitment.data_root(),
            poster: *from,
            deadline,
            fast_deadline,
            messages_start: c.consumed,
            messages_end: cursor,
            disputed: false,
            finalized: false,
            payload: payload.to_vec(),
            commitment: Some(commitment.clone()),
            steps: crate::fraud::step_count(&blocks),
            sequencers: c
                .sequencers
                .iter()
                .filter(|s| s.status == SequencerStatus::Active)
                .map(|s| (s.address, s.public_key))
                .collect(),
            signers: signatures.iter().map(|s| s.sequencer).collect(),
            l1_time: self.tip_time,
            last_timestamp: blocks
                .last()
                .map(|b| b.header.timestamp)
                .unwrap_or_default(),
        };
        let c = self.chain_mut(chain)?;
        c.anchors.push(anchor);
        c.info.latest_state_root = header.post_state_root;
        c.info.latest_l2_block = header.end_block;
        c.info.latest_l1_anchor = h;
        c.consumed = cursor;
        Ok(vec![L1Event::BatchAnchored {
            chain,
            index,
            batch_hash,
            deadline,
        }])
    }

    /// Begin block: finalize, in order, the anchors whose deadline is reached and that are not
    /// disputed (none in EMERGENCY).
    pub(crate) fn begin_block(&mut self) -> Vec<L1Event> {
        let h = self.height;
        let mut events = Vec::new();
        for (id, c) in self.chains.iter_mut() {
            if c.info.status == L2Status::Emergency {
                continue;
            }
            while let Some(a) = usize::try_from(c.finalized_count)
                .ok()
                .and_then(|i| c.anchors.get_mut(i))
            {
                if a.disputed || a.deadline > h {
                    break;
                }
                a.finalized = true;
                c.finalized_count += 1;
                c.info.finalized_state_root = a.header.post_state_root;
                c.info.finalized_l2_block = a.header.end_block;
                c.finalized_consumed = a.messages_end;
                events.push(L1Event::AnchorFinalized {
                    chain: *id,
                    index: a.index,
                    root: a.header.post_state_root,
                });
            }
        }
        events
    }

    /// Open a dispute on anchor `index` of `chain` (hook for the fraud-proof rules): it and the
    /// anchors after it stop finalizing. Fails with `BRIDGE_CHALLENGE_FAILED` when the anchor is
    /// final, its window is closed, it is already disputed, or the chain is in EMERGENCY.
    pub fn open_dispute(&mut self, chain: u64, index: u64) -> Result<(), L1Error> {
        if self.challengeable_anchor(chain, index)?.disputed {
            return Err(L1Error::ChallengeFailed(format!(
                "anchor {index} is already disputed"
            )));
        }
        let c = self.chain_mut(chain)?;
        let a = usize::try_from(index)
            .ok()
            .and_then(|i| c.anchors.get_mut(i))
            .ok_or(L1Error::UnknownAnchor { chain, index })?;
        a.disputed = true;
        Ok(())
    }

    /// Close the dispute on anchor `index` (hook for the fraud-proof rules). When the fraud is
    /// proven, that anchor and all later ones are removed and the chain continues from the
    /// anchor's pre-state root, L2 block and queue cursor; slashing is the caller's (see
    /// [`L1State::slash`]). Otherwise the anchor just becomes undisputed.
    pub fn resolve_dispute(
        &mut self,
        chain: u64,
        index: u64,
        fraud_proven: bool,
    ) -> Result<(), L1Error> {
        let c = self.chain_mut(chain)?;
        let pos = usize::try_from(index)
            .ok()
            .filter(|i| *i < c.anchors.len())
            .ok_or(L1Error::UnknownAnchor { chain, index })?;
        let a = &mut c.anchors[pos];
        if !a.disputed {
            return Err(L1Error::ChallengeFailed(format!(
                "anchor {index} is not disputed"
            )));
        }
        if !fraud_proven {
            a.disputed = false;
            return Ok(());
        }
        let (root, block, cursor) = (
            a.header.pre_state_root,
            a.header.start_block.saturating_sub(1),
            a.messages_start,
        );
        c.anchors.truncate(pos);
        c.info.frauds_proven = c.info.frauds_proven.saturating_add(1);
        c.info.latest_state_root = root;
        c.info.latest_l2_block = block;
        c.consumed = cursor;
        Ok(())
    }
}

fn bad(m: String) -> L1Error {
    L1Error::BatchInvalid(m)
}

/// Data availability of a posted batch: the commitment must be the payload's, and the payload
/// must decompress to blocks hashing to the commitment's `data_hash`.
fn open_payload(commitment: &DACommitment, payload: &[u8]) -> Result<Vec<L2Block>, L1Error> {
    let da = DaParams::default();
    let encoded = encode_payload(payload, commitment.data_hash, &da).map_err(da_error)?;
    if encoded.commitment != *commitment {
        return Err(L1Error::DaMismatch(
            "the commitment is not the payload's".into(),
        ));
    }
    let bytes = decompress_batch(payload, &da).map_err(da_error)?;
    if sha256d(&bytes) != commitment.data_hash {
        return Err(L1Error::DaMismatch(
            "the decompressed batch does not hash to data_hash".into(),
        ));
    }
    decode_blocks(&bytes).map_err(|e| L1Error::BatchInvalid(e.to_string()))
}

/// The blocks of a batch against its header and `c`'s queue: their number, chain and count,
/// their transaction roots and count, the queued messages they consume (in order), and the
/// last state root. Returns the queue cursor after them.
fn check_batch_blocks(
    c: &ChainState,
    chain: u64,
    header: &BatchHeader,
    blocks: &[L2Block],
) -> Result<u64, L1Error> {
    let count = header.end_block - header.start_block;
    if blocks.len() as u64 != count.saturating_add(1) {
        return Err(bad(format!(
            "payload holds {} blocks, header says {}",
            blocks.len(),
            count.saturating_add(1)
        )));
    }
    let mut cursor = c.consumed;
    let mut txs: u64 = 0;
    for (i, b) in blocks.iter().enumerate() {
        let number = header.start_block.saturating_add(i as u64);
        if b.header.block_number != number || b.header.l2_chain_id != chain {
            return Err(bad(format!(
                "block {i} is number {} of chain {}, expected {number} of {chain}",
                b.header.block_number, b.header.l2_chain_id
            )));
        }
        if !b.transactions_root_matches() {
            return Err(bad(format!("block {number}: transactionsRoot mismatch")));
        }
        txs = txs.saturating_add(b.transactions.len() as u64);
        for mh in &b.l1_message_hashes {
            let expected = usize::try_from(cursor).ok().and_then(|i| c.queue.get(i));
            match expected {
                Some(m) if m.hash == *mh => cursor += 1,
                Some(m) => {
                    return Err(L1Error::MessagesMismatch(format!(
                        "block {number} consumes {mh}, the next queued message ({}) is {}",
                        m.message.index, m.hash
                    )))
                }
                None => {
                    return Err(L1Error::MessagesMismatch(format!(
                        "block {number} consumes {mh}, but the queue has only {} messages",
                        c.queue.len()
                    )))
                }
            }
        }
    }
    if txs != header.transaction_count {
        return Err(bad(format!(
            "payload holds {txs} transactions, header says {}",
            header.transaction_count
        )));
    }
    let last_root = blocks
        .last()
        .map(|b| b.header.state_root)
        .unwrap_or_default();
    if last_root != header.post_state_root {
        return Err(L1Error::StateRootMismatch {
            what: "postStateRoot (the last block's stateRoot)".into(),
            got: header.post_state_root,
            expected: last_root,
        });
    }
    Ok(cursor)
}

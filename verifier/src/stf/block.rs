//! Blocks: their steps, the block-level rules, and three ways to run them that always agree —
//! fast application (one tree update per block, signatures checked in parallel), the per-step
//! trace (the root after every step), and verification of a block against its header.

use super::exec::{apply_message, execute_step, execute_tx};
use super::rules;
use super::state::{Overlay, StateView};
use super::types::{BlockContext, Receipt, Step};
use super::StfError;
use crate::hash::{merkle_root, Address, H256};
use crate::params::ChainParams;
use crate::smt::{NodeStore, SparseMerkleTree};
use crate::types::{L1Message, L2Block, L2BlockHeader};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// What a block's execution needs besides the block: its L1 messages, the other active
/// sequencers, the parent header and the time of its L1 anchor block.
#[derive(Debug, Clone)]
pub struct BlockEnv<'a> {
    /// The chain's parameters.
    pub params: &'a ChainParams,
    /// The chain id.
    pub chain_id: u64,
    /// The L1 messages the block applies, in order (their hashes are the block's
    /// `l1MessageHashes`).
    pub messages: &'a [L1Message],
    /// The other active sequencers, who share the 20 % pool.
    pub other_sequencers: &'a [Address],
    /// The parent block's header (`None` for the first block).
    pub parent: Option<&'a L2BlockHeader>,
    /// Timestamp (Unix **seconds**) of the L1 block the header anchors to. L2 block timestamps
    /// are Unix **milliseconds** (sub-second blocks with strictly increasing timestamps); the
    /// drift rule compares them with this time × 1000.
    pub l1_anchor_time: u64,
}

/// The result of executing a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// State root after the block.
    pub state_root: H256,
    /// One receipt per step (messages, transactions, block end).
    pub receipts: Vec<Receipt>,
    /// Gas used by the block's transactions.
    pub gas_used: u64,
    /// Merkle root of the receipt hashes.
    pub receipts_root: H256,
}

/// Apply what an [`Overlay`] collected ([`Overlay::into_parts`]) to a full tree: the contract
/// storage nodes first, then the account writes; returns the new root.
pub fn apply_parts<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    writes: Vec<crate::smt::Update>,
    nodes: Vec<(H256, crate::smt::Node)>,
) -> Result<H256, StfError> {
    if !nodes.is_empty() {
        tree.store_mut()
            .put_batch(nodes)
            .map_err(|e| StfError::State(e.to_string()))?;
    }
    tree.update_batch(writes)
        .map_err(|e| StfError::State(e.to_string()))
}

/// The block's context for its steps.
pub fn block_context(block: &L2Block, env: &BlockEnv<'_>) -> BlockContext {
    BlockContext {
        chain_id: env.chain_id,
        number: block.header.block_number,
        timestamp: block.header.timestamp,
        producer: block.header.sequencer,
        other_sequencers: env.other_sequencers.to_vec(),
        rent: rules::RentParams::of(env.params),
    }
}

/// The block's steps, in order: its L1 messages, its transactions, the block end.
pub fn block_steps(block: &L2Block, messages: &[L1Message]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(messages.len() + block.transactions.len() + 1);
    steps.extend(
        messages
            .iter()
            .map(|m| Step::L1Message { message: m.clone() }),
    );
    steps.extend(block.transactions.iter().map(|t| Step::Tx {
        tx: Box::new(t.clone()),
    }));
    steps.push(Step::BlockEnd);
    steps
}

/// Check the rules that concern the block as a whole, before its steps run: chain id, parent
/// link, L1 message hashes, the transactions root, strictly increasing timestamps within the
/// drift allowed around the L1 anchor's time (Property 15), and the per-sender transaction
/// limit by reputation (Property 14, reputation read from the pre-block state). `senders` are
/// the recovered senders of the block's transactions (`None` where recovery failed).
pub fn check_block_rules(
    block: &L2Block,
    env: &BlockEnv<'_>,
    senders: &[Option<Address>],
    pre_state: &dyn StateView,
) -> Result<(), StfError> {
    check_rules(block, env, senders, block.transactions_root(), pre_state)
}

/// [`check_block_rules`] with the transactions root already computed.
fn check_rules(
    block: &L2Block,
    env: &BlockEnv<'_>,
    senders: &[Option<Address>],
    transactions_root: H256,
    pre_state: &dyn StateView,
) -> Result<(), StfError> {
    let h = &block.header;
    if h.l2_chain_id != env.chain_id {
        return Err(StfError::BlockInvalid(format!(
            "chain id {} in a block of chain {}",
            h.l2_chain_id, env.chain_id
        )));
    }
    if let Some(p) = env.parent {
        if h.block_number != p.block_number + 1 || h.parent_hash != p.hash() {
            return Err(StfError::BlockInvalid(format!(
                "block {} does not follow block {} ({})",
                h.block_number,
                p.block_number,
                p.hash()
            )));
        }
        if h.timestamp <= p.timestamp {
            return Err(StfError::TimestampManipulation(format!(
                "timestamp {} not after the parent's {}",
                h.timestamp, p.timestamp
            )));
        }
    }
    let drift_s = env.params.max_timestamp_drift;
    let drift = drift_s.saturating_mul(1000);
    let anchor_ms = env.l1_anchor_time.saturating_mul(1000);
    if h.timestamp > anchor_ms.saturating_add(drift)
        || h.timestamp.saturating_add(drift) < anchor_ms
    {
        return Err(StfError::TimestampManipulation(format!(
            "timestamp {} ms more than {drift_s} s from the L1 anchor's time {} s",
            h.timestamp, env.l1_anchor_time
        )));
    }
    if h.gas_limit > env.params.block_gas_limit {
        return Err(StfError::BlockInvalid(format!(
            "gas limit {} above the chain's {}",
            h.gas_limit, env.params.block_gas_limit
        )));
    }
    let hashes: Vec<H256> = env.messages.iter().map(|m| m.hash()).collect();
    if hashes != block.l1_message_hashes {
        return Err(StfError::BlockInvalid(
            "l1MessageHashes do not match the L1 messages applied".into(),
        ));
    }
    if transactions_root != h.transactions_root {
        return Err(StfError::BlockInvalid("transactionsRoot mismatch".into()));
    }
    let mut counts: BTreeMap<Address, u32> = BTreeMap::new();
    for a in senders.iter().flatten() {
        *counts.entry(*a).or_default() += 1;
    }
    let mut ov = Overlay::untracked(pre_state);
    for (a, n) in counts {
        let hat = ov.account(&a)?.hat_score;
        let limit = rules::tx_limit_per_block(hat);
        if n > limit {
            return Err(StfError::RateLimit {
                address: a,
                count: n,
                limit,
            });
        }
    }
    Ok(())
}

/// Recover the senders of a block's transactions in parallel.
pub fn recover_senders(block: &L2Block) -> Vec<Option<Address>> {
    block
        .transactions
        .par_iter()
        .map(|t| t.recover_sender().ok())
        .collect()
}

/// The values of the keys a block is expected to touch (the accounts its transactions and
/// deposits name, the producer, the pool, the other sequencers), read from the tree in parallel
/// before execution; any other key, and any key whose read failed, is read from `base`. Reads
/// are pure, so this changes nothing but the time.
struct Prefetched<'a> {
    cache: HashMap<H256, Option<Vec<u8>>>,
    base: &'a dyn StateView,
}

impl Prefetched<'_> {
    fn read(
        base: &(dyn StateView + Sync),
        block: &L2Block,
        messages: &[L1Message],
        other_sequencers: &[Address],
    ) -> HashMap<H256, Option<Vec<u8>>> {
        let mut keys: Vec<H256> = block
            .transactions
            .iter()
            .flat_map(|t| [t.from.tree_key(), t.to.tree_key()])
            .chain(messages.iter().filter_map(|m| match &m.body {
                crate::types::L1MessageBody::Deposit { recipient, .. } => {
                    Some(recipient.tree_key())
                }
                _ => None,
            }))
            .chain(
                [block.header.sequencer, rules::sequencer_pool_address()]
                    .into_iter()
                    .chain(other_sequencers.iter().copied())
                    .map(|a| a.tree_key()),
            )
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.par_iter()
            .filter_map(|k| base.read(k).ok().map(|v| (*k, v)))
            .collect()
    }
}

impl StateView for Prefetched<'_> {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        match self.cache.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.read(key),
        }
    }
    fn node(&self, hash: &H256) -> Result<Option<crate::smt::Node>, StfError> {
        self.base.node(hash)
    }
}

/// The hashes and recovered senders of a block's transactions, in block order (`None` where
/// recovery failed): what checking the signatures computes. The challenger's screening of a
/// batch (`fraud::find_evidence_with_senders`) keeps them so that its replay
/// ([`execute_block_steps_with_senders`]) does not recover every signature again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockSenders {
    /// Each transaction's [`hash`](crate::types::L2Transaction::hash).
    pub hashes: Vec<H256>,
    /// Each transaction's recovered sender.
    pub senders: Vec<Option<Address>>,
}

impl BlockSenders {
    /// Hash every transaction of `block` and recover its sender, in parallel (each transaction
    /// is hashed once, for its signature, the transactions root and its receipt).
    pub fn recover(block: &L2Block) -> BlockSenders {
        let (hashes, senders) = block
            .transactions
            .par_iter()
            .map(|t| {
                let h = t.hash();
                (h, t.recover_sender_with_hash(&h).ok())
            })
            .unzip();
        BlockSenders { hashes, senders }
    }

    /// Whether these can be the senders of `block`: one hash and one sender per transaction.
    fn fits(&self, block: &L2Block) -> bool {
        self.hashes.len() == block.transactions.len()
            && self.senders.len() == block.transactions.len()
    }
}

fn message_senders(messages: &[L1Message]) -> Vec<Option<Address>> {
    messages
        .par_iter()
        .map(|m| match &m.body {
            crate::types::L1MessageBody::ForcedTransaction { tx } => tx.recover_sender().ok(),
            _ => None,
        })
        .collect()
}

/// Run a block's steps on `ov` without building `Step`s (no copies of messages or
/// transactions): the same functions [`execute_step`] dispatches to, in the same order.
fn run_steps(
    ov: &mut Overlay<'_>,
    block: &L2Block,
    ctx: &BlockContext,
    messages: &[L1Message],
    hashes: &[H256],
    senders: &[Option<Address>],
) -> Result<(Vec<Receipt>, u64), StfError> {
    let msg_senders = message_senders(messages);
    let mut receipts = Vec::with_capacity(messages.len() + block.transactions.len() + 1);
    let mut gas = 0u64;
    for (m, s) in messages.iter().zip(&msg_senders) {
        let r = apply_message(ov, m, ctx, *s)?;
        gas = gas.saturating_add(r.gas_used);
        receipts.push(r);
    }
    for ((t, h), s) in block.transactions.iter().zip(hashes).zip(senders) {
        // A failed recovery is passed as `None`: the step recovers again and reports the error.
        let r = execute_tx(ov, t, *h, ctx, *s)?;
        gas = gas.saturating_add(r.gas_used);
        receipts.push(r);
    }
    receipts.push(execute_step(ov, &Step::BlockEnd, ctx, None)?);
    if gas > block.header.gas_limit {
        return Err(StfError::BlockInvalid(format!(
            "transactions use {gas} gas, block limit {}",
            block.header.gas_limit
        )));
    }
    Ok((receipts, gas))
}

/// Execute a block on `tree` (fast path: signatures recovered in parallel, one tree update for
/// the whole block) and return the outcome. The header's `stateRoot`, `receiptsRoot` and
/// `gasUsed` are not compared (see [`verify_block`]); the block rules are checked. On error the
/// tree is left at its pre-block root.
pub fn execute_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    env: &BlockEnv<'_>,
) -> Result<BlockOutcome, StfError> {
    let ctx = block_context(block, env);
    run_block(tree, block, &ctx, env.messages, Some(env), None)
}

/// Execute a block's steps on `tree` as [`execute_block`] does (senders recovered in parallel,
/// one tree update), in context `ctx` with `messages`, *without* the block rules: what the
/// steps give, as the fraud-proof trace defines it. The challenger replays anchored batches
/// with it. On error the tree is left at its pre-block root.
pub fn execute_block_steps<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    ctx: &BlockContext,
    messages: &[L1Message],
) -> Result<BlockOutcome, StfError> {
    run_block(tree, block, ctx, messages, None, None)
}

/// [`execute_block_steps`] with the block's transaction hashes and senders already recovered
/// (`senders` = [`BlockSenders::recover`] of this block, e.g. kept from the fraud screening):
/// no signature is recovered again. Senders that do not fit the block (another number of
/// transactions) are ignored and recovered again. Gives what [`execute_block_steps`] gives.
pub fn execute_block_steps_with_senders<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    ctx: &BlockContext,
    messages: &[L1Message],
    senders: &BlockSenders,
) -> Result<BlockOutcome, StfError> {
    run_block(tree, block, ctx, messages, None, Some(senders))
}

fn run_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    ctx: &BlockContext,
    messages: &[L1Message],
    rules: Option<&BlockEnv<'_>>,
    known: Option<&BlockSenders>,
) -> Result<BlockOutcome, StfError> {
    // Recover the senders (unless known) and read the accounts the block will touch, both in
    // parallel.
    let prefetch = || Prefetched::read(&*tree, block, messages, &ctx.other_sequencers);
    let recovered;
    let (senders, cache) = match known.filter(|s| s.fits(block)) {
        Some(s) => (s, prefetch()),
        None => {
            let (s, cache) = rayon::join(|| BlockSenders::recover(block), prefetch);
            recovered = s;
            (&recovered, cache)
        }
    };
    if let Some(env) = rules {
        check_rules(
            block,
            env,
            &senders.senders,
            merkle_root(&senders.hashes),
            tree,
        )?;
    }
    let (receipts, gas_used, writes, nodes) = {
        let view = Prefetched {
            cache,
            base: &*tree,
        };
        let mut ov = Overlay::untracked(&view);
        let (receipts, gas) = run_steps(
            &mut ov,
            block,
            ctx,
            messages,
            &senders.hashes,
            &senders.senders,
        )?;
        let (w, n) = ov.into_parts();
        (receipts, gas, w, n)
    };
    let state_root = apply_parts(tree, writes, nodes)?;
    let receipts_root = merkle_root(&receipts.par_iter().map(Receipt::hash).collect::<Vec<_>>());
    Ok(BlockOutcome {
        state_root,
        receipts,
        gas_used,
        receipts_root,
    })
}

/// Execute a block and check its header: `stateRoot` (`STATE_ROOT_MISMATCH`), `receiptsRoot`
/// and `gasUsed`. On any error the tree goes back to its pre-block root.
pub fn verify_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    env: &BlockEnv<'_>,
) -> Result<BlockOutcome, StfError> {
    let pre = tree.root();
    let res = execute_block(tree, block, env).and_then(|out| {
        let h = &block.header;
        if out.state_root != h.state_root {
            return Err(StfError::StateRootMismatch {
                computed: out.state_root,
                claimed: h.state_root,
            });
        }
        if out.receipts_root != h.receipts_root || out.gas_used != h.gas_used {
            return Err(StfError::BlockInvalid(format!(
                "receipts root or gas used differ from execution (gas {} vs {})",
                out.gas_used, h.gas_used
            )));
        }
        Ok(out)
    });
    if res.is_err() {
        tree.revert_to(pre)
            .map_err(|e| StfError::State(e.to_string()))?;
    }
    res
}

/// Fill in a block's `stateRoot`, `receiptsRoot` and `gasUsed` by executing it on `tree`
/// (what the sequencer does). The tree ends at the block's post-state root.
pub fn seal_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &mut L2Block,
    env: &BlockEnv<'_>,
) -> Result<BlockOutcome, StfError> {
    block.header.transactions_root = block.transactions_root();
    block.l1_message_hashes = env.messages.iter().map(|m| m.hash()).collect();
    let out = execute_block(tree, block, env)?;
    block.header.state_root = out.state_root;
    block.header.receipts_root = out.receipts_root;
    block.header.gas_used = out.gas_used;
    Ok(out)
}

/// The execution trace of a block: the state root after each of its steps (the last equals the
/// block's post-state root). The tree ends at the block's post-state root.
pub fn trace_block<S: NodeStore>(
    tree: &mut SparseMerkleTree<S>,
    block: &L2Block,
    env: &BlockEnv<'_>,
) -> Result<Vec<H256>, StfError> {
    let senders = recover_senders(block);
    check_block_rules(block, env, &senders, tree)?;
    let ctx = block_context(block, env);
    let steps = block_steps(block, env.messages);
    let mut roots = Vec::with_capacity(steps.len());
    let mut gas = 0u64;
    for step in &steps {
        let (writes, nodes) = {
            let mut ov = Overlay::untracked(tree);
            let r = execute_step(&mut ov, step, &ctx, None)?;
            gas = gas.saturating_add(r.gas_used);
            ov.into_parts()
        };
        roots.push(apply_parts(tree, writes, nodes)?);
    }
    if gas > block.header.gas_limit {
        return Err(StfError::BlockInvalid(format!(
            "transactions use {gas} gas, block limit {}",
            block.header.gas_limit
        )));
    }
    Ok(roots)
}

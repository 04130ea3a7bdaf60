//! Correctness properties of the fraud proofs (`casl2_verifier::fraud` and the L1 fraud
//! verifier): soundness (property 5), completeness (property 6), challenge bonds (property 16)
//! and sequencer stake slashing (property 17).

use casl2_verifier::da::{compress_batch, encode_payload, serialize_blocks, DaParams};
use casl2_verifier::fraud::{
    find_evidence, honest_trace, honest_witness, replay_batch, BatchData, FraudEvidence, GamePhase,
    GameResult,
};
use casl2_verifier::l1::{L1Error, L1Event, L1Genesis, L1Op, L1State, L1Tx};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::smt::{empty_root, MemoryStore, SparseMerkleTree};
use casl2_verifier::stf::{execute_step_stateless, seal_block, BlockEnv, StepWitness};
use casl2_verifier::types::{L1Message, TxType};
use casl2_verifier::{
    sha256d, BatchHeader, BlockSignature, L2Block, L2Transaction, PrivateKey, H256,
};
use proptest::prelude::*;

const CHAIN: u64 = 1;
const FUND: i64 = 1_000_000 * COIN;
const CHALLENGER: u8 = 5;
const DEPOSITOR: u8 = 6;
const SEQS: [u8; 2] = [3, 4];

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

fn user(i: usize) -> PrivateKey {
    key(20 + i as u8)
}

fn params() -> ChainParams {
    let mut p = ChainParams::for_network(Network::Regtest);
    p.forced_inclusion_deadline = 100_000;
    p.emergency_after = 100_000;
    p
}

/// The L1 with chain 1 (sequencers 3 and 4) and the honest L2 state a challenger keeps.
struct World {
    state: L1State,
    tree: SparseMerkleTree<MemoryStore>,
    params: ChainParams,
    nonces: Vec<u64>,
}

impl World {
    fn new() -> World {
        let g = L1Genesis {
            time: 1_700_000_000,
            authority: key(1).address(),
            accounts: [1u8, 2, 3, 4, 5, 6]
                .iter()
                .map(|n| (key(*n).address(), FUND))
                .collect(),
            hat_scores: vec![(key(3).address(), 60), (key(4).address(), 60)],
        };
        let mut w = World {
            state: L1State::genesis(&g).unwrap(),
            tree: SparseMerkleTree::new(MemoryStore::new()),
            params: params(),
            nonces: vec![0; 3],
        };
        let reg = L1Op::RegisterChain {
            chain_id: CHAIN,
            name: "fraud".into(),
            params: w.params.clone(),
            genesis_root: empty_root(),
            deployer_stake: 10 * COIN,
        };
        w.send(2, reg).unwrap();
        for s in SEQS {
            let ann = L1Op::AnnounceSequencer {
                chain: CHAIN,
                stake: 10 * COIN,
                endpoint: String::new(),
            };
            w.send(s, ann).unwrap();
        }
        for i in 0..3 {
            let dep = L1Op::Deposit {
                chain: CHAIN,
                recipient: user(i).address(),
                amount: 50 * COIN,
            };
            w.send(DEPOSITOR, dep).unwrap();
        }
        w
    }

    fn mine(&mut self, txs: Vec<L1Tx>) -> Vec<Result<Vec<L1Event>, L1Error>> {
        casl2_tests::mine_l1_block(&mut self.state, txs)
    }

    fn send(&mut self, k: u8, op: L1Op) -> Result<Vec<L1Event>, L1Error> {
        let k = key(k);
        let t = L1Tx::signed(&k, self.state.nonce_of(&k.address()), op).unwrap();
        self.mine(vec![t]).remove(0)
    }

    fn mine_empty(&mut self, n: u64) {
        for _ in 0..n {
            self.mine(vec![]);
        }
    }

    fn transfer(&mut self, from: usize, to: usize, value: i64) -> L2Transaction {
        let mut t = L2Transaction {
            from: user(from).address(),
            to: user(to).address(),
            value,
            nonce: self.nonces[from],
            gas_limit: 50_000,
            gas_price: 10,
            tx_type: TxType::Transfer,
            l2_chain_id: CHAIN,
            ..Default::default()
        };
        t.sign(&user(from)).unwrap();
        self.nonces[from] += 1;
        t
    }

    /// Honest blocks: the first consumes every queued message; `txs[b]` are the transfers
    /// (from, to) of block b. Sealed on the honest tree.
    fn honest_blocks(&mut self, txs: &[Vec<(usize, usize)>]) -> Vec<L2Block> {
        let c = self.state.chain(CHAIN).unwrap();
        let msgs: Vec<L1Message> = c.queue[c.consumed as usize..]
            .iter()
            .map(|q| q.message.clone())
            .collect();
        let start = c.info.latest_l2_block + 1;
        let time = self.state.tip_time();
        let others = vec![key(4).address()];
        let mut blocks: Vec<L2Block> = Vec::new();
        for (i, list) in txs.iter().enumerate() {
            let mut b = L2Block::default();
            b.header.block_number = start + i as u64;
            b.header.parent_hash = blocks.last().map_or(H256::ZERO, |p| p.hash());
            b.header.timestamp = time * 1000 + i as u64;
            b.header.sequencer = key(3).address();
            b.header.gas_limit = self.params.block_gas_limit;
            b.header.l2_chain_id = CHAIN;
            b.transactions = list
                .iter()
                .map(|(f, t)| self.transfer(*f, *t, COIN))
                .collect();
            let m: &[L1Message] = if i == 0 { &msgs } else { &[] };
            let params = self.params.clone();
            let parent = blocks.last().map(|p| p.header.clone());
            let env = BlockEnv {
                params: &params,
                chain_id: CHAIN,
                messages: m,
                other_sequencers: &others,
                parent: parent.as_ref(),
                l1_anchor_time: time,
            };
            seal_block(&mut self.tree, &mut b, &env).unwrap();
            blocks.push(b);
        }
        blocks
    }

    /// Post `blocks` as one batch from sequencer 3, signed by 3 and 4.
    fn post(&mut self, blocks: &[L2Block]) -> Result<Vec<L1Event>, L1Error> {
        let c = self.state.chain(CHAIN).unwrap();
        let bytes = serialize_blocks(blocks);
        let da = DaParams::default();
        let payload = compress_batch(&bytes, &da).unwrap();
        let commitment = encode_payload(&payload, sha256d(&bytes), &da)
            .unwrap()
            .commitment;
        let header = BatchHeader {
            version: 1,
            start_block: blocks[0].header.block_number,
            end_block: blocks[blocks.len() - 1].header.block_number,
            pre_state_root: c.info.latest_state_root,
            post_state_root: blocks[blocks.len() - 1].header.state_root,
            l2_chain_id: CHAIN,
            l1_anchor_block: self.state.height(),
            l1_anchor_hash: self.state.tip_hash(),
            sequencer_address: key(3).address(),
            transaction_count: blocks.iter().map(|b| b.transactions.len() as u64).sum(),
            ..Default::default()
        };
        let signatures = SEQS
            .iter()
            .map(|k| BlockSignature::sign(&key(*k), &header.hash(), 0).unwrap())
            .collect();
        let op = L1Op::PostBatch {
            chain: CHAIN,
            header,
            commitment,
            payload,
            signatures,
        };
        self.send(3, op)
    }

    fn open(&mut self) -> u64 {
        let a = &self.state.chain(CHAIN).unwrap().anchors[0];
        let op = L1Op::OpenChallenge {
            chain: CHAIN,
            anchor: 0,
            disputed_root: a.header.post_state_root,
        };
        let ev = self.send(CHALLENGER, op).unwrap();
        match ev[0] {
            L1Event::ChallengeOpened { game, .. } => game,
            ref e => panic!("{e:?}"),
        }
    }

    fn stake(&self, k: u8) -> i64 {
        self.state
            .chain(CHAIN)
            .unwrap()
            .sequencer(&key(k).address())
            .unwrap()
            .stake
    }

    fn result(&self, game: u64) -> Option<GameResult> {
        self.state.game(game).unwrap().result
    }
}

/// A batch shape: transfers (from, to) per block.
fn shape() -> impl Strategy<Value = Vec<Vec<(usize, usize)>>> {
    prop::collection::vec(prop::collection::vec((0..3usize, 0..3usize), 0..3), 1..4)
}

/// How the dishonest defender plays.
#[derive(Debug, Clone)]
enum Defender {
    /// Reveals its own corrupted trace.
    Consistent,
    /// Reveals the honest root where it can (lying only about the end).
    HonestWherePossible,
    /// Reveals arbitrary roots (seeded).
    Random(u8),
    /// Stops answering at round `n`.
    Stall(u32),
    /// Submits forged one-step proofs before the challenger's.
    Forge,
}

fn defender() -> impl Strategy<Value = Defender> {
    prop_oneof![
        Just(Defender::Consistent),
        Just(Defender::HonestWherePossible),
        any::<u8>().prop_map(Defender::Random),
        (0u32..4).prop_map(Defender::Stall),
        Just(Defender::Forge),
    ]
}

fn fake(i: u64, salt: u8) -> H256 {
    sha256d(&[&i.to_le_bytes()[..], &[salt]].concat())
}

/// Honest blocks sealed; the last block's root replaced by a fake one (the corruption at step
/// `k` of the defender's trace: its roots after `k` are fakes).
fn corrupted_world(txs: &[Vec<(usize, usize)>]) -> (World, Vec<H256>, BatchData) {
    let mut w = World::new();
    let pre = w.tree.root();
    let mut blocks = w.honest_blocks(txs);
    let n = blocks.len();
    blocks[n - 1].header.state_root = fake(u64::MAX, 0);
    w.post(&blocks).unwrap();
    let batch = w.state.batch_data(CHAIN, 0).unwrap();
    let mut tree = SparseMerkleTree::new(MemoryStore::new());
    let (trace, err) = honest_trace(&mut tree, &batch).unwrap();
    assert!(err.is_none());
    assert_eq!(trace[0], pre);
    w.tree = tree;
    (w, trace, batch)
}

/// Play a game with the honest challenger against `d`; the defender's corrupted trace agrees
/// with `trace` up to index `k`.
fn play_dishonest_defender(
    w: &mut World,
    trace: &[H256],
    batch: &BatchData,
    k: u64,
    d: &Defender,
) -> (u64, Option<(u64, H256, H256)>) {
    let g = w.open();
    let n = batch.step_count();
    let claimed = |i: u64| -> H256 {
        if i == n {
            batch.post_state_root
        } else if i <= k {
            trace[i as usize]
        } else {
            fake(i, 1)
        }
    };
    let mut round = 0u32;
    let mut one_step = None;
    loop {
        let game = w.state.game(g).unwrap().clone();
        if game.result.is_some() {
            break;
        }
        match game.phase {
            GamePhase::Reveal => {
                let mid = game.midpoint();
                let root = match d {
                    Defender::Consistent | Defender::Forge => claimed(mid),
                    Defender::HonestWherePossible => trace[mid as usize],
                    Defender::Random(s) => {
                        if (s.wrapping_add(round as u8)) % 3 == 0 {
                            trace[mid as usize]
                        } else {
                            fake(mid, *s)
                        }
                    }
                    Defender::Stall(r) if *r <= round => {
                        assert!(w.send(4, L1Op::Timeout { game: g }).is_err());
                        w.mine_empty(game.defender_clock + 1);
                        w.send(4, L1Op::Timeout { game: g }).unwrap();
                        continue;
                    }
                    Defender::Stall(_) => claimed(mid),
                };
                w.send(3, L1Op::BisectReveal { game: g, root }).unwrap();
                round += 1;
            }
            GamePhase::Answer { index, root } => {
                let agree = trace.get(index as usize) == Some(&root);
                w.send(CHALLENGER, L1Op::BisectAnswer { game: g, agree })
                    .unwrap();
            }
            GamePhase::OneStep => {
                let lo = game.agreed_index;
                if matches!(d, Defender::Forge) {
                    for forged in forgeries(w, batch, trace, lo) {
                        let r = w.send(
                            3,
                            L1Op::SubmitOneStepProof {
                                game: g,
                                witness: forged,
                            },
                        );
                        assert_eq!(r.unwrap_err().name(), "FRAUD_PROOF_INVALID");
                    }
                }
                let wit = honest_witness(&w.tree, batch, lo, game.agreed_root).unwrap();
                one_step = Some((lo, game.agreed_root, game.disputed_root));
                w.send(
                    CHALLENGER,
                    L1Op::SubmitOneStepProof {
                        game: g,
                        witness: wit,
                    },
                )
                .unwrap();
            }
        }
    }
    (g, one_step)
}

/// Witnesses that must be refused for step `lo`: the step's witness built against every other
/// root of the trace (they do not verify against the agreed root).
fn forgeries(w: &World, batch: &BatchData, trace: &[H256], lo: u64) -> Vec<StepWitness> {
    forged_witnesses(&w.tree, batch, trace, lo)
}

fn forged_witnesses(
    tree: &SparseMerkleTree<MemoryStore>,
    batch: &BatchData,
    trace: &[H256],
    lo: u64,
) -> Vec<StepWitness> {
    let pre = trace[lo as usize];
    let mut out = Vec::new();
    for r in trace.iter().filter(|r| **r != pre).take(2) {
        if let Ok(x) = honest_witness(tree, batch, lo, *r) {
            out.push(x);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn property_05_fraud_proof_soundness(txs in shape(), k_seed in any::<u64>(), d in defender()) {
        let (mut w, trace, batch) = corrupted_world(&txs);
        let n = batch.step_count();
        let k = k_seed % n;
        let (g, one_step) = play_dishonest_defender(&mut w, &trace, &batch, k, &d);
        prop_assert_eq!(w.result(g), Some(GameResult::FraudProven));
        if let Some((lo, pre, disputed)) = one_step {
            // The accepted proof really shows a different post-root.
            let (step, ctx) = batch.step(lo).unwrap();
            let wit = honest_witness(&w.tree, &batch, lo, pre).unwrap();
            let (post, _) = execute_step_stateless(&pre, &wit, &step, &ctx).unwrap();
            prop_assert_ne!(post, disputed);
        }
        // An honest batch: no accepted fraud proof of any kind, at any position.
        let mut h = World::new();
        let blocks = h.honest_blocks(&txs);
        h.post(&blocks).unwrap();
        let k = key(CHALLENGER);
        let nonce = h.state.nonce_of(&k.address());
        let txs: Vec<L1Tx> = all_evidence(&blocks)
            .into_iter()
            .enumerate()
            .map(|(i, evidence)| {
                let op = L1Op::SubmitFraudProof { chain: CHAIN, anchor: 0, evidence };
                L1Tx::signed(&k, nonce + i as u64, op).unwrap()
            })
            .collect();
        for r in h.mine(txs) {
            prop_assert_eq!(r.unwrap_err().name(), "FRAUD_PROOF_INVALID");
        }
        // The challenger finds no evidence in it, and its fast replay accepts it.
        let honest = h.state.batch_data(CHAIN, 0).unwrap();
        prop_assert_eq!(find_evidence(&honest), None);
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        prop_assert!(replay_batch(&mut tree, &honest).unwrap());
        prop_assert_eq!(tree.root(), honest.post_state_root);
        // ... and refuses the corrupted one.
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        prop_assert!(!replay_batch(&mut tree, &batch).unwrap());
        prop_assert_eq!(h.state.chain(CHAIN).unwrap().anchors.len(), 1);
    }

    #[test]
    fn property_06_fraud_proof_completeness(
        txs in shape(),
        k_seed in any::<u64>(),
        d in defender(),
        answers in prop::collection::vec(any::<bool>(), 8),
        stall in any::<bool>(),
    ) {
        // The honest challenger wins against every defender strategy.
        let (mut w, trace, batch) = corrupted_world(&txs);
        let k = k_seed % batch.step_count();
        let pre = trace[0];
        let (g, _) = play_dishonest_defender(&mut w, &trace, &batch, k, &d);
        prop_assert_eq!(w.result(g), Some(GameResult::FraudProven));
        let c = w.state.chain(CHAIN).unwrap();
        prop_assert!(c.anchors.is_empty());
        prop_assert_eq!(c.info.latest_state_root, pre);
        prop_assert!(w.stake(3) <= 10 * COIN - w.params.min_slash);
        prop_assert!(w.stake(4) <= 10 * COIN - w.params.min_slash);
        // An honest defender wins against a lying challenger.
        let mut h = World::new();
        let blocks = h.honest_blocks(&txs);
        h.post(&blocks).unwrap();
        let batch = h.state.batch_data(CHAIN, 0).unwrap();
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        let (trace, _) = honest_trace(&mut tree, &batch).unwrap();
        let g = lying_challenger(&mut h, &tree, &batch, &trace, &answers, stall);
        prop_assert_eq!(h.result(g), Some(GameResult::ChallengeFailed));
        prop_assert_eq!(h.state.chain(CHAIN).unwrap().anchors.len(), 1);
    }

    #[test]
    fn property_16_challenge_bond_slashing(
        txs in shape(),
        answers in prop::collection::vec(any::<bool>(), 8),
        stall in any::<bool>(),
    ) {
        let mut h = World::new();
        let blocks = h.honest_blocks(&txs);
        h.post(&blocks).unwrap();
        let batch = h.state.batch_data(CHAIN, 0).unwrap();
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        let (trace, _) = honest_trace(&mut tree, &batch).unwrap();
        let bond = h.params.challenge_bond;
        let (c0, p0) = (h.state.balance(&key(CHALLENGER).address()), h.state.balance(&key(3).address()));
        let stakes = (h.stake(3), h.stake(4));
        let g = lying_challenger(&mut h, &tree, &batch, &trace, &answers, stall);
        prop_assert_eq!(h.result(g), Some(GameResult::ChallengeFailed));
        prop_assert_eq!(h.state.balance(&key(CHALLENGER).address()), c0 - bond);
        prop_assert_eq!(h.state.balance(&key(3).address()), p0 + bond);
        prop_assert_eq!((h.stake(3), h.stake(4)), stakes);
        // The anchor finalizes once its window has passed.
        let deadline = h.state.chain(CHAIN).unwrap().anchors[0].deadline;
        let now = h.state.height();
        h.mine_empty(deadline.saturating_sub(now) + 1);
        prop_assert!(h.state.chain(CHAIN).unwrap().anchors[0].finalized);
    }

    #[test]
    fn property_17_sequencer_stake_slashing(txs in shape(), kind in 0u8..4, pos in any::<u64>()) {
        let mut w = World::new();
        let mut blocks = w.honest_blocks(&txs);
        let evidence = corrupt(&mut blocks, kind, pos);
        w.post(&blocks).unwrap();
        // The challenger's search finds an accepted proof of this batch's fraud.
        let batch = w.state.batch_data(CHAIN, 0).unwrap();
        prop_assert!(find_evidence(&batch).is_some(), "no evidence found for {:?}", evidence);
        let min = w.params.min_slash;
        let stakes = (w.stake(3), w.stake(4));
        let c0 = w.state.balance(&key(CHALLENGER).address());
        let ev = w.send(CHALLENGER, L1Op::SubmitFraudProof { chain: CHAIN, anchor: 0, evidence }).unwrap();
        let proven = ev.iter().any(|e| matches!(e, L1Event::FraudProven { .. }));
        prop_assert!(proven);
        prop_assert!(stakes.0 - w.stake(3) >= min);
        prop_assert!(stakes.1 - w.stake(4) >= min);
        prop_assert_eq!(w.state.balance(&key(CHALLENGER).address()), c0 + 2 * (min / 2));
        prop_assert!(w.state.chain(CHAIN).unwrap().anchors.is_empty());
    }
}

/// A challenger that disputes an honest batch: random answers, then either stalls or submits
/// the (honest) one-step proof, after a forged one.
fn lying_challenger(
    h: &mut World,
    tree: &SparseMerkleTree<MemoryStore>,
    batch: &BatchData,
    trace: &[H256],
    answers: &[bool],
    stall: bool,
) -> u64 {
    let g = h.open();
    let mut i = 0;
    loop {
        let game = h.state.game(g).unwrap().clone();
        if game.result.is_some() {
            return g;
        }
        match game.phase {
            GamePhase::Reveal => {
                let root = trace[game.midpoint() as usize];
                h.send(3, L1Op::BisectReveal { game: g, root }).unwrap();
            }
            GamePhase::Answer { .. } => {
                let agree = answers[i % answers.len()];
                i += 1;
                h.send(CHALLENGER, L1Op::BisectAnswer { game: g, agree })
                    .unwrap();
            }
            GamePhase::OneStep => {
                let lo = game.agreed_index;
                for bad in forged_witnesses(tree, batch, trace, lo) {
                    let r = h.send(
                        CHALLENGER,
                        L1Op::SubmitOneStepProof {
                            game: g,
                            witness: bad,
                        },
                    );
                    assert_eq!(r.unwrap_err().name(), "FRAUD_PROOF_INVALID");
                }
                if stall {
                    h.mine_empty(game.challenger_clock + 1);
                    h.send(3, L1Op::Timeout { game: g }).unwrap();
                } else {
                    let wit = honest_witness(tree, batch, lo, game.agreed_root).unwrap();
                    h.send(
                        CHALLENGER,
                        L1Op::SubmitOneStepProof {
                            game: g,
                            witness: wit,
                        },
                    )
                    .unwrap();
                }
            }
        }
    }
}

/// Every non-interactive evidence that could apply to `blocks`.
fn all_evidence(blocks: &[L2Block]) -> Vec<FraudEvidence> {
    let mut out = Vec::new();
    let mut pos = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        out.push(FraudEvidence::TimestampManipulation { block: b as u32 });
        for t in 0..block.transactions.len() {
            pos.push((b as u32, t as u32));
            out.push(FraudEvidence::InvalidTxSignature {
                block: b as u32,
                tx: t as u32,
            });
            out.push(FraudEvidence::InvalidTransaction {
                block: b as u32,
                tx: t as u32,
                witness: None,
            });
        }
    }
    for a in &pos {
        for b in &pos {
            if a != b {
                out.push(FraudEvidence::DoubleSpend {
                    first: *a,
                    second: *b,
                });
            }
        }
    }
    out
}

/// Make the batch fraudulent in one of four non-interactive ways; returns the evidence.
fn corrupt(blocks: &mut [L2Block], kind: u8, pos: u64) -> FraudEvidence {
    let n = blocks.len();
    let b = (pos % n as u64) as usize;
    let evidence = match kind {
        0 => {
            // A transaction whose signature no longer matches.
            let mut t = L2Transaction {
                from: user(0).address(),
                value: 1,
                gas_limit: 50_000,
                l2_chain_id: CHAIN,
                ..Default::default()
            };
            t.sign(&user(1)).unwrap();
            blocks[b].transactions.push(t);
            FraudEvidence::InvalidTxSignature {
                block: b as u32,
                tx: blocks[b].transactions.len() as u32 - 1,
            }
        }
        1 => {
            // A duplicated transaction (same sender and nonce).
            let mut t = L2Transaction {
                from: user(2).address(),
                value: 1,
                gas_limit: 50_000,
                l2_chain_id: CHAIN,
                nonce: 77,
                ..Default::default()
            };
            t.sign(&user(2)).unwrap();
            blocks[b].transactions.push(t.clone());
            blocks[b].transactions.push(t);
            let i = blocks[b].transactions.len() as u32;
            FraudEvidence::DoubleSpend {
                first: (b as u32, i - 2),
                second: (b as u32, i - 1),
            }
        }
        2 => {
            // A timestamp far in the future.
            blocks[b].header.timestamp += 100_000_000_000;
            FraudEvidence::TimestampManipulation { block: b as u32 }
        }
        _ => {
            // A transaction for another chain (a stateless rule).
            let mut t = L2Transaction {
                from: user(1).address(),
                value: 1,
                gas_limit: 50_000,
                l2_chain_id: CHAIN + 1,
                ..Default::default()
            };
            t.sign(&user(1)).unwrap();
            blocks[b].transactions.push(t);
            FraudEvidence::InvalidTransaction {
                block: b as u32,
                tx: blocks[b].transactions.len() as u32 - 1,
                witness: None,
            }
        }
    };
    for bl in blocks.iter_mut() {
        bl.header.transactions_root = bl.transactions_root();
    }
    evidence
}

#[test]
fn a_stalling_defender_loses_and_other_games_are_refunded() {
    let (mut w, _trace, _batch) = corrupted_world(&[vec![(0, 1)]]);
    let c0 = w.state.balance(&key(CHALLENGER).address());
    let d0 = w.state.balance(&key(DEPOSITOR).address());
    let g = w.open();
    let a = &w.state.chain(CHAIN).unwrap().anchors[0];
    let op = L1Op::OpenChallenge {
        chain: CHAIN,
        anchor: 0,
        disputed_root: a.header.post_state_root,
    };
    let second = match w.send(DEPOSITOR, op).unwrap()[0] {
        L1Event::ChallengeOpened { game, .. } => game,
        ref e => panic!("{e:?}"),
    };
    assert_eq!(
        w.send(4, L1Op::Timeout { game: g }).unwrap_err().name(),
        "GAME_CLOCK_RUNNING"
    );
    w.mine_empty(w.params.challenge_period + 1);
    w.send(4, L1Op::Timeout { game: g }).unwrap();
    assert_eq!(w.result(g), Some(GameResult::FraudProven));
    assert_eq!(w.result(second), Some(GameResult::Cancelled));
    let reward = 2 * (w.params.min_slash / 2);
    assert_eq!(w.state.balance(&key(CHALLENGER).address()), c0 + reward);
    assert_eq!(w.state.balance(&key(DEPOSITOR).address()), d0);
    assert!(w.state.chain(CHAIN).unwrap().anchors.is_empty());
    assert_eq!(
        w.send(4, L1Op::Timeout { game: second })
            .unwrap_err()
            .name(),
        "GAME_WRONG_TURN"
    );
}

//! The withdrawal machine without a network: a fake L1 and node over one shared world whose
//! L1 advances one block per pause of the host's wait.

use super::*;
use crate::api::devnet_types::{ChainState, VerboseBlock};
use crate::l1::{L1AccountInfo, L1BlockHeader, L1Client, L1ClientError};
use crate::l2::NodeError;
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Op, L1Receipt, L1Tx, L2ChainInfo, L2Status,
    QueuedMessage, Sequencer,
};
use casl2_verifier::params::{ChainParams, Network};
use casl2_verifier::smt::{MemoryStore, SparseMerkleTree};
use casl2_verifier::types::{L2Transaction, WithdrawalRecord};
use casl2_verifier::{Address, Decode, Encode, PrivateKey, H256};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

const CHAIN: u64 = 1;

/// Run a future that never waits on I/O (every fake answers at once).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn key(n: u8) -> PrivateKey {
    PrivateKey::from_bytes(&[n; 32]).unwrap()
}

#[derive(Default)]
struct World {
    tip: u64,
    hat: u32,
    status: Option<L2Status>,
    anchors: Vec<Anchor>,
    paid: Vec<(H256, i64)>,
    nonces: HashMap<Address, u64>,
    blocks: Vec<VerboseBlock>,
    l1_sent: Vec<L1Tx>,
    /// The L1 refuses (mines with this error) the next finalisation.
    refuse: Option<casl2_verifier::l1::L1Error>,
    /// The L1 loses the next transaction (neither mined nor in the mempool).
    lose: bool,
    receipts: HashMap<H256, L2Receipt>,
    l2_sent: Vec<L2Transaction>,
    /// The L2 block a sent transaction lands in.
    l2_block: u64,
    /// The node's state: its root and the proof it gives (None: its state has no record).
    tree: Option<(H256, WithdrawalRecord, casl2_verifier::smt::CompactProof)>,
    /// Tamper with the proof the node gives.
    bad_proof: bool,
    pauses: u64,
}

struct Fake(RefCell<World>);

impl Fake {
    fn w(&self) -> std::cell::RefMut<'_, World> {
        self.0.borrow_mut()
    }

    /// One L1 block later: anchors past their deadline are final.
    fn advance(&self) {
        let mut w = self.w();
        w.tip += 1;
        let tip = w.tip;
        for a in &mut w.anchors {
            a.finalized = a.finalized || tip >= a.deadline;
        }
    }

    /// Anchor a batch ending at L2 block `end` whose post-state root is the node's root.
    fn anchor(&self, end: u64) {
        let mut w = self.w();
        let root = w.tree.as_ref().map(|t| t.0).unwrap_or_default();
        let (index, tip) = (w.anchors.len() as u64, w.tip);
        let p = params();
        w.anchors.push(
            serde_json::from_value(json!({
                "index": index, "l1Height": tip, "header": {
                    "version": 1, "startBlock": 0, "endBlock": end,
                    "preStateRoot": H256::ZERO, "postStateRoot": root,
                    "transactionsRoot": H256::ZERO, "transactionCount": 0, "totalGasUsed": 0,
                    "l2ChainId": CHAIN, "l1AnchorBlock": 0, "l1AnchorHash": H256::ZERO,
                    "sequencerAddress": Address::ZERO, "timestamp": 0,
                },
                "batchHash": H256::ZERO, "dataRoot": H256::ZERO, "poster": Address::ZERO,
                "deadline": tip + p.challenge_period, "fastDeadline": tip + p.fast_challenge_period,
                "messagesStart": 0, "messagesEnd": 0, "disputed": false, "finalized": false,
            }))
            .unwrap(),
        );
    }
}

fn params() -> ChainParams {
    ChainParams::for_network(Network::Regtest)
}

fn unsupported<T>() -> Result<T, L1ClientError> {
    Err(L1ClientError::Unsupported {
        what: "test",
        why: "not faked",
    })
}

impl L1Client for Fake {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        Ok(self.w().tip)
    }
    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        Ok(H256([height as u8; 32]))
    }
    async fn block_header(&self, _: &H256) -> Result<L1BlockHeader, L1ClientError> {
        unsupported()
    }
    async fn block(&self, _: &H256) -> Result<L1Block, L1ClientError> {
        unsupported()
    }
    async fn account(&self, a: &Address) -> Result<L1AccountInfo, L1ClientError> {
        let nonce = self.w().nonces.get(a).copied().unwrap_or(0);
        Ok(L1AccountInfo {
            balance: 0,
            nonce,
            next_nonce: nonce,
            hat_score: 0,
        })
    }
    async fn hat_score(&self, _: &Address) -> Result<u32, L1ClientError> {
        Ok(self.w().hat)
    }
    /// Mined at once into the next block (or lost): pays the withdrawal unless refused.
    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        let mut w = self.w();
        let id = tx.hash();
        w.l1_sent.push(tx.clone());
        if std::mem::take(&mut w.lose) {
            return Ok(id);
        }
        *w.nonces.entry(tx.from).or_default() += 1;
        let outcome = match (w.refuse.take(), &tx.op) {
            (Some(e), _) => Err(e),
            (None, L1Op::FinalizeWithdrawal { record, .. }) => {
                w.paid.push((record.id, record.amount));
                Ok(Vec::new())
            }
            (None, _) => Ok(Vec::new()),
        };
        w.tip += 1;
        let height = w.tip;
        while w.blocks.len() as u64 <= height {
            let h = w.blocks.len() as u64;
            w.blocks.push(empty_block(H256([h as u8; 32]), h));
        }
        let b = &mut w.blocks[height as usize];
        b.txids.get_or_insert_with(Vec::new).push(id);
        b.receipts.get_or_insert_with(Vec::new).push(L1Receipt {
            tx_hash: id,
            outcome,
        });
        Ok(id)
    }
    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        unsupported()
    }
    async fn sequencers(&self, _: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        unsupported()
    }
    async fn anchors(&self, _: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        Ok(self
            .w()
            .anchors
            .iter()
            .skip(from as usize)
            .cloned()
            .collect())
    }
    async fn queue(&self, _: u64, _: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        unsupported()
    }
    async fn forced_queue(&self, _: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        unsupported()
    }
    async fn games(&self, _: u64, _: bool) -> Result<Vec<Game>, L1ClientError> {
        unsupported()
    }
    async fn availability_challenges(
        &self,
        _: u64,
        _: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        unsupported()
    }
    async fn paid_withdrawals(&self, _: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        Ok(self.w().paid.clone())
    }
    async fn chain_state(&self, chain: u64) -> Result<ChainState, L1ClientError> {
        let w = self.w();
        let finalized = w.anchors.iter().take_while(|a| a.finalized).count() as u64;
        let end = |n: u64| match n {
            0 => 0,
            n => w.anchors[n as usize - 1].header.end_block,
        };
        let info = L2ChainInfo {
            chain_id: chain,
            name: "test".into(),
            deployer: Address::ZERO,
            deployment_block: 0,
            params: params(),
            deployer_stake: 0,
            status: w.status.unwrap_or(L2Status::Active),
            genesis_root: H256::ZERO,
            latest_state_root: H256::ZERO,
            latest_l2_block: end(w.anchors.len() as u64),
            latest_l1_anchor: 0,
            finalized_state_root: H256::ZERO,
            finalized_l2_block: end(finalized),
            activated_at: None,
            emergency_since: None,
            frauds_proven: 0,
        };
        Ok(ChainState {
            info,
            escrow: 0,
            total_deposited: 0,
            total_withdrawn: 0,
            total_exited: 0,
            total_refunded: 0,
            queue_length: 0,
            queue_head: H256::ZERO,
            consumed: 0,
            finalized_consumed: 0,
            missed: Vec::new(),
            anchors: w.anchors.len() as u64,
            finalized_anchors: finalized,
            sequencers: 0,
        })
    }
    async fn mempool(&self) -> Result<Vec<H256>, L1ClientError> {
        Ok(Vec::new())
    }
    async fn block_verbose(&self, hash: &H256) -> Result<VerboseBlock, L1ClientError> {
        let h = hash.0[0] as usize;
        Ok(self
            .w()
            .blocks
            .get(h)
            .cloned()
            .unwrap_or_else(|| empty_block(*hash, h as u64)))
    }
}

/// An active-chain block of the fake L1 with no transaction yet.
fn empty_block(hash: H256, height: u64) -> VerboseBlock {
    VerboseBlock {
        hash,
        height,
        time: 0,
        prev_hash: H256::ZERO,
        in_active_chain: true,
        txs: Vec::new(),
        txs_root: None,
        confirmations: None,
        txids: Some(Vec::new()),
        receipts: Some(Vec::new()),
        events: None,
        invalid: None,
    }
}

impl WithdrawalNode for Fake {
    async fn receipt(&self, id: &H256) -> Result<Option<L2Receipt>, NodeError> {
        Ok(self.w().receipts.get(id).cloned())
    }
    /// Included at once in L2 block `l2_block`, writing the record into the node's state.
    async fn send_transaction(&self, tx: &L2Transaction) -> Result<H256, NodeError> {
        let mut w = self.w();
        w.l2_sent.push(tx.clone());
        let record = WithdrawalRecord {
            id: tx.hash(),
            l2_sender: tx.from,
            l1_recipient: tx.to,
            amount: tx.value,
            l2_block: w.l2_block,
        };
        let mut t = SparseMerkleTree::new(MemoryStore::new());
        let root = t.set(record.key(), record.encode()).unwrap();
        let proof = t.prove_compact(&record.key()).unwrap();
        w.tree = Some((root, record, proof));
        let r = L2Receipt {
            block: Some(w.l2_block),
            success: true,
            error: None,
        };
        w.receipts.insert(tx.hash(), r);
        Ok(tx.hash())
    }
    async fn withdrawal_proof(&self, _: &H256, _: ProofAt) -> Result<ProofAnswer, NodeError> {
        let w = self.w();
        let Some((root, record, proof)) = w.tree.clone() else {
            return Err(NodeError::Decode("no state".into()));
        };
        let mut proof = proof;
        if w.bad_proof {
            proof.key = H256([9; 32]);
        }
        Ok(ProofAnswer {
            state_root: Some(root),
            record: Some(record),
            proof: Ok(proof),
        })
    }
}

/// The host: keeps the saved records and the events; each pause is one L1 block.
struct TestHost<'a> {
    world: &'a Fake,
    saved: RefCell<Vec<Withdrawal>>,
    events: RefCell<Vec<String>>,
}

impl Host for TestHost<'_> {
    type Error = String;

    fn save(&self, w: &Withdrawal) -> Result<(), String> {
        let mut s = self.saved.borrow_mut();
        s.retain(|x| x.id != w.id);
        s.push(w.clone());
        Ok(())
    }

    fn event(&self, e: Event<'_>) {
        self.events.borrow_mut().push(format!("{e:?}"));
    }

    async fn wait<T, F, Fut>(&self, _: &H256, _: Wait, poll: F) -> Step<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Step<Option<T>, String>>,
    {
        let pause = || async {
            self.world.advance();
            let n = {
                let mut w = self.world.w();
                w.pauses += 1;
                w.pauses
            };
            if n > 200 {
                return Err("waited too long".to_string());
            }
            Ok(())
        };
        poll_until(3, pause, poll).await
    }
}

fn world(hat: u32) -> Fake {
    Fake(RefCell::new(World {
        tip: 1,
        hat,
        l2_block: 3,
        ..Default::default()
    }))
}

fn host(f: &Fake) -> TestHost<'_> {
    TestHost {
        world: f,
        saved: RefCell::default(),
        events: RefCell::default(),
    }
}

fn machine<'a>(
    f: &'a Fake,
    h: &'a TestHost<'a>,
    p: &'a ChainParams,
) -> Machine<'a, Fake, Fake, TestHost<'a>> {
    Machine {
        l1: f,
        node: f,
        host: h,
        chain: CHAIN,
        params: p,
    }
}

/// Start a withdrawal of `amount` and drive it to `included` (anchored in a batch at once).
fn included(f: &Fake, h: &TestHost<'_>, amount: i64) -> Withdrawal {
    let p = params();
    let m = machine(f, h, &p);
    let k = key(1);
    let mut w = m.start(&k, key(2).address(), amount, 0, 1).unwrap();
    assert_eq!(h.saved.borrow()[0].stage, Stage::Signed);
    run(m.drive(&k, &mut w, true)).unwrap();
    assert_eq!(w.stage, Stage::Included);
    assert_eq!(w.l2_block, Some(3));
    f.anchor(3);
    w
}

#[test]
fn a_sender_under_the_fast_hat_takes_the_standard_path() {
    let (f, p) = (world(0), params());
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    let since = f.w().tip;
    run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap();
    assert_eq!(w.stage, Stage::Paid);
    assert_eq!(w.path.as_deref(), Some("standard"));
    assert!(f.w().tip >= since + p.challenge_period);
    assert_eq!(f.w().paid, vec![(w.id, 5)]);
    assert!(w.l1_block.is_some());
    assert_eq!(h.saved.borrow()[0], w);
    assert!(!h.events.borrow().iter().any(|e| e.starts_with("FastPath")));
}

#[test]
fn a_sender_with_the_fast_hat_takes_the_fast_path() {
    let (f, p) = (world(p_hat()), params());
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    let since = f.w().tip;
    run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap();
    assert_eq!(w.stage, Stage::Paid);
    assert_eq!(w.path.as_deref(), Some("fast"));
    assert!(
        f.w().tip < since + p.challenge_period,
        "paid before the standard period"
    );
    assert!(h.events.borrow().iter().any(|e| e.starts_with("FastPath")));
    // Over the fast limit: the verifier's rule sends it the standard way.
    let f = world(p_hat());
    let h = host(&f);
    let mut w = included(&f, &h, p.max_deposit_per_tx + 1);
    run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap();
    assert_eq!(w.path.as_deref(), Some("standard"));
}

fn p_hat() -> u32 {
    params().fast_withdrawal_hat
}

#[test]
fn a_proof_that_does_not_hold_is_refused_and_nothing_is_sent() {
    let (f, p) = (world(0), params());
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    f.w().bad_proof = true;
    let e = run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, WithdrawError::BadProof { anchor: 0, .. }),
        "{text}"
    );
    assert!(
        text.contains("does not hold under anchor 0's root"),
        "{text}"
    );
    assert!(f.w().l1_sent.is_empty());
    assert_eq!(w.stage, Stage::Included);
}

#[test]
fn a_record_of_another_withdrawal_is_refused() {
    let (f, p) = (world(0), params());
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    w.amount = 6;
    let e = run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap_err();
    assert!(matches!(e, WithdrawError::NotOurs(id) if id == w.id), "{e}");
    assert!(f.w().l1_sent.is_empty());
}

/// A saved record resumed from each stage ends paid, sending nothing twice.
#[test]
fn resumes_from_each_saved_stage() {
    let p = params();
    let k = key(1);
    // signed (saved, never sent)
    let f = world(0);
    let h = host(&f);
    machine(&f, &h, &p)
        .start(&k, key(2).address(), 5, 0, 1)
        .unwrap();
    let mut w = h.saved.borrow()[0].clone();
    assert_eq!(w.stage, Stage::Signed);
    run(machine(&f, &h, &p).drive(&k, &mut w, true)).unwrap();
    assert_eq!(h.saved.borrow()[0].stage, Stage::Included);
    f.anchor(3);
    run(machine(&f, &h, &p).drive(&k, &mut w, false)).unwrap();
    assert_eq!((w.stage, f.w().l2_sent.len()), (Stage::Paid, 1));
    // signed, but the node has it already: not sent again
    let mut again = h.saved.borrow()[0].clone();
    again.stage = Stage::Signed;
    run(machine(&f, &h, &p).drive(&k, &mut again, false)).unwrap();
    assert_eq!((again.stage, f.w().l2_sent.len()), (Stage::Paid, 1));
    assert_eq!(
        f.w().l1_sent.len(),
        1,
        "paid already: no second finalisation"
    );
    // included
    let f = world(0);
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    run(machine(&f, &h, &p).drive(&k, &mut w, false)).unwrap();
    assert_eq!((w.stage, f.w().l1_sent.len()), (Stage::Paid, 1));
    // finalizing, the transaction mined: found, not sent again
    let mut fin = w.clone();
    fin.stage = Stage::Finalizing;
    fin.l1_block = None;
    run(machine(&f, &h, &p).drive(&k, &mut fin, false)).unwrap();
    assert_eq!((fin.stage, fin.l1_block), (Stage::Paid, w.l1_block));
    assert_eq!(f.w().l1_sent.len(), 1);
    // finalizing, the transaction lost: sent again
    let f = world(0);
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    f.w().lose = true;
    run(machine(&f, &h, &p).drive(&k, &mut w, false)).unwrap();
    assert_eq!((w.stage, f.w().l1_sent.len()), (Stage::Paid, 2));
    assert!(h
        .events
        .borrow()
        .iter()
        .any(|e| e.starts_with("FinalizeLost")));
    // paid: nothing to do
    let n = f.w().l1_sent.len();
    run(machine(&f, &h, &p).drive(&k, &mut w, false)).unwrap();
    assert_eq!(f.w().l1_sent.len(), n);
    // failed: says why
    w.stage = Stage::Failed;
    w.error = Some("its L2 nonce was used".into());
    let e = run(machine(&f, &h, &p).drive(&k, &mut w, false)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("withdrawal {} failed: its L2 nonce was used", w.id)
    );
}

#[test]
fn a_refused_finalisation_is_saved_back_at_included() {
    let (f, p) = (world(0), params());
    let h = host(&f);
    let mut w = included(&f, &h, 5);
    f.w().refuse = Some(casl2_verifier::l1::L1Error::ProofInvalid("no".into()));
    let e = run(machine(&f, &h, &p).drive(&key(1), &mut w, false)).unwrap_err();
    assert!(matches!(e, WithdrawError::Refused { .. }), "{e}");
    assert!(e.to_string().contains("BRIDGE_PROOF_INVALID"), "{e}");
    let saved = h.saved.borrow()[0].clone();
    assert_eq!(saved.stage, Stage::Included);
    assert!(saved
        .error
        .unwrap()
        .contains("the L1 refused the finalisation"));
}

#[test]
fn a_failed_l2_transaction_is_saved_as_failed() {
    let (f, p) = (world(0), params());
    let h = host(&f);
    let k = key(1);
    let m = machine(&f, &h, &p);
    let mut w = m.start(&k, key(2).address(), 5, 0, 1).unwrap();
    f.w().receipts.insert(
        w.id,
        L2Receipt {
            block: Some(4),
            success: false,
            error: Some("STF_INSUFFICIENT_BALANCE".into()),
        },
    );
    let e = run(m.drive(&k, &mut w, false)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "withdrawal {}: included in L2 block 4 but failed: STF_INSUFFICIENT_BALANCE",
            w.id
        )
    );
    assert_eq!(h.saved.borrow()[0].stage, Stage::Failed);
    // The record is the saved transaction's.
    let tx = L2Transaction::decode(&hex::decode(&w.l2_tx).unwrap()).unwrap();
    assert_eq!((tx.hash(), tx.value, tx.to), (w.id, 5, key(2).address()));
}

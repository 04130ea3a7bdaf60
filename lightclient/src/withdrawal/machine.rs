//! The withdrawal state machine: each step takes a [`Withdrawal`] from one [`Stage`] to the
//! next and has the [`Host`] save it before the following step, so a run cut off anywhere is
//! resumed from the stage saved last.
//!
//! 1. `signed`: the WITHDRAWAL transaction is signed and saved (its hash is the withdrawal id),
//!    then sent to the L2 node (sending it again is harmless: same hash, same nonce);
//! 2. `included`: it is in a final L2 block, which wrote its `WithdrawalRecord`;
//! 3. wait until a batch holding that block is anchored on L1 and its challenge period is over
//!    (or, for a sender whose L1 HAT score opens the fast path by the verifier's
//!    `fast_withdrawal_eligible`, the fast challenge period; `WithdrawalCase::check` decides);
//! 4. `finalizing`: `FinalizeWithdrawal` with the record's proof (checked first with the
//!    verifier's `check_withdrawal_proof` against the anchor's root) is signed and saved, then
//!    sent to L1;
//! 5. `paid`: the L1 paid it. The L1 pays a withdrawal id once (`BRIDGE_ALREADY_PAID`), and
//!    before sending, the machine asks the L1 whether it already did.

use super::host::{Event, Host, Step, Wait, WithdrawError};
use super::node::{ProofAnswer, ProofAt, WithdrawalNode};
use super::record::{Stage, Withdrawal};
use crate::l1::{find_mined, L1Client, L1ClientError, MinedError};
use casl2_verifier::l1::{
    check_withdrawal_proof, fast_withdrawal_eligible, Anchor, L1Error, L1Op, L1Receipt, L1Tx,
    L2Status, WithdrawalCase, WithdrawalPath,
};
use casl2_verifier::params::ChainParams;
use casl2_verifier::smt::CompactProof;
use casl2_verifier::stf::rules::intrinsic_gas;
use casl2_verifier::types::WithdrawalRecord;
use casl2_verifier::{Address, Decode, L2Transaction, PrivateKey, TxType, H256};
use std::future::Future;

/// A withdrawal ready to be paid: the anchor, the record and its checked proof.
struct Payable {
    anchor: Anchor,
    record: WithdrawalRecord,
    proof: CompactProof,
    path: WithdrawalPath,
}

/// What the wait for finality found.
enum Ready {
    Paid,
    Proof(Box<Payable>),
}

/// The machine over one L1, one L2 node and one host, for one chain.
#[derive(Debug)]
pub struct Machine<'a, L, N, H> {
    /// The L1.
    pub l1: &'a L,
    /// The L2 node.
    pub node: &'a N,
    /// The front end: saving, progress, waiting.
    pub host: &'a H,
    /// The chain id.
    pub chain: u64,
    /// The chain's parameters as registered on L1.
    pub params: &'a ChainParams,
}

impl<L: L1Client, N: WithdrawalNode, H: Host> Machine<'_, L, N, H> {
    /// Sign a new withdrawal of `amount` from `key`'s L2 account to L1 account `to` at L2
    /// `nonce` and `gas_price`, and save it at stage `signed` (nothing is sent yet):
    /// [`Machine::drive`] takes it on.
    pub fn start(
        &self,
        key: &PrivateKey,
        to: Address,
        amount: i64,
        nonce: u64,
        gas_price: i64,
    ) -> Step<Withdrawal, H::Error> {
        let mut tx = L2Transaction {
            from: key.address(),
            to,
            value: amount,
            nonce,
            gas_limit: intrinsic_gas(TxType::Withdrawal, &[]),
            gas_price,
            tx_type: TxType::Withdrawal,
            l2_chain_id: self.chain,
            ..Default::default()
        };
        tx.sign(key)
            .map_err(|e| WithdrawError::SigningL2(e.to_string()))?;
        let w = Withdrawal::signed(&tx);
        // Saved before it is sent: an interruption from here on is resumable.
        self.save(&w)?;
        self.host.event(Event::Started(&w));
        Ok(w)
    }

    /// Take `w` from its stage to `paid` (or to `included` with `no_wait`), saving each stage.
    /// `key` signs the L1 finalisation (and is its sender unless `w` names one).
    pub async fn drive(
        &self,
        key: &PrivateKey,
        w: &mut Withdrawal,
        no_wait: bool,
    ) -> Step<(), H::Error> {
        loop {
            match w.stage {
                Stage::Signed => self.send_and_include(w).await?,
                Stage::Included if no_wait => return Ok(()),
                Stage::Included => self.finalize(key, w).await?,
                Stage::Finalizing => self.follow_finalization(key, w).await?,
                Stage::Paid => return Ok(()),
                Stage::Failed => {
                    return Err(WithdrawError::FailedBefore {
                        id: w.id,
                        reason: w.error.clone().unwrap_or_else(|| "no reason kept".into()),
                    })
                }
            }
        }
    }

    fn save(&self, w: &Withdrawal) -> Step<(), H::Error> {
        self.host.save(w).map_err(WithdrawError::Host)
    }

    /// Save `w` as failed for `reason` and return the error that says so.
    fn fail(&self, w: &mut Withdrawal, reason: String) -> WithdrawError<H::Error> {
        w.stage = Stage::Failed;
        w.error = Some(reason.clone());
        match self.save(w) {
            Ok(()) => WithdrawError::Failed { id: w.id, reason },
            Err(e) => e,
        }
    }

    async fn l1<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, L1ClientError>>,
    ) -> Step<T, H::Error> {
        self.host.l1_call(what, call).await
    }

    /// Is withdrawal `id` paid on L1?
    async fn paid_on_l1(&self, id: &H256) -> Step<bool, H::Error> {
        let list = self
            .l1("the paid withdrawals", self.l1.paid_withdrawals(self.chain))
            .await?;
        Ok(list.iter().any(|(paid, _)| paid == id))
    }

    async fn anchor_at(&self, index: u64) -> Step<Anchor, H::Error> {
        let mut list = self
            .l1("an anchor", self.l1.anchors_window(self.chain, index, 1))
            .await?;
        if list.is_empty() {
            return Err(WithdrawError::NoAnchor {
                index,
                chain: self.chain,
            });
        }
        Ok(list.swap_remove(0))
    }

    /// `signed` → `included`: send the L2 transaction (unless the node knows it) and wait for
    /// its final block.
    async fn send_and_include(&self, w: &mut Withdrawal) -> Step<(), H::Error> {
        let node = self.node;
        let id = w.id;
        let known = node.receipt(&id).await.map_err(WithdrawError::Node)?;
        if known.is_none() {
            let bytes = hex::decode(&w.l2_tx)
                .map_err(|e| WithdrawError::SavedTransaction(e.to_string()))?;
            let tx = L2Transaction::decode(&bytes)
                .map_err(|e| WithdrawError::SavedTransaction(e.to_string()))?;
            if let Err(e) = node.send_transaction(&tx).await {
                if !e.to_string().contains("MEMPOOL_BAD_NONCE") {
                    return Err(WithdrawError::Sending { id, error: e });
                }
                // Its nonce went to another transaction: this one can never be included.
                if node
                    .receipt(&id)
                    .await
                    .map_err(WithdrawError::Node)?
                    .is_none()
                {
                    return Err(self.fail(
                        w,
                        "its L2 nonce was used by another transaction; nothing was withdrawn"
                            .into(),
                    ));
                }
            }
        }
        let r = self
            .host
            .wait(&id, Wait::Included, move || async move {
                let r = node.receipt(&id).await.map_err(WithdrawError::Node)?;
                Ok(r.filter(|r| r.block.is_some()))
            })
            .await?;
        let block = r.block.unwrap_or_default();
        if !r.success {
            let why = r.error.as_deref().unwrap_or("no reason given");
            return Err(self.fail(w, format!("included in L2 block {block} but failed: {why}")));
        }
        w.l2_block = Some(block);
        w.stage = Stage::Included;
        self.save(w)?;
        self.host.event(Event::Included(block));
        Ok(())
    }

    /// The node's proof of `w` at `at`, checked against `anchor`: `None` when it is under
    /// another root (the node and the L1 are a moment apart: ask again).
    async fn proof_under(
        &self,
        w: &Withdrawal,
        anchor: Anchor,
        at: ProofAt,
        path: WithdrawalPath,
    ) -> Step<Option<Ready>, H::Error> {
        let answer = self
            .node
            .withdrawal_proof(&w.id, at)
            .await
            .map_err(WithdrawError::Node)?;
        if answer.state_root != Some(anchor.header.post_state_root) {
            return Ok(None);
        }
        let (record, proof) = check_proof(w, &anchor, answer)?;
        let p = Payable {
            anchor,
            record,
            proof,
            path,
        };
        Ok(Some(Ready::Proof(Box::new(p))))
    }

    async fn wait_ready(&self, w: &Withdrawal) -> Step<Ready, H::Error> {
        let hat = self.l1("the HAT score", self.l1.hat_score(&w.from)).await?;
        let p = self.params;
        // The L1's own rule, not a copy of it.
        let fast_ok = fast_withdrawal_eligible(p, hat, w.amount);
        if fast_ok {
            self.host.event(Event::FastPath {
                from: w.from,
                hat,
                fast_withdrawal_hat: p.fast_withdrawal_hat,
                fast_challenge_period: p.fast_challenge_period,
            });
        }
        self.host
            .wait(&w.id, Wait::ChallengePeriod, || {
                self.poll_ready(w, hat, fast_ok)
            })
            .await
    }

    /// One look at the L1 and the node: is the withdrawal paid, or payable (with a checked
    /// proof)?
    async fn poll_ready(
        &self,
        w: &Withdrawal,
        hat: u32,
        fast_ok: bool,
    ) -> Step<Option<Ready>, H::Error> {
        let l2_block = w.l2_block.unwrap_or(0);
        if self.paid_on_l1(&w.id).await? {
            return Ok(Some(Ready::Paid));
        }
        let chain = self
            .l1("the chain state", self.l1.chain_state(self.chain))
            .await?;
        let (finalized, anchors) = (chain.finalized_anchors, chain.anchors);
        let latest_block = chain.info.latest_l2_block;
        let tip = self.l1("the tip height", self.l1.tip_height()).await?;
        if chain.info.finalized_l2_block >= l2_block && finalized > 0 {
            let anchor = self.anchor_at(finalized - 1).await?;
            return self
                .proof_under(w, anchor, ProofAt::Finalized, WithdrawalPath::Standard)
                .await;
        }
        if latest_block < l2_block || anchors == 0 {
            self.host.event(Event::AwaitingBatch {
                l2_block,
                anchored: latest_block,
            });
            return Ok(None);
        }
        // The first non-final anchor that holds the block.
        let mut holder = None;
        for i in finalized..anchors {
            let a = self.anchor_at(i).await?;
            if a.header.end_block >= l2_block {
                holder = Some(a);
                break;
            }
        }
        let Some(a) = holder else { return Ok(None) };
        let path = if fast_ok {
            WithdrawalPath::Fast
        } else {
            WithdrawalPath::Standard
        };
        self.host.event(Event::ChallengePeriod {
            anchor: a.index,
            path,
            since: a.l1_height,
            tip,
            end: if fast_ok { a.fast_deadline } else { a.deadline },
        });
        if !fast_ok || tip < a.fast_deadline || chain.info.status == L2Status::Emergency {
            return Ok(None);
        }
        // Fast path: the L1 pays against the latest anchor once its fast deadline is passed
        // and no anchor from the first non-final one up to it is disputed.
        let latest = self.anchor_at(anchors - 1).await?;
        if tip < latest.fast_deadline {
            return Ok(None);
        }
        let mut undisputed = true;
        for i in finalized..anchors {
            if self.anchor_at(i).await?.disputed {
                undisputed = false;
                break;
            }
        }
        let case = WithdrawalCase {
            chain: self.chain,
            params: self.params,
            status: chain.info.status,
            anchor: &latest,
            finalized: false,
            undisputed,
            hat,
            amount: w.amount,
        };
        if !matches!(case.check(tip), Ok(WithdrawalPath::Fast)) {
            return Ok(None);
        }
        match self
            .proof_under(w, latest, ProofAt::Anchored, WithdrawalPath::Fast)
            .await
        {
            // A node without "anchored" proofs: wait for finality.
            Err(WithdrawError::Node(_)) => Ok(None),
            r => r,
        }
    }

    /// `included` → `finalizing`: wait out the challenge period, then send FinalizeWithdrawal
    /// with the checked proof (or note that the withdrawal is paid already).
    async fn finalize(&self, key: &PrivateKey, w: &mut Withdrawal) -> Step<(), H::Error> {
        match self.wait_ready(w).await? {
            Ready::Paid => {
                w.stage = Stage::Paid;
                self.save(w)?;
            }
            Ready::Proof(p) => {
                let Payable {
                    anchor,
                    record,
                    proof,
                    path,
                } = *p;
                let op = L1Op::FinalizeWithdrawal {
                    chain: self.chain,
                    anchor: anchor.index,
                    record,
                    proof,
                };
                let (id, nonce, since) = self.send_l1(key, op).await?;
                w.stage = Stage::Finalizing;
                w.anchor = Some(anchor.index);
                w.path = Some(path.as_str().to_string());
                w.l1_tx = Some(id);
                w.l1_from = Some(key.address());
                w.l1_nonce = Some(nonce);
                w.l1_since = Some(since);
                w.error = None;
                self.save(w)?;
                self.host.event(Event::FinalizeSent {
                    tx: id,
                    anchor: anchor.index,
                    path,
                });
            }
        }
        Ok(())
    }

    /// Sign `op` with `key` at its next L1 nonce and send it. Returns (transaction id, nonce,
    /// L1 height when it was sent).
    async fn send_l1(&self, key: &PrivateKey, op: L1Op) -> Step<(H256, u64, u64), H::Error> {
        let height = self.l1("the tip height", self.l1.tip_height()).await?;
        let acct = self
            .l1("the account", self.l1.account(&key.address()))
            .await?;
        let tx = L1Tx::signed(key, acct.next_nonce, op)
            .map_err(|e| WithdrawError::SigningL1(e.to_string()))?;
        let id = self
            .l1("the transaction", self.l1.send_transaction(&tx))
            .await?;
        Ok((id, acct.next_nonce, height))
    }

    /// One look: is L1 transaction `id` (from `from` with `nonce`, sent at L1 height `since`)
    /// mined? Its block height and receipt if so.
    async fn mined(
        &self,
        id: &H256,
        from: &Address,
        nonce: u64,
        since: u64,
    ) -> Step<Option<(u64, L1Receipt)>, H::Error> {
        match find_mined(self.l1, id, from, nonce, since).await {
            Ok(found) => Ok(found),
            Err(MinedError::L1(error)) => Err(WithdrawError::L1 {
                what: "the mined transaction",
                error,
            }),
            Err(MinedError::NonceReused { from, nonce, tx }) => {
                Err(WithdrawError::NonceReused { from, nonce, tx })
            }
            Err(MinedError::NoReceipt { block, index }) => {
                Err(WithdrawError::NoReceipt { block, index })
            }
        }
    }

    async fn wait_mined(
        &self,
        w: &Withdrawal,
        (id, from, nonce, since): (H256, Address, u64, u64),
    ) -> Step<(u64, L1Receipt), H::Error> {
        self.host
            .wait(&w.id, Wait::L1Mined, || {
                self.mined(&id, &from, nonce, since)
            })
            .await
    }

    /// `finalizing` → `paid`: follow the L1 transaction until it is mined (or lost, or
    /// refused).
    async fn follow_finalization(
        &self,
        key: &PrivateKey,
        w: &mut Withdrawal,
    ) -> Step<(), H::Error> {
        let sender = w.l1_from.unwrap_or_else(|| key.address());
        if self.paid_on_l1(&w.id).await? {
            // Paid (by this transaction or an earlier one); find where if it was ours and it
            // is mined.
            if let (Some(id), Some(nonce), Some(since)) = (w.l1_tx, w.l1_nonce, w.l1_since) {
                let acct = self.l1("the account", self.l1.account(&sender)).await?;
                if acct.nonce > nonce {
                    if let Ok((h, r)) = self.wait_mined(w, (id, sender, nonce, since)).await {
                        if r.outcome.is_ok() {
                            w.l1_block = Some(h);
                        }
                    }
                }
            }
            w.stage = Stage::Paid;
            return self.save(w);
        }
        let (Some(id), Some(nonce), Some(since)) = (w.l1_tx, w.l1_nonce, w.l1_since) else {
            w.stage = Stage::Included;
            return Ok(());
        };
        // The mempool first, then the nonce: a transaction mined in between shows in the
        // nonce, so only a lost one is seen as neither.
        let pool = self.l1("the mempool", self.l1.mempool()).await?;
        let waiting = pool.contains(&id);
        let acct = self.l1("the account", self.l1.account(&sender)).await?;
        if acct.nonce <= nonce && !waiting {
            // Lost (the devnet's mempool is memory only): sign a new one.
            self.host.event(Event::FinalizeLost(id));
            w.stage = Stage::Included;
            return Ok(());
        }
        let (h, r) = self.wait_mined(w, (id, sender, nonce, since)).await?;
        match &r.outcome {
            Ok(_) => {
                w.stage = Stage::Paid;
                w.l1_block = Some(h);
                self.save(w)
            }
            Err(L1Error::AlreadyPaid(_)) => {
                w.stage = Stage::Paid;
                self.save(w)
            }
            Err(e) => {
                let why = format!("{}: {e}", e.name());
                w.stage = Stage::Included;
                w.error = Some(format!(
                    "the L1 refused the finalisation in block {h}: {why}"
                ));
                self.save(w)?;
                Err(WithdrawError::Refused {
                    id: w.id,
                    block: h,
                    why,
                })
            }
        }
    }
}

/// Check a node's withdrawal proof against the anchor's root and the withdrawal made.
fn check_proof<E>(
    w: &Withdrawal,
    anchor: &Anchor,
    answer: ProofAnswer,
) -> Step<(WithdrawalRecord, CompactProof), E> {
    let record = answer.record.ok_or(WithdrawError::NoRecord(w.id))?;
    let proof = answer.proof.map_err(WithdrawError::ProofUndecodable)?;
    if record.id != w.id
        || record.l2_sender != w.from
        || record.l1_recipient != w.to
        || record.amount != w.amount
    {
        return Err(WithdrawError::NotOurs(w.id));
    }
    // The check L1 makes before it pays.
    check_withdrawal_proof(&record, &proof, &anchor.header.post_state_root).map_err(|e| {
        WithdrawError::BadProof {
            id: w.id,
            anchor: anchor.index,
            reason: e.to_string(),
        }
    })?;
    Ok((record, proof))
}

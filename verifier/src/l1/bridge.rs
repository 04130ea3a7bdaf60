//! The bridge on L1: the escrow, deposits (plain and `L2BURN`), the L1→L2 queue with its hash
//! chain, forced transactions, withdrawals, emergency exits, and the end-of-block deadlines.

use super::registry::{DailyDeposits, L2Status, QueuedMessage, SequencerStatus};
use super::withdrawal::{check_withdrawal_proof, undisputed_through, WithdrawalCase};
use super::{L1Event, L1State, MAX_MISSED_MESSAGES};
use crate::codec::Encode;
use crate::hash::{Address, H256};
use crate::settlement::{add, sub, L1Error};
use crate::smt::{verify_account_proof, CompactProof};
use crate::types::{
    queue_chain_next, AccountState, BurnData, L1Message, L1MessageBody, L2Transaction,
    WithdrawalRecord,
};

/// Largest forced transaction (serialized bytes).
pub const MAX_FORCED_TX_SIZE: usize = 512 * 1024;

impl L1State {
    /// Append a message to `chain`'s queue (all checks done by the caller).
    fn enqueue(
        &mut self,
        chain: u64,
        sender: &Address,
        tx_hash: &H256,
        body: L1MessageBody,
    ) -> Result<L1Event, L1Error> {
        let h = self.height;
        let c = self.chain_mut(chain)?;
        let message = L1Message {
            index: c.queue.len() as u64,
            l1_block: h,
            l1_tx_hash: *tx_hash,
            l1_sender: *sender,
            body,
        };
        let hash = message.hash();
        let chain_after = queue_chain_next(&c.queue_head, &hash);
        let index = message.index;
        c.queue.push(QueuedMessage {
            message,
            hash,
            chain_after,
        });
        c.queue_head = chain_after;
        Ok(L1Event::MessageQueued { chain, index, hash })
    }

    pub(crate) fn deposit(
        &mut self,
        from: &Address,
        tx_hash: &H256,
        chain: u64,
        recipient: &Address,
        amount: i64,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        if c.info.status != L2Status::Active {
            return Err(c.wrong_status("deposits need an ACTIVE chain"));
        }
        if amount <= 0 {
            return Err(L1Error::InvalidAmount(format!("deposit of {amount}")));
        }
        let p = &c.info.params;
        if amount > p.max_deposit_per_tx {
            return Err(L1Error::DepositLimit(format!(
                "{amount} over the per-transaction limit {}",
                p.max_deposit_per_tx
            )));
        }
        let day = self.height / p.l1_blocks_per_day;
        let before = if c.daily.day == day { c.daily.total } else { 0 };
        let today = add(before, amount, "daily deposits")?;
        if today > p.max_daily_deposit {
            return Err(L1Error::DepositLimit(format!(
                "{before} deposited today, {amount} more is over the daily limit {}",
                p.max_daily_deposit
            )));
        }
        let escrow = add(c.escrow, amount, "escrow")?;
        let total = add(c.total_deposited, amount, "total deposited")?;
        let balance = self.debit_check(from, amount)?;
        self.set_balance(from, balance);
        let c = self.chain_mut(chain)?;
        c.escrow = escrow;
        c.total_deposited = total;
        c.daily = DailyDeposits { day, total: today };
        let body = L1MessageBody::Deposit {
            recipient: *recipient,
            amount,
        };
        Ok(vec![self.enqueue(chain, from, tx_hash, body)?])
    }

    pub(crate) fn burn_deposit(
        &mut self,
        from: &Address,
        tx_hash: &H256,
        script: &[u8],
    ) -> Result<Vec<L1Event>, L1Error> {
        let burn =
            BurnData::parse_script(script).map_err(|e| L1Error::BurnInvalid(e.to_string()))?;
        self.deposit(
            from,
            tx_hash,
            u64::from(burn.chain_id),
            &burn.recipient_address(),
            burn.amount,
        )
    }

    pub(crate) fn force_transaction(
        &mut self,
        from: &Address,
        tx_hash: &H256,
        chain: u64,
        tx: &L2Transaction,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        if c.info.status != L2Status::Active {
            return Err(c.wrong_status("forced transactions need an ACTIVE chain"));
        }
        if tx.l2_chain_id != chain {
            return Err(L1Error::ForcedTxInvalid(format!(
                "transaction is for chain {}, queued on {chain}",
                tx.l2_chain_id
            )));
        }
        let size = tx.encode().len();
        if size > MAX_FORCED_TX_SIZE {
            return Err(L1Error::ForcedTxInvalid(format!(
                "{size} bytes, at most {MAX_FORCED_TX_SIZE}"
            )));
        }
        tx.verify_sender()
            .map_err(|e| L1Error::ForcedTxInvalid(e.to_string()))?;
        let body = L1MessageBody::ForcedTransaction {
            tx: Box::new(tx.clone()),
        };
        Ok(vec![self.enqueue(chain, from, tx_hash, body)?])
    }

    /// Pay `amount` from `chain`'s escrow to `to` (checked, nothing changes on error).
    fn pay_from_escrow(&mut self, chain: u64, to: &Address, amount: i64) -> Result<(), L1Error> {
        let c = self.chain_ref(chain)?;
        if c.escrow < amount {
            return Err(L1Error::BridgeInsufficientBalance {
                chain,
                escrow: c.escrow,
                needed: amount,
            });
        }
        let escrow = sub(c.escrow, amount, "escrow")?;
        let balance = add(self.balance(to), amount, "balance")?;
        self.set_balance(to, balance);
        self.chain_mut(chain)?.escrow = escrow;
        Ok(())
    }

    pub(crate) fn finalize_withdrawal(
        &mut self,
        chain: u64,
        index: u64,
        record: &WithdrawalRecord,
        proof: &CompactProof,
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let fast_hat = self.hat_score(&record.l2_sender);
        let c = self.chain_ref(chain)?;
        let anchor = usize::try_from(index)
            .ok()
            .and_then(|i| c.anchors.get(i))
            .ok_or(L1Error::UnknownAnchor { chain, index })?;
        if c.paid_withdrawals.contains_key(&record.id) {
            return Err(L1Error::AlreadyPaid(format!("withdrawal {}", record.id)));
        }
        if record.amount <= 0 {
            return Err(L1Error::InvalidAmount(format!(
                "withdrawal of {}",
                record.amount
            )));
        }
        WithdrawalCase {
            chain,
            params: &c.info.params,
            status: c.info.status,
            anchor,
            finalized: index < c.finalized_count,
            undisputed: undisputed_through(&c.anchors, c.finalized_count, index),
            hat: fast_hat,
            amount: record.amount,
        }
        .check(h)?;
        check_withdrawal_proof(record, proof, &anchor.header.post_state_root)?;
        let total = add(c.total_withdrawn, record.amount, "total withdrawn")?;
        self.pay_from_escrow(chain, &record.l1_recipient, record.amount)?;
        let c = self.chain_mut(chain)?;
        c.total_withdrawn = total;
        c.paid_withdrawals.insert(record.id, record.amount);
        Ok(vec![L1Event::WithdrawalPaid {
            chain,
            id: record.id,
            recipient: record.l1_recipient,
            amount: record.amount,
        }])
    }

    pub(crate) fn emergency_withdraw(
        &mut self,
        chain: u64,
        address: &Address,
        account: &AccountState,
        proof: &CompactProof,
    ) -> Result<Vec<L1Event>, L1Error> {
        let c = self.chain_ref(chain)?;
        if c.info.status != L2Status::Emergency {
            return Err(c.wrong_status("emergency exits need EMERGENCY"));
        }
        if c.exited.contains(address) {
            return Err(L1Error::AlreadyPaid(format!("emergency exit of {address}")));
        }
        let proven = verify_account_proof(proof, &c.info.finalized_state_root, address)
            .map_err(|e| L1Error::ProofInvalid(e.to_string()))?;
        if proven != *account {
            return Err(L1Error::ProofInvalid(
                "the proven account differs from the one claimed".into(),
            ));
        }
        if account.balance <= 0 {
            return Err(L1Error::InvalidAmount(format!(
                "{address} has balance {} in the last finalized root",
                account.balance
            )));
        }
        let total = add(c.total_exited, account.balance, "total exited")?;
        self.pay_from_escrow(chain, address, account.balance)?;
        let c = self.chain_mut(chain)?;
        c.total_exited = total;
        c.exited.insert(*address);
        Ok(vec![L1Event::EmergencyExit {
            chain,
            address: *address,
            amount: account.balance,
        }])
    }

    /// Put `chain` in EMERGENCY: anchors not final are void from now on, and deposits that no
    /// final anchor consumed are refunded to their L1 senders (in queue order, while the escrow
    /// suffices).
    pub(crate) fn enter_emergency(&mut self, chain: u64, reason: &str) -> Vec<L1Event> {
        let h = self.height;
        let Ok(c) = self.chain_mut(chain) else {
            return Vec::new();
        };
        let from = c.info.status;
        if from == L2Status::Emergency {
            return Vec::new();
        }
        c.info.status = L2Status::Emergency;
        c.info.emergency_since = Some(h);
        let mut events = vec![L1Event::ChainStatusChanged {
            chain,
            from,
            to: L2Status::Emergency,
            reason: reason.into(),
        }];
        let start = usize::try_from(c.finalized_consumed).unwrap_or(usize::MAX);
        let refunds: Vec<(u64, Address, i64)> = c
            .queue
            .iter()
            .skip(start)
            .filter_map(|m| match m.message.body {
                L1MessageBody::Deposit { amount, .. } => {
                    Some((m.message.index, m.message.l1_sender, amount))
                }
                L1MessageBody::ForcedTransaction { .. } => None,
            })
            .collect();
        for (index, recipient, amount) in refunds {
            let Ok(c) = self.chain_ref(chain) else { break };
            let Ok(total) = add(c.total_refunded, amount, "total refunded") else {
                continue;
            };
            if self.pay_from_escrow(chain, &recipient, amount).is_ok() {
                if let Ok(c) = self.chain_mut(chain) {
                    c.total_refunded = total;
                }
                events.push(L1Event::DepositRefunded {
                    chain,
                    index,
                    recipient,
                    amount,
                });
            }
        }
        events
    }

    /// End of block: forced-inclusion deadlines (ACTIVE chains) and the emergency timer (ACTIVE
    /// and PAUSED chains).
    pub(crate) fn end_block(&mut self) -> Vec<L1Event> {
        let h = self.height;
        let mut events = Vec::new();
        let ids: Vec<u64> = self.chains.keys().copied().collect();
        for chain in ids {
            events.extend(self.check_deadlines(chain, h));
            let Ok(c) = self.chain_ref(chain) else {
                continue;
            };
            let timer = matches!(c.info.status, L2Status::Active | L2Status::Paused);
            let due = c
                .info
                .latest_l1_anchor
                .saturating_add(c.info.params.emergency_after);
            if timer && h >= due {
                let reason = format!(
                    "no batch anchored for {} L1 blocks",
                    c.info.params.emergency_after
                );
                events.extend(self.enter_emergency(chain, &reason));
            }
        }
        events
    }

    fn check_deadlines(&mut self, chain: u64, h: u64) -> Vec<L1Event> {
        let mut events = Vec::new();
        while let Ok(c) = self.chain_mut(chain) {
            let Some(m) = usize::try_from(c.deadline_checked)
                .ok()
                .and_then(|i| c.queue.get(i))
            else {
                break;
            };
            let (index, deadline) = (m.message.index, m.inclusion_deadline(&c.info.params));
            if index < c.consumed {
                c.deadline_checked += 1;
                continue;
            }
            if deadline > h {
                break;
            }
            c.deadline_checked += 1;
            if c.info.status != L2Status::Active {
                // Not counted while the chain is not ACTIVE (documented).
                continue;
            }
            c.missed.push(index);
            let missed = c.missed.len() as u64;
            let slash = c.info.params.min_slash;
            let active: Vec<Address> = c
                .sequencers
                .iter()
                .filter(|s| s.status == SequencerStatus::Active && s.stake > 0)
                .map(|s| s.address)
                .collect();
            events.push(L1Event::MessageMissed { chain, index });
            for a in active {
                if let Ok(e) = self.slash(chain, &a, slash, None) {
                    events.extend(e);
                }
            }
            if missed >= MAX_MISSED_MESSAGES {
                let reason = format!("{missed} L1 messages missed their inclusion deadline");
                events.extend(self.enter_emergency(chain, &reason));
                break;
            }
        }
        events
    }
}

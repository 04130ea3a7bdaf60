//! One step of the state transition: an L1 message, a transaction, or the end of a block.

use super::accounts::Accounts;
use super::rules::{self, sequencer_pool_address};
use super::state::Overlay;
use super::types::{credit, BlockContext, Receipt, Step, TxError, TxFail};
use super::StfError;
use crate::codec::Encode;
use crate::hash::{sha256d_parts, Address, H256};
use crate::types::{
    queue_chain_next, L1Message, L1MessageBody, L2Transaction, TxType, WithdrawalRecord,
};

/// Tag of the state key holding the L1→L2 queue cursor.
pub const QUEUE_KEY_TAG: &[u8] = b"CASL2/l1-queue";

/// The state key of the L1→L2 queue cursor: `SHA256d("CASL2/l1-queue")`. Its value is
/// `nextIndex u64 ‖ chain u256` (40 bytes); absent means `(0, 32 zero bytes)`.
pub fn queue_key() -> H256 {
    sha256d_parts(&[QUEUE_KEY_TAG])
}

/// Run one step on `ov`. `Err` means the step (and so its block) is invalid; a step that is
/// valid but fails (a forced transaction that breaks a rule, an unsupported transaction type)
/// returns a failed [`Receipt`]. `sender` may carry the sender already recovered from the
/// transaction's signature (block application recovers them in parallel); without it the step
/// recovers it itself.
pub fn execute_step(
    ov: &mut Overlay<'_>,
    step: &Step,
    ctx: &BlockContext,
    sender: Option<Address>,
) -> Result<Receipt, StfError> {
    match step {
        Step::L1Message { message } => apply_message(ov, message, ctx, sender),
        Step::Tx { tx } => execute_tx(ov, tx, tx.hash(), ctx, sender),
        Step::BlockEnd => block_end(ov, ctx),
    }
}

/// The `Step::Tx` case of [`execute_step`], for a transaction whose hash is already known (block
/// application hashes every transaction once, in parallel, and builds no `Step`).
pub(super) fn execute_tx(
    ov: &mut Overlay<'_>,
    tx: &L2Transaction,
    hash: H256,
    ctx: &BlockContext,
    sender: Option<Address>,
) -> Result<Receipt, StfError> {
    if matches!(
        tx.tx_type,
        TxType::Deposit | TxType::ForcedInclusion | TxType::BurnMint | TxType::SeqAnnounce
    ) {
        return Err(StfError::InvalidTransaction {
            hash,
            reason: TxError::L1Only(tx.tx_type),
        });
    }
    apply_tx(ov, tx, hash, ctx, sender).map_err(|f| match f {
        TxFail::Rule(reason) => StfError::InvalidTransaction { hash, reason },
        TxFail::State(e) => e,
    })
}

fn read_queue(ov: &mut Overlay<'_>) -> Result<(u64, H256), StfError> {
    match ov.get(&queue_key())? {
        None => Ok((0, H256::ZERO)),
        Some(v) if v.len() == 40 => {
            let mut idx = [0u8; 8];
            idx.copy_from_slice(&v[..8]);
            let mut chain = [0u8; 32];
            chain.copy_from_slice(&v[8..]);
            Ok((u64::from_le_bytes(idx), H256(chain)))
        }
        Some(v) => Err(StfError::State(format!(
            "queue cursor has {} bytes, expected 40",
            v.len()
        ))),
    }
}

/// The L1→L2 queue cursor in a state: (next message index, hash chain so far).
pub fn queue_cursor(view: &dyn super::StateView) -> Result<(u64, H256), StfError> {
    let mut ov = Overlay::new(view);
    read_queue(&mut ov)
}

pub(super) fn apply_message(
    ov: &mut Overlay<'_>,
    m: &L1Message,
    ctx: &BlockContext,
    sender: Option<Address>,
) -> Result<Receipt, StfError> {
    let (next, chain) = read_queue(ov)?;
    if m.index != next {
        return Err(StfError::L1MessageOutOfOrder {
            expected: next,
            got: m.index,
        });
    }
    let h = m.hash();
    let mut cursor = Vec::with_capacity(40);
    cursor.extend_from_slice(&(next + 1).to_le_bytes());
    cursor.extend_from_slice(&queue_chain_next(&chain, &h).0);
    ov.put(queue_key(), Some(cursor));
    match &m.body {
        L1MessageBody::Deposit { recipient, amount } => {
            if *amount <= 0 {
                return Ok(Receipt::failed(h, 0, 0, "deposit amount is not positive"));
            }
            let mut accts = Accounts::new(ctx);
            let acct = accts.get(ov, recipient)?;
            match acct.balance.checked_add(*amount) {
                Some(b) => {
                    acct.balance = b;
                    let rent = accts.write(ov);
                    Ok(Receipt::ok(h, 0, 0).with_rent(rent))
                }
                // Consumed, nothing credited, nothing settled.
                None => Ok(Receipt::failed(h, 0, 0, "deposit overflows the balance")),
            }
        }
        L1MessageBody::ForcedTransaction { tx } => {
            if matches!(
                tx.tx_type,
                TxType::Deposit | TxType::ForcedInclusion | TxType::BurnMint | TxType::SeqAnnounce
            ) {
                return Ok(Receipt::failed(
                    h,
                    0,
                    0,
                    TxError::L1Only(tx.tx_type).to_string(),
                ));
            }
            // A forced transaction is consumed whatever happens: if it breaks a rule it fails
            // with nothing but the queue cursor changed.
            match apply_tx(ov, tx, tx.hash(), ctx, sender) {
                Ok(mut r) => {
                    r.hash = h;
                    Ok(r)
                }
                Err(TxFail::Rule(e)) => Ok(Receipt::failed(h, 0, 0, e.to_string())),
                Err(TxFail::State(e)) => Err(e),
            }
        }
    }
}

/// The checks of a transaction's own numbers, before any state is read: no negative value, no
/// negative gas price, and a gas limit covering its [`rules::intrinsic_gas`] (which it returns).
pub fn check_value_and_gas(tx: &L2Transaction) -> Result<u64, TxError> {
    if tx.value < 0 {
        return Err(TxError::InvalidAmount("negative value"));
    }
    if tx.gas_price < 0 {
        return Err(TxError::InvalidAmount("negative gas price"));
    }
    let gas = rules::intrinsic_gas(tx.tx_type, &tx.data);
    if tx.gas_limit < gas {
        return Err(TxError::GasLimitTooLow {
            limit: tx.gas_limit,
            needed: gas,
        });
    }
    Ok(gas)
}

fn apply_tx(
    ov: &mut Overlay<'_>,
    tx: &L2Transaction,
    hash: H256,
    ctx: &BlockContext,
    sender: Option<Address>,
) -> Result<Receipt, TxFail> {
    let from = match sender {
        Some(a) => a,
        None => tx
            .recover_sender()
            .map_err(|e| TxError::InvalidSignature(e.to_string()))?,
    };
    if from != tx.from {
        return Err(TxFail::Rule(TxError::InvalidSignature(format!(
            "signed by {from}, not by {}",
            tx.from
        ))));
    }
    if tx.l2_chain_id != ctx.chain_id {
        return Err(TxFail::Rule(TxError::WrongChain {
            got: tx.l2_chain_id,
            expected: ctx.chain_id,
        }));
    }
    if tx.is_encrypted {
        return Err(TxFail::Rule(TxError::Encrypted));
    }
    let gas = check_value_and_gas(tx)?;
    let mut accts = Accounts::new(ctx);
    accts.get(ov, &from)?;
    if let Some(owed) = accts.unpaid(&from) {
        return Err(TxFail::Rule(TxError::RentUnpaid {
            address: from,
            owed,
            balance: ov.account(&from)?.balance,
        }));
    }
    let s = accts.get(ov, &from)?;
    if s.nonce != tx.nonce {
        return Err(TxFail::Rule(TxError::BadNonce {
            got: tx.nonce,
            expected: s.nonce,
        }));
    }
    if matches!(tx.tx_type, TxType::ContractDeploy | TxType::ContractCall) {
        return super::cvm::apply_contract_tx(ov, tx, hash, ctx, from, accts);
    }
    let fee = rules::fee(gas, tx.gas_price, s.hat_score).ok_or(TxError::Overflow("fee"))?;
    let supported = matches!(tx.tx_type, TxType::Transfer | TxType::Withdrawal);
    let moved = if supported { tx.value } else { 0 };
    if tx.tx_type == TxType::Withdrawal && tx.value == 0 {
        return Err(TxFail::Rule(TxError::InvalidAmount("a withdrawal of zero")));
    }
    let needed = moved
        .checked_add(fee)
        .ok_or(TxError::Overflow("value plus fee"))?;
    if s.balance < needed {
        return Err(TxFail::Rule(TxError::InsufficientBalance {
            balance: s.balance,
            needed,
        }));
    }
    s.balance -= needed;
    s.nonce = s.nonce.checked_add(1).ok_or(TxError::Overflow("nonce"))?;
    s.last_activity = ctx.number;
    let mut record = None;
    let receipt = match tx.tx_type {
        TxType::Transfer => {
            let r = accts.get(ov, &tx.to)?;
            credit(&mut r.balance, tx.value, "recipient balance")?;
            Receipt::ok(hash, gas, fee)
        }
        TxType::Withdrawal => {
            let rec = WithdrawalRecord {
                id: hash,
                l2_sender: from,
                l1_recipient: tx.to,
                amount: tx.value,
                l2_block: ctx.number,
            };
            record = Some(rec);
            Receipt::ok(hash, gas, fee)
        }
        other => Receipt::failed(
            hash,
            gas,
            fee,
            format!("unsupported transaction type {other:?}"),
        ),
    };
    let (to_producer, to_pool, _burned) = rules::split_fee(fee);
    let p = accts.get(ov, &ctx.producer)?;
    credit(&mut p.balance, to_producer, "producer balance")?;
    let pool = accts.get(ov, &sequencer_pool_address())?;
    credit(&mut pool.balance, to_pool, "sequencer pool")?;
    // Every check passed: write.
    let rent = accts.write(ov);
    if let Some(rec) = record {
        ov.put(rec.key(), Some(rec.encode()));
    }
    Ok(receipt.with_rent(rent))
}

fn block_end(ov: &mut Overlay<'_>, ctx: &BlockContext) -> Result<Receipt, StfError> {
    let pool_addr = sequencer_pool_address();
    let mut others: Vec<Address> = ctx
        .other_sequencers
        .iter()
        .copied()
        .filter(|a| *a != ctx.producer && *a != pool_addr)
        .collect();
    others.sort();
    others.dedup();
    // The pool is only touched (and its rent settled) when there is someone to pay.
    if others.is_empty() {
        return Ok(Receipt::ok(H256::ZERO, 0, 0));
    }
    let mut accts = Accounts::new(ctx);
    let pool_balance = accts.get(ov, &pool_addr)?.balance;
    let each = if pool_balance > 0 {
        pool_balance / others.len() as i64
    } else {
        0
    };
    if each == 0 {
        // Nothing to pay out: only the pool's rent settlement (if any) is written.
        let rent = accts.write(ov);
        return Ok(Receipt::ok(H256::ZERO, 0, 0).with_rent(rent));
    }
    for a in &others {
        let acct = accts.get(ov, a)?;
        acct.balance = acct
            .balance
            .checked_add(each)
            .ok_or_else(|| StfError::State(format!("balance of {a} overflows")))?;
    }
    accts.get(ov, &pool_addr)?.balance -= each * others.len() as i64;
    let rent = accts.write(ov);
    Ok(Receipt::ok(H256::ZERO, 0, 0).with_rent(rent))
}

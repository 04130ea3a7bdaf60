//! One step of the state transition: an L1 message, a transaction, or the end of a block.

use super::rules::{self, archive_key, sequencer_pool_address, RentParams};
use super::state::Overlay;
use super::StfError;
use crate::codec::{write_var_bytes, CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, sha256d_parts, Address, H256};
use crate::types::{
    queue_chain_next, AccountState, L1Message, L1MessageBody, L2Transaction, TxType,
    WithdrawalRecord,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Tag of the state key holding the L1→L2 queue cursor.
pub const QUEUE_KEY_TAG: &[u8] = b"CASL2/l1-queue";

/// The state key of the L1→L2 queue cursor: `SHA256d("CASL2/l1-queue")`. Its value is
/// `nextIndex u64 ‖ chain u256` (40 bytes); absent means `(0, 32 zero bytes)`.
pub fn queue_key() -> H256 {
    sha256d_parts(&[QUEUE_KEY_TAG])
}

/// What a block's steps know of the block and of L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockContext {
    /// The L2 chain.
    pub chain_id: u64,
    /// Block number.
    pub number: u64,
    /// Block timestamp (Unix milliseconds, as the block header).
    pub timestamp: u64,
    /// The sequencer that produced the block (gets 70 % of fees).
    pub producer: Address,
    /// The other active sequencers (registry order), who share the 20 % pool at block end.
    pub other_sequencers: Vec<Address>,
    /// The chain's state rent parameters.
    #[serde(default)]
    pub rent: RentParams,
}

impl Encode for BlockContext {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.chain_id.to_le_bytes());
        out.extend_from_slice(&self.number.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        self.producer.encode_to(out);
        crate::codec::write_vec(out, &self.other_sequencers);
        out.extend_from_slice(&self.rent.rate.to_le_bytes());
        out.extend_from_slice(&self.rent.block_time_ms.to_le_bytes());
    }
}

impl Decode for BlockContext {
    const MIN_SIZE: usize = 24 + 20 + 1 + 16;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(BlockContext {
            chain_id: r.u64("chainId")?,
            number: r.u64("number")?,
            timestamp: r.u64("timestamp")?,
            producer: Address::decode_from(r)?,
            other_sequencers: r.vec("otherSequencers", 1024)?,
            rent: RentParams {
                rate: r.u64("rentRate")?,
                block_time_ms: r.u64("blockTimeMs")?,
            },
        })
    }
}

/// One step of a block's execution. The state root after every step is the execution trace
/// that fraud proofs bisect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
pub enum Step {
    /// Apply the next message of the L1→L2 queue (a deposit or a forced transaction).
    L1Message {
        /// The message.
        message: L1Message,
    },
    /// Apply a user transaction.
    Tx {
        /// The transaction.
        tx: Box<L2Transaction>,
    },
    /// Pay the sequencer pool out to the other active sequencers.
    BlockEnd,
}

impl Encode for Step {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Step::L1Message { message } => {
                out.push(0);
                message.encode_to(out);
            }
            Step::Tx { tx } => {
                out.push(1);
                tx.encode_to(out);
            }
            Step::BlockEnd => out.push(2),
        }
    }
}

impl Decode for Step {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(match r.u8("step kind")? {
            0 => Step::L1Message {
                message: L1Message::decode_from(r)?,
            },
            1 => Step::Tx {
                tx: Box::new(L2Transaction::decode_from(r)?),
            },
            2 => Step::BlockEnd,
            k => {
                return Err(CodecError::Invalid {
                    what: "step kind",
                    detail: format!("unknown kind {k}"),
                })
            }
        })
    }
}

/// The outcome of a step that is part of a valid block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The transaction or message hash (zero for the block end).
    pub hash: H256,
    /// Whether the step did what it asked (a failed transaction still pays its fee).
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// Fee paid by the sender.
    pub fee: i64,
    /// Why it failed (empty on success).
    pub error: String,
    /// State rent the step collected from the accounts it touched (all of it burned).
    #[serde(default)]
    pub rent: i64,
    /// Accounts the step touched that could not pay their rent (`STATE_RENT_UNPAID`): their
    /// whole balance was burned, and those the step left without balance were archived.
    #[serde(default)]
    pub rent_unpaid: Vec<Address>,
    /// What a contract transaction (CONTRACT_DEPLOY, CONTRACT_CALL) gave: return or revert
    /// data, logs, the created contract. `None` for every other step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvm: Option<CvmOutcome>,
}

/// A log (event) a contract emitted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Its topics (0 to 4).
    pub topics: Vec<H256>,
    /// Its data.
    #[serde(with = "crate::smt::hex_bytes")]
    pub data: Vec<u8>,
}

/// The contract part of a [`Receipt`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CvmOutcome {
    /// Return data on success (the deployed code for a creation), revert data on a revert;
    /// at most `MAX_RECEIPT_OUTPUT` bytes.
    #[serde(with = "crate::smt::hex_bytes")]
    pub output: Vec<u8>,
    /// Logs in emission order (none when the transaction failed).
    pub logs: Vec<Log>,
    /// The contract a successful CONTRACT_DEPLOY created.
    pub contract_address: Option<Address>,
}

impl Encode for Log {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.address.encode_to(out);
        crate::codec::write_vec(out, &self.topics);
        write_var_bytes(out, &self.data);
    }
}

impl Decode for Log {
    const MIN_SIZE: usize = 20 + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Log {
            address: Address::decode_from(r)?,
            topics: r.vec("log topics", 4)?,
            data: r.var_bytes("log data", 1 << 22)?,
        })
    }
}

impl Encode for CvmOutcome {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_var_bytes(out, &self.output);
        crate::codec::write_vec(out, &self.logs);
        match &self.contract_address {
            None => out.push(0),
            Some(a) => {
                out.push(1);
                a.encode_to(out);
            }
        }
    }
}

impl Decode for CvmOutcome {
    const MIN_SIZE: usize = 3;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(CvmOutcome {
            output: r.var_bytes("output", super::cvm::MAX_RECEIPT_OUTPUT as u64)?,
            logs: r.vec("logs", 1 << 16)?,
            contract_address: match r.u8("contract address flag")? {
                0 => None,
                1 => Some(Address::decode_from(r)?),
                k => {
                    return Err(CodecError::Invalid {
                        what: "contract address flag",
                        detail: format!("{k}"),
                    })
                }
            },
        })
    }
}

impl Receipt {
    pub(super) fn ok(hash: H256, gas_used: u64, fee: i64) -> Self {
        Receipt {
            hash,
            success: true,
            gas_used,
            fee,
            error: String::new(),
            rent: 0,
            rent_unpaid: Vec::new(),
            cvm: None,
        }
    }
    pub(super) fn failed(hash: H256, gas_used: u64, fee: i64, error: impl Into<String>) -> Self {
        Receipt {
            hash,
            success: false,
            gas_used,
            fee,
            error: error.into(),
            rent: 0,
            rent_unpaid: Vec::new(),
            cvm: None,
        }
    }
    pub(super) fn with_rent(mut self, rent: RentTally) -> Self {
        self.rent = rent.collected;
        self.rent_unpaid = rent.unpaid;
        self
    }
    /// `SHA256d` of the serialization: the leaf of the block's `receiptsRoot`.
    pub fn hash(&self) -> H256 {
        sha256d(&self.encode())
    }
}

impl Encode for Receipt {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.hash.encode_to(out);
        // Bit 0: success; bit 1: a length-prefixed CVM part follows the other fields.
        out.push(self.success as u8 | (self.cvm.is_some() as u8) << 1);
        out.extend_from_slice(&self.gas_used.to_le_bytes());
        out.extend_from_slice(&self.fee.to_le_bytes());
        write_var_bytes(out, self.error.as_bytes());
        out.extend_from_slice(&self.rent.to_le_bytes());
        crate::codec::write_vec(out, &self.rent_unpaid);
        if let Some(c) = &self.cvm {
            write_var_bytes(out, &c.encode());
        }
    }
}

impl Decode for Receipt {
    const MIN_SIZE: usize = 32 + 1 + 16 + 1 + 8 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let hash = H256::decode_from(r)?;
        let flags = r.u8("success")?;
        if flags > 3 {
            return Err(CodecError::Invalid {
                what: "success",
                detail: format!("flags {flags}"),
            });
        }
        Ok(Receipt {
            hash,
            success: flags & 1 == 1,
            gas_used: r.u64("gasUsed")?,
            fee: r.i64("fee")?,
            error: r.string("error", 256)?,
            rent: r.i64("rent")?,
            rent_unpaid: r.vec("rentUnpaid", 1024)?,
            cvm: if flags & 2 == 2 {
                let b = r.var_bytes("cvm", 1 << 26)?;
                Some(CvmOutcome::decode(&b)?)
            } else {
                None
            },
        })
    }
}

/// Why a transaction cannot be in a block (the block holding it is invalid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The signature does not recover to `from`.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// Signed for another chain.
    #[error("wrong chain id {got}, this chain is {expected}")]
    WrongChain {
        /// The transaction's chain id.
        got: u64,
        /// The chain's id.
        expected: u64,
    },
    /// Nonce is not the account's next nonce (replay or gap).
    #[error("nonce {got}, account expects {expected}")]
    BadNonce {
        /// The transaction's nonce.
        got: u64,
        /// The account's nonce.
        expected: u64,
    },
    /// Balance does not cover value plus fee.
    #[error("BRIDGE_INSUFFICIENT_BALANCE: balance {balance} does not cover {needed}")]
    InsufficientBalance {
        /// Balance.
        balance: i64,
        /// Value plus fee.
        needed: i64,
    },
    /// An amount computation overflowed.
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
    /// Negative value or gas price, or a zero withdrawal.
    #[error("invalid amount: {0}")]
    InvalidAmount(&'static str),
    /// The gas limit is below the gas the transaction needs.
    #[error("gas limit {limit} below the {needed} gas needed")]
    GasLimitTooLow {
        /// The transaction's gas limit.
        limit: u64,
        /// Gas needed.
        needed: u64,
    },
    /// DEPOSIT, FORCED_INCLUSION, BURN_MINT and SEQ_ANNOUNCE come from L1 only.
    #[error("a {0:?} transaction can only come from L1")]
    L1Only(TxType),
    /// Encrypted transactions must be decrypted before they go in a block.
    #[error("encrypted transaction in a block")]
    Encrypted,
    /// The sender cannot pay the state rent it owes, so it cannot pay for anything else.
    #[error("STATE_RENT_UNPAID: sender {address} owes {owed} rent, its balance is {balance}")]
    RentUnpaid {
        /// The sender.
        address: Address,
        /// Rent owed.
        owed: i64,
        /// Its balance.
        balance: i64,
    },
}

/// Why `apply_tx` stopped: a rule of the transaction, or the state itself (a missing witness
/// node, a store failure) — the latter is never a transaction's fault and never a receipt.
pub(super) enum TxFail {
    Rule(TxError),
    State(StfError),
}

impl From<TxError> for TxFail {
    fn from(e: TxError) -> Self {
        TxFail::Rule(e)
    }
}

impl From<StfError> for TxFail {
    fn from(e: StfError) -> Self {
        TxFail::State(e)
    }
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

/// Rent collected by one step, and the accounts that could not pay.
#[derive(Debug, Default)]
pub(super) struct RentTally {
    collected: i64,
    unpaid: Vec<Address>,
}

/// One account as a step sees it.
struct Touched {
    st: AccountState,
    /// Present in the tree (or restored from its archive record) before the step.
    existed: bool,
    /// Rent owed at the touch exceeded the balance (`STATE_RENT_UNPAID`).
    unpaid: Option<i64>,
}

/// Accounts touched by one step, loaded once, written together at the end (so aliasing of
/// sender, recipient, producer and pool is handled and a failure writes nothing).
///
/// Loading an account is a **touch**: the state rent it owes since its `lastActivity` is
/// settled at once (docs/protocol.md, "State rent"). An absent account with an archive record is
/// restored from it first.
pub(super) struct Accounts<'c> {
    map: BTreeMap<Address, Touched>,
    ctx: &'c BlockContext,
    rent: RentTally,
    /// Archive records read and to be deleted (restored accounts).
    restored: Vec<Address>,
}

/// All-default apart from `lastActivity`: such an account holds nothing and is not kept.
fn holds_nothing(st: &AccountState) -> bool {
    st.balance == 0
        && st.nonce == 0
        && st.hat_score == 0
        && st.code_hash == H256::ZERO
        && st.storage_root == H256::ZERO
}

impl<'c> Accounts<'c> {
    pub(super) fn new(ctx: &'c BlockContext) -> Self {
        Accounts {
            map: BTreeMap::new(),
            ctx,
            rent: RentTally::default(),
            restored: Vec::new(),
        }
    }

    pub(super) fn get<'s>(
        &'s mut self,
        ov: &mut Overlay<'_>,
        a: &Address,
    ) -> Result<&'s mut AccountState, StfError> {
        if !self.map.contains_key(a) {
            let t = self.load(ov, a)?;
            self.map.insert(*a, t);
        }
        self.map
            .get_mut(a)
            .map(|t| &mut t.st)
            .ok_or_else(|| StfError::State("account cache".into()))
    }

    /// Load `a` and settle its rent.
    fn load(&mut self, ov: &mut Overlay<'_>, a: &Address) -> Result<Touched, StfError> {
        let now = self.ctx.number;
        let key = a.tree_key();
        if let Some(b) = ov.get(&key)? {
            let mut st = AccountState::decode(&b)
                .map_err(|e| StfError::State(format!("account {a}: {e}")))?;
            let owed = self.ctx.rent.owed(st.last_activity, now);
            let mut unpaid = None;
            if owed > 0 {
                if owed <= st.balance {
                    st.balance -= owed;
                    self.rent.collected = self.rent.collected.saturating_add(owed);
                } else {
                    // STATE_RENT_UNPAID: everything it has is burned, the rest is forgiven.
                    self.rent.collected = self.rent.collected.saturating_add(st.balance.max(0));
                    st.balance = 0;
                    self.rent.unpaid.push(*a);
                    unpaid = Some(owed);
                }
                st.last_activity = now;
            }
            return Ok(Touched {
                st,
                existed: true,
                unpaid,
            });
        }
        if let Some(b) = ov.get(&archive_key(a))? {
            // Restoration: the archived state comes back with no balance and no rent for the
            // archived time.
            let mut st = AccountState::decode(&b)
                .map_err(|e| StfError::State(format!("archive record of {a}: {e}")))?;
            st.balance = 0;
            st.last_activity = now;
            self.restored.push(*a);
            return Ok(Touched {
                st,
                existed: true,
                unpaid: None,
            });
        }
        Ok(Touched {
            st: AccountState::default(),
            existed: false,
            unpaid: None,
        })
    }

    /// The rent `a` owed at its touch if it could not pay it.
    fn unpaid(&self, a: &Address) -> Option<i64> {
        self.map.get(a).and_then(|t| t.unpaid)
    }

    /// Write every touched account: an account that could not pay its rent and is left without
    /// balance is archived; a new account starts its rent clock now; an account that holds
    /// nothing is deleted.
    pub(super) fn write(self, ov: &mut Overlay<'_>) -> RentTally {
        let now = self.ctx.number;
        for a in &self.restored {
            ov.put(archive_key(a), None);
        }
        for (a, mut t) in self.map {
            if t.unpaid.is_some() && t.st.balance == 0 {
                ov.put(a.tree_key(), None);
                if !holds_nothing(&t.st) {
                    t.st.last_activity = now;
                    ov.put(archive_key(&a), Some(t.st.to_bytes().to_vec()));
                }
                continue;
            }
            if !t.existed {
                t.st.last_activity = now;
            }
            if holds_nothing(&t.st) {
                ov.put(a.tree_key(), None);
            } else {
                ov.set_account(&a, &t.st);
            }
        }
        self.rent
    }
}

pub(super) fn credit(v: &mut i64, amount: i64, what: &'static str) -> Result<(), TxFail> {
    *v = v.checked_add(amount).ok_or(TxError::Overflow(what))?;
    Ok(())
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
    if tx.value < 0 {
        return Err(TxFail::Rule(TxError::InvalidAmount("negative value")));
    }
    if tx.gas_price < 0 {
        return Err(TxFail::Rule(TxError::InvalidAmount("negative gas price")));
    }
    let gas = rules::intrinsic_gas(tx.tx_type, &tx.data);
    if tx.gas_limit < gas {
        return Err(TxFail::Rule(TxError::GasLimitTooLow {
            limit: tx.gas_limit,
            needed: gas,
        }));
    }
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

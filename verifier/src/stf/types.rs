//! The STF's shared types, below both the step execution (`exec`) and the contract VM (`cvm`):
//! the block context, the steps, receipts and logs, and why a transaction fails.

use super::rules::RentParams;
use super::StfError;
use crate::codec::{write_var_bytes, CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, Address, H256};
use crate::types::{L1Message, L2Transaction, TxType};
use serde::{Deserialize, Serialize};

/// Rent collected by one step, and the accounts that could not pay.
#[derive(Debug, Default)]
pub(super) struct RentTally {
    pub(super) collected: i64,
    pub(super) unpaid: Vec<Address>,
}

/// Return or revert data kept in a receipt (longer data is cut to this length).
pub const MAX_RECEIPT_OUTPUT: usize = 64 * 1024;

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
            output: r.var_bytes("output", MAX_RECEIPT_OUTPUT as u64)?,
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

/// `*v += amount`, or [`TxError::Overflow`] naming `what`.
pub(super) fn credit(v: &mut i64, amount: i64, what: &'static str) -> Result<(), TxFail> {
    *v = v.checked_add(amount).ok_or(TxError::Overflow(what))?;
    Ok(())
}

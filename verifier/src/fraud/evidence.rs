//! Non-interactive fraud proofs: evidence that L1 checks against an anchor's stored batch data
//! alone, without a game.

use super::BatchData;
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::da::{verify_bad_encoding_proof, BadEncodingProof, DACommitment};
use crate::hash::H256;
use crate::settlement::L1Error;
use crate::stf::{execute_step, execute_step_stateless, Overlay, StateView, StepWitness, StfError};
use serde::{Deserialize, Serialize};

/// The design's fraud proof types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FraudKind {
    /// A state root that execution does not give (the interactive game).
    InvalidStateTransition,
    /// A transaction that breaks a rule.
    InvalidTransaction,
    /// A transaction or block signature that does not verify.
    InvalidSignature,
    /// Badly encoded (hence unavailable) batch data.
    DataWithholding,
    /// Block timestamps that break the timestamp rules.
    TimestampManipulation,
    /// Two transactions with the same sender and nonce.
    DoubleSpend,
}

/// Evidence of a non-interactive fraud proof. Positions are `(block, transaction)` indexes
/// into the anchored batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FraudEvidence {
    /// 0 (`INVALID_SIGNATURE`): transaction `tx` of block `block` does not recover to `from`.
    InvalidTxSignature {
        /// Block position in the batch.
        block: u32,
        /// Transaction position in the block.
        tx: u32,
    },
    /// 1 (`INVALID_SIGNATURE`): signature `signature` of block `block` is by a sequencer of the
    /// set at posting and does not verify over the block hash.
    InvalidBlockSignature {
        /// Block position in the batch.
        block: u32,
        /// Signature position in the block.
        signature: u32,
    },
    /// 2 (`TIMESTAMP_MANIPULATION`): block `block`'s timestamp is not after the previous
    /// block's (the previous anchor's last block for the first), or is more than
    /// `maxTimestampDrift` after the L1 time at posting.
    TimestampManipulation {
        /// Block position in the batch.
        block: u32,
    },
    /// 3 (`DOUBLE_SPEND`): two transactions at different positions with the same sender and
    /// nonce.
    DoubleSpend {
        /// First (block, transaction).
        first: (u32, u32),
        /// Second (block, transaction).
        second: (u32, u32),
    },
    /// 4 (`INVALID_TRANSACTION`): transaction `tx` of block `block` breaks a rule. Without a
    /// witness the rule must be a stateless one (signature, chain id, encryption, negative
    /// amounts, gas limit, L1-only type); with one, the transaction must be its block's first
    /// step (no L1 messages, `tx` = 0), and the witness is checked against the previous block's
    /// `stateRoot` (the batch's `preStateRoot` for the first block).
    InvalidTransaction {
        /// Block position in the batch.
        block: u32,
        /// Transaction position in the block.
        tx: u32,
        /// The state the transaction reads.
        #[serde(default, with = "witness_opt")]
        witness: Option<StepWitness>,
    },
    /// 5 (`DATA_WITHHOLDING`): a bad-encoding proof against the anchor's DA commitment.
    DataWithholding {
        /// The proof.
        proof: BadEncodingProof,
    },
}

mod witness_opt {
    use crate::codec::{Decode, Encode};
    use crate::stf::StepWitness;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<StepWitness>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(w) => s.serialize_some(&hex::encode(w.encode())),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StepWitness>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        s.map(|s| {
            let b = hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
            StepWitness::decode(&b).map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl FraudEvidence {
    /// The design's type of this evidence.
    pub fn kind(&self) -> FraudKind {
        match self {
            FraudEvidence::InvalidTxSignature { .. }
            | FraudEvidence::InvalidBlockSignature { .. } => FraudKind::InvalidSignature,
            FraudEvidence::TimestampManipulation { .. } => FraudKind::TimestampManipulation,
            FraudEvidence::DoubleSpend { .. } => FraudKind::DoubleSpend,
            FraudEvidence::InvalidTransaction { .. } => FraudKind::InvalidTransaction,
            FraudEvidence::DataWithholding { .. } => FraudKind::DataWithholding,
        }
    }
}

impl Encode for FraudEvidence {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let u32le = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
        match self {
            FraudEvidence::InvalidTxSignature { block, tx } => {
                out.push(0);
                u32le(out, *block);
                u32le(out, *tx);
            }
            FraudEvidence::InvalidBlockSignature { block, signature } => {
                out.push(1);
                u32le(out, *block);
                u32le(out, *signature);
            }
            FraudEvidence::TimestampManipulation { block } => {
                out.push(2);
                u32le(out, *block);
            }
            FraudEvidence::DoubleSpend { first, second } => {
                out.push(3);
                for v in [first.0, first.1, second.0, second.1] {
                    u32le(out, v);
                }
            }
            FraudEvidence::InvalidTransaction { block, tx, witness } => {
                out.push(4);
                u32le(out, *block);
                u32le(out, *tx);
                match witness {
                    Some(w) => {
                        out.push(1);
                        w.encode_to(out);
                    }
                    None => out.push(0),
                }
            }
            FraudEvidence::DataWithholding { proof } => {
                out.push(5);
                proof.encode_to(out);
            }
        }
    }
}

impl Decode for FraudEvidence {
    const MIN_SIZE: usize = 1 + 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(match r.u8("evidence kind")? {
            0 => FraudEvidence::InvalidTxSignature {
                block: r.u32("block")?,
                tx: r.u32("tx")?,
            },
            1 => FraudEvidence::InvalidBlockSignature {
                block: r.u32("block")?,
                signature: r.u32("signature")?,
            },
            2 => FraudEvidence::TimestampManipulation {
                block: r.u32("block")?,
            },
            3 => FraudEvidence::DoubleSpend {
                first: (r.u32("block")?, r.u32("tx")?),
                second: (r.u32("block")?, r.u32("tx")?),
            },
            4 => FraudEvidence::InvalidTransaction {
                block: r.u32("block")?,
                tx: r.u32("tx")?,
                witness: if r.bool("witness present")? {
                    Some(StepWitness::decode_from(r)?)
                } else {
                    None
                },
            },
            5 => FraudEvidence::DataWithholding {
                proof: BadEncodingProof::decode_from(r)?,
            },
            k => {
                return Err(CodecError::Invalid {
                    what: "evidence kind",
                    detail: format!("unknown kind {k}"),
                })
            }
        })
    }
}

/// A state that holds nothing: every read is a missing node, so a step run on it can only
/// fail on a rule that needs no state.
struct NoState;

impl StateView for NoState {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        Err(StfError::MissingWitness {
            hash: *key,
            height: 256,
        })
    }
    fn node(&self, _hash: &H256) -> Result<Option<crate::smt::Node>, StfError> {
        Ok(None)
    }
}

/// Whether transaction `tx` breaks a rule that needs no state, its sender already recovered
/// (`None`: not recoverable).
pub(super) fn breaks_stateless_rule(
    tx: &crate::types::L2Transaction,
    ctx: &crate::stf::BlockContext,
    sender: Option<crate::hash::Address>,
) -> bool {
    let step = crate::stf::Step::Tx {
        tx: Box::new(tx.clone()),
    };
    let mut ov = Overlay::new(&NoState);
    matches!(
        execute_step(&mut ov, &step, ctx, sender),
        Err(StfError::InvalidTransaction { .. })
    )
}

fn refused(m: String) -> L1Error {
    L1Error::FraudProofInvalid(m)
}

/// Check non-interactive evidence against an anchored batch (and its DA commitment when the
/// L1 kept it). `Ok(())` means the fraud is proven.
pub fn verify_evidence(
    batch: &BatchData,
    commitment: Option<&DACommitment>,
    evidence: &FraudEvidence,
) -> Result<(), L1Error> {
    let block_at = |b: u32| {
        batch
            .blocks
            .get(b as usize)
            .ok_or_else(|| refused(format!("the batch has no block {b}")))
    };
    let tx_at = |b: u32, t: u32| {
        block_at(b)?
            .transactions
            .get(t as usize)
            .ok_or_else(|| refused(format!("block {b} has no transaction {t}")))
    };
    match evidence {
        FraudEvidence::InvalidTxSignature { block, tx } => {
            let t = tx_at(*block, *tx)?;
            match t.recover_sender() {
                Ok(a) if a == t.from => Err(refused(format!(
                    "transaction {block}/{tx} is validly signed by {a}"
                ))),
                _ => Ok(()),
            }
        }
        FraudEvidence::InvalidBlockSignature { block, signature } => {
            let b = block_at(*block)?;
            let sig = b
                .signatures
                .get(*signature as usize)
                .ok_or_else(|| refused(format!("block {block} has no signature {signature}")))?;
            let (_, key) = batch
                .sequencers
                .iter()
                .find(|(a, _)| *a == sig.sequencer)
                .ok_or_else(|| {
                    refused(format!(
                        "{} was not a sequencer when the batch was posted",
                        sig.sequencer
                    ))
                })?;
            match sig.verify(&b.hash(), key) {
                Ok(()) => Err(refused(format!(
                    "signature {signature} of block {block} is valid"
                ))),
                Err(_) => Ok(()),
            }
        }
        FraudEvidence::TimestampManipulation { block } => {
            let b = block_at(*block)?;
            let ts = b.header.timestamp;
            let prev = match block.checked_sub(1) {
                Some(p) => Some(block_at(p)?.header.timestamp),
                None => batch.prev_timestamp,
            };
            if prev.is_some_and(|p| ts <= p) {
                return Ok(());
            }
            // Block timestamps are milliseconds; L1 time and the drift are seconds.
            let limit_ms = batch
                .l1_time
                .saturating_add(batch.max_timestamp_drift)
                .saturating_mul(1000);
            if ts > limit_ms {
                return Ok(());
            }
            Err(refused(format!(
                "block {block}'s timestamp {ts} keeps the rules"
            )))
        }
        FraudEvidence::DoubleSpend { first, second } => {
            if first == second {
                return Err(refused("the two positions are the same".into()));
            }
            let a = tx_at(first.0, first.1)?;
            let b = tx_at(second.0, second.1)?;
            if a.from == b.from && a.nonce == b.nonce {
                Ok(())
            } else {
                Err(refused("the transactions differ in sender or nonce".into()))
            }
        }
        FraudEvidence::InvalidTransaction { block, tx, witness } => {
            let t = tx_at(*block, *tx)?;
            let bi = *block as usize;
            let ctx = batch
                .context(bi)
                .ok_or_else(|| refused(format!("the batch has no block {block}")))?;
            let step = crate::stf::Step::Tx {
                tx: Box::new(t.clone()),
            };
            let res = match witness {
                None => {
                    let mut ov = Overlay::new(&NoState);
                    execute_step(&mut ov, &step, &ctx, None).map(|_| H256::ZERO)
                }
                Some(w) => {
                    let first = block_at(*block)?.l1_message_hashes.is_empty() && *tx == 0;
                    if !first {
                        return Err(refused(
                            "a witness proves only a block's first step; use the game".into(),
                        ));
                    }
                    let pre = match bi.checked_sub(1) {
                        Some(p) => block_at(p as u32)?.header.state_root,
                        None => batch.pre_state_root,
                    };
                    execute_step_stateless(&pre, w, &step, &ctx).map(|(r, _)| r)
                }
            };
            match res {
                Err(StfError::InvalidTransaction { .. }) => Ok(()),
                Ok(_) => Err(refused(format!("transaction {block}/{tx} is valid"))),
                Err(e) => Err(refused(format!("transaction {block}/{tx}: {e}"))),
            }
        }
        FraudEvidence::DataWithholding { proof } => {
            let c = commitment.ok_or_else(|| refused("the anchor kept no DA commitment".into()))?;
            verify_bad_encoding_proof(c, proof).map_err(|e| refused(e.to_string()))
        }
    }
}

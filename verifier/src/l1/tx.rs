//! L1 blocks, signed L1 transactions and their operations, with casl2's own serialization
//! (Bitcoin style, `docs/protocol.md` "L1 rules").

use super::registry::L2Status;
use crate::codec::{write_var_bytes, write_vec, CodecError, Decode, Encode, Reader};
use crate::da::DACommitment;
use crate::fraud::FraudEvidence;
use crate::hash::{merkle_root, sha256d, sha256d_parts, Address, H256};
use crate::keys::{recover_compact, PrivateKey, PublicKey, COMPACT_SIGNATURE_LEN};
use crate::params::ChainParams;
use crate::settlement::L1Error;
use crate::smt::CompactProof;
use crate::stf::StepWitness;
use crate::types::{AccountState, BatchHeader, BlockSignature, L2Transaction, WithdrawalRecord};
use serde::{Deserialize, Serialize};

/// Domain tag in front of an L1 transaction's signing preimage, so that an L1 signature can
/// never be replayed as an L2 transaction signature (or the reverse).
pub const L1_TX_TAG: &[u8] = b"CASL2/L1tx";
/// Most transactions in one L1 block.
pub const MAX_BLOCK_TXS: usize = 10_000;
/// Longest chain name (bytes).
pub const MAX_CHAIN_NAME: u64 = 64;
/// Longest sequencer endpoint (bytes).
pub const MAX_ENDPOINT: u64 = 256;
/// Largest batch payload in a `PostBatch` (bytes; the DA layer's own cap applies too).
pub const MAX_PAYLOAD: u64 = 8 * 1024 * 1024;
/// Most signatures on one batch.
pub const MAX_BATCH_SIGNATURES: u64 = 1_024;

/// One L1 operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum L1Op {
    /// 0: pay `amount` to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount (positive).
        amount: i64,
    },
    /// 1 (authority only): set the HAT v2 reputation score (0..=100) of `address`.
    SetHatScore {
        /// The scored address.
        address: Address,
        /// Its score.
        score: u32,
    },
    /// 2: register an L2 chain; the sender is its deployer and locks `deployer_stake`.
    RegisterChain {
        /// The new chain's id.
        chain_id: u64,
        /// Its name (1..=64 printable ASCII bytes).
        name: String,
        /// Its parameters.
        params: ChainParams,
        /// State root of its genesis (L2 block 0).
        genesis_root: H256,
        /// Stake the deployer locks (at least `params.min_sequencer_stake`).
        deployer_stake: i64,
    },
    /// 3 (deployer only): change the chain's status (PAUSED, ACTIVE, DEPRECATED).
    SetChainStatus {
        /// The chain.
        chain: u64,
        /// The new status.
        status: L2Status,
    },
    /// 4: announce the sender as a sequencer of `chain`, locking `stake`.
    AnnounceSequencer {
        /// The chain.
        chain: u64,
        /// Stake locked from the sender's balance.
        stake: i64,
        /// Where the sequencer can be reached.
        endpoint: String,
    },
    /// 5: start unbonding the sender's sequencer stake on `chain`.
    Unbond {
        /// The chain.
        chain: u64,
    },
    /// 6: take back an unbonded stake once its delay has passed.
    WithdrawStake {
        /// The chain.
        chain: u64,
    },
    /// 7: lock `amount` in the chain's escrow and queue a deposit to `recipient` on L2.
    Deposit {
        /// The chain.
        chain: u64,
        /// L2 account credited.
        recipient: Address,
        /// Amount (positive).
        amount: i64,
    },
    /// 8: a deposit in the real node's `L2BURN` `OP_RETURN` format (53-byte script).
    BurnDeposit {
        /// The burn script.
        script: Vec<u8>,
    },
    /// 9: queue a signed L2 transaction that the chain's sequencers must include.
    ForceTransaction {
        /// The chain.
        chain: u64,
        /// The signed L2 transaction.
        tx: Box<L2Transaction>,
    },
    /// 10: anchor a batch: header, DA commitment, the compressed batch and quorum signatures.
    PostBatch {
        /// The chain.
        chain: u64,
        /// The batch header.
        header: BatchHeader,
        /// The DA commitment of the payload.
        commitment: DACommitment,
        /// The compressed batch (zstd of `da::serialize_blocks`).
        payload: Vec<u8>,
        /// Sequencer DER signatures over the batch header hash.
        signatures: Vec<BlockSignature>,
    },
    /// 11: pay a withdrawal proved against a final anchor's post-state root.
    FinalizeWithdrawal {
        /// The chain.
        chain: u64,
        /// Index of the anchor whose root holds the record.
        anchor: u64,
        /// The withdrawal record.
        record: WithdrawalRecord,
        /// Proof of the record under `record.key()`.
        proof: CompactProof,
    },
    /// 12: in EMERGENCY, pay an account's full balance in the last finalized root.
    EmergencyWithdraw {
        /// The chain.
        chain: u64,
        /// The L2 account (paid to the L1 account with the same address).
        address: Address,
        /// Its state in the last finalized root.
        account: AccountState,
        /// Proof of that state.
        proof: CompactProof,
    },
    /// 13: open a bisection game on a non-final anchor's post-state root, locking the chain's
    /// `challengeBond`.
    OpenChallenge {
        /// The chain.
        chain: u64,
        /// The anchor index.
        anchor: u64,
        /// The disputed root: must be the anchor's `postStateRoot`.
        disputed_root: H256,
    },
    /// 14 (defender): reveal the trace root at the game's midpoint.
    BisectReveal {
        /// Game id.
        game: u64,
        /// The root after step `midpoint` (trace index `midpoint`).
        root: H256,
    },
    /// 15 (challenger): agree or disagree with the revealed root.
    BisectAnswer {
        /// Game id.
        game: u64,
        /// Agree (the fraud is later) or disagree (the fraud is earlier).
        agree: bool,
    },
    /// 16 (anyone, on the challenger's clock): the one-step proof of the game's last step.
    SubmitOneStepProof {
        /// Game id.
        game: u64,
        /// The step's witness against the agreed root.
        #[serde(with = "crate::fraud::serde_codec")]
        witness: StepWitness,
    },
    /// 17 (anyone): a non-interactive fraud proof against a non-final anchor.
    SubmitFraudProof {
        /// The chain.
        chain: u64,
        /// The anchor index.
        anchor: u64,
        /// The evidence.
        evidence: FraudEvidence,
    },
    /// 18 (anyone): end a game whose side to move let its clock run out.
    Timeout {
        /// Game id.
        game: u64,
    },
    /// 19 (anyone): report a sequencer that signed two blocks at one height (`SEQ_DOUBLE_SIGN`):
    /// its whole stake is slashed, half to the reporter, and it leaves the active set.
    ReportDoubleSign {
        /// The chain.
        chain: u64,
        /// The two signed headers.
        evidence: Box<crate::consensus::DoubleSignEvidence>,
    },
    /// 20: ask the signers of a non-final anchor to publish shares of its extended square on L1,
    /// locking the chain's `challengeBond` (see `l1::availability`).
    ChallengeAvailability {
        /// The chain.
        chain: u64,
        /// The anchor index.
        anchor: u64,
        /// The shares asked for (1 to 16, distinct, inside the square).
        positions: Vec<super::SharePosition>,
    },
    /// 21 (the batch's poster or a signer): the shares an availability challenge asked for, in
    /// its order, each with its proof against the anchor's DA commitment.
    AnswerAvailability {
        /// Challenge id.
        id: u64,
        /// The shares.
        samples: Vec<crate::da::Sample>,
    },
    /// 22 (anyone): end an availability challenge after its deadline (unanswered: the data is
    /// withheld) or once its anchor is gone (cancelled).
    TimeoutAvailability {
        /// Challenge id.
        id: u64,
    },
    /// 23 (anyone): report an active sequencer that signed none of the chain's last
    /// `offlineAfter` anchors (`SEQ_OFFLINE`); it leaves the active set, its stake stays locked.
    ReportOffline {
        /// The chain.
        chain: u64,
        /// The sequencer.
        sequencer: Address,
    },
}

/// A signed L1 transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Tx {
    /// Sender (HASH160 of the signing key).
    pub from: Address,
    /// Sender's nonce: its count of earlier transactions with a good signature and nonce.
    pub nonce: u64,
    /// What to do.
    pub op: L1Op,
    /// 65-byte compact recoverable signature over [`L1Tx::signing_hash`].
    #[serde(with = "crate::smt::hex_bytes")]
    pub signature: Vec<u8>,
}

impl L1Tx {
    /// An unsigned transaction from `key`'s address, signed with it.
    pub fn signed(key: &PrivateKey, nonce: u64, op: L1Op) -> Result<L1Tx, L1Error> {
        let mut tx = L1Tx {
            from: key.address(),
            nonce,
            op,
            signature: Vec::new(),
        };
        tx.sign(key)?;
        Ok(tx)
    }

    /// The unsigned serialization: `from u160 ‖ nonce u64 ‖ op`.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.from.encode_to(&mut out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.op.encode_to(&mut out);
        out
    }

    /// The signing hash: `SHA256d("CASL2/L1tx" ‖ unsigned serialization)`.
    pub fn signing_hash(&self) -> H256 {
        sha256d_parts(&[L1_TX_TAG, &self.unsigned_bytes()])
    }

    /// The transaction id: SHA256d of the full serialization (signature included).
    pub fn hash(&self) -> H256 {
        sha256d(&self.encode())
    }

    /// Sign with `key` (does not change `from`).
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), L1Error> {
        let sig = key
            .sign_compact(&self.signing_hash())
            .map_err(|e| L1Error::BadSignature(e.to_string()))?;
        self.signature = sig.to_vec();
        Ok(())
    }

    /// Recover the signing key and check that its address is `from`.
    pub fn recover_signer(&self) -> Result<PublicKey, L1Error> {
        if self.signature.len() != COMPACT_SIGNATURE_LEN {
            return Err(L1Error::BadSignature(format!(
                "signature must be {COMPACT_SIGNATURE_LEN} bytes, got {}",
                self.signature.len()
            )));
        }
        let key = recover_compact(&self.signing_hash(), &self.signature)
            .map_err(|e| L1Error::BadSignature(e.to_string()))?;
        if key.address() != self.from {
            return Err(L1Error::BadSignature(format!(
                "signature recovers {}, transaction is from {}",
                key.address(),
                self.from
            )));
        }
        Ok(key)
    }
}

impl Encode for L1Tx {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.from.encode_to(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        self.op.encode_to(out);
        write_var_bytes(out, &self.signature);
    }
}

impl Decode for L1Tx {
    const MIN_SIZE: usize = 20 + 8 + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(L1Tx {
            from: Address::decode_from(r)?,
            nonce: r.u64("nonce")?,
            op: L1Op::decode_from(r)?,
            signature: r.var_bytes("signature", COMPACT_SIGNATURE_LEN as u64)?,
        })
    }
}

/// An L1 block: `height`, `time`, `prev_hash` and transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Block {
    /// Height (genesis is 0).
    pub height: u64,
    /// Unix seconds (not decreasing along the chain).
    pub time: u64,
    /// Hash of the previous block (zero for genesis).
    pub prev_hash: H256,
    /// The transactions, applied in order.
    pub txs: Vec<L1Tx>,
}

impl L1Block {
    /// Bitcoin-style Merkle root of the transaction ids.
    pub fn txs_root(&self) -> H256 {
        merkle_root(&self.txs.iter().map(L1Tx::hash).collect::<Vec<_>>())
    }

    /// The 80-byte header: `height u64 ‖ prev_hash u256 ‖ txs_root u256 ‖ time u64`.
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        out.extend_from_slice(&self.height.to_le_bytes());
        self.prev_hash.encode_to(&mut out);
        self.txs_root().encode_to(&mut out);
        out.extend_from_slice(&self.time.to_le_bytes());
        out
    }

    /// The block hash: SHA256d of the header.
    pub fn hash(&self) -> H256 {
        sha256d(&self.header_bytes())
    }
}

impl Encode for L1Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.time.to_le_bytes());
        self.prev_hash.encode_to(out);
        write_vec(out, &self.txs);
    }
}

impl Decode for L1Block {
    const MIN_SIZE: usize = 8 + 8 + 32 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(L1Block {
            height: r.u64("height")?,
            time: r.u64("time")?,
            prev_hash: H256::decode_from(r)?,
            txs: r.vec("txs", MAX_BLOCK_TXS as u64)?,
        })
    }
}

impl Encode for L1Op {
    fn encode_to(&self, out: &mut Vec<u8>) {
        if !self.encode_chain_op(out) {
            self.encode_dispute_op(out);
        }
    }
}

fn le(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

impl L1Op {
    /// Encode an account, registry, stake or bridge operation (tags 0–12); false (nothing
    /// written) for the dispute operations.
    fn encode_chain_op(&self, out: &mut Vec<u8>) -> bool {
        match self {
            L1Op::Transfer { to, amount } => {
                out.push(0);
                to.encode_to(out);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            L1Op::SetHatScore { address, score } => {
                out.push(1);
                address.encode_to(out);
                out.extend_from_slice(&score.to_le_bytes());
            }
            L1Op::RegisterChain {
                chain_id,
                name,
                params,
                genesis_root,
                deployer_stake,
            } => {
                out.push(2);
                le(out, *chain_id);
                write_var_bytes(out, name.as_bytes());
                params.encode_to(out);
                genesis_root.encode_to(out);
                out.extend_from_slice(&deployer_stake.to_le_bytes());
            }
            L1Op::SetChainStatus { chain, status } => {
                out.push(3);
                le(out, *chain);
                out.push(status.as_u8());
            }
            L1Op::AnnounceSequencer {
                chain,
                stake,
                endpoint,
            } => {
                out.push(4);
                le(out, *chain);
                out.extend_from_slice(&stake.to_le_bytes());
                write_var_bytes(out, endpoint.as_bytes());
            }
            L1Op::Unbond { chain } => {
                out.push(5);
                le(out, *chain);
            }
            L1Op::WithdrawStake { chain } => {
                out.push(6);
                le(out, *chain);
            }
            L1Op::Deposit {
                chain,
                recipient,
                amount,
            } => {
                out.push(7);
                le(out, *chain);
                recipient.encode_to(out);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            L1Op::BurnDeposit { script } => {
                out.push(8);
                write_var_bytes(out, script);
            }
            L1Op::ForceTransaction { chain, tx } => {
                out.push(9);
                le(out, *chain);
                tx.encode_to(out);
            }
            L1Op::PostBatch {
                chain,
                header,
                commitment,
                payload,
                signatures,
            } => {
                out.push(10);
                le(out, *chain);
                header.encode_to(out);
                commitment.encode_to(out);
                write_var_bytes(out, payload);
                write_vec(out, signatures);
            }
            L1Op::FinalizeWithdrawal {
                chain,
                anchor,
                record,
                proof,
            } => {
                out.push(11);
                le(out, *chain);
                le(out, *anchor);
                record.encode_to(out);
                proof.encode_to(out);
            }
            L1Op::EmergencyWithdraw {
                chain,
                address,
                account,
                proof,
            } => {
                out.push(12);
                le(out, *chain);
                address.encode_to(out);
                account.encode_to(out);
                proof.encode_to(out);
            }
            L1Op::OpenChallenge { .. }
            | L1Op::BisectReveal { .. }
            | L1Op::BisectAnswer { .. }
            | L1Op::SubmitOneStepProof { .. }
            | L1Op::SubmitFraudProof { .. }
            | L1Op::Timeout { .. }
            | L1Op::ReportDoubleSign { .. }
            | L1Op::ChallengeAvailability { .. }
            | L1Op::AnswerAvailability { .. }
            | L1Op::TimeoutAvailability { .. }
            | L1Op::ReportOffline { .. } => return false,
        }
        true
    }

    /// Encode a dispute operation: fraud games and proofs, double signs, availability
    /// challenges, offline reports (tags 13–23); nothing for the others.
    fn encode_dispute_op(&self, out: &mut Vec<u8>) {
        match self {
            L1Op::OpenChallenge {
                chain,
                anchor,
                disputed_root,
            } => {
                out.push(13);
                le(out, *chain);
                le(out, *anchor);
                disputed_root.encode_to(out);
            }
            L1Op::BisectReveal { game, root } => {
                out.push(14);
                le(out, *game);
                root.encode_to(out);
            }
            L1Op::BisectAnswer { game, agree } => {
                out.push(15);
                le(out, *game);
                out.push(u8::from(*agree));
            }
            L1Op::SubmitOneStepProof { game, witness } => {
                out.push(16);
                le(out, *game);
                witness.encode_to(out);
            }
            L1Op::SubmitFraudProof {
                chain,
                anchor,
                evidence,
            } => {
                out.push(17);
                le(out, *chain);
                le(out, *anchor);
                evidence.encode_to(out);
            }
            L1Op::Timeout { game } => {
                out.push(18);
                le(out, *game);
            }
            L1Op::ReportDoubleSign { chain, evidence } => {
                out.push(19);
                le(out, *chain);
                evidence.encode_to(out);
            }
            L1Op::ChallengeAvailability {
                chain,
                anchor,
                positions,
            } => {
                out.push(20);
                le(out, *chain);
                le(out, *anchor);
                crate::codec::write_vec(out, positions);
            }
            L1Op::AnswerAvailability { id, samples } => {
                out.push(21);
                le(out, *id);
                crate::codec::write_vec(out, samples);
            }
            L1Op::TimeoutAvailability { id } => {
                out.push(22);
                le(out, *id);
            }
            L1Op::ReportOffline { chain, sequencer } => {
                out.push(23);
                le(out, *chain);
                sequencer.encode_to(out);
            }
            _ => {}
        }
    }
}

fn string(r: &mut Reader<'_>, what: &'static str, max: u64) -> Result<String, CodecError> {
    let b = r.var_bytes(what, max)?;
    String::from_utf8(b).map_err(|_| CodecError::Invalid {
        what,
        detail: "not UTF-8".into(),
    })
}

impl Decode for L1Op {
    const MIN_SIZE: usize = 2;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(match r.u8("op")? {
            0 => L1Op::Transfer {
                to: Address::decode_from(r)?,
                amount: r.i64("amount")?,
            },
            1 => L1Op::SetHatScore {
                address: Address::decode_from(r)?,
                score: r.u32("score")?,
            },
            2 => L1Op::RegisterChain {
                chain_id: r.u64("chainId")?,
                name: string(r, "name", MAX_CHAIN_NAME)?,
                params: ChainParams::decode_from(r)?,
                genesis_root: H256::decode_from(r)?,
                deployer_stake: r.i64("deployerStake")?,
            },
            3 => L1Op::SetChainStatus {
                chain: r.u64("chain")?,
                status: {
                    let s = r.u8("status")?;
                    L2Status::from_u8(s).ok_or_else(|| CodecError::Invalid {
                        what: "status",
                        detail: format!("unknown status {s}"),
                    })?
                },
            },
            4 => L1Op::AnnounceSequencer {
                chain: r.u64("chain")?,
                stake: r.i64("stake")?,
                endpoint: string(r, "endpoint", MAX_ENDPOINT)?,
            },
            5 => L1Op::Unbond {
                chain: r.u64("chain")?,
            },
            6 => L1Op::WithdrawStake {
                chain: r.u64("chain")?,
            },
            7 => L1Op::Deposit {
                chain: r.u64("chain")?,
                recipient: Address::decode_from(r)?,
                amount: r.i64("amount")?,
            },
            8 => L1Op::BurnDeposit {
                script: r.var_bytes("script", 1024)?,
            },
            9 => L1Op::ForceTransaction {
                chain: r.u64("chain")?,
                tx: Box::new(L2Transaction::decode_from(r)?),
            },
            10 => L1Op::PostBatch {
                chain: r.u64("chain")?,
                header: BatchHeader::decode_from(r)?,
                commitment: DACommitment::decode_from(r)?,
                payload: r.var_bytes("payload", MAX_PAYLOAD)?,
                signatures: r.vec("signatures", MAX_BATCH_SIGNATURES)?,
            },
            11 => L1Op::FinalizeWithdrawal {
                chain: r.u64("chain")?,
                anchor: r.u64("anchor")?,
                record: WithdrawalRecord::decode_from(r)?,
                proof: CompactProof::decode_from(r)?,
            },
            12 => L1Op::EmergencyWithdraw {
                chain: r.u64("chain")?,
                address: Address::decode_from(r)?,
                account: AccountState::decode_from(r)?,
                proof: CompactProof::decode_from(r)?,
            },
            13 => L1Op::OpenChallenge {
                chain: r.u64("chain")?,
                anchor: r.u64("anchor")?,
                disputed_root: H256::decode_from(r)?,
            },
            14 => L1Op::BisectReveal {
                game: r.u64("game")?,
                root: H256::decode_from(r)?,
            },
            15 => L1Op::BisectAnswer {
                game: r.u64("game")?,
                agree: r.bool("agree")?,
            },
            16 => L1Op::SubmitOneStepProof {
                game: r.u64("game")?,
                witness: StepWitness::decode_from(r)?,
            },
            17 => L1Op::SubmitFraudProof {
                chain: r.u64("chain")?,
                anchor: r.u64("anchor")?,
                evidence: FraudEvidence::decode_from(r)?,
            },
            18 => L1Op::Timeout {
                game: r.u64("game")?,
            },
            19 => L1Op::ReportDoubleSign {
                chain: r.u64("chain")?,
                evidence: Box::new(crate::consensus::DoubleSignEvidence::decode_from(r)?),
            },
            20 => L1Op::ChallengeAvailability {
                chain: r.u64("chain")?,
                anchor: r.u64("anchor")?,
                positions: r.vec("positions", super::MAX_AVAILABILITY_POSITIONS as u64)?,
            },
            21 => L1Op::AnswerAvailability {
                id: r.u64("id")?,
                samples: r.vec("samples", super::MAX_AVAILABILITY_POSITIONS as u64)?,
            },
            22 => L1Op::TimeoutAvailability { id: r.u64("id")? },
            23 => L1Op::ReportOffline {
                chain: r.u64("chain")?,
                sequencer: Address::decode_from(r)?,
            },
            k => {
                return Err(CodecError::Invalid {
                    what: "op",
                    detail: format!("unknown L1 operation {k}"),
                })
            }
        })
    }
}

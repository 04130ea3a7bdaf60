//! L1→L2 messages: what the L1 bridge queues for an L2 chain (deposits and forced-inclusion
//! transactions), and the hash chain over the queue that L2 state and L1 both keep.

use super::tx::L2Transaction;
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, Address, H256};
use serde::{Deserialize, Serialize};

/// What an L1→L2 message asks the L2 to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum L1MessageBody {
    /// Credit `amount` to `recipient` on L2 (escrowed or burned on L1).
    Deposit {
        /// L2 account credited.
        recipient: Address,
        /// Amount in the smallest unit (positive).
        amount: i64,
    },
    /// A signed L2 transaction queued on L1 that the sequencers must include.
    ForcedTransaction {
        /// The transaction, signed by its sender.
        tx: Box<L2Transaction>,
    },
}

/// One message of a chain's L1→L2 queue.
///
/// Serialization (casl2's own): `index u64 ‖ l1Block u64 ‖ l1TxHash u256 ‖ l1Sender u160 ‖ kind u8`
/// then for kind 0 (deposit) `recipient u160 ‖ amount i64`, for kind 1 (forced transaction) the
/// `L2Transaction`. The message hash (its id) is SHA256d of that serialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Message {
    /// Position in the chain's queue: 0, 1, 2, … with no gaps.
    pub index: u64,
    /// L1 block that queued it.
    pub l1_block: u64,
    /// L1 transaction that queued it.
    pub l1_tx_hash: H256,
    /// L1 account that queued it.
    pub l1_sender: Address,
    /// What it does.
    pub body: L1MessageBody,
}

impl L1Message {
    /// The message id: SHA256d of its serialization.
    pub fn hash(&self) -> H256 {
        sha256d(&self.encode())
    }
}

/// Fold one message into the queue's hash chain: `SHA256d(chain ‖ messageHash)`. The chain of
/// an empty queue is 32 zero bytes.
pub fn queue_chain_next(chain: &H256, message_hash: &H256) -> H256 {
    crate::hash::hash_pair(chain, message_hash)
}

impl Encode for L1Message {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.l1_block.to_le_bytes());
        self.l1_tx_hash.encode_to(out);
        self.l1_sender.encode_to(out);
        match &self.body {
            L1MessageBody::Deposit { recipient, amount } => {
                out.push(0);
                recipient.encode_to(out);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            L1MessageBody::ForcedTransaction { tx } => {
                out.push(1);
                tx.encode_to(out);
            }
        }
    }
}

impl Decode for L1Message {
    const MIN_SIZE: usize = 8 + 8 + 32 + 20 + 1 + 28;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let index = r.u64("index")?;
        let l1_block = r.u64("l1Block")?;
        let l1_tx_hash = H256::decode_from(r)?;
        let l1_sender = Address::decode_from(r)?;
        let body = match r.u8("message kind")? {
            0 => L1MessageBody::Deposit {
                recipient: Address::decode_from(r)?,
                amount: r.i64("amount")?,
            },
            1 => L1MessageBody::ForcedTransaction {
                tx: Box::new(L2Transaction::decode_from(r)?),
            },
            k => {
                return Err(CodecError::Invalid {
                    what: "message kind",
                    detail: format!("unknown kind {k}"),
                })
            }
        };
        Ok(L1Message {
            index,
            l1_block,
            l1_tx_hash,
            l1_sender,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_hash_vector() {
        let m = L1Message {
            index: 7,
            l1_block: 100,
            l1_tx_hash: H256([0xaa; 32]),
            l1_sender: Address([0x11; 20]),
            body: L1MessageBody::Deposit {
                recipient: Address([0x22; 20]),
                amount: 10_000_000,
            },
        };
        let b = m.encode();
        assert_eq!(b.len(), 8 + 8 + 32 + 20 + 1 + 20 + 8);
        assert_eq!(L1Message::decode(&b).unwrap(), m);
        assert_eq!(
            m.hash().to_hex(),
            "0x1502925ca6056b6ad2854a50ab84d14bb13c8fcb1ea3a1b96e976fcebb3127c3"
        );
        let mut bad = b.clone();
        bad[68] = 9;
        assert!(L1Message::decode(&bad).is_err());
        assert_eq!(
            queue_chain_next(&H256::ZERO, &m.hash()),
            crate::hash::hash_pair(&H256::ZERO, &m.hash())
        );
    }
}

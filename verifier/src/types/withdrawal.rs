//! Withdrawal records: what an L2 WITHDRAWAL transaction leaves in the state tree, for L1 to
//! pay out against a finalized root.

use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d_parts, Address, H256};
use serde::{Deserialize, Serialize};

/// Tag of withdrawal-record keys in the state tree.
pub const WITHDRAWAL_KEY_TAG: &[u8] = b"CASL2/withdrawal";

/// A withdrawal initiated on L2: `amount` debited from `l2Sender`, to be paid to `l1Recipient`
/// on L1 once a root holding this record is final.
///
/// Serialization (casl2's own, 88 bytes): `id u256 ‖ l2Sender u160 ‖ l1Recipient u160 ‖
/// amount i64 ‖ l2Block u64`. It is stored in the state tree under [`WithdrawalRecord::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalRecord {
    /// The withdrawal id: the hash of the L2 transaction that made it.
    pub id: H256,
    /// L2 account debited.
    pub l2_sender: Address,
    /// L1 account to pay.
    pub l1_recipient: Address,
    /// Amount in the smallest unit.
    pub amount: i64,
    /// L2 block that holds it.
    pub l2_block: u64,
}

impl WithdrawalRecord {
    /// Serialized size.
    pub const SIZE: usize = 88;

    /// The state-tree key of the withdrawal with this id: `SHA256d("CASL2/withdrawal" ‖ id)`.
    pub fn key_for(id: &H256) -> H256 {
        sha256d_parts(&[WITHDRAWAL_KEY_TAG, &id.0])
    }

    /// This record's state-tree key.
    pub fn key(&self) -> H256 {
        Self::key_for(&self.id)
    }
}

impl Encode for WithdrawalRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.l2_sender.encode_to(out);
        self.l1_recipient.encode_to(out);
        out.extend_from_slice(&self.amount.to_le_bytes());
        out.extend_from_slice(&self.l2_block.to_le_bytes());
    }
}

impl Decode for WithdrawalRecord {
    const MIN_SIZE: usize = 88;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(WithdrawalRecord {
            id: H256::decode_from(r)?,
            l2_sender: Address::decode_from(r)?,
            l1_recipient: Address::decode_from(r)?,
            amount: r.i64("amount")?,
            l2_block: r.u64("l2Block")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let w = WithdrawalRecord {
            id: H256([1; 32]),
            l2_sender: Address([2; 20]),
            l1_recipient: Address([3; 20]),
            amount: 5,
            l2_block: 9,
        };
        let b = w.encode();
        assert_eq!(b.len(), WithdrawalRecord::SIZE);
        assert_eq!(WithdrawalRecord::decode(&b).unwrap(), w);
        assert_ne!(w.key(), WithdrawalRecord::key_for(&H256([2; 32])));
    }
}

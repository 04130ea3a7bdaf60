//! `BatchHeader`: the 13 fields of a batch that the real node hashes (`BatchData::GetHash`).

use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, Address, H256};
use serde::{Deserialize, Serialize};

/// The hashed part of a batch of L2 blocks, in the node's hash order:
/// `version u32, startBlock u64, endBlock u64, preStateRoot u256, postStateRoot u256,
/// transactionsRoot u256, transactionCount u64, totalGasUsed u64, l2ChainId u64,
/// l1AnchorBlock u64, l1AnchorHash u256, sequencerAddress u160, timestamp u64` (208 bytes).
///
/// casl2 serializes a `BatchHeader` as exactly these bytes, so its hash is SHA256d of its
/// encoding. (The node's full `BatchData` also carries the compressed transactions and the
/// sequencer signature, in a different order; those are not part of this type.)
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchHeader {
    /// Protocol version.
    pub version: u32,
    /// First L2 block of the batch.
    pub start_block: u64,
    /// Last L2 block of the batch (inclusive).
    pub end_block: u64,
    /// State root before the batch.
    pub pre_state_root: H256,
    /// State root after the batch.
    pub post_state_root: H256,
    /// Merkle root of the batch's transactions.
    pub transactions_root: H256,
    /// Number of transactions.
    pub transaction_count: u64,
    /// Gas used by all transactions.
    pub total_gas_used: u64,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// L1 block height the batch references.
    pub l1_anchor_block: u64,
    /// L1 block hash the batch references.
    pub l1_anchor_hash: H256,
    /// Sequencer that made the batch.
    pub sequencer_address: Address,
    /// Creation time (Unix seconds).
    pub timestamp: u64,
}

impl BatchHeader {
    /// Serialized size.
    pub const SIZE: usize = 4 + 8 + 8 + 32 * 3 + 8 * 4 + 32 + 20 + 8;

    /// The batch hash: SHA256d of the 13 fields in order.
    pub fn hash(&self) -> H256 {
        sha256d(&self.encode())
    }
}

impl Encode for BatchHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.start_block.to_le_bytes());
        out.extend_from_slice(&self.end_block.to_le_bytes());
        self.pre_state_root.encode_to(out);
        self.post_state_root.encode_to(out);
        self.transactions_root.encode_to(out);
        out.extend_from_slice(&self.transaction_count.to_le_bytes());
        out.extend_from_slice(&self.total_gas_used.to_le_bytes());
        out.extend_from_slice(&self.l2_chain_id.to_le_bytes());
        out.extend_from_slice(&self.l1_anchor_block.to_le_bytes());
        self.l1_anchor_hash.encode_to(out);
        self.sequencer_address.encode_to(out);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
    }
}

impl Decode for BatchHeader {
    const MIN_SIZE: usize = Self::SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(BatchHeader {
            version: r.u32("version")?,
            start_block: r.u64("startBlock")?,
            end_block: r.u64("endBlock")?,
            pre_state_root: H256(r.array("preStateRoot")?),
            post_state_root: H256(r.array("postStateRoot")?),
            transactions_root: H256(r.array("transactionsRoot")?),
            transaction_count: r.u64("transactionCount")?,
            total_gas_used: r.u64("totalGasUsed")?,
            l2_chain_id: r.u64("l2ChainId")?,
            l1_anchor_block: r.u64("l1AnchorBlock")?,
            l1_anchor_hash: H256(r.array("l1AnchorHash")?),
            sequencer_address: Address(r.array("sequencerAddress")?),
            timestamp: r.u64("timestamp")?,
        })
    }
}

/// Fixed examples (the vectors in `docs/protocol.md`).
#[cfg(test)]
pub(crate) mod examples {
    use super::*;
    use crate::types::tx::examples::{example_tx, key_a};

    /// A batch of block 1 (the example block), version 1, by key A.
    pub(crate) fn example_batch() -> BatchHeader {
        BatchHeader {
            version: 1,
            start_block: 1,
            end_block: 1,
            pre_state_root: H256::ZERO,
            post_state_root: H256([0x5a; 32]),
            transactions_root: example_tx().hash(),
            transaction_count: 1,
            total_gas_used: 21_000,
            l2_chain_id: 1,
            l1_anchor_block: 100,
            l1_anchor_hash: H256([0xaa; 32]),
            sequencer_address: key_a().address(),
            timestamp: 1_700_000_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;

    /// Hash of the example batch header (docs/protocol.md).
    const EXAMPLE_BATCH_HASH: &str =
        "0x6541ceae29a4f87a0c64513732d6d888406c30e8d37970f11b514fe9b1e0c45f";

    #[test]
    fn example_vector_and_layout() {
        let b = example_batch();
        assert_eq!(b.hash().to_hex(), EXAMPLE_BATCH_HASH);
        let e = b.encode();
        assert_eq!(e.len(), BatchHeader::SIZE);
        assert_eq!(BatchHeader::SIZE, 208);
        assert_eq!(&e[..4], &1u32.to_le_bytes());
        assert_eq!(&e[e.len() - 8..], &1_700_000_000u64.to_le_bytes());
    }

    #[test]
    fn round_trips() {
        for b in [BatchHeader::default(), example_batch()] {
            assert_eq!(BatchHeader::decode(&b.encode()).unwrap(), b);
            let j: BatchHeader = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            assert_eq!(j, b);
        }
        assert!(BatchHeader::decode(&[0; 207]).is_err());
        assert!(BatchHeader::decode(&[0; 209]).is_err());
    }
}

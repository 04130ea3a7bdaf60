//! `L2BlockHeader` and `L2Block`: the real node's block layout, hash and transactions root.

use crate::codec::{write_var_bytes, write_vec, CodecError, Decode, Encode, Reader};
use crate::hash::{merkle_branch, merkle_root, sha256d, Address, MerkleBranch, H256};
use crate::keys::{PrivateKey, PublicKey, SignatureError};
use crate::types::tx::{hex_bytes, L2Transaction, MAX_SIGNATURE};
use serde::{Deserialize, Serialize};

/// Largest `extraData`: 32 bytes, as the node.
pub const MAX_EXTRA_DATA: u64 = 32;
/// Most transactions in one block (the 30 M gas limit fits at most 1428 transfers).
pub const MAX_BLOCK_TRANSACTIONS: u64 = 16_384;
/// Most L1 message hashes in one block.
pub const MAX_L1_MESSAGES: u64 = 4_096;
/// Most sequencer signatures on one block.
pub const MAX_BLOCK_SIGNATURES: u64 = 1_024;

/// An L2 block header (237 bytes with empty `extraData`); its hash is the block hash.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2BlockHeader {
    /// Height.
    pub block_number: u64,
    /// Hash of the parent header.
    pub parent_hash: H256,
    /// Account-tree root after the block.
    pub state_root: H256,
    /// Merkle root of the transaction hashes.
    pub transactions_root: H256,
    /// Merkle root of the receipts.
    pub receipts_root: H256,
    /// Producing sequencer.
    pub sequencer: Address,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used by all transactions.
    pub gas_used: u64,
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// L1 block height this block references.
    pub l1_anchor_block: u64,
    /// L1 block hash this block references.
    pub l1_anchor_hash: H256,
    /// Leader-election slot.
    pub slot_number: u64,
    /// Free bytes (at most [`MAX_EXTRA_DATA`]).
    #[serde(with = "hex_bytes")]
    pub extra_data: Vec<u8>,
}

impl L2BlockHeader {
    /// Serialized size with empty `extraData`.
    pub const BASE_SIZE: usize = 237;

    /// The block hash: SHA256d of the serialized header.
    pub fn hash(&self) -> H256 {
        sha256d(&self.encode())
    }
}

impl Encode for L2BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.block_number.to_le_bytes());
        self.parent_hash.encode_to(out);
        self.state_root.encode_to(out);
        self.transactions_root.encode_to(out);
        self.receipts_root.encode_to(out);
        self.sequencer.encode_to(out);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.gas_limit.to_le_bytes());
        out.extend_from_slice(&self.gas_used.to_le_bytes());
        out.extend_from_slice(&self.l2_chain_id.to_le_bytes());
        out.extend_from_slice(&self.l1_anchor_block.to_le_bytes());
        self.l1_anchor_hash.encode_to(out);
        out.extend_from_slice(&self.slot_number.to_le_bytes());
        write_var_bytes(out, &self.extra_data);
    }
}

impl Decode for L2BlockHeader {
    const MIN_SIZE: usize = Self::BASE_SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(L2BlockHeader {
            block_number: r.u64("blockNumber")?,
            parent_hash: H256(r.array("parentHash")?),
            state_root: H256(r.array("stateRoot")?),
            transactions_root: H256(r.array("transactionsRoot")?),
            receipts_root: H256(r.array("receiptsRoot")?),
            sequencer: Address(r.array("sequencer")?),
            timestamp: r.u64("timestamp")?,
            gas_limit: r.u64("gasLimit")?,
            gas_used: r.u64("gasUsed")?,
            l2_chain_id: r.u64("l2ChainId")?,
            l1_anchor_block: r.u64("l1AnchorBlock")?,
            l1_anchor_hash: H256(r.array("l1AnchorHash")?),
            slot_number: r.u64("slotNumber")?,
            extra_data: r.var_bytes("extraData", MAX_EXTRA_DATA)?,
        })
    }
}

/// A sequencer's signature on a block: `sequencer u160, signature bytes, timestamp u64`.
///
/// The signature is strict DER, low-S, over the block hash (casl2's choice of signing hash; see
/// `docs/protocol.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockSignature {
    /// The signing sequencer.
    pub sequencer: Address,
    /// DER signature over the block hash (at most [`MAX_SIGNATURE`] bytes).
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// When it was signed (Unix seconds).
    pub timestamp: u64,
}

impl BlockSignature {
    /// Sign `block_hash` with `key`; the sequencer is the key's address.
    pub fn sign(
        key: &PrivateKey,
        block_hash: &H256,
        timestamp: u64,
    ) -> Result<Self, SignatureError> {
        Ok(BlockSignature {
            sequencer: key.address(),
            signature: key.sign_der(block_hash)?,
            timestamp,
        })
    }

    /// Check that `key` is this entry's sequencer and signed `block_hash`.
    pub fn verify(&self, block_hash: &H256, key: &PublicKey) -> Result<(), SignatureError> {
        SignatureError::check_signer("sequencer", &self.sequencer, key)?;
        Ok(key.verify_der(block_hash, &self.signature)?)
    }
}

impl Encode for BlockSignature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.sequencer.encode_to(out);
        write_var_bytes(out, &self.signature);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
    }
}

impl Decode for BlockSignature {
    const MIN_SIZE: usize = 20 + 1 + 8;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(BlockSignature {
            sequencer: Address(r.array("signatures.sequencer")?),
            signature: r.var_bytes("signatures.signature", MAX_SIGNATURE)?,
            timestamp: r.u64("signatures.timestamp")?,
        })
    }
}

/// An L2 block: header, transactions, L1 message hashes, sequencer signatures, finality flag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2Block {
    /// The header.
    pub header: L2BlockHeader,
    /// The transactions (at most [`MAX_BLOCK_TRANSACTIONS`]).
    pub transactions: Vec<L2Transaction>,
    /// Hashes of the L1 → L2 messages processed (at most [`MAX_L1_MESSAGES`]).
    pub l1_message_hashes: Vec<H256>,
    /// Sequencer signatures (at most [`MAX_BLOCK_SIGNATURES`]).
    pub signatures: Vec<BlockSignature>,
    /// Whether the block is finalized.
    pub is_finalized: bool,
}

impl L2Block {
    /// The block hash (the header's hash).
    pub fn hash(&self) -> H256 {
        self.header.hash()
    }

    /// Hashes of the transactions, in order.
    pub fn transaction_hashes(&self) -> Vec<H256> {
        self.transactions.iter().map(L2Transaction::hash).collect()
    }

    /// Bitcoin-style Merkle root of the transaction hashes (zero for no transactions).
    pub fn transactions_root(&self) -> H256 {
        merkle_root(&self.transaction_hashes())
    }

    /// True when the header's `transactionsRoot` matches the transactions.
    pub fn transactions_root_matches(&self) -> bool {
        self.header.transactions_root == self.transactions_root()
    }

    /// Inclusion proof of transaction `index` against [`transactions_root`](Self::transactions_root);
    /// `None` when the index is out of range.
    pub fn transaction_proof(&self, index: usize) -> Option<MerkleBranch> {
        merkle_branch(&self.transaction_hashes(), index)
    }

    /// Append `key`'s signature over the block hash.
    pub fn sign(&mut self, key: &PrivateKey, timestamp: u64) -> Result<(), SignatureError> {
        let s = BlockSignature::sign(key, &self.hash(), timestamp)?;
        self.signatures.push(s);
        Ok(())
    }
}

impl Encode for L2Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        write_vec(out, &self.transactions);
        write_vec(out, &self.l1_message_hashes);
        write_vec(out, &self.signatures);
        out.push(self.is_finalized as u8);
    }
}

impl Decode for L2Block {
    const MIN_SIZE: usize = L2BlockHeader::MIN_SIZE + 1 + 1 + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(L2Block {
            header: L2BlockHeader::decode_from(r)?,
            transactions: r.vec("transactions", MAX_BLOCK_TRANSACTIONS)?,
            l1_message_hashes: r.vec("l1MessageHashes", MAX_L1_MESSAGES)?,
            signatures: r.vec("signatures", MAX_BLOCK_SIGNATURES)?,
            is_finalized: r.bool("isFinalized")?,
        })
    }
}

/// Fixed examples (the vectors in `docs/protocol.md`).
#[cfg(test)]
pub(crate) mod examples {
    use super::*;
    use crate::types::tx::examples::{example_tx, full_tx, key_a, key_b};

    /// The example header: block 1 holding the example transaction, produced by key A.
    pub(crate) fn example_header() -> L2BlockHeader {
        L2BlockHeader {
            block_number: 1,
            parent_hash: H256::ZERO,
            state_root: H256([0x5a; 32]),
            transactions_root: example_tx().hash(),
            receipts_root: H256::ZERO,
            sequencer: key_a().address(),
            timestamp: 1_700_000_000,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            l2_chain_id: 1,
            l1_anchor_block: 100,
            l1_anchor_hash: H256([0xaa; 32]),
            slot_number: 0,
            extra_data: Vec::new(),
        }
    }

    /// The example block: the example header and transaction, signed by key A at 1_700_000_001.
    pub(crate) fn example_block() -> L2Block {
        let mut b = L2Block {
            header: example_header(),
            transactions: vec![example_tx()],
            ..Default::default()
        };
        b.sign(&key_a(), 1_700_000_001).unwrap();
        b
    }

    /// A block with every field used.
    pub(crate) fn full_block() -> L2Block {
        let mut b = L2Block {
            header: L2BlockHeader {
                extra_data: b"casl2".to_vec(),
                ..example_header()
            },
            transactions: vec![example_tx(), full_tx(), example_tx()],
            l1_message_hashes: vec![H256([1; 32]), H256([2; 32])],
            signatures: Vec::new(),
            is_finalized: true,
        };
        b.header.transactions_root = b.transactions_root();
        b.sign(&key_a(), 5).unwrap();
        b.sign(&key_b(), 6).unwrap();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;
    use crate::hash::verify_merkle_branch;
    use crate::types::tx::examples::{example_tx, key_a, key_b};

    /// Hash of the example header (docs/protocol.md).
    const EXAMPLE_HEADER_HASH: &str =
        "0xda61cc7ec9adbe7ba334d9e813c9205a93803bb0b71aaad8f8c70882594466c0";
    /// DER signature of key A over the example header hash (docs/protocol.md).
    const EXAMPLE_BLOCK_SIG: &str = "0x3044022019fe4bae816be4cb55e01d3f8987f1bfaa3a298dc338282fac0de83688bd99b802206de02b55eb95031c14311be3b512e338eb0abfe6a124239c19d14faac590742b";

    /// The 237-byte serialization of the example header (docs/protocol.md).
    const EXAMPLE_HEADER_ENCODING: &str = "010000000000000000000000000000000000000000000000000000000000000000000000000000005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5afaef4f52e14e2f6f018cd22e441cb4ef0bd059a235cd3dd6ef1e338944cf1bac0000000000000000000000000000000000000000000000000000000000000000fc7250a211deddc70ee5a2738de5f07817351cef00f153650000000080c3c90100000000085200000000000001000000000000006400000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa000000000000000000";

    #[test]
    fn example_header_vectors() {
        let b = example_block();
        assert_eq!(hex::encode(b.header.encode()), EXAMPLE_HEADER_ENCODING);
        assert_eq!(b.hash().to_hex(), EXAMPLE_HEADER_HASH);
        assert_eq!(
            format!("0x{}", hex::encode(&b.signatures[0].signature)),
            EXAMPLE_BLOCK_SIG
        );
        b.signatures[0]
            .verify(&b.hash(), &key_a().public_key())
            .unwrap();
        assert!(b.transactions_root_matches());
    }

    #[test]
    fn header_is_237_bytes() {
        assert_eq!(L2BlockHeader::default().encode().len(), 237);
        assert_eq!(example_header().encode().len(), L2BlockHeader::BASE_SIZE);
        let h = L2BlockHeader {
            extra_data: vec![0; 32],
            ..example_header()
        };
        assert_eq!(h.encode().len(), 237 + 32);
        assert_eq!(L2BlockHeader::decode(&h.encode()).unwrap(), h);
        let too_long = L2BlockHeader {
            extra_data: vec![0; 33],
            ..example_header()
        };
        assert!(matches!(
            L2BlockHeader::decode(&too_long.encode()),
            Err(CodecError::TooLong {
                what: "extraData",
                ..
            })
        ));
    }

    #[test]
    fn transactions_root_and_proofs() {
        let b = full_block();
        assert!(b.transactions_root_matches());
        let root = b.transactions_root();
        let hashes = b.transaction_hashes();
        for (i, h) in hashes.iter().enumerate() {
            let p = b.transaction_proof(i).unwrap();
            verify_merkle_branch(h, &p, &root).unwrap();
        }
        assert!(b.transaction_proof(3).is_none());
        assert_eq!(L2Block::default().transactions_root(), H256::ZERO);
        assert_eq!(example_block().transactions_root(), example_tx().hash());
    }

    #[test]
    fn block_signatures() {
        let b = full_block();
        let h = b.hash();
        b.signatures[0].verify(&h, &key_a().public_key()).unwrap();
        b.signatures[1].verify(&h, &key_b().public_key()).unwrap();
        assert!(matches!(
            b.signatures[0].verify(&h, &key_b().public_key()),
            Err(SignatureError::SignerMismatch { .. })
        ));
        assert!(b.signatures[0]
            .verify(&H256([1; 32]), &key_a().public_key())
            .is_err());
    }

    #[test]
    fn round_trips() {
        for b in [L2Block::default(), example_block(), full_block()] {
            assert_eq!(L2Block::decode(&b.encode()).unwrap(), b);
            assert_eq!(L2BlockHeader::decode(&b.header.encode()).unwrap(), b.header);
            for s in &b.signatures {
                assert_eq!(BlockSignature::decode(&s.encode()).unwrap(), *s);
            }
            let j: L2Block = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
            assert_eq!(j, b);
        }
    }
}

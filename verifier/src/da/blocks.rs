//! A batch of L2 blocks as DA bytes: the blocks in the node's serialization behind a CompactSize
//! count. This is what [`encode_blocks`] compresses and commits to, and what [`decode_blocks`]
//! turns reconstructed bytes back into.

use super::{encode_batch, DaError, DaParams, EncodedBatch};
use crate::codec::{write_vec, Reader};
use crate::types::L2Block;

/// Most blocks one batch may hold.
pub const MAX_BLOCKS_PER_BATCH: u64 = 10_000;

/// Serialize a batch's blocks: `CompactSize count ‖ L2Block…` (node format).
pub fn serialize_blocks(blocks: &[L2Block]) -> Vec<u8> {
    let mut out = Vec::new();
    write_vec(&mut out, blocks);
    out
}

/// Parse the bytes of a batch back into its blocks (strict: no trailing bytes, capped count).
pub fn decode_blocks(bytes: &[u8]) -> Result<Vec<L2Block>, DaError> {
    let mut r = Reader::new(bytes);
    let blocks = r.vec::<L2Block>("batch blocks", MAX_BLOCKS_PER_BATCH)?;
    r.finish()?;
    Ok(blocks)
}

/// Serialize, compress, extend and commit to a batch of blocks (needs the `zstd` feature).
pub fn encode_blocks(blocks: &[L2Block], params: &DaParams) -> Result<EncodedBatch, DaError> {
    encode_batch(&serialize_blocks(blocks), params)
}

#[cfg(all(test, feature = "zstd"))]
mod tests {
    use super::*;
    use crate::da::{reconstruct, Axis};
    use crate::keys::PrivateKey;
    use crate::types::{L2BlockHeader, L2Transaction, TxType};
    use crate::Address;

    #[test]
    fn blocks_survive_encoding_loss_and_reconstruction() {
        let key = PrivateKey::from_bytes(&[0x11; 32]).unwrap();
        let mut blocks = Vec::new();
        for n in 0..5u64 {
            let mut txs = Vec::new();
            for i in 0..20u64 {
                let mut tx = L2Transaction {
                    from: key.address(),
                    to: Address([i as u8; 20]),
                    value: 1_000 + i as i64,
                    nonce: n * 20 + i,
                    gas_limit: 21_000,
                    tx_type: TxType::Transfer,
                    l2_chain_id: 1,
                    ..Default::default()
                };
                tx.sign(&key).unwrap();
                txs.push(tx);
            }
            let header = L2BlockHeader {
                block_number: n,
                timestamp: 1_000 + n,
                ..Default::default()
            };
            let mut b = L2Block {
                header,
                transactions: txs,
                ..Default::default()
            };
            b.header.transactions_root = b.transactions_root();
            blocks.push(b);
        }
        let params = DaParams::default();
        let enc = encode_blocks(&blocks, &params).unwrap();
        // Keep only the right half of every row (the row parity): enough to rebuild.
        let w = enc.square.width();
        let samples: Vec<_> = (0..w)
            .flat_map(|r| (w / 2..w).map(move |c| (r, c)))
            .map(|(r, c)| enc.square.sample(r, c, Axis::Row).unwrap())
            .collect();
        let bytes = reconstruct(&enc.commitment, &samples, &params).unwrap();
        assert_eq!(decode_blocks(&bytes).unwrap(), blocks);
        let mut bad = bytes.clone();
        bad.push(0);
        assert!(decode_blocks(&bad).is_err());
    }
}

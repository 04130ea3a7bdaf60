//! `AccountState`: the 92-byte leaf value of the account tree.

use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::H256;
use serde::{Deserialize, Serialize};

/// The state of one L2 account, serialized as the real node does (92 bytes):
/// `balance i64, nonce u64, codeHash [32], storageRoot [32], hatScore u32, lastActivity u64`.
///
/// An account whose fields are all zero is absent from the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountState {
    /// Balance in the smallest unit (10^7 per CAS).
    #[serde(default)]
    pub balance: i64,
    /// Number of transactions sent.
    #[serde(default)]
    pub nonce: u64,
    /// Hash of the contract code, zero for plain accounts.
    #[serde(default)]
    pub code_hash: H256,
    /// Root of the contract's storage tree, zero for plain accounts.
    #[serde(default)]
    pub storage_root: H256,
    /// Cached HAT v2 reputation score (0..=100).
    #[serde(default)]
    pub hat_score: u32,
    /// L2 block of the last activity.
    #[serde(default)]
    pub last_activity: u64,
}

impl AccountState {
    /// Serialized size in bytes.
    pub const SIZE: usize = 92;

    /// True when every field is zero: such an account is deleted from the tree.
    pub fn is_empty(&self) -> bool {
        *self == AccountState::default()
    }

    /// The 92-byte serialization as a fixed array.
    pub fn to_bytes(&self) -> [u8; 92] {
        let mut b = [0u8; 92];
        b[0..8].copy_from_slice(&self.balance.to_le_bytes());
        b[8..16].copy_from_slice(&self.nonce.to_le_bytes());
        b[16..48].copy_from_slice(&self.code_hash.0);
        b[48..80].copy_from_slice(&self.storage_root.0);
        b[80..84].copy_from_slice(&self.hat_score.to_le_bytes());
        b[84..92].copy_from_slice(&self.last_activity.to_le_bytes());
        b
    }
}

impl Encode for AccountState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }
}

impl Decode for AccountState {
    const MIN_SIZE: usize = 92;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(AccountState {
            balance: r.i64("balance")?,
            nonce: r.u64("nonce")?,
            code_hash: H256(r.array("codeHash")?),
            storage_root: H256(r.array("storageRoot")?),
            hat_score: r.u32("hatScore")?,
            last_activity: r.u64("lastActivity")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_92_bytes_and_round_trips() {
        let a = AccountState {
            balance: -5,
            nonce: 7,
            code_hash: H256([1; 32]),
            storage_root: H256([2; 32]),
            hat_score: 75,
            last_activity: 42,
        };
        let b = a.encode();
        assert_eq!(b.len(), 92);
        assert_eq!(&b[0..8], &(-5i64).to_le_bytes());
        assert_eq!(AccountState::decode(&b).unwrap(), a);
        assert!(AccountState::decode(&b[..91]).is_err());
        let mut long = b.clone();
        long.push(0);
        assert!(AccountState::decode(&long).is_err());
    }
}

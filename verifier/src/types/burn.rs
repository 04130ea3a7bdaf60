//! L1 → L2 deposits by burning: the real node's `L2BURN` `OP_RETURN` script.
//!
//! `6a 33 | "L2BURN" | chainId u32 LE | 33-byte compressed public key | amount i64 LE` — 53 bytes:
//! `OP_RETURN`, a direct push of 51 (0x33) bytes, then the payload. The L2 recipient is the
//! HASH160 of the public key.

use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::Address;
use crate::keys::{KeyError, PublicKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Length of a burn script.
pub const BURN_SCRIPT_LEN: usize = 53;
/// The marker after the push opcode.
pub const BURN_MARKER: &[u8; 6] = b"L2BURN";
/// `OP_RETURN`.
const OP_RETURN: u8 = 0x6a;
/// Direct push of the 51-byte payload.
const PUSH_51: u8 = 0x33;

/// Why a script is not a valid burn.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BurnError {
    /// The script is not 53 bytes.
    #[error("burn script must be {BURN_SCRIPT_LEN} bytes, got {0}")]
    Length(usize),
    /// The script does not start with `OP_RETURN` and a 51-byte push (`6a 33`).
    #[error("burn script must start with 6a 33 (OP_RETURN, push 51), got {0:02x} {1:02x}")]
    NotOpReturnPush(u8, u8),
    /// The payload does not start with `L2BURN`.
    #[error("burn payload does not start with \"L2BURN\"")]
    BadMarker,
    /// The recipient public key is invalid.
    #[error("invalid burn recipient public key: {0}")]
    InvalidRecipient(#[from] KeyError),
    /// The amount is zero or negative.
    #[error("burn amount must be positive, got {0}")]
    NonPositiveAmount(i64),
}

/// A parsed burn: which L2 chain, who gets the coins, how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnData {
    /// The L2 chain id (32 bits in the script).
    pub chain_id: u32,
    /// The L2 recipient's compressed public key.
    pub recipient: PublicKey,
    /// The amount burned, in the smallest unit (positive).
    pub amount: i64,
}

impl BurnData {
    /// A burn of `amount` (must be positive) for `recipient` on `chain_id`.
    pub fn new(chain_id: u32, recipient: PublicKey, amount: i64) -> Result<Self, BurnError> {
        if amount <= 0 {
            return Err(BurnError::NonPositiveAmount(amount));
        }
        Ok(BurnData {
            chain_id,
            recipient,
            amount,
        })
    }

    /// The L2 address credited: HASH160 of the recipient key.
    pub fn recipient_address(&self) -> Address {
        self.recipient.address()
    }

    /// The 53-byte `OP_RETURN` script.
    pub fn to_script(&self) -> [u8; BURN_SCRIPT_LEN] {
        let mut s = [0u8; BURN_SCRIPT_LEN];
        s[0] = OP_RETURN;
        s[1] = PUSH_51;
        s[2..8].copy_from_slice(BURN_MARKER);
        s[8..12].copy_from_slice(&self.chain_id.to_le_bytes());
        s[12..45].copy_from_slice(&self.recipient.to_bytes());
        s[45..53].copy_from_slice(&self.amount.to_le_bytes());
        s
    }

    /// Parse a burn script, rejecting a wrong length, a wrong opcode/push/marker, an invalid
    /// public key and a non-positive amount.
    pub fn parse_script(script: &[u8]) -> Result<Self, BurnError> {
        if script.len() != BURN_SCRIPT_LEN {
            return Err(BurnError::Length(script.len()));
        }
        if script[0] != OP_RETURN || script[1] != PUSH_51 {
            return Err(BurnError::NotOpReturnPush(script[0], script[1]));
        }
        if &script[2..8] != BURN_MARKER {
            return Err(BurnError::BadMarker);
        }
        let mut c = [0u8; 4];
        c.copy_from_slice(&script[8..12]);
        let recipient = PublicKey::from_bytes(&script[12..45])?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&script[45..53]);
        BurnData::new(u32::from_le_bytes(c), recipient, i64::from_le_bytes(a))
    }

    /// True when `script` starts like a burn (`6a 33 "L2BURN"`), whether or not it is valid:
    /// for scanning L1 outputs.
    pub fn looks_like_burn(script: &[u8]) -> bool {
        script.len() >= 8
            && script[0] == OP_RETURN
            && script[1] == PUSH_51
            && &script[2..8] == BURN_MARKER
    }
}

/// The codec form of a burn is its 53-byte script.
impl Encode for BurnData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_script());
    }
}

impl Decode for BurnData {
    const MIN_SIZE: usize = BURN_SCRIPT_LEN;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let s = r.take(BURN_SCRIPT_LEN, "burn script")?;
        BurnData::parse_script(s).map_err(|e| CodecError::Invalid {
            what: "burn script",
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compat notes' example: chain 1, 10 CAS.
    const COMPAT_BURN: &str = "6a334c324255524e01000000028330767adc8ad2a1f3b0fa1c0b16d206dd81529ff1d5d5ed52455d28e02f81be00e1f50500000000";

    #[test]
    fn compat_vector() {
        let s = hex::decode(COMPAT_BURN).unwrap();
        let b = BurnData::parse_script(&s).unwrap();
        assert_eq!(b.chain_id, 1);
        assert_eq!(b.amount, 100_000_000); // 10 CAS at 10^7
        assert_eq!(
            b.recipient.to_hex(),
            "028330767adc8ad2a1f3b0fa1c0b16d206dd81529ff1d5d5ed52455d28e02f81be"
        );
        assert_eq!(
            b.recipient_address().to_hex(),
            "0x709cd4dccb5d9c5975515797530fca80d33a0ae7"
        );
        assert_eq!(b.to_script().to_vec(), s);
        assert_eq!(BurnData::decode(&s).unwrap(), b);
        assert_eq!(b.encode(), s);
        assert!(BurnData::looks_like_burn(&s));
        let j: BurnData = serde_json::from_str(&serde_json::to_string(&b).unwrap()).unwrap();
        assert_eq!(j, b);
    }

    #[test]
    fn rejections() {
        let s = hex::decode(COMPAT_BURN).unwrap();
        assert_eq!(BurnData::parse_script(&s[..52]), Err(BurnError::Length(52)));
        let mut long = s.clone();
        long.push(0);
        assert_eq!(BurnData::parse_script(&long), Err(BurnError::Length(54)));
        let mut t = s.clone();
        t[0] = 0x6b;
        assert!(matches!(
            BurnData::parse_script(&t),
            Err(BurnError::NotOpReturnPush(..))
        ));
        let mut t = s.clone();
        t[1] = 0x32;
        assert!(matches!(
            BurnData::parse_script(&t),
            Err(BurnError::NotOpReturnPush(..))
        ));
        let mut t = s.clone();
        t[2] = b'l';
        assert_eq!(BurnData::parse_script(&t), Err(BurnError::BadMarker));
        let mut t = s.clone();
        t[12] = 0x04;
        assert!(matches!(
            BurnData::parse_script(&t),
            Err(BurnError::InvalidRecipient(_))
        ));
        let mut t = s.clone();
        t[13..45].fill(0xff);
        assert!(matches!(
            BurnData::parse_script(&t),
            Err(BurnError::InvalidRecipient(_))
        ));
        for amount in [0i64, -1, i64::MIN] {
            let mut t = s.clone();
            t[45..].copy_from_slice(&amount.to_le_bytes());
            assert_eq!(
                BurnData::parse_script(&t),
                Err(BurnError::NonPositiveAmount(amount))
            );
        }
        let b = BurnData::parse_script(&s).unwrap();
        assert!(BurnData::new(1, b.recipient, 0).is_err());
        assert!(BurnData::decode(&t_with(&s, 0, 0)).is_err());
    }

    fn t_with(s: &[u8], i: usize, v: u8) -> Vec<u8> {
        let mut t = s.to_vec();
        t[i] = v;
        t
    }
}

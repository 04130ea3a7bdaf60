//! `L2Transaction`: the real node's L2 transaction, its hash and its compact signature.

use crate::codec::{
    write_compact_size, write_var_bytes, write_vec, CodecError, Decode, Encode, Reader,
};
use crate::hash::{sha256d, Address, H256};
use crate::keys::{
    parse_compact, recover_compact, recover_compact_address, KeyError, PrivateKey, PublicKey,
    SignatureError,
};
use serde::{Deserialize, Serialize};

/// Largest `data` (call data / deployment code): 128 KiB, the node's `MAX_TX_DATA_SIZE`.
pub const MAX_TX_DATA: u64 = 128 * 1024;
/// Largest `returnData`: 128 KiB.
pub const MAX_RETURN_DATA: u64 = 128 * 1024;
/// Largest signature field anywhere (compact is 65 bytes, strict DER at most 72).
pub const MAX_SIGNATURE: u64 = 80;
/// Largest string field anywhere (`errorMessage`, `rejectReason`, `endpoint`): 256 bytes.
pub const MAX_STRING: u64 = 256;
/// Most access-list entries: 256, the node's `MAX_ACCESS_LIST_SIZE`.
pub const MAX_ACCESS_LIST: u64 = 256;
/// Most storage keys per access-list entry: 256, the node's `MAX_STORAGE_KEYS_PER_ENTRY`.
pub const MAX_STORAGE_KEYS: u64 = 256;
/// Largest encrypted-payload ciphertext: 256 KiB (room for an encrypted 128 KiB transaction).
pub const MAX_CIPHERTEXT: u64 = 256 * 1024;
/// Largest encryption nonce / IV: 64 bytes.
pub const MAX_ENCRYPTION_NONCE: u64 = 64;

/// Serde helpers: byte vectors as `0x`-prefixed hex strings (the prefix is optional on input).
pub(crate) mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize as `0x…`.
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(b)))
    }

    /// Deserialize from hex, with or without `0x`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let t = s.strip_prefix("0x").unwrap_or(&s);
        hex::decode(t).map_err(serde::de::Error::custom)
    }
}

/// The transaction type, one byte on the wire; an unknown tag is a decoding error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum TxType {
    /// 0: value transfer.
    #[default]
    Transfer = 0,
    /// 1: contract deployment.
    ContractDeploy = 1,
    /// 2: contract call.
    ContractCall = 2,
    /// 3: L1 → L2 deposit.
    Deposit = 3,
    /// 4: L2 → L1 withdrawal.
    Withdrawal = 4,
    /// 5: cross-layer message.
    CrossLayerMsg = 5,
    /// 6: sequencer announcement.
    SeqAnnounce = 6,
    /// 7: forced inclusion from L1.
    ForcedInclusion = 7,
    /// 8: mint for an L1 burn.
    BurnMint = 8,
}

impl TxType {
    /// The type with wire tag `tag`, if there is one.
    pub fn from_u8(tag: u8) -> Option<TxType> {
        Some(match tag {
            0 => TxType::Transfer,
            1 => TxType::ContractDeploy,
            2 => TxType::ContractCall,
            3 => TxType::Deposit,
            4 => TxType::Withdrawal,
            5 => TxType::CrossLayerMsg,
            6 => TxType::SeqAnnounce,
            7 => TxType::ForcedInclusion,
            8 => TxType::BurnMint,
            _ => return None,
        })
    }

    /// The wire tag.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl Encode for TxType {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.as_u8());
    }
}

impl Decode for TxType {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let tag = r.u8("type")?;
        TxType::from_u8(tag).ok_or_else(|| CodecError::Invalid {
            what: "type",
            detail: format!("unknown transaction type {tag}"),
        })
    }
}

/// An EIP-2930 style access-list entry: `address u160, storageKeys vector<u256>`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessListEntry {
    /// The contract accessed.
    pub address: Address,
    /// Storage keys accessed (at most [`MAX_STORAGE_KEYS`]).
    pub storage_keys: Vec<H256>,
}

impl Encode for AccessListEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.address.encode_to(out);
        write_vec(out, &self.storage_keys);
    }
}

impl Decode for AccessListEntry {
    const MIN_SIZE: usize = 21;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(AccessListEntry {
            address: Address(r.array("accessList.address")?),
            storage_keys: r.vec("accessList.storageKeys", MAX_STORAGE_KEYS)?,
        })
    }
}

/// The encrypted form of a transaction for the MEV-protected mempool:
/// `ciphertext bytes, commitmentHash u256, nonce bytes, schemeVersion u8`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptedPayload {
    /// The encrypted transaction (at most [`MAX_CIPHERTEXT`] bytes).
    #[serde(with = "hex_bytes")]
    pub ciphertext: Vec<u8>,
    /// Commitment to the plaintext, fixing the order before decryption.
    pub commitment_hash: H256,
    /// Encryption nonce / IV (at most [`MAX_ENCRYPTION_NONCE`] bytes).
    #[serde(with = "hex_bytes")]
    pub nonce: Vec<u8>,
    /// Encryption scheme version.
    pub scheme_version: u8,
}

impl Default for EncryptedPayload {
    /// Empty, with `schemeVersion = 1` as the node's default (so an unencrypted transaction
    /// serializes exactly as the node writes it).
    fn default() -> Self {
        EncryptedPayload {
            ciphertext: Vec::new(),
            commitment_hash: H256::ZERO,
            nonce: Vec::new(),
            scheme_version: 1,
        }
    }
}

impl Encode for EncryptedPayload {
    fn encode_to(&self, out: &mut Vec<u8>) {
        write_var_bytes(out, &self.ciphertext);
        self.commitment_hash.encode_to(out);
        write_var_bytes(out, &self.nonce);
        out.push(self.scheme_version);
    }
}

impl Decode for EncryptedPayload {
    const MIN_SIZE: usize = 1 + 32 + 1 + 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(EncryptedPayload {
            ciphertext: r.var_bytes("encryptedPayload.ciphertext", MAX_CIPHERTEXT)?,
            commitment_hash: H256(r.array("encryptedPayload.commitmentHash")?),
            nonce: r.var_bytes("encryptedPayload.nonce", MAX_ENCRYPTION_NONCE)?,
            scheme_version: r.u8("encryptedPayload.schemeVersion")?,
        })
    }
}

/// An L2 transaction with the real node's serialization (see `docs/protocol.md`).
///
/// Its [`hash`](L2Transaction::hash) (also the signing hash) covers `from … isEncrypted`, plus
/// `encryptedPayload` when `isEncrypted`; the signature, recovery id and execution results are
/// not hashed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L2Transaction {
    /// Sender (HASH160 of the signing key).
    pub from: Address,
    /// Recipient (zero for a contract deployment).
    pub to: Address,
    /// Value in the smallest unit.
    pub value: i64,
    /// Sender's nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Legacy gas price.
    pub gas_price: i64,
    /// EIP-1559 fee cap.
    pub max_fee_per_gas: i64,
    /// EIP-1559 priority fee cap.
    pub max_priority_fee_per_gas: i64,
    /// Call data or deployment code (at most [`MAX_TX_DATA`] bytes).
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
    /// Transaction type.
    #[serde(rename = "type")]
    pub tx_type: TxType,
    /// L2 chain id (replay protection).
    pub l2_chain_id: u64,
    /// Access list (at most [`MAX_ACCESS_LIST`] entries).
    pub access_list: Vec<AccessListEntry>,
    /// Whether `encryptedPayload` carries the transaction.
    pub is_encrypted: bool,
    /// The encrypted payload (hashed only when `isEncrypted`).
    pub encrypted_payload: EncryptedPayload,
    /// 65-byte compact recoverable signature (at most [`MAX_SIGNATURE`] bytes on the wire).
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// Recovery id (0..=3), equal to the signature header minus 31.
    pub recovery_id: u8,
    /// Gas used (execution result).
    pub gas_used: u64,
    /// Whether execution succeeded (execution result).
    pub success: bool,
    /// Return data (execution result, at most [`MAX_RETURN_DATA`] bytes).
    #[serde(with = "hex_bytes")]
    pub return_data: Vec<u8>,
    /// Error message (execution result, at most [`MAX_STRING`] bytes).
    pub error_message: String,
    /// L1 transaction of a deposit or forced inclusion.
    pub l1_tx_hash: H256,
    /// L1 block of a deposit or forced inclusion.
    pub l1_block_number: u64,
}

impl L2Transaction {
    /// The bytes hashed by [`hash`](Self::hash): `from … isEncrypted`, then `encryptedPayload`
    /// only when `isEncrypted`.
    pub fn signing_preimage(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.data.len());
        self.from.encode_to(&mut out);
        self.to.encode_to(&mut out);
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.gas_limit.to_le_bytes());
        out.extend_from_slice(&self.gas_price.to_le_bytes());
        out.extend_from_slice(&self.max_fee_per_gas.to_le_bytes());
        out.extend_from_slice(&self.max_priority_fee_per_gas.to_le_bytes());
        write_var_bytes(&mut out, &self.data);
        self.tx_type.encode_to(&mut out);
        out.extend_from_slice(&self.l2_chain_id.to_le_bytes());
        write_vec(&mut out, &self.access_list);
        out.push(self.is_encrypted as u8);
        if self.is_encrypted {
            self.encrypted_payload.encode_to(&mut out);
        }
        out
    }

    /// The transaction hash, which is also its signing hash (SHA256d of the preimage).
    pub fn hash(&self) -> H256 {
        sha256d(&self.signing_preimage())
    }

    /// Sign with `key`: sets the 65-byte compact signature and `recoveryId`. Does not touch
    /// `from` (a key that is not `from`'s makes [`verify_sender`](Self::verify_sender) fail).
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), KeyError> {
        let sig = key.sign_compact(&self.hash())?;
        self.recovery_id = sig[0] - 31;
        self.signature = sig.to_vec();
        Ok(())
    }

    /// Recover the signing public key from the compact signature. The `recoveryId` field must
    /// agree with the signature header.
    pub fn recover_public_key(&self) -> Result<PublicKey, SignatureError> {
        let (recid, _) = parse_compact(&self.signature)?;
        if recid != self.recovery_id {
            return Err(SignatureError::RecoveryIdMismatch {
                field: self.recovery_id,
                header: recid,
            });
        }
        Ok(recover_compact(&self.hash(), &self.signature)?)
    }

    /// Recover the sender's address (HASH160 of the recovered key).
    pub fn recover_sender(&self) -> Result<Address, SignatureError> {
        self.recover_sender_with_hash(&self.hash())
    }

    /// [`recover_sender`](Self::recover_sender) for a caller that already has the
    /// transaction's [`hash`](Self::hash) (which must be passed unchanged).
    pub fn recover_sender_with_hash(&self, hash: &H256) -> Result<Address, SignatureError> {
        let (recid, _) = parse_compact(&self.signature)?;
        if recid != self.recovery_id {
            return Err(SignatureError::RecoveryIdMismatch {
                field: self.recovery_id,
                header: recid,
            });
        }
        Ok(recover_compact_address(hash, &self.signature)?)
    }

    /// Check the signature: it must recover a key whose HASH160 equals `from`.
    pub fn verify_sender(&self) -> Result<(), SignatureError> {
        let recovered = self.recover_sender()?;
        if recovered != self.from {
            return Err(SignatureError::SenderMismatch {
                from: self.from,
                recovered,
            });
        }
        Ok(())
    }
}

impl Encode for L2Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.from.encode_to(out);
        self.to.encode_to(out);
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.nonce.to_le_bytes());
        out.extend_from_slice(&self.gas_limit.to_le_bytes());
        out.extend_from_slice(&self.gas_price.to_le_bytes());
        out.extend_from_slice(&self.max_fee_per_gas.to_le_bytes());
        out.extend_from_slice(&self.max_priority_fee_per_gas.to_le_bytes());
        write_var_bytes(out, &self.data);
        self.tx_type.encode_to(out);
        out.extend_from_slice(&self.l2_chain_id.to_le_bytes());
        write_vec(out, &self.access_list);
        out.push(self.is_encrypted as u8);
        self.encrypted_payload.encode_to(out);
        write_var_bytes(out, &self.signature);
        out.push(self.recovery_id);
        out.extend_from_slice(&self.gas_used.to_le_bytes());
        out.push(self.success as u8);
        write_var_bytes(out, &self.return_data);
        write_compact_size(out, self.error_message.len() as u64);
        out.extend_from_slice(self.error_message.as_bytes());
        self.l1_tx_hash.encode_to(out);
        out.extend_from_slice(&self.l1_block_number.to_le_bytes());
    }
}

impl Decode for L2Transaction {
    /// 188 bytes: every fixed field plus a one-byte count for every variable one.
    const MIN_SIZE: usize = 20
        + 20
        + 6 * 8
        + 1
        + 1
        + 8
        + 1
        + 1
        + EncryptedPayload::MIN_SIZE
        + 1
        + 1
        + 8
        + 1
        + 1
        + 1
        + 32
        + 8;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(L2Transaction {
            from: Address(r.array("from")?),
            to: Address(r.array("to")?),
            value: r.i64("value")?,
            nonce: r.u64("nonce")?,
            gas_limit: r.u64("gasLimit")?,
            gas_price: r.i64("gasPrice")?,
            max_fee_per_gas: r.i64("maxFeePerGas")?,
            max_priority_fee_per_gas: r.i64("maxPriorityFeePerGas")?,
            data: r.var_bytes("data", MAX_TX_DATA)?,
            tx_type: TxType::decode_from(r)?,
            l2_chain_id: r.u64("l2ChainId")?,
            access_list: r.vec("accessList", MAX_ACCESS_LIST)?,
            is_encrypted: r.bool("isEncrypted")?,
            encrypted_payload: EncryptedPayload::decode_from(r)?,
            signature: r.var_bytes("signature", MAX_SIGNATURE)?,
            recovery_id: r.u8("recoveryId")?,
            gas_used: r.u64("gasUsed")?,
            success: r.bool("success")?,
            return_data: r.var_bytes("returnData", MAX_RETURN_DATA)?,
            error_message: r.string("errorMessage", MAX_STRING)?,
            l1_tx_hash: H256(r.array("l1TxHash")?),
            l1_block_number: r.u64("l1BlockNumber")?,
        })
    }
}

/// Fixed examples shared by the tests of the types (the vectors in `docs/protocol.md`).
#[cfg(test)]
pub(crate) mod examples {
    use super::*;

    /// Test key A: secret 0x11 repeated 32 times.
    pub(crate) fn key_a() -> PrivateKey {
        PrivateKey::from_bytes(&[0x11; 32]).unwrap()
    }

    /// Test key B: secret 0x22 repeated 32 times.
    pub(crate) fn key_b() -> PrivateKey {
        PrivateKey::from_bytes(&[0x22; 32]).unwrap()
    }

    /// The example recipient `0x0102…14`.
    pub(crate) fn addr_1_to_20() -> Address {
        let mut a = [0u8; 20];
        for (i, b) in a.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        Address(a)
    }

    /// The example transfer of `docs/protocol.md`, signed by key A.
    pub(crate) fn example_tx() -> L2Transaction {
        let k = key_a();
        let mut tx = L2Transaction {
            from: k.address(),
            to: addr_1_to_20(),
            value: 100_000_000,
            nonce: 0,
            gas_limit: 21_000,
            gas_price: 1,
            tx_type: TxType::Transfer,
            l2_chain_id: 1,
            ..Default::default()
        };
        tx.sign(&k).unwrap();
        tx
    }

    /// A transaction with every field set, for round trips and fuzzing.
    pub(crate) fn full_tx() -> L2Transaction {
        let k = key_b();
        let mut tx = L2Transaction {
            from: k.address(),
            to: Address([9; 20]),
            value: -3,
            nonce: u64::MAX,
            gas_limit: 30_000_000,
            gas_price: 7,
            max_fee_per_gas: 9,
            max_priority_fee_per_gas: 2,
            data: vec![0xde, 0xad, 0xbe, 0xef],
            tx_type: TxType::BurnMint,
            l2_chain_id: 77,
            access_list: vec![
                AccessListEntry {
                    address: Address([3; 20]),
                    storage_keys: vec![H256([4; 32]), H256([5; 32])],
                },
                AccessListEntry::default(),
            ],
            is_encrypted: true,
            encrypted_payload: EncryptedPayload {
                ciphertext: vec![1, 2, 3],
                commitment_hash: H256([6; 32]),
                nonce: vec![7; 12],
                scheme_version: 2,
            },
            gas_used: 21_000,
            success: true,
            return_data: vec![0xaa; 3],
            error_message: "out of gas".into(),
            l1_tx_hash: H256([8; 32]),
            l1_block_number: 1234,
            ..Default::default()
        };
        tx.sign(&k).unwrap();
        tx
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;
    use crate::keys::test_util::to_high_s;

    /// Hash of the example transaction (docs/protocol.md).
    const EXAMPLE_TX_HASH: &str =
        "0xfaef4f52e14e2f6f018cd22e441cb4ef0bd059a235cd3dd6ef1e338944cf1bac";
    /// Compact signature of the example transaction by key A (docs/protocol.md).
    const EXAMPLE_TX_SIG: &str = "0x1f107cef921badd5af837444fa56c3236561922336fda7e408e147d8a2681fef793fd99a6280207f9c4cafa40fe2689282360f48a24244b45d0c38ba11641b534b";

    /// Full 253-byte serialization of the signed example transaction (docs/protocol.md).
    const EXAMPLE_TX_ENCODING: &str = "fc7250a211deddc70ee5a2738de5f07817351cef0102030405060708090a0b0c0d0e0f101112131400e1f50500000000000000000000000008520000000000000100000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000001411f107cef921badd5af837444fa56c3236561922336fda7e408e147d8a2681fef793fd99a6280207f9c4cafa40fe2689282360f48a24244b45d0c38ba11641b534b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn example_transaction_vectors() {
        let tx = example_tx();
        assert_eq!(hex::encode(tx.encode()), EXAMPLE_TX_ENCODING);
        assert_eq!(tx.hash().to_hex(), EXAMPLE_TX_HASH);
        assert_eq!(format!("0x{}", hex::encode(&tx.signature)), EXAMPLE_TX_SIG);
        tx.verify_sender().unwrap();
        assert_eq!(
            key_a().public_key().to_hex(),
            "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa"
        );
        assert_eq!(
            key_a().address().to_hex(),
            "0xfc7250a211deddc70ee5a2738de5f07817351cef"
        );
        assert_eq!(
            key_b().address().to_hex(),
            "0x531260aa2a199e228c537dfa42c82bea2c7c1f4d"
        );
    }

    #[test]
    fn min_size_is_the_default_encoding() {
        let d = L2Transaction {
            encrypted_payload: EncryptedPayload {
                scheme_version: 0,
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(d.encode().len(), L2Transaction::MIN_SIZE);
        assert_eq!(L2Transaction::MIN_SIZE, 188);
    }

    #[test]
    fn signed_transaction_recovers_its_sender() {
        let tx = example_tx();
        assert_eq!(tx.signature.len(), 65);
        assert_eq!(tx.recovery_id, tx.signature[0] - 31);
        assert_eq!(tx.recover_sender().unwrap(), key_a().address());
        assert_eq!(tx.recover_public_key().unwrap(), key_a().public_key());
        tx.verify_sender().unwrap();
        let full = full_tx();
        full.verify_sender().unwrap();
    }

    #[test]
    fn high_s_signature_is_rejected() {
        let mut tx = example_tx();
        let sig: [u8; 65] = tx.signature.as_slice().try_into().unwrap();
        let high = to_high_s(&sig);
        tx.signature = high.to_vec();
        tx.recovery_id = high[0] - 31;
        assert_eq!(
            tx.verify_sender(),
            Err(SignatureError::Key(KeyError::HighS))
        );
    }

    #[test]
    fn wrong_recovery_id_recovers_another_key() {
        let mut tx = example_tx();
        // Flip the parity bit: a valid signature of some other key.
        tx.signature[0] = 31 + ((tx.signature[0] - 31) ^ 1);
        tx.recovery_id ^= 1;
        match tx.verify_sender() {
            Err(SignatureError::SenderMismatch { from, recovered }) => {
                assert_eq!(from, key_a().address());
                assert_ne!(recovered, from);
            }
            other => panic!("expected SenderMismatch, got {other:?}"),
        }
        // A recoveryId field that disagrees with the header is refused outright.
        let mut tx = example_tx();
        tx.recovery_id ^= 1;
        assert!(matches!(
            tx.verify_sender(),
            Err(SignatureError::RecoveryIdMismatch { .. })
        ));
    }

    #[test]
    fn sender_mismatch_is_rejected() {
        let mut tx = example_tx();
        tx.sign(&key_b()).unwrap();
        assert_eq!(
            tx.verify_sender(),
            Err(SignatureError::SenderMismatch {
                from: key_a().address(),
                recovered: key_b().address()
            })
        );
        // Changing a hashed field after signing also breaks it.
        let mut tx = example_tx();
        tx.value += 1;
        assert!(tx.verify_sender().is_err());
        // Unsigned.
        let mut tx = example_tx();
        tx.signature.clear();
        assert_eq!(
            tx.verify_sender(),
            Err(SignatureError::Key(KeyError::CompactSignatureLength(0)))
        );
    }

    #[test]
    fn hash_covers_payload_only_when_encrypted() {
        let mut tx = example_tx();
        let h = tx.hash();
        tx.encrypted_payload.ciphertext = vec![1];
        tx.signature = vec![1, 2];
        tx.gas_used = 5;
        tx.error_message = "x".into();
        assert_eq!(tx.hash(), h);
        tx.is_encrypted = true;
        let h2 = tx.hash();
        assert_ne!(h2, h);
        tx.encrypted_payload.ciphertext = vec![2];
        assert_ne!(tx.hash(), h2);
    }

    #[test]
    fn round_trips() {
        for tx in [L2Transaction::default(), example_tx(), full_tx()] {
            let b = tx.encode();
            assert_eq!(L2Transaction::decode(&b).unwrap(), tx);
            let j = serde_json_round_trip(&tx);
            assert_eq!(j, tx);
        }
        for t in 0..=8u8 {
            let ty = TxType::from_u8(t).unwrap();
            assert_eq!(TxType::decode(&[t]).unwrap(), ty);
            assert_eq!(ty.as_u8(), t);
        }
        assert!(TxType::decode(&[9]).is_err());
        let p = full_tx().encrypted_payload;
        assert_eq!(EncryptedPayload::decode(&p.encode()).unwrap(), p);
        let a = full_tx().access_list[0].clone();
        assert_eq!(AccessListEntry::decode(&a.encode()).unwrap(), a);
    }

    fn serde_json_round_trip<T: Serialize + for<'de> Deserialize<'de>>(v: &T) -> T {
        serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
    }

    #[test]
    fn caps_are_enforced() {
        let mut tx = example_tx();
        tx.data = vec![0; MAX_TX_DATA as usize + 1];
        assert!(matches!(
            L2Transaction::decode(&tx.encode()),
            Err(CodecError::TooLong { what: "data", .. })
        ));
        let mut tx = example_tx();
        tx.signature = vec![0; MAX_SIGNATURE as usize + 1];
        assert!(L2Transaction::decode(&tx.encode()).is_err());
        let mut tx = example_tx();
        tx.error_message = "e".repeat(MAX_STRING as usize + 1);
        assert!(L2Transaction::decode(&tx.encode()).is_err());
        let mut b = example_tx().encode();
        // type byte sits after from, to, 6×8 and the 1-byte empty data count
        b[20 + 20 + 48 + 1] = 9;
        assert!(matches!(
            L2Transaction::decode(&b),
            Err(CodecError::Invalid { what: "type", .. })
        ));
    }

    /// Decode `input` as `T`: it must fail or give a value that re-encodes to `input`.
    fn check<T: Decode + Encode + std::fmt::Debug>(input: &[u8]) {
        if let Ok(v) = T::decode(input) {
            assert_eq!(v.encode(), input, "{v:?} re-encodes differently");
        }
    }

    /// Random bytes, every truncation and random single-byte mutations of valid encodings.
    fn fuzz<T: Decode + Encode + std::fmt::Debug>(
        valid: &[Vec<u8>],
        rng: &mut rand_chacha::ChaCha8Rng,
    ) {
        use rand::Rng;
        for v in valid {
            assert!(T::decode(v).is_ok(), "sample must decode");
            for cut in 0..v.len() {
                assert!(T::decode(&v[..cut]).is_err(), "a truncation decoded");
            }
            for i in 0..v.len() {
                for _ in 0..3 {
                    let mut m = v.clone();
                    m[i] = rng.gen();
                    check::<T>(&m);
                }
            }
            let mut longer = v.clone();
            longer.push(rng.gen());
            assert!(T::decode(&longer).is_err(), "trailing byte accepted");
        }
        for _ in 0..500 {
            let n = rng.gen_range(0..2 * T::MIN_SIZE + 64);
            let b: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
            check::<T>(&b);
        }
    }

    fn all_decoders(bytes: &[u8]) {
        check::<L2Transaction>(bytes);
        check::<AccessListEntry>(bytes);
        check::<EncryptedPayload>(bytes);
        check::<TxType>(bytes);
        check::<crate::types::L2BlockHeader>(bytes);
        check::<crate::types::L2Block>(bytes);
        check::<crate::types::BlockSignature>(bytes);
        check::<crate::types::Vote>(bytes);
        check::<crate::types::VoteType>(bytes);
        check::<crate::types::SequencerAnnouncement>(bytes);
        check::<crate::types::BatchHeader>(bytes);
        check::<crate::types::BurnData>(bytes);
    }

    #[test]
    fn decoders_never_panic() {
        use crate::types::batch::examples::example_batch;
        use crate::types::block::examples::{example_block, full_block};
        use crate::types::consensus::examples::{example_announcement, example_vote};
        use crate::types::*;
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xca51);
        let full = full_tx();
        fuzz::<L2Transaction>(
            &[
                L2Transaction::default().encode(),
                example_tx().encode(),
                full.encode(),
            ],
            &mut rng,
        );
        fuzz::<AccessListEntry>(&[full.access_list[0].encode()], &mut rng);
        fuzz::<EncryptedPayload>(&[full.encrypted_payload.encode()], &mut rng);
        fuzz::<TxType>(&[vec![8]], &mut rng);
        let b = full_block();
        fuzz::<L2BlockHeader>(&[b.header.encode()], &mut rng);
        fuzz::<L2Block>(&[example_block().encode(), b.encode()], &mut rng);
        fuzz::<BlockSignature>(&[b.signatures[0].encode()], &mut rng);
        let mut reject = example_vote();
        reject.vote = VoteType::Reject;
        reject.reject_reason = "bad".into();
        fuzz::<Vote>(&[example_vote().encode(), reject.encode()], &mut rng);
        fuzz::<VoteType>(&[vec![2]], &mut rng);
        fuzz::<SequencerAnnouncement>(&[example_announcement().encode()], &mut rng);
        fuzz::<BatchHeader>(&[example_batch().encode()], &mut rng);
        let burn = hex::decode(
            "6a334c324255524e01000000028330767adc8ad2a1f3b0fa1c0b16d206dd81529ff1d5d5ed52455d28e02f81be00e1f50500000000",
        )
        .unwrap();
        fuzz::<BurnData>(&[burn], &mut rng);
        // Hostile lengths: huge CompactSize counts in every position must fail cleanly.
        for prefix in [
            &[0xffu8][..],
            &[0xfe, 0xff, 0xff, 0xff, 0xff],
            &[0xfd, 0xff, 0xff],
        ] {
            for pos in 0..300 {
                let mut m = full.encode();
                if pos + prefix.len() <= m.len() {
                    m[pos..pos + prefix.len()].copy_from_slice(prefix);
                    all_decoders(&m);
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn decoders_never_panic_on_arbitrary_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)
        ) {
            all_decoders(&bytes);
        }
    }
}

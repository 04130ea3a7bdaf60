//! Consensus objects: sequencer votes on blocks and sequencer announcements, with their
//! signing hashes and DER signatures.

use crate::codec::{write_compact_size, write_var_bytes, CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, Address, H256};
use crate::keys::{PrivateKey, PublicKey, SignatureError};
use crate::types::tx::{hex_bytes, MAX_SIGNATURE, MAX_STRING};
use serde::{Deserialize, Serialize};

fn write_string(out: &mut Vec<u8>, s: &str) {
    write_compact_size(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A sequencer's vote on a block, one byte on the wire; unknown values are a decoding error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[repr(u8)]
pub enum VoteType {
    /// 0: the block is valid.
    #[default]
    Accept = 0,
    /// 1: the block is invalid (see `rejectReason`).
    Reject = 1,
    /// 2: no opinion.
    Abstain = 2,
}

impl VoteType {
    /// The vote with wire value `v`, if there is one.
    pub fn from_u8(v: u8) -> Option<VoteType> {
        match v {
            0 => Some(VoteType::Accept),
            1 => Some(VoteType::Reject),
            2 => Some(VoteType::Abstain),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl Encode for VoteType {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.as_u8());
    }
}

impl Decode for VoteType {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let v = r.u8("vote")?;
        VoteType::from_u8(v).ok_or_else(|| CodecError::Invalid {
            what: "vote",
            detail: format!("unknown vote type {v}"),
        })
    }
}

/// A sequencer's vote: `blockHash u256, voterAddress u160, vote u8, rejectReason string,
/// signature bytes, timestamp u64, slotNumber u64`.
///
/// Signing hash = SHA256d of every field but the signature, in order; the signature is strict
/// DER by the voter's key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The block voted on.
    pub block_hash: H256,
    /// The voting sequencer.
    pub voter_address: Address,
    /// The vote.
    pub vote: VoteType,
    /// Why the block was rejected (at most [`MAX_STRING`] bytes).
    pub reject_reason: String,
    /// DER signature over [`signing_hash`](Vote::signing_hash) (at most [`MAX_SIGNATURE`] bytes).
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// When the vote was cast (Unix seconds).
    pub timestamp: u64,
    /// Leader-election slot of the block.
    pub slot_number: u64,
}

impl Vote {
    /// SHA256d of every field but the signature, in serialization order.
    pub fn signing_hash(&self) -> H256 {
        let mut out = Vec::with_capacity(96 + self.reject_reason.len());
        self.block_hash.encode_to(&mut out);
        self.voter_address.encode_to(&mut out);
        self.vote.encode_to(&mut out);
        write_string(&mut out, &self.reject_reason);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.slot_number.to_le_bytes());
        sha256d(&out)
    }

    /// Sign with `key`, which must be `voterAddress`'s key.
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), SignatureError> {
        SignatureError::check_signer("voterAddress", &self.voter_address, &key.public_key())?;
        self.signature = key.sign_der(&self.signing_hash())?;
        Ok(())
    }

    /// Check that `key` is `voterAddress`'s key and signed this vote.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        SignatureError::check_signer("voterAddress", &self.voter_address, key)?;
        Ok(key.verify_der(&self.signing_hash(), &self.signature)?)
    }
}

impl Encode for Vote {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block_hash.encode_to(out);
        self.voter_address.encode_to(out);
        self.vote.encode_to(out);
        write_string(out, &self.reject_reason);
        write_var_bytes(out, &self.signature);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.slot_number.to_le_bytes());
    }
}

impl Decode for Vote {
    const MIN_SIZE: usize = 32 + 20 + 1 + 1 + 1 + 8 + 8;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Vote {
            block_hash: H256(r.array("blockHash")?),
            voter_address: Address(r.array("voterAddress")?),
            vote: VoteType::decode_from(r)?,
            reject_reason: r.string("rejectReason", MAX_STRING)?,
            signature: r.var_bytes("signature", MAX_SIGNATURE)?,
            timestamp: r.u64("timestamp")?,
            slot_number: r.u64("slotNumber")?,
        })
    }
}

/// A sequencer announcement: `address u160, stake i64, hatScore u32, l1BlockHeight u64,
/// signature bytes, timestamp u64, endpoint string, peerCount u32, chainId u64,
/// protocolVersion u32`.
///
/// Signing hash (casl2's choice, the compat notes do not fix it) = SHA256d of every field but the
/// signature, in serialization order; the signature is strict DER by `address`'s key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencerAnnouncement {
    /// The sequencer.
    pub address: Address,
    /// Stake in the smallest unit.
    pub stake: i64,
    /// HAT v2 score (0..=100).
    pub hat_score: u32,
    /// L1 height the announcement refers to.
    pub l1_block_height: u64,
    /// DER signature over [`signing_hash`](SequencerAnnouncement::signing_hash).
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// When it was made (Unix seconds).
    pub timestamp: u64,
    /// Network endpoint, e.g. `127.0.0.1:7700` (at most [`MAX_STRING`] bytes).
    pub endpoint: String,
    /// Number of connected peers.
    pub peer_count: u32,
    /// L2 chain id.
    pub chain_id: u64,
    /// Protocol version.
    pub protocol_version: u32,
}

impl SequencerAnnouncement {
    /// SHA256d of every field but the signature, in serialization order.
    pub fn signing_hash(&self) -> H256 {
        let mut out = Vec::with_capacity(80 + self.endpoint.len());
        self.address.encode_to(&mut out);
        out.extend_from_slice(&self.stake.to_le_bytes());
        out.extend_from_slice(&self.hat_score.to_le_bytes());
        out.extend_from_slice(&self.l1_block_height.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        write_string(&mut out, &self.endpoint);
        out.extend_from_slice(&self.peer_count.to_le_bytes());
        out.extend_from_slice(&self.chain_id.to_le_bytes());
        out.extend_from_slice(&self.protocol_version.to_le_bytes());
        sha256d(&out)
    }

    /// Sign with `key`, which must be `address`'s key.
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), SignatureError> {
        SignatureError::check_signer("address", &self.address, &key.public_key())?;
        self.signature = key.sign_der(&self.signing_hash())?;
        Ok(())
    }

    /// Check that `key` is `address`'s key and signed this announcement.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        SignatureError::check_signer("address", &self.address, key)?;
        Ok(key.verify_der(&self.signing_hash(), &self.signature)?)
    }
}

impl Encode for SequencerAnnouncement {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.address.encode_to(out);
        out.extend_from_slice(&self.stake.to_le_bytes());
        out.extend_from_slice(&self.hat_score.to_le_bytes());
        out.extend_from_slice(&self.l1_block_height.to_le_bytes());
        write_var_bytes(out, &self.signature);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        write_string(out, &self.endpoint);
        out.extend_from_slice(&self.peer_count.to_le_bytes());
        out.extend_from_slice(&self.chain_id.to_le_bytes());
        out.extend_from_slice(&self.protocol_version.to_le_bytes());
    }
}

impl Decode for SequencerAnnouncement {
    const MIN_SIZE: usize = 20 + 8 + 4 + 8 + 1 + 8 + 1 + 4 + 8 + 4;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(SequencerAnnouncement {
            address: Address(r.array("address")?),
            stake: r.i64("stake")?,
            hat_score: r.u32("hatScore")?,
            l1_block_height: r.u64("l1BlockHeight")?,
            signature: r.var_bytes("signature", MAX_SIGNATURE)?,
            timestamp: r.u64("timestamp")?,
            endpoint: r.string("endpoint", MAX_STRING)?,
            peer_count: r.u32("peerCount")?,
            chain_id: r.u64("chainId")?,
            protocol_version: r.u32("protocolVersion")?,
        })
    }
}

/// Fixed examples (the vectors in `docs/protocol.md`).
#[cfg(test)]
pub(crate) mod examples {
    use super::*;
    use crate::types::block::examples::example_header;
    use crate::types::tx::examples::{key_a, key_b};

    /// Key B accepts the example block in slot 0 at 1_700_000_002.
    pub(crate) fn example_vote() -> Vote {
        let mut v = Vote {
            block_hash: example_header().hash(),
            voter_address: key_b().address(),
            vote: VoteType::Accept,
            reject_reason: String::new(),
            signature: Vec::new(),
            timestamp: 1_700_000_002,
            slot_number: 0,
        };
        v.sign(&key_b()).unwrap();
        v
    }

    /// Key A announces itself with 10 CAS of stake and HAT score 50.
    pub(crate) fn example_announcement() -> SequencerAnnouncement {
        let mut a = SequencerAnnouncement {
            address: key_a().address(),
            stake: 100_000_000,
            hat_score: 50,
            l1_block_height: 100,
            signature: Vec::new(),
            timestamp: 1_700_000_000,
            endpoint: "127.0.0.1:7700".into(),
            peer_count: 3,
            chain_id: 1,
            protocol_version: 1,
        };
        a.sign(&key_a()).unwrap();
        a
    }
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;
    use crate::types::tx::examples::{key_a, key_b};

    /// Signing hash of the example vote (docs/protocol.md).
    const EXAMPLE_VOTE_HASH: &str =
        "0x3cab9be42ab00ecf7748d98187cbde4fc24a3ab5808032db60e720efa99a4106";
    /// DER signature of the example vote by key B.
    const EXAMPLE_VOTE_SIG: &str = "0x304402205f60833a0f062ce0d13786c992f099af0e12ba9e870b92127db7e7c8a8c4b74e0220215500e15f991308e7f0ba469239e5cc74a30524afeb57220428c8fa980ada7a";
    /// Signing hash of the example announcement (docs/protocol.md).
    const EXAMPLE_ANNOUNCEMENT_HASH: &str =
        "0xfffb60e05dea8503781dabccef9c6451c6af17312f77f39bb44ab4b31734492e";
    /// DER signature of the example announcement by key A.
    const EXAMPLE_ANNOUNCEMENT_SIG: &str = "0x3044022034e7555ebfd2e304550b6575e93c0f5e3991fe502e1662f5a8a6376c5f3bebd902204123a859ff75810783efad86273bf03b8b35623209a75d806ee9fc0a938a301f";

    #[test]
    fn example_vectors() {
        let v = example_vote();
        assert_eq!(v.signing_hash().to_hex(), EXAMPLE_VOTE_HASH);
        assert_eq!(format!("0x{}", hex::encode(&v.signature)), EXAMPLE_VOTE_SIG);
        v.verify(&key_b().public_key()).unwrap();
        let a = example_announcement();
        assert_eq!(a.signing_hash().to_hex(), EXAMPLE_ANNOUNCEMENT_HASH);
        assert_eq!(
            format!("0x{}", hex::encode(&a.signature)),
            EXAMPLE_ANNOUNCEMENT_SIG
        );
        a.verify(&key_a().public_key()).unwrap();
    }

    #[test]
    fn signing_hash_skips_only_the_signature() {
        let mut v = example_vote();
        let h = v.signing_hash();
        v.signature = vec![1, 2, 3];
        assert_eq!(v.signing_hash(), h);
        v.slot_number = 1;
        assert_ne!(v.signing_hash(), h);
        let mut a = example_announcement();
        let h = a.signing_hash();
        a.signature.clear();
        assert_eq!(a.signing_hash(), h);
        a.protocol_version = 2;
        assert_ne!(a.signing_hash(), h);
    }

    #[test]
    fn wrong_keys_and_tampering_are_rejected() {
        let v = example_vote();
        assert!(matches!(
            v.verify(&key_a().public_key()),
            Err(SignatureError::SignerMismatch { .. })
        ));
        let mut t = v.clone();
        t.vote = VoteType::Reject;
        assert!(matches!(
            t.verify(&key_b().public_key()),
            Err(SignatureError::Key(_))
        ));
        let mut v2 = example_vote();
        assert!(v2.sign(&key_a()).is_err());
        let mut a = example_announcement();
        a.stake += 1;
        assert!(a.verify(&key_a().public_key()).is_err());
        assert!(example_announcement()
            .verify(&key_b().public_key())
            .is_err());
    }

    #[test]
    fn round_trips() {
        let mut reject = example_vote();
        reject.vote = VoteType::Reject;
        reject.reject_reason = "bad state root".into();
        reject.sign(&key_b()).unwrap();
        for v in [Vote::default(), example_vote(), reject] {
            assert_eq!(Vote::decode(&v.encode()).unwrap(), v);
            let j: Vote = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
            assert_eq!(j, v);
        }
        for a in [SequencerAnnouncement::default(), example_announcement()] {
            assert_eq!(SequencerAnnouncement::decode(&a.encode()).unwrap(), a);
            let j: SequencerAnnouncement =
                serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
            assert_eq!(j, a);
        }
        assert_eq!(Vote::default().encode().len(), Vote::MIN_SIZE);
        assert_eq!(
            SequencerAnnouncement::default().encode().len(),
            SequencerAnnouncement::MIN_SIZE
        );
        for t in 0..=2u8 {
            assert_eq!(VoteType::decode(&[t]).unwrap().as_u8(), t);
        }
        assert!(VoteType::decode(&[3]).is_err());
    }
}

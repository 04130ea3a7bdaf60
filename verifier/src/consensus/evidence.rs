//! Double-sign evidence: one sequencer's signatures on two different block headers at the same
//! height of the same chain (`SEQ_DOUBLE_SIGN`), posted to L1 for slashing.
//!
//! The rule is per height, not per slot: an honest sequencer signs (as producer or as voter) at
//! most one block per height of a chain. Wire format: `header_a ‖ sig_a ‖ header_b ‖ sig_b`
//! (`L2BlockHeader`, `BlockSignature`, `L2BlockHeader`, `BlockSignature`).

use super::{ConsensusError, SequencerSet};
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{sha256d, Address, H256};
use crate::keys::PublicKey;
use crate::types::block::{BlockSignature, L2Block, L2BlockHeader};
use serde::{Deserialize, Serialize};

/// Two headers at one height, each signed by the same sequencer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoubleSignEvidence {
    /// One header.
    pub header_a: L2BlockHeader,
    /// The offender's signature over `header_a`'s hash.
    pub sig_a: BlockSignature,
    /// The other header.
    pub header_b: L2BlockHeader,
    /// The offender's signature over `header_b`'s hash.
    pub sig_b: BlockSignature,
}

impl DoubleSignEvidence {
    /// The sequencer the evidence accuses (the signer named by `sig_a`).
    pub fn offender(&self) -> Address {
        self.sig_a.sequencer
    }

    /// The height of both headers.
    pub fn height(&self) -> u64 {
        self.header_a.block_number
    }

    /// An identifier that does not depend on the order of the two headers:
    /// SHA256d(offender ‖ smaller hash ‖ larger hash), so L1 slashes once per offence.
    pub fn id(&self) -> H256 {
        let (a, b) = (self.header_a.hash(), self.header_b.hash());
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut out = Vec::with_capacity(84);
        out.extend_from_slice(&self.offender().0);
        out.extend_from_slice(&lo.0);
        out.extend_from_slice(&hi.0);
        sha256d(&out)
    }

    /// Check the structure: one signer, one chain, one height, two different headers.
    fn check_shape(&self) -> Result<(H256, H256), ConsensusError> {
        let bad = |m: String| Err(ConsensusError::InvalidEvidence(m));
        if self.sig_a.sequencer != self.sig_b.sequencer {
            return bad(format!(
                "two signers ({} and {})",
                self.sig_a.sequencer, self.sig_b.sequencer
            ));
        }
        if self.header_a.l2_chain_id != self.header_b.l2_chain_id {
            return bad(format!(
                "two chains ({} and {})",
                self.header_a.l2_chain_id, self.header_b.l2_chain_id
            ));
        }
        if self.header_a.block_number != self.header_b.block_number {
            return bad(format!(
                "two heights ({} and {})",
                self.header_a.block_number, self.header_b.block_number
            ));
        }
        let (ha, hb) = (self.header_a.hash(), self.header_b.hash());
        if ha == hb {
            return bad(format!("the same header {ha} twice"));
        }
        Ok((ha, hb))
    }

    /// Verify with the offender's public key; returns the offender.
    pub fn verify_with_key(&self, key: &PublicKey) -> Result<Address, ConsensusError> {
        let (ha, hb) = self.check_shape()?;
        for (sig, h) in [(&self.sig_a, &ha), (&self.sig_b, &hb)] {
            sig.verify(h, key).map_err(|e| {
                ConsensusError::InvalidEvidence(format!(
                    "signature of {} on {h} does not verify: {e}",
                    sig.sequencer
                ))
            })?;
        }
        Ok(self.offender())
    }

    /// Verify against the offender's registered key in `set`; returns the offender.
    pub fn verify(&self, set: &SequencerSet) -> Result<Address, ConsensusError> {
        let member = set.get(&self.offender()).ok_or_else(|| {
            ConsensusError::InvalidEvidence(format!(
                "{} is not a sequencer of this set",
                self.offender()
            ))
        })?;
        self.verify_with_key(&member.public_key)
    }

    /// The `SEQ_DOUBLE_SIGN` error this evidence proves (no verification here).
    pub fn to_error(&self) -> ConsensusError {
        ConsensusError::SeqDoubleSign {
            sequencer: self.offender(),
            height: self.height(),
            hash_a: self.header_a.hash(),
            hash_b: self.header_b.hash(),
            evidence: Box::new(self.clone()),
        }
    }
}

impl Encode for DoubleSignEvidence {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header_a.encode_to(out);
        self.sig_a.encode_to(out);
        self.header_b.encode_to(out);
        self.sig_b.encode_to(out);
    }
}

impl Decode for DoubleSignEvidence {
    const MIN_SIZE: usize = 2 * (L2BlockHeader::MIN_SIZE + BlockSignature::MIN_SIZE);
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(DoubleSignEvidence {
            header_a: L2BlockHeader::decode_from(r)?,
            sig_a: BlockSignature::decode_from(r)?,
            header_b: L2BlockHeader::decode_from(r)?,
            sig_b: BlockSignature::decode_from(r)?,
        })
    }
}

/// Evidence against every sequencer that signed both `a` and `b`, when they are different blocks
/// at the same height of the same chain (empty otherwise). Signatures are not checked here;
/// check each result with [`DoubleSignEvidence::verify`].
pub fn find_double_signs(a: &L2Block, b: &L2Block) -> Vec<DoubleSignEvidence> {
    if a.header.block_number != b.header.block_number
        || a.header.l2_chain_id != b.header.l2_chain_id
        || a.header == b.header
    {
        return Vec::new();
    }
    let mut out: Vec<DoubleSignEvidence> = Vec::new();
    for sa in &a.signatures {
        if out.iter().any(|e| e.offender() == sa.sequencer) {
            continue;
        }
        if let Some(sb) = b.signatures.iter().find(|s| s.sequencer == sa.sequencer) {
            out.push(DoubleSignEvidence {
                header_a: a.header.clone(),
                sig_a: sa.clone(),
                header_b: b.header.clone(),
                sig_b: sb.clone(),
            });
        }
    }
    out
}

/// `SEQ_DOUBLE_SIGN` when some sequencer of `set` validly signed both `a` and `b` (different
/// blocks at one height); the error carries the evidence.
pub fn check_no_double_sign(
    a: &L2Block,
    b: &L2Block,
    set: &SequencerSet,
) -> Result<(), ConsensusError> {
    match find_double_signs(a, b)
        .into_iter()
        .find(|e| e.verify(set).is_ok())
    {
        Some(e) => Err(e.to_error()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_keys::*;
    use super::*;

    fn blocks() -> (L2Block, L2Block) {
        let mut a = L2Block::default();
        a.header.block_number = 26;
        a.header.l2_chain_id = 1;
        a.header.slot_number = 5;
        let mut b = a.clone();
        b.header.state_root = H256([0xbb; 32]);
        a.sign(&key(0), 1).unwrap();
        a.sign(&key(1), 1).unwrap();
        b.sign(&key(1), 2).unwrap();
        b.sign(&key(2), 2).unwrap();
        (a, b)
    }

    #[test]
    fn finds_and_verifies_the_double_signer() {
        let s = set_of(&[(0, 100, 70), (1, 16, 50), (2, 10, 90)]);
        let (a, b) = blocks();
        let ev = find_double_signs(&a, &b);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].verify(&s), Ok(key(1).address()));
        assert_eq!(
            ev[0].verify_with_key(&key(1).public_key()),
            Ok(key(1).address())
        );
        assert!(ev[0].verify_with_key(&key(0).public_key()).is_err());
        let back = DoubleSignEvidence::decode(&ev[0].encode()).unwrap();
        assert_eq!(back, ev[0]);
        assert!(DoubleSignEvidence::decode(&ev[0].encode()[1..]).is_err());
        let swapped = DoubleSignEvidence {
            header_a: ev[0].header_b.clone(),
            sig_a: ev[0].sig_b.clone(),
            header_b: ev[0].header_a.clone(),
            sig_b: ev[0].sig_a.clone(),
        };
        assert_eq!(swapped.id(), ev[0].id());
        let e = check_no_double_sign(&a, &b, &s).unwrap_err();
        assert_eq!(e.code(), "SEQ_DOUBLE_SIGN");
        assert!(e.to_string().contains(&key(1).address().to_string()), "{e}");
        // the same block twice, or two heights, is no offence
        assert!(find_double_signs(&a, &a).is_empty());
        let mut c = b.clone();
        c.header.block_number = 27;
        assert!(find_double_signs(&a, &c).is_empty());
        check_no_double_sign(&a, &c, &s).unwrap();
    }

    #[test]
    fn malformed_evidence_is_rejected() {
        let s = set_of(&[(0, 100, 70), (1, 16, 50), (2, 10, 90)]);
        let (a, b) = blocks();
        let good = find_double_signs(&a, &b).remove(0);
        let mut same = good.clone();
        same.header_b = same.header_a.clone();
        same.sig_b = same.sig_a.clone();
        assert!(same
            .verify(&s)
            .unwrap_err()
            .to_string()
            .contains("same header"));
        let mut heights = good.clone();
        heights.header_b.block_number += 1;
        assert!(heights.verify(&s).is_err());
        let mut chains = good.clone();
        chains.header_b.l2_chain_id = 2;
        assert!(chains.verify(&s).is_err());
        let mut signers = good.clone();
        signers.sig_b = b.signatures[1].clone();
        assert!(signers
            .verify(&s)
            .unwrap_err()
            .to_string()
            .contains("two signers"));
        let mut forged = good.clone();
        forged.header_b.gas_used = 7; // signature no longer matches
        assert_eq!(forged.verify(&s).unwrap_err().code(), "EVIDENCE_INVALID");
        let outsider = set_of(&[(0, 100, 70)]);
        assert!(good.verify(&outsider).is_err());
    }
}

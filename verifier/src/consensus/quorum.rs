//! The batch quorum rule, written once: the weight of the sequencers whose signatures carry a
//! batch, each active sequencer at most once and each signature valid, against the total weight
//! of the active sequencers. The L1 ([`crate::l1::L1State`]) refuses a batch that breaks it; the
//! node's batcher keeps only the signatures that count and asks [`BatchWeight::reached`] before
//! it posts.

use super::{quorum_reached, SequencerSet};
use crate::hash::{Address, H256};
use crate::keys::PublicKey;
use crate::types::BlockSignature;
use std::collections::BTreeSet;
use thiserror::Error;

/// Why a batch's signatures are refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchSignatureError {
    /// The signer is not an active sequencer.
    #[error("{0} is not an active sequencer")]
    NotActive(Address),
    /// The sequencer signed more than once.
    #[error("{0} signed twice")]
    Twice(Address),
    /// The signature does not verify under the sequencer's key.
    #[error("{0}: {1}")]
    Invalid(Address, String),
}

/// The signed and the total weight of a batch's signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchWeight {
    /// Sum of the signers' weights (saturating).
    pub signed: u128,
    /// Sum of the active sequencers' weights (saturating).
    pub total: u128,
}

impl BatchWeight {
    /// True when `signed` reaches `threshold_pct` percent of `total` ([`quorum_reached`]).
    pub fn reached(&self, threshold_pct: u32) -> bool {
        quorum_reached(self.signed, self.total, threshold_pct)
    }
}

/// The weight of `signatures` over the batch hash `hash`. `member` gives the key and weight of
/// an active sequencer (`None`: not active); `total` is the active sequencers' total weight.
/// Every signature must be by an active sequencer, at most one per sequencer, and valid.
pub fn batch_weight<'k>(
    hash: &H256,
    signatures: &[BlockSignature],
    total: u128,
    member: impl Fn(&Address) -> Option<(&'k PublicKey, u128)>,
) -> Result<BatchWeight, BatchSignatureError> {
    let mut seen = BTreeSet::new();
    let mut signed = 0u128;
    for sig in signatures {
        let (key, weight) =
            member(&sig.sequencer).ok_or(BatchSignatureError::NotActive(sig.sequencer))?;
        if !seen.insert(sig.sequencer) {
            return Err(BatchSignatureError::Twice(sig.sequencer));
        }
        sig.verify(hash, key)
            .map_err(|e| BatchSignatureError::Invalid(sig.sequencer, e.to_string()))?;
        signed = signed.saturating_add(weight);
    }
    Ok(BatchWeight { signed, total })
}

impl SequencerSet {
    /// [`batch_weight`] with this set as the active sequencers.
    pub fn batch_weight(
        &self,
        hash: &H256,
        signatures: &[BlockSignature],
    ) -> Result<BatchWeight, BatchSignatureError> {
        batch_weight(hash, signatures, self.total_weight(), |a| {
            self.get(a).map(|m| (&m.public_key, m.info.weight()))
        })
    }

    /// The signatures of `signatures` that [`SequencerSet::batch_weight`] accepts: valid ones
    /// by members, one per sequencer (the first valid one), in address order.
    pub fn countable_batch_signatures(
        &self,
        hash: &H256,
        signatures: Vec<BlockSignature>,
    ) -> Vec<BlockSignature> {
        let mut kept: Vec<BlockSignature> = signatures
            .into_iter()
            .filter(|s| {
                self.get(&s.sequencer)
                    .is_some_and(|m| s.verify(hash, &m.public_key).is_ok())
            })
            .collect();
        kept.sort_by_key(|s| s.sequencer);
        kept.dedup_by_key(|s| s.sequencer);
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::test_keys::{key, set_of};

    fn sign(i: u8, hash: &H256) -> BlockSignature {
        BlockSignature::sign(&key(i), hash, 0).unwrap()
    }

    #[test]
    fn weight_counts_each_valid_member_once() {
        let set = set_of(&[(0, 100, 50), (1, 100, 50), (2, 100, 50)]);
        let h = H256([7; 32]);
        let w = set.batch_weight(&h, &[sign(0, &h), sign(2, &h)]).unwrap();
        assert_eq!(w.total, set.total_weight());
        assert_eq!(w.signed, set.total_weight() / 3 * 2);
        assert!(w.reached(66));
        assert!(!w.reached(67));
        assert_eq!(
            set.batch_weight(&h, &[sign(0, &h), sign(0, &h)]),
            Err(BatchSignatureError::Twice(key(0).address()))
        );
        assert_eq!(
            set.batch_weight(&h, &[sign(5, &h)]),
            Err(BatchSignatureError::NotActive(key(5).address()))
        );
        let other = H256([8; 32]);
        assert!(matches!(
            set.batch_weight(&h, &[sign(1, &other)]),
            Err(BatchSignatureError::Invalid(..))
        ));
    }

    #[test]
    fn countable_signatures_pass_the_rule() {
        let set = set_of(&[(0, 100, 50), (1, 100, 50)]);
        let h = H256([7; 32]);
        let other = H256([8; 32]);
        let sigs = vec![sign(1, &h), sign(5, &h), sign(0, &other), sign(1, &h)];
        let kept = set.countable_batch_signatures(&h, sigs);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].sequencer, key(1).address());
        assert!(set.batch_weight(&h, &kept).is_ok());
    }
}

//! `SEQ_OFFLINE` (`ReportOffline`): an active sequencer that signed none of the chain's last
//! `offline_after` anchors, each posted while it was active, leaves the active set. The anchors
//! on L1 are the evidence (each records the active set at posting and the signers of its batch),
//! so the report names only the chain and the sequencer. Its stake stays locked (and slashable):
//! it comes back with `AnnounceSequencer`, or leaves with `Unbond` and `WithdrawStake`.

use super::registry::SequencerStatus;
use super::{Anchor, L1Error, L1Event, L1State};
use crate::hash::Address;

/// The evidence rule of `SEQ_OFFLINE`: `sequencer` is offline when each of the last `k` of
/// `anchors` (a chain's anchors in order, or any suffix of them at least `k` long) was posted
/// while it was active (it is in the anchor's `sequencers`) and does not carry its signature
/// (it is not in `signers`). The L1 applies it to `ReportOffline`; nodes and `casl2 sequencer
/// report-offline` ask it before they send.
pub fn check_offline(anchors: &[Anchor], sequencer: &Address, k: u64) -> Result<(), L1Error> {
    let n = anchors.len();
    let first = usize::try_from(k)
        .ok()
        .filter(|k| *k > 0)
        .and_then(|k| n.checked_sub(k))
        .ok_or_else(|| {
            L1Error::InvalidArgument(format!(
                "SEQ_OFFLINE needs the chain's last {k} anchors as evidence; it has {n}"
            ))
        })?;
    for a in &anchors[first..] {
        if !a.sequencers.iter().any(|(addr, _)| addr == sequencer) {
            return Err(L1Error::InvalidArgument(format!(
                "{sequencer} was not active when anchor {} was posted: it has not yet missed {k} anchors since it joined",
                a.index
            )));
        }
        if a.signers.contains(sequencer) {
            return Err(L1Error::InvalidArgument(format!(
                "{sequencer} signed anchor {} (one of the last {k}): not offline",
                a.index
            )));
        }
    }
    Ok(())
}

impl L1State {
    /// Apply `ReportOffline { chain, sequencer }` (anyone may send it; it pays nothing).
    pub(crate) fn report_offline(
        &mut self,
        chain: u64,
        sequencer: &Address,
    ) -> Result<Vec<L1Event>, L1Error> {
        let h = self.height;
        let c = self.chain_ref(chain)?;
        let k = c.info.params.offline_after;
        if k == 0 {
            return Err(L1Error::NotSupported(format!(
                "chain {chain} has offlineAfter 0: its sequencers cannot be reported offline"
            )));
        }
        c.sequencer(sequencer)
            .filter(|s| s.status == SequencerStatus::Active)
            .ok_or_else(|| L1Error::SeqUnknown {
                chain,
                address: *sequencer,
                detail: "an active sequencer".into(),
            })?;
        check_offline(&c.anchors, sequencer, k)?;
        let c = self.chain_mut(chain)?;
        if let Some(s) = c.sequencers.iter_mut().find(|s| &s.address == sequencer) {
            s.deactivate(h, SequencerStatus::Offline { since: h });
        }
        Ok(vec![L1Event::SequencerOffline {
            chain,
            address: *sequencer,
            missed: k,
        }])
    }
}

//! Data-availability sampling of a batch, from the light client's side.
//!
//! For anchor `i`, L1 holds the batch's data root and its DA commitment; the light client
//! checks the commitment against the data root once, takes the number of samples that reaches
//! the wanted confidence for the square's k (`samples_needed`), draws that many distinct share
//! coordinates from a fresh random seed (`sampling_plan`), asks the node for each share
//! (`l2_getshare`) and checks each against the committed row root. Any share missing, refused
//! or failing its proof ends sampling with [`LightError::Unavailable`]: never a pass.

use crate::api::node::Axis;
use crate::client::{LightClient, LightError};
use crate::l1::L1Client;
use crate::verify::{verify_batch_commitment, verify_batch_sample};
use casl2_verifier::da::{availability_confidence, samples_needed, sampling_plan};
use casl2_verifier::H256;
use serde::Serialize;

/// The outcome of sampling a batch that passed: every share verified.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleReport {
    /// The anchor index.
    pub batch: u64,
    /// L1 height of the anchor.
    pub l1_height: u64,
    /// Its L2 blocks.
    pub start_block: u64,
    /// Last L2 block (inclusive).
    pub end_block: u64,
    /// The data root L1 anchored.
    pub data_root: H256,
    /// Side of the original square.
    pub k: usize,
    /// Side of the extended square (2k).
    pub width: usize,
    /// The confidence asked for.
    pub wanted: f64,
    /// Samples needed for it.
    pub needed: usize,
    /// Samples verified.
    pub verified: usize,
    /// The confidence the verified samples give.
    pub confidence: f64,
    /// The seed of the sampling plan (hex).
    pub seed: String,
}

/// Progress of a sampling run, after each verified sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SampleProgress {
    /// The anchor index.
    pub batch: u64,
    /// Samples verified so far.
    pub verified: usize,
    /// Samples needed.
    pub needed: usize,
    /// The confidence so far.
    pub confidence: f64,
    /// The share just verified.
    pub row: u32,
    /// Its column.
    pub column: u32,
}

/// 32 random bytes for a sampling plan (the OS, or the browser's `crypto.getRandomValues`).
pub fn fresh_seed() -> Result<[u8; 32], LightError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed)
        .map_err(|e| LightError::Invalid(format!("no randomness for sample positions: {e}")))?;
    Ok(seed)
}

impl<L: L1Client> LightClient<L> {
    /// Sample batch `index` until `confidence` with a fresh random plan.
    pub async fn sample(&self, index: u64, confidence: f64) -> Result<SampleReport, LightError> {
        let seed = fresh_seed()?;
        self.sample_with(index, confidence, seed, |_| {}).await
    }

    /// Sample batch `index` until `confidence` with the plan of `seed`, calling `progress`
    /// after each verified share. Fails with [`LightError::Unavailable`] at the first share
    /// that is not served or not proven, and with [`LightError::Rejected`] when L1's
    /// commitment itself does not give the anchored data root.
    pub async fn sample_with(
        &self,
        index: u64,
        confidence: f64,
        seed: [u8; 32],
        mut progress: impl FnMut(&SampleProgress),
    ) -> Result<SampleReport, LightError> {
        if !(0.0..1.0).contains(&confidence) {
            return Err(LightError::Invalid(format!(
                "confidence must be at least 0 and below 1, got {confidence}"
            )));
        }
        let a = self.anchor(index).await?;
        let c = a.commitment.as_ref().ok_or_else(|| {
            LightError::NotFound(format!("L1 holds no DA commitment for batch {index}"))
        })?;
        verify_batch_commitment(index, c, &a.data_root)?;
        let (k, width) = (c.k(), c.width());
        let needed =
            samples_needed(k, confidence).map_err(|e| LightError::Invalid(e.to_string()))?;
        let plan = sampling_plan(&seed, width, needed.min(width * width))
            .map_err(|e| LightError::Invalid(e.to_string()))?;
        let mut verified = 0usize;
        let unavailable = |verified: usize, reason: String| LightError::Unavailable {
            batch: index,
            verified,
            confidence: availability_confidence(k, verified),
            reason,
        };
        for (row, column) in plan {
            let answer = self
                .node
                .share(index, row, column, Axis::Row)
                .await
                .map_err(|e| unavailable(verified, format!("share ({row}, {column}): {e}")))?;
            if answer.data_root != a.data_root {
                return Err(unavailable(
                    verified,
                    format!(
                        "share ({row}, {column}) is for data root {}, L1 anchored {}",
                        answer.data_root, a.data_root
                    ),
                ));
            }
            verify_batch_sample(index, c, row, column, &answer.sample)
                .map_err(|e| unavailable(verified, e.to_string()))?;
            verified += 1;
            progress(&SampleProgress {
                batch: index,
                verified,
                needed,
                confidence: availability_confidence(k, verified),
                row,
                column,
            });
        }
        Ok(SampleReport {
            batch: index,
            l1_height: a.l1_height,
            start_block: a.header.start_block,
            end_block: a.header.end_block,
            data_root: a.data_root,
            k,
            width,
            wanted: confidence,
            needed,
            verified,
            confidence: availability_confidence(k, verified),
            seed: hex::encode(seed),
        })
    }
}

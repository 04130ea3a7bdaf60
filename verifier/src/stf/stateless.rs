//! Stateless execution of one step: the one-step proof that the L1 fraud verifier checks.
//!
//! A [`StepWitness`] is a multiproof, against the step's pre-state root, of every key the step
//! reads or writes. [`execute_step_stateless`] verifies it, runs the very same step function on
//! the partial tree it yields, and returns the post-state root. A witness that misses a key the
//! step needs fails with `MissingWitness`; an altered one fails its proof.

use super::exec::{execute_step, BlockContext, Receipt, Step};
use super::state::{Overlay, StateView};
use super::StfError;
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::H256;
use crate::smt::{MultiProof, NodeStore, SmtError, SparseMerkleTree};

/// The state a step needs, proved against its pre-state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWitness {
    /// Multiproof of every key the step touches.
    pub proof: MultiProof,
}

impl Encode for StepWitness {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.proof.encode_to(out);
    }
}

impl Decode for StepWitness {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(StepWitness {
            proof: MultiProof::decode_from(r)?,
        })
    }
}

/// A view of a tree at a given root (without moving the tree).
struct TreeAt<'a, S> {
    tree: &'a SparseMerkleTree<S>,
    root: H256,
}

impl<S: NodeStore> StateView for TreeAt<'_, S> {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.tree.get_at(self.root, key).map_err(|e| match e {
            SmtError::MissingNode { hash, height } => StfError::MissingWitness { hash, height },
            other => StfError::State(other.to_string()),
        })
    }
}

/// Build the witness of `step` at `pre_root` from a full tree that holds that root. Also
/// returns the post-state root and receipt, as stateful execution computes them.
pub fn build_step_witness<S: NodeStore>(
    tree: &SparseMerkleTree<S>,
    pre_root: H256,
    step: &Step,
    ctx: &BlockContext,
) -> Result<(StepWitness, Receipt), StfError> {
    let view = TreeAt {
        tree,
        root: pre_root,
    };
    let mut ov = Overlay::new(&view);
    let receipt = execute_step(&mut ov, step, ctx, None)?;
    let mut keys = ov.touched();
    // A deletion can make an untouched neighbour move up (a lone leaf takes its parent's
    // place), and that needs the neighbour's shape: add a key under every node the stateless
    // run finds missing, until it runs through. Each round reveals one more node.
    for _ in 0..=256 {
        let proof = tree
            .prove_multi_at(pre_root, &keys)
            .map_err(|e| StfError::State(e.to_string()))?;
        let witness = StepWitness { proof };
        match execute_step_stateless(&pre_root, &witness, step, ctx) {
            Ok(_) => return Ok((witness, receipt)),
            Err(StfError::MissingWitness { hash, height }) => {
                match tree
                    .any_key_under(hash, height)
                    .map_err(|e| StfError::State(e.to_string()))?
                {
                    Some(k) if !keys.contains(&k) => keys.push(k),
                    _ => {
                        return Err(StfError::State(format!(
                            "cannot complete the witness: node {hash} at height {height}"
                        )))
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(StfError::State("witness did not converge".into()))
}

/// Execute `step` statelessly: verify `witness` against `pre_root`, run the step on it, and
/// return the post-state root with the receipt. Equal to stateful execution whenever the
/// witness covers what the step touches; otherwise an error, never a default.
pub fn execute_step_stateless(
    pre_root: &H256,
    witness: &StepWitness,
    step: &Step,
    ctx: &BlockContext,
) -> Result<(H256, Receipt), StfError> {
    let mut partial = witness
        .proof
        .verify(pre_root)
        .map_err(|e| StfError::WitnessInvalid(e.to_string()))?;
    let (receipt, writes) = {
        let mut ov = Overlay::untracked(&partial);
        let r = execute_step(&mut ov, step, ctx, None)?;
        (r, ov.into_writes())
    };
    let root = partial.update_batch(writes).map_err(|e| match e {
        SmtError::MissingNode { hash, height } => StfError::MissingWitness { hash, height },
        other => StfError::State(other.to_string()),
    })?;
    Ok((root, receipt))
}

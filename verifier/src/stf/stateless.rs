//! Stateless execution of one step: the one-step proof that the L1 fraud verifier checks.
//!
//! A [`StepWitness`] is a multiproof, against the step's pre-state root, of every key the step
//! reads or writes. [`execute_step_stateless`] verifies it, runs the very same step function on
//! the partial tree it yields, and returns the post-state root. A witness that misses a key the
//! step needs fails with `MissingWitness`; an altered one fails its proof.
//!
//! A contract step also reads contract storage: the witness then carries, per contract whose
//! storage the step touches, a multiproof of the touched slot keys against that contract's
//! `storageRoot` as the account multiproof proves it. Code is a leaf of the account tree, so
//! the account multiproof covers it.

use super::exec::execute_step;
use super::state::storage_tree_root;
use super::state::{Overlay, StateView};
use super::types::{BlockContext, Receipt, Step};
use super::StfError;
use crate::codec::{CodecError, Decode, Encode, Reader};
use crate::hash::{Address, H256};
use crate::smt::{MultiProof, NodeStore, SmtError, SparseMerkleTree};
use crate::types::AccountState;
use std::collections::{BTreeMap, BTreeSet};

/// The state a step needs, proved against its pre-state root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWitness {
    /// Multiproof of every key of the account tree the step touches (accounts, code, records).
    pub proof: MultiProof,
    /// Per contract whose storage the step touches (address order, each once): a multiproof
    /// of the touched slot keys against the contract's `storageRoot` in `proof`. Empty for
    /// every step that is not a contract transaction.
    pub storage: Vec<StorageWitness>,
}

/// One contract's storage in a [`StepWitness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageWitness {
    /// The contract.
    pub address: Address,
    /// Multiproof of the touched slot keys against its `storageRoot`.
    pub proof: MultiProof,
}

/// First byte of a witness with storage proofs (never the first byte of a multiproof).
const WITH_STORAGE_TAG: u8 = 4;

impl Encode for StepWitness {
    fn encode_to(&self, out: &mut Vec<u8>) {
        // Without storage: the account multiproof alone (the format before the CVM).
        if !self.storage.is_empty() {
            out.push(WITH_STORAGE_TAG);
        }
        self.proof.encode_to(out);
        if !self.storage.is_empty() {
            crate::codec::write_compact_size(out, self.storage.len() as u64);
            for s in &self.storage {
                s.address.encode_to(out);
                s.proof.encode_to(out);
            }
        }
    }
}

impl Decode for StepWitness {
    const MIN_SIZE: usize = 1;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let with_storage = r.clone().u8("witness tag")? == WITH_STORAGE_TAG;
        if !with_storage {
            return Ok(StepWitness {
                proof: MultiProof::decode_from(r)?,
                storage: Vec::new(),
            });
        }
        r.u8("witness tag")?;
        let proof = MultiProof::decode_from(r)?;
        let n = r.compact_size("storage proofs", 4096)?;
        if n == 0 || n > 4096 {
            return Err(CodecError::Invalid {
                what: "storage proofs",
                detail: format!("{n} entries"),
            });
        }
        let mut storage = Vec::with_capacity(n as usize);
        for _ in 0..n {
            storage.push(StorageWitness {
                address: Address::decode_from(r)?,
                proof: MultiProof::decode_from(r)?,
            });
        }
        Ok(StepWitness { proof, storage })
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
    fn node(&self, hash: &H256) -> Result<Option<crate::smt::Node>, StfError> {
        self.tree
            .store()
            .get(hash)
            .map_err(|e| StfError::State(e.to_string()))
    }
}

/// The `storageRoot` of `address` in a pre-state: its account's, or (an archived account, which
/// the step restores) its archive record's; `None` when it has neither.
fn pre_storage_root(
    address: &Address,
    read: impl Fn(&H256) -> Result<Option<Vec<u8>>, StfError>,
) -> Result<Option<H256>, StfError> {
    let b = match read(&address.tree_key())? {
        Some(b) => b,
        None => match read(&super::rules::archive_key(address))? {
            Some(b) => b,
            None => return Ok(None),
        },
    };
    let acct = AccountState::decode(&b)
        .map_err(|e| StfError::WitnessInvalid(format!("account {address}: {e}")))?;
    Ok(Some(acct.storage_root))
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
    let st = |e: SmtError| StfError::State(e.to_string());
    let mut keys: BTreeSet<H256> = ov.touched().into_iter().collect();
    if keys.is_empty() {
        // A step that touches nothing (a block end with no one to pay) still needs a proof
        // that verifies against the root: a multiproof of no key is the bare root hash, which
        // proves nothing. Prove the queue cursor's key.
        keys.insert(super::exec::queue_key());
    }
    // The contracts whose storage the step touches, with their pre-state storage roots (a
    // contract without storage, or created by the step, needs no storage proof).
    let mut storage: BTreeMap<Address, (H256, BTreeSet<H256>)> = BTreeMap::new();
    for (a, slots) in ov.touched_storage() {
        let root = pre_storage_root(a, |k| view.read(k))?;
        if let Some(root) = root.filter(|r| !r.is_zero()) {
            storage.insert(*a, (root, slots.clone()));
        }
    }
    // A deletion can make an untouched neighbour move up (a lone leaf takes its parent's
    // place), and that needs the neighbour's shape: add a key under every node the stateless
    // run finds missing (in whichever tree holds it), until it runs through. Each round
    // reveals one more node.
    for _ in 0..=4096 {
        let proof = tree
            .prove_multi_at(pre_root, &keys.iter().copied().collect::<Vec<_>>())
            .map_err(st)?;
        let mut sw = Vec::with_capacity(storage.len());
        for (a, (root, slots)) in &storage {
            sw.push(StorageWitness {
                address: *a,
                proof: tree
                    .prove_multi_at(*root, &slots.iter().copied().collect::<Vec<_>>())
                    .map_err(st)?,
            });
        }
        let witness = StepWitness { proof, storage: sw };
        match execute_step_stateless(&pre_root, &witness, step, ctx) {
            Ok(_) => return Ok((witness, receipt)),
            Err(StfError::MissingWitness { hash, height }) => {
                let Some(k) = tree.any_key_under(hash, height).map_err(st)? else {
                    return Err(StfError::State(format!(
                        "cannot complete the witness: node {hash} at height {height}"
                    )));
                };
                let mut added = false;
                if !keys.contains(&k) && tree.get_at(pre_root, &k).map_err(st)?.is_some() {
                    keys.insert(k);
                    added = true;
                }
                for (root, slots) in storage.values_mut() {
                    if !slots.contains(&k) && tree.get_at(*root, &k).map_err(st)?.is_some() {
                        slots.insert(k);
                        added = true;
                    }
                }
                if !added {
                    return Err(StfError::State(format!(
                        "cannot complete the witness: node {hash} at height {height}"
                    )));
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
    let mut last: Option<Address> = None;
    for s in &witness.storage {
        if last.is_some_and(|l| l >= s.address) {
            return Err(StfError::WitnessInvalid(
                "storage proofs not in strict address order".into(),
            ));
        }
        last = Some(s.address);
        let Some(root) = pre_storage_root(&s.address, |k| partial.read(k))? else {
            return Err(StfError::WitnessInvalid(format!(
                "storage proof for {}, which has no account",
                s.address
            )));
        };
        let sp = s
            .proof
            .verify(&storage_tree_root(&root))
            .map_err(|e| StfError::WitnessInvalid(format!("storage of {}: {e}", s.address)))?;
        partial
            .absorb(sp)
            .map_err(|e| StfError::State(e.to_string()))?;
    }
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

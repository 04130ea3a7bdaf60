//! Batch updates of the tree, in two phases.
//!
//! 1. **Plan**: descend the stored tree along the sorted updates (disjoint subtrees in
//!    parallel) and work out the new shape without hashing anything: which lone leaves hang at
//!    which height (each one a *lift* from its leaf hash through empty siblings) and which new
//!    inner nodes join which children. Children not yet hashed are named by their place in the
//!    plan ([`Ref`]).
//! 2. **Hash**: all lifts at once, then the new inner nodes level by level (a node's children
//!    are all hashed before it). Both are batches of independent hashes, so they run on every
//!    core and, on processors with the SHA extensions, several hashes interleaved per core
//!    ([`hasher::lift_many`], [`hasher::hash_pairs`]): the lifts are ~90 % of an update's
//!    hashes at a million accounts (a leaf hangs ~140 levels above height 0).
//!
//! The root and the stored nodes are exactly those of applying the updates one by one.

use super::hasher::{self, defaults, leaf_hash, path_bit, path_cmp, LiftTask};
use super::store::{Node, NodeStore};
use super::tree::{SparseMerkleTree, Update};
use super::SmtError;
use crate::hash::H256;
use rayon::prelude::*;

/// Batches at least this large are split across threads at each level of the descent.
const PARALLEL_THRESHOLD: usize = 128;

/// Lifts and inner-node levels at least this large are hashed on several threads.
const PARALLEL_HASHES: usize = 64;

/// A child's hash: known already, or the result of a lift or a new inner node of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ref {
    Known(H256),
    Lift(u32),
    Inner(u32),
}

/// A lone leaf to hash at height `to`: from its value at height 0, or from its stored hash at
/// the height it was stored (when it moves up).
#[derive(Debug)]
struct LiftJob {
    key: H256,
    value: Vec<u8>,
    start: Option<(usize, H256)>,
    to: usize,
}

/// The new nodes of an update, not hashed yet. An inner node's children come before it.
#[derive(Debug, Default)]
struct Plan {
    lifts: Vec<LiftJob>,
    inners: Vec<(Ref, Ref)>,
}

impl Ref {
    fn shifted(self, lifts: u32, inners: u32) -> Ref {
        match self {
            Ref::Known(h) => Ref::Known(h),
            Ref::Lift(i) => Ref::Lift(i + lifts),
            Ref::Inner(i) => Ref::Inner(i + inners),
        }
    }
}

impl Plan {
    /// Append `other` (planned on another thread); returns the offsets its indices moved by.
    fn append(&mut self, other: Plan) -> (u32, u32) {
        let lo = self.lifts.len() as u32;
        let io = self.inners.len() as u32;
        self.lifts.extend(other.lifts);
        self.inners.extend(
            other
                .inners
                .into_iter()
                .map(|(l, r)| (l.shifted(lo, io), r.shifted(lo, io))),
        );
        (lo, io)
    }

    /// Hash everything; returns the hash of `root` and the nodes to store.
    fn execute(self, root: Ref) -> (H256, Vec<(H256, Node)>) {
        // Lifts: every one independent.
        let mut tasks: Vec<LiftTask> = if self.lifts.len() >= PARALLEL_HASHES {
            self.lifts.par_iter().map(lift_task).collect()
        } else {
            self.lifts.iter().map(lift_task).collect()
        };
        if tasks.len() >= PARALLEL_HASHES {
            tasks
                .par_chunks_mut(PARALLEL_HASHES / 2)
                .for_each(hasher::lift_many);
        } else {
            hasher::lift_many(&mut tasks);
        }
        // Inner nodes by level: a node's level is one more than its highest child's, so a
        // level's nodes depend only on lower levels.
        let mut level = vec![0u32; self.inners.len()];
        let mut top = 0;
        for (i, (l, r)) in self.inners.iter().enumerate() {
            let of = |c: &Ref| match c {
                Ref::Inner(j) => level[*j as usize],
                _ => 0,
            };
            level[i] = of(l).max(of(r)) + 1;
            top = top.max(level[i]);
        }
        let mut by_level: Vec<Vec<u32>> = vec![Vec::new(); top as usize + 1];
        for (i, lv) in level.iter().enumerate() {
            by_level[*lv as usize].push(i as u32);
        }
        let mut inner = vec![H256::ZERO; self.inners.len()];
        let mut pairs = Vec::new();
        let mut hashes = Vec::new();
        for ids in by_level.iter().skip(1) {
            pairs.clear();
            pairs.extend(ids.iter().map(|&i| {
                let (l, r) = &self.inners[i as usize];
                (hash_of(l, &tasks, &inner), hash_of(r, &tasks, &inner))
            }));
            hashes.clear();
            hashes.resize(pairs.len(), H256::ZERO);
            if pairs.len() >= PARALLEL_HASHES {
                pairs
                    .par_chunks(PARALLEL_HASHES / 2)
                    .zip(hashes.par_chunks_mut(PARALLEL_HASHES / 2))
                    .for_each(|(p, h)| hasher::hash_pairs(p, h));
            } else {
                hasher::hash_pairs(&pairs, &mut hashes);
            }
            for (&i, h) in ids.iter().zip(&hashes) {
                inner[i as usize] = *h;
            }
        }
        let get = |c: &Ref| hash_of(c, &tasks, &inner);
        let root = get(&root);
        let mut out = Vec::with_capacity(self.lifts.len() + self.inners.len());
        for (job, t) in self.lifts.into_iter().zip(&tasks) {
            out.push((
                t.hash,
                Node::Leaf {
                    key: job.key,
                    value: job.value,
                },
            ));
        }
        for ((l, r), h) in self.inners.iter().zip(&inner) {
            out.push((
                *h,
                Node::Internal {
                    left: get(l),
                    right: get(r),
                },
            ));
        }
        (root, out)
    }
}

/// The hash `c` names, once the lifts and the inner nodes it depends on are hashed.
fn hash_of(c: &Ref, lifts: &[LiftTask], inner: &[H256]) -> H256 {
    match c {
        Ref::Known(h) => *h,
        Ref::Lift(j) => lifts[*j as usize].hash,
        Ref::Inner(j) => inner[*j as usize],
    }
}

fn lift_task(job: &LiftJob) -> LiftTask {
    let (from, hash) = job
        .start
        .unwrap_or_else(|| (0, leaf_hash(&job.key, &job.value)));
    LiftTask {
        key: job.key,
        hash,
        from: from as u16,
        to: job.to as u16,
    }
}

/// A subtree as seen while planning.
#[derive(Debug)]
enum Sub {
    Empty,
    /// A single-leaf subtree; `stored` is the height and hash it is stored with already, if any.
    Leaf {
        key: H256,
        value: Vec<u8>,
        stored: Option<(usize, H256)>,
    },
    /// An inner node already stored.
    Node(H256),
    /// An inner node already stored, with its children as read.
    Loaded {
        hash: H256,
        left: H256,
        right: H256,
    },
    /// A non-empty stored subtree that this update did not touch (not loaded: it is only read
    /// if its sibling turns out empty, since a lone leaf must then move up).
    Unchanged(H256),
    /// A new inner node of the plan.
    New(u32),
}

impl Sub {
    /// True when this is exactly the stored subtree `hash` at `height` (nothing changed).
    fn is_stored(&self, hash: &H256, height: usize) -> bool {
        match self {
            Sub::Empty => *hash == defaults()[height],
            Sub::Node(h) | Sub::Unchanged(h) | Sub::Loaded { hash: h, .. } => h == hash,
            Sub::Leaf {
                stored: Some((at, h)),
                ..
            } => *at == height && h == hash,
            Sub::Leaf { stored: None, .. } | Sub::New(_) => false,
        }
    }

    /// The same subtree after its plan was appended at `offsets` (lifts, inner nodes).
    fn shifted(self, (_, inners): (u32, u32)) -> Sub {
        match self {
            Sub::New(i) => Sub::New(i + inners),
            other => other,
        }
    }
}

/// Split `ups` (all under a node at `height`) by the next path bit and plan both children with
/// `child(right_side, its updates, plan)`: in parallel when the batch is large and both sides
/// have updates (the right side into a plan of its own, appended afterwards, so the order does
/// not depend on scheduling), else one after the other. Never inlined, so that the frames of the
/// 256-level descent stay small.
#[inline(never)]
fn split_children<F>(
    plan: &mut Plan,
    height: usize,
    ups: &[Update],
    child: F,
) -> Result<(Sub, Sub), SmtError>
where
    F: Fn(bool, &[Update], &mut Plan) -> Result<Sub, SmtError> + Sync,
{
    let split = ups.partition_point(|u| !path_bit(&u.0, height - 1));
    let (lu, ru) = ups.split_at(split);
    if ups.len() < PARALLEL_THRESHOLD || lu.is_empty() || ru.is_empty() {
        return Ok((child(false, lu, plan)?, child(true, ru, plan)?));
    }
    let mut rplan = Plan::default();
    let (l, r) = rayon::join(|| child(false, lu, plan), || child(true, ru, &mut rplan));
    let (l, r) = (l?, r?);
    let offsets = plan.append(rplan);
    Ok((l, r.shifted(offsets)))
}

impl<S: NodeStore> SparseMerkleTree<S> {
    /// Apply sorted, de-duplicated updates (empty values already turned into deletes) to the
    /// tree at `root`; returns the new root and the nodes to store.
    pub(super) fn plan_and_hash(
        &self,
        root: H256,
        ups: &[Update],
    ) -> Result<(H256, Vec<(H256, Node)>), SmtError> {
        let mut plan = Plan::default();
        let cur = self.load_sub(root, 256)?;
        let sub = self.apply(cur, 256, ups, &mut plan)?;
        let root = finish_child(sub, 256, &mut plan);
        Ok(plan.execute(root))
    }

    fn load_sub(&self, hash: H256, height: usize) -> Result<Sub, SmtError> {
        Ok(match self.node(&hash, height)? {
            None => Sub::Empty,
            Some(Node::Leaf { key, value }) => Sub::Leaf {
                key,
                value,
                stored: Some((height, hash)),
            },
            Some(Node::Internal { left, right }) => Sub::Loaded { hash, left, right },
        })
    }

    /// Apply updates (all under this subtree) to `cur` at `height`.
    fn apply(
        &self,
        cur: Sub,
        height: usize,
        ups: &[Update],
        plan: &mut Plan,
    ) -> Result<Sub, SmtError> {
        if ups.is_empty() {
            return Ok(cur);
        }
        match cur {
            Sub::Empty => self.build(height, ups, plan),
            Sub::Leaf { key, value, stored } => {
                let own = ups.iter().find(|u| u.0 == key);
                // Deletes of other keys are of absent keys here: no-ops.
                if !ups.iter().any(|u| u.0 != key && u.1.is_some()) {
                    return Ok(match own {
                        None => Sub::Leaf { key, value, stored },
                        Some((_, None)) => Sub::Empty,
                        Some((_, Some(v))) if *v == value => Sub::Leaf { key, value, stored },
                        Some((_, Some(v))) => Sub::Leaf {
                            key,
                            value: v.clone(),
                            stored: None,
                        },
                    });
                }
                // Push the existing leaf down among the updates unless one of them replaces it.
                if own.is_some() {
                    self.build(height, ups, plan)
                } else {
                    let pos = ups.partition_point(|u| path_cmp(&u.0, &key).is_lt());
                    let mut merged = Vec::with_capacity(ups.len() + 1);
                    merged.extend_from_slice(&ups[..pos]);
                    merged.push((key, Some(value)));
                    merged.extend_from_slice(&ups[pos..]);
                    self.build(height, &merged, plan)
                }
            }
            Sub::Loaded { hash, left, right } => {
                self.apply_inner(hash, left, right, height, ups, plan)
            }
            Sub::Node(hash) | Sub::Unchanged(hash) => {
                let Some(Node::Internal { left, right }) = self.node(&hash, height)? else {
                    return Err(SmtError::Corrupt(format!(
                        "node {hash} at height {height} is not an inner node"
                    )));
                };
                self.apply_inner(hash, left, right, height, ups, plan)
            }
            Sub::New(_) => Err(SmtError::Corrupt(
                "update applied to a node of the same update".into(),
            )),
        }
    }

    // The recursion below goes up to 256 levels deep, so each function keeps its frame small:
    // the split into children (`split_children`) and the steps of the descent are separate,
    // never-inlined functions.

    /// Apply updates under the stored inner node `hash` (children `left`, `right`) at `height`.
    #[inline(never)]
    fn apply_inner(
        &self,
        hash: H256,
        left: H256,
        right: H256,
        height: usize,
        ups: &[Update],
        plan: &mut Plan,
    ) -> Result<Sub, SmtError> {
        if height == 0 {
            return Err(SmtError::Corrupt("inner node at height 0".into()));
        }
        let (l, r) = split_children(plan, height, ups, |right_side, u, p| {
            let child = if right_side { right } else { left };
            self.apply_child(child, height - 1, u, p)
        })?;
        // Nothing changed below (e.g. deleting absent keys, or setting a value again): the
        // node stays as it is.
        if l.is_stored(&left, height - 1) && r.is_stored(&right, height - 1) {
            return Ok(Sub::Node(hash));
        }
        self.combine(l, r, height, plan)
    }

    #[inline(never)]
    fn apply_child(
        &self,
        hash: H256,
        height: usize,
        ups: &[Update],
        plan: &mut Plan,
    ) -> Result<Sub, SmtError> {
        if ups.is_empty() {
            // Untouched: not loaded unless it has to be.
            return Ok(if hash == defaults()[height] {
                Sub::Empty
            } else {
                Sub::Unchanged(hash)
            });
        }
        let s = self.load_sub(hash, height)?;
        self.apply(s, height, ups, plan)
    }

    /// Resolve an untouched child whose sibling became empty: a leaf moves up, a node stays.
    fn resolve(&self, sub: Sub, height: usize) -> Result<Sub, SmtError> {
        match sub {
            Sub::Unchanged(h) => self.load_sub(h, height),
            other => Ok(other),
        }
    }

    /// Build a subtree at `height` from nothing but the inserts in `ups`.
    fn build(&self, height: usize, ups: &[Update], plan: &mut Plan) -> Result<Sub, SmtError> {
        let mut inserts = ups.iter().filter(|u| u.1.is_some());
        let first = inserts.next();
        let second = inserts.next();
        match (first, second) {
            (None, _) => Ok(Sub::Empty),
            (Some((key, Some(value))), None) => Ok(Sub::Leaf {
                key: *key,
                value: value.clone(),
                stored: None,
            }),
            _ => self.build_split(height, ups, plan),
        }
    }

    /// Build a subtree holding at least two distinct keys: split them by the next path bit.
    #[inline(never)]
    fn build_split(&self, height: usize, ups: &[Update], plan: &mut Plan) -> Result<Sub, SmtError> {
        if height == 0 {
            return Err(SmtError::Corrupt(
                "two distinct keys at the leaf level".into(),
            ));
        }
        let (l, r) = split_children(plan, height, ups, |_, u, p| self.build(height - 1, u, p))?;
        self.combine(l, r, height, plan)
    }

    /// Join two children (at `height - 1`) into the subtree at `height`.
    fn combine(&self, l: Sub, r: Sub, height: usize, plan: &mut Plan) -> Result<Sub, SmtError> {
        let (l, r) = match (l, r) {
            (Sub::Empty, r) => (Sub::Empty, self.resolve(r, height - 1)?),
            (l, Sub::Empty) => (self.resolve(l, height - 1)?, Sub::Empty),
            lr => lr,
        };
        Ok(match (l, r) {
            (Sub::Empty, Sub::Empty) => Sub::Empty,
            // A lone leaf moves up; it is hashed where it ends up.
            (leaf @ Sub::Leaf { .. }, Sub::Empty) | (Sub::Empty, leaf @ Sub::Leaf { .. }) => leaf,
            (l, r) => {
                let lr = finish_child(l, height - 1, plan);
                let rr = finish_child(r, height - 1, plan);
                plan.inners.push((lr, rr));
                Sub::New(plan.inners.len() as u32 - 1)
            }
        })
    }
}

/// The subtree `sub` as a child at `height`: its hash, or where the plan will compute it.
fn finish_child(sub: Sub, height: usize, plan: &mut Plan) -> Ref {
    match sub {
        Sub::Empty => Ref::Known(defaults()[height]),
        Sub::Node(h) | Sub::Unchanged(h) | Sub::Loaded { hash: h, .. } => Ref::Known(h),
        Sub::New(i) => Ref::Inner(i),
        Sub::Leaf {
            stored: Some((at, h)),
            ..
        } if at == height => Ref::Known(h),
        Sub::Leaf { key, value, stored } => {
            // A stored leaf that moves up starts from its stored hash; one that moves down
            // (another key now shares its path) is hashed again from height 0.
            let start = stored.filter(|(at, _)| *at < height);
            plan.lifts.push(LiftJob {
                key,
                value,
                start,
                to: height,
            });
            Ref::Lift(plan.lifts.len() as u32 - 1)
        }
    }
}

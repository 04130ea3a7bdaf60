//! What the withdrawal machine asks of the front end that runs it ([`Host`]): to save each
//! stage before the next step, to hear the progress ([`Event`]), to wait ([`Wait`]) and to
//! bound L1 calls; and the machine's errors ([`WithdrawError`]).

use super::record::Withdrawal;
use crate::l1::L1ClientError;
use crate::l2::NodeError;
use casl2_verifier::l1::WithdrawalPath;
use casl2_verifier::{Address, H256};
use std::future::Future;
use thiserror::Error;

/// What a wait of the machine waits for (the host may show it as a bar or a spinner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The L2 transaction in a final L2 block (a spinner).
    Included,
    /// A batch with the withdrawal on L1, then its challenge period (a bar fed by
    /// [`Event::AwaitingBatch`] and [`Event::ChallengePeriod`]).
    ChallengePeriod,
    /// The L1 to mine the finalisation (a spinner).
    L1Mined,
}

impl Wait {
    /// What is waited for, in words (`waiting for {what}`).
    pub fn what(self) -> &'static str {
        match self {
            Wait::Included => "the withdrawal in a final L2 block",
            Wait::ChallengePeriod => "the withdrawal's challenge period",
            Wait::L1Mined => "the L1 to mine the transaction",
        }
    }
}

/// Progress of a withdrawal, reported to [`Host::event`] (nothing is printed here).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A new withdrawal was signed and saved (stage `signed`).
    Started(&'a Withdrawal),
    /// The sender's L1 HAT score opens the fast path (the verifier's
    /// `fast_withdrawal_eligible`).
    FastPath {
        /// The L2 sender.
        from: Address,
        /// Its HAT score on L1.
        hat: u32,
        /// The chain's `fastWithdrawalHat`.
        fast_withdrawal_hat: u32,
        /// The chain's fast challenge period (L1 blocks).
        fast_challenge_period: u64,
    },
    /// No batch holding the withdrawal's L2 block is anchored yet.
    AwaitingBatch {
        /// The withdrawal's L2 block.
        l2_block: u64,
        /// The latest anchored L2 block.
        anchored: u64,
    },
    /// The anchor holding the withdrawal is in its challenge period.
    ChallengePeriod {
        /// The anchor's index.
        anchor: u64,
        /// The period that applies (fast or standard).
        path: WithdrawalPath,
        /// The anchor's L1 height.
        since: u64,
        /// The L1 tip.
        tip: u64,
        /// The L1 height at which the period ends.
        end: u64,
    },
    /// The withdrawal is in final L2 block `0` (stage `included`).
    Included(u64),
    /// `FinalizeWithdrawal` was sent (stage `finalizing`).
    FinalizeSent {
        /// The L1 transaction id.
        tx: H256,
        /// The anchor it proves against.
        anchor: u64,
        /// The path.
        path: WithdrawalPath,
    },
    /// The finalisation sent before is gone from the L1 (neither mined nor waiting); a new one
    /// will be sent.
    FinalizeLost(H256),
}

/// Why a withdrawal step failed. `E` is the host's own error (saving, waiting).
#[derive(Debug, Error)]
pub enum WithdrawError<E> {
    /// An L1 call failed (`what` names it).
    #[error("the L1: {what}: {error}")]
    L1 {
        /// The call.
        what: &'static str,
        /// The error.
        error: L1ClientError,
    },
    /// An L2 node call failed.
    #[error("the L2 node: {0}")]
    Node(NodeError),
    /// Sending the withdrawal's L2 transaction failed.
    #[error("sending withdrawal {id}: {error}")]
    Sending {
        /// The withdrawal id.
        id: H256,
        /// The node's error.
        error: NodeError,
    },
    /// The host failed (saving, waiting, interrupted, timed out).
    #[error("{0}")]
    Host(E),
    /// The L1 lacks an anchor the chain state counts.
    #[error("the L1 has no anchor {index} of chain {chain}")]
    NoAnchor {
        /// The anchor index.
        index: u64,
        /// The chain.
        chain: u64,
    },
    /// The node proves no record of the withdrawal at the root it names.
    #[error("the node has no record of withdrawal {0} at that root")]
    NoRecord(H256),
    /// The node's proof does not decode.
    #[error("the node's proof does not decode: {0}")]
    ProofUndecodable(String),
    /// The node's record is of another withdrawal than the one made.
    #[error("the node's record of withdrawal {0} is not the one this wallet made")]
    NotOurs(H256),
    /// The node's proof does not hold under the anchor's root (the L1's own check).
    #[error(
        "the node's proof of withdrawal {id} does not hold under anchor {anchor}'s root: {reason}"
    )]
    BadProof {
        /// The withdrawal id.
        id: H256,
        /// The anchor index.
        anchor: u64,
        /// The verifier's reason.
        reason: String,
    },
    /// The withdrawal failed for good just now (saved as `failed`).
    #[error("withdrawal {id}: {reason}")]
    Failed {
        /// The withdrawal id.
        id: H256,
        /// Why.
        reason: String,
    },
    /// The withdrawal was saved as `failed` before.
    #[error("withdrawal {id} failed: {reason}")]
    FailedBefore {
        /// The withdrawal id.
        id: H256,
        /// Why (as saved).
        reason: String,
    },
    /// The L1 mined the finalisation and refused it (saved back at `included`).
    #[error("withdrawal {id}: the L1 refused the finalisation in block {block} ({why})")]
    Refused {
        /// The withdrawal id.
        id: H256,
        /// The L1 block.
        block: u64,
        /// The L1 rule's error name and message.
        why: String,
    },
    /// The saved L2 transaction does not decode.
    #[error("the saved transaction: {0}")]
    SavedTransaction(String),
    /// Signing the L2 transaction failed.
    #[error("signing: {0}")]
    SigningL2(String),
    /// Signing the L1 transaction failed.
    #[error("signing the L1 transaction: {0}")]
    SigningL1(String),
    /// The L1 account used the finalisation's nonce for another transaction: it can never be
    /// mined (a wait stops at once on this one).
    #[error("the L1 account {from} used nonce {nonce} for another transaction than {tx}")]
    NonceReused {
        /// The sender.
        from: Address,
        /// The nonce.
        nonce: u64,
        /// The transaction.
        tx: H256,
    },
    /// An L1 block lacks the receipt of one of its transactions.
    #[error("the L1's block {block} has no receipt {index}")]
    NoReceipt {
        /// The block height.
        block: u64,
        /// The transaction's position.
        index: usize,
    },
}

impl<E> WithdrawError<E> {
    /// True for an error a wait must not retry: what is waited for can no longer happen.
    pub fn is_fatal(&self) -> bool {
        matches!(self, WithdrawError::NonceReused { .. })
    }
}

/// The result of a machine step.
pub type Step<T, E> = Result<T, WithdrawError<E>>;

/// The front end that runs a withdrawal: `casl2 withdraw` (a JSON file, a terminal) or a
/// browser page (localStorage, a timer of its own).
#[allow(async_fn_in_trait)]
pub trait Host {
    /// The host's own error.
    type Error;

    /// Keep `w` (replacing the record with its id); called before each next step, so an
    /// interrupted withdrawal resumes from the stage saved last.
    fn save(&self, w: &Withdrawal) -> Result<(), Self::Error>;

    /// Hear of progress (a note, a bar).
    fn event(&self, event: Event<'_>);

    /// Call `poll` until it gives `Some`, pausing between calls as the host sees fit (the
    /// machine has no clock). An error of `poll` is retried unless it
    /// [is fatal](WithdrawError::is_fatal) (a host may give up after repeated errors); the host
    /// may stop the wait (an interruption, a deadline) with its own error. `id` is the
    /// withdrawal's.
    async fn wait<T, F, Fut>(&self, id: &H256, wait: Wait, poll: F) -> Step<T, Self::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Step<Option<T>, Self::Error>>;

    /// Run one L1 call (`what` names it). The default runs it as it is; a host may bound its
    /// time.
    async fn l1_call<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, L1ClientError>>,
    ) -> Step<T, Self::Error> {
        call.await
            .map_err(|error| WithdrawError::L1 { what, error })
    }
}

/// A wait over a caller's pause, for a host without a polling loop of its own (a browser
/// page with a timer, a test): call `poll` until it gives `Some`, `pause` between calls; an
/// error is retried (`limit` times in a row at most) unless it is fatal.
pub async fn poll_until<T, E, F, Fut, P, PFut>(limit: u32, mut pause: P, mut poll: F) -> Step<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Step<Option<T>, E>>,
    P: FnMut() -> PFut,
    PFut: Future<Output = Result<(), E>>,
{
    let mut errors = 0;
    loop {
        match poll().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => errors = 0,
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => {
                errors += 1;
                if errors >= limit {
                    return Err(e);
                }
            }
        }
        pause().await.map_err(WithdrawError::Host)?;
    }
}

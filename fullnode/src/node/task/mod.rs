//! The node's background tasks, each in a file of its own and each owning its state; one loop
//! ([`spawn_loop`]) drives them all, a tick every so often until the node stops.
//!
//! - [`l1poll::L1Poll`]: refresh the L1 view, revert on reorgs, announce this sequencer, report
//!   double signs (remembering which it reported).
//! - [`consensus::ConsensusTick`]: the consensus round's tick and the relay of admitted
//!   transactions.
//! - [`sync::CatchUp`]: fetch final blocks this node lacks from its peers.
//! - [`batcher::Batcher`]: anchor batches on L1 (remembering the batch in flight).
//! - [`defence::Defend`]: defend this node's anchors in fraud-proof games.
//! - [`availability::Availability`]: answer availability challenges (remembering which).
//! - [`offline::OfflineWatch`]: report sequencers missing from the last `offlineAfter` anchors
//!   (`SEQ_OFFLINE`), and announce this one again after it was reported.

pub mod availability;
pub mod batcher;
pub mod consensus;
pub mod defence;
pub mod l1poll;
pub mod offline;
pub mod sync;

use super::Shared;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A background task: its state lives in `self`, what it shares with the node in [`Shared`].
pub trait Task: Send + 'static {
    /// One round of the task's work.
    fn tick(&mut self, shared: &Arc<Shared>) -> impl Future<Output = ()> + Send;
}

/// Run `task` every `every_ms` until `stop` turns true.
pub fn spawn_loop<T: Task>(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    every_ms: u64,
    mut task: T,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let stopped = tokio::select! {
                r = stop.changed() => r.is_err() || *stop.borrow(),
                _ = tick.tick() => false,
            };
            if stopped || *stop.borrow() {
                return;
            }
            task.tick(&shared).await;
        }
    })
}

/// Start the node's tasks: every node polls L1, ticks consensus and catches up; a sequencer
/// also batches, defends its anchors and answers availability challenges.
pub fn spawn_all(shared: &Arc<Shared>, stop: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let s = || shared.clone();
    let mut tasks = vec![
        spawn_loop(
            s(),
            stop.clone(),
            shared.cfg().l1_poll_ms,
            l1poll::L1Poll::default(),
        ),
        spawn_loop(s(), stop.clone(), 20, consensus::ConsensusTick::default()),
        spawn_loop(s(), stop.clone(), 300, sync::CatchUp),
    ];
    if shared.cfg().key.is_some() {
        tasks.push(spawn_loop(
            s(),
            stop.clone(),
            250,
            batcher::Batcher::default(),
        ));
        tasks.push(spawn_loop(
            s(),
            stop.clone(),
            400,
            defence::Defend::default(),
        ));
        tasks.push(spawn_loop(
            s(),
            stop.clone(),
            400,
            availability::Availability::default(),
        ));
        tasks.push(spawn_loop(
            s(),
            stop.clone(),
            1_000,
            offline::OfflineWatch::default(),
        ));
    }
    tasks
}

//! What the long-running commands share: their async runtime and how they stop.

use anyhow::{Context, Result};
use std::time::Duration;

/// The runtime of a long-running command (two workers: the machine's cores).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Resolves on Ctrl-C, or after `run_for` seconds when that is not 0.
pub async fn stopped(run_for: u64) -> Result<()> {
    let deadline = async {
        if run_for > 0 {
            tokio::time::sleep(Duration::from_secs(run_for)).await
        } else {
            std::future::pending().await
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C"),
        _ = deadline => Ok(()),
    }
}

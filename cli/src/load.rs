//! `casl2 devnet --load TPS`: a load generator of signed L2 transfers.
//!
//! It uses its own deterministic accounts (`SHA256d("casl2-devnet-load" ‖ i LE)`, so the users'
//! dev keys and nonces are left alone), funds each of them once from dev key 0 with an L1
//! deposit, waits for the credits on L2, then sends transfers between them round-robin to every
//! node at about TPS per second. Nonces are tracked locally and re-read from the node after any
//! rejection; what it did is in [`LoadStats`], which the devnet's status line prints.

use anyhow::{anyhow, Context, Result};
use casl2_fullnode::devnet::dev_key;
use casl2_fullnode::devnet::rpc::SharedDevnet;
use casl2_lightclient::l2::NodeClient;
use casl2_verifier::hash::sha256d;
use casl2_verifier::keys::PrivateKey;
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::COIN;
use casl2_verifier::types::{L2Transaction, TxType};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Number of load accounts.
pub const LOAD_ACCOUNTS: u32 = 32;
/// What each load account is funded with (CAS).
pub const LOAD_FUNDING_CAS: i64 = 1_000;
/// Longest wait for the funding deposits to be credited on L2.
const FUNDING_TIMEOUT: Duration = Duration::from_secs(180);

/// Load account `i`.
pub fn load_key(i: u32) -> Result<PrivateKey> {
    let mut pre = b"casl2-devnet-load".to_vec();
    pre.extend_from_slice(&i.to_le_bytes());
    PrivateKey::from_bytes(&sha256d(&pre).0).map_err(|e| anyhow!("load key {i}: {e}"))
}

/// What the load generator has done so far.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadStats {
    /// `funding`, `running` or `failed`.
    pub phase: String,
    /// Transfers the nodes accepted.
    pub accepted: u64,
    /// Transfers a node refused (the nonce is then re-read).
    pub rejected: u64,
    /// The last refusal or failure, in the node's words.
    pub last_error: Option<String>,
}

/// Shared view of the generator's progress.
pub type SharedStats = Arc<Mutex<LoadStats>>;

fn set(stats: &SharedStats, f: impl FnOnce(&mut LoadStats)) {
    let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut s);
}

/// Fund the load accounts that have no L2 balance yet: one L1 deposit each from dev key 0.
fn fund(l1: &SharedDevnet, chain: u64, keys: &[PrivateKey], balances: &[i64]) -> Result<usize> {
    let funder = dev_key(0).map_err(|e| anyhow!("{e}"))?;
    let mut d = l1.lock().unwrap_or_else(|p| p.into_inner());
    let mut n = 0;
    for (k, b) in keys.iter().zip(balances) {
        if *b > 0 {
            continue;
        }
        let nonce = d.next_nonce(&funder.address());
        let tx = L1Tx::signed(
            &funder,
            nonce,
            L1Op::Deposit {
                chain,
                recipient: k.address(),
                amount: LOAD_FUNDING_CAS * COIN,
            },
        )
        .map_err(|e| anyhow!("signing the funding deposit: {e}"))?;
        d.submit(tx)
            .with_context(|| format!("funding load account {}", k.address()))?;
        n += 1;
    }
    Ok(n)
}

/// Run the generator until the task is aborted: fund, wait for the credits, send.
pub async fn run(l1: SharedDevnet, chain: u64, nodes: Vec<String>, tps: u32, stats: SharedStats) {
    if let Err(e) = run_inner(&l1, chain, &nodes, tps, &stats).await {
        set(&stats, |s| {
            s.phase = "failed".into();
            s.last_error = Some(format!("{e:#}"));
        });
    }
}

async fn run_inner(
    l1: &SharedDevnet,
    chain: u64,
    nodes: &[String],
    tps: u32,
    stats: &SharedStats,
) -> Result<()> {
    let clients: Vec<NodeClient> = nodes.iter().map(NodeClient::new).collect();
    let first = clients
        .first()
        .ok_or_else(|| anyhow!("no node to send load to"))?;
    let keys: Vec<PrivateKey> = (0..LOAD_ACCOUNTS).map(load_key).collect::<Result<_>>()?;
    set(stats, |s| s.phase = "funding".into());
    let started = Instant::now();
    let mut funded = false;
    let balances = loop {
        let mut balances = Vec::with_capacity(keys.len());
        let mut err = None;
        for k in &keys {
            match first.balance(&k.address()).await {
                Ok(b) => balances.push(b),
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        if err.is_none() {
            if balances.iter().all(|b| *b > 0) {
                break balances;
            }
            if !funded {
                fund(l1, chain, &keys, &balances)?;
                funded = true;
            }
        }
        if started.elapsed() > FUNDING_TIMEOUT {
            return Err(anyhow!(
                "the funding deposits were not credited on L2 within {} s{}",
                FUNDING_TIMEOUT.as_secs(),
                err.map(|e| format!(" (last node error: {e})"))
                    .unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(balances);
    let mut nonces = Vec::with_capacity(keys.len());
    for k in &keys {
        nonces.push(first.nonce(&k.address()).await?.pending);
    }
    set(stats, |s| s.phase = "running".into());
    // Ten rounds a second, each sending its share of the rate.
    let per_round = tps.div_ceil(10).max(1) as usize;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut i = 0usize;
    loop {
        tick.tick().await;
        for _ in 0..per_round {
            let s = i % keys.len();
            let to = keys[(s + 1) % keys.len()].address();
            let node = &clients[i % clients.len()];
            i = i.wrapping_add(1);
            let mut tx = L2Transaction {
                from: keys[s].address(),
                to,
                value: 1 + (i % 1_000) as i64,
                nonce: nonces[s],
                gas_limit: casl2_verifier::stf::rules::intrinsic_gas(TxType::Transfer, &[]),
                gas_price: 1,
                tx_type: TxType::Transfer,
                l2_chain_id: chain,
                ..Default::default()
            };
            tx.sign(&keys[s])
                .map_err(|e| anyhow!("signing a load transfer: {e}"))?;
            match node.send_transaction(&tx).await {
                Ok(_) => {
                    nonces[s] += 1;
                    set(stats, |st| st.accepted += 1);
                }
                Err(e) => {
                    set(stats, |st| {
                        st.rejected += 1;
                        st.last_error = Some(e.to_string());
                    });
                    if let Ok(n) = node.nonce(&keys[s].address()).await {
                        nonces[s] = n.pending;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_keys_are_distinct_and_not_dev_keys() {
        let load: Vec<_> = (0..LOAD_ACCOUNTS)
            .map(|i| load_key(i).unwrap().address())
            .collect();
        let mut uniq = load.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), load.len());
        // The vector of docs/protocol.md.
        assert_eq!(
            load[0].to_string(),
            "0x5d995c372fc1a6603c6f211833c5bb50999e660b"
        );
        for i in 0..10 {
            assert!(!load.contains(&dev_key(i).unwrap().address()));
        }
    }
}

//! Before a user command reads state from an L2 node: is the node at the chain's head? A
//! follower a few blocks behind would answer "0 CAS" right after a deposit the sequencers
//! already credited. The head the node must reach is the highest of the last L2 block L1
//! anchored and the heads that up to [`PEERS_ASKED`] active sequencers of the L1 registry
//! prove: a peer's claimed head counts only if it serves that block with a quorum of the L1
//! set's signatures (a hostile endpoint cannot make the command wait for a head that does not
//! exist). Behind it, the command waits (a spinner says so) up to `--timeout`, then fails in
//! plain words.

use crate::net::{Conn, Progress};
use anyhow::{anyhow, Result};
use casl2_lightclient::l1::L1Client;
use casl2_lightclient::l2::NodeClient;
use casl2_lightclient::verify::{sequencer_set, verify_header_quorum};
use casl2_verifier::l1::SequencerStatus;
use std::time::Duration;

/// How many sequencers are asked for their head.
pub const PEERS_ASKED: usize = 3;
/// How long each may take to answer (head and block).
const PEER_TIMEOUT: Duration = Duration::from_secs(2);

/// The chain's head as far as L1 and the registry's sequencers prove it: (height, who says).
pub async fn proven_head(c: &Conn) -> (u64, String) {
    let mut best = (c.anchored, "the last block L1 anchored".to_string());
    // The registry (and the set that signs blocks); a backend without it leaves L1's answer.
    let Ok(registry) = c.l1.sequencers_with_hat(c.chain).await else {
        return best;
    };
    let Ok(set) = sequencer_set(&registry, &c.params) else {
        return best;
    };
    let mine = c.node.url().trim_end_matches('/').to_string();
    let peers: Vec<String> = registry
        .iter()
        .filter(|(s, _)| s.status == SequencerStatus::Active && !s.endpoint.is_empty())
        .map(|(s, _)| s.endpoint.clone())
        .filter(|e| e.trim_end_matches('/') != mine)
        .take(PEERS_ASKED)
        .collect();
    let threshold = c.params.consensus_threshold_pct;
    let mut asks = tokio::task::JoinSet::new();
    for url in peers {
        let set = set.clone();
        asks.spawn(async move {
            let peer = NodeClient::new(url.clone());
            let ask = async {
                let h = peer.block_number().await.ok()?;
                let b = peer.block_by_number(h).await.ok()??;
                verify_header_quorum(&b.block.header, &b.block.signatures, &set, threshold).ok()?;
                (b.block.header.block_number == h).then_some(h)
            };
            tokio::time::timeout(PEER_TIMEOUT, ask)
                .await
                .ok()
                .flatten()
                .map(|h| (h, url))
        });
    }
    while let Some(r) = asks.join_next().await {
        if let Ok(Some((h, url))) = r {
            if h > best.0 {
                best = (h, format!("sequencer {url}"));
            }
        }
    }
    best
}

/// Wait until the node of `c` is at the chain's proven head ([`proven_head`]).
pub async fn await_in_sync(c: &Conn) -> Result<()> {
    let (target, source) = proven_head(c).await;
    let url = c.node.url().to_string();
    let at = c.node.block_number().await.map_err(|e| c.ne(e))?;
    if at >= target {
        return Ok(());
    }
    let bar = Progress::spinner(
        c.json,
        &format!("the L2 node at {url} is at block {at}, the chain at {target}: waiting for it to catch up"),
    );
    let hint = format!(
        " (the L2 node at {url} is behind block {target} that {source} proves; it may be catching up \
         or cut off from its peers: try again later, or give --node of a node in sync)"
    );
    let r = c
        .wait("the L2 node to catch up", &hint, || async {
            match c.node.block_number().await {
                Ok(h) => Ok((h >= target).then_some(())),
                Err(e) => Err(anyhow!("the L2 node at {url}: {e}")),
            }
        })
        .await;
    bar.done();
    r
}

//! The attack of issue 19, end to end: an outside client with no sequencer key floods every
//! node's peer endpoint with block proposals for the next heights (unsigned, signed by a
//! stranger, or naming the real leader without its signature) and votes signed by a stranger.
//! Before the fix, one such proposal cost a node its one vote of the round and finality
//! stopped for good. Now such
//! proposals are dropped unvoted (`casl2_consensus_dropped_proposals`) and the chain keeps
//! finalising.

use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::engine::Outgoing;
use casl2_lightclient::l2::NodeClient;
use casl2_verifier::consensus::slot_of_block;
use casl2_verifier::types::{L2Block, L2BlockHeader};
use casl2_verifier::{Address, PrivateKey, Vote, VoteType, H256};
use std::time::{Duration, Instant};

fn urls(net: &LocalNet) -> Vec<String> {
    net.configs
        .iter()
        .map(|c| format!("http://{}/", c.listen))
        .collect()
}

async fn min_height(urls: &[String]) -> u64 {
    let mut min = u64::MAX;
    for u in urls {
        let h = NodeClient::new(u.clone()).block_number().await.unwrap_or(0);
        min = min.min(h);
    }
    min
}

async fn reach(urls: &[String], target: u64, secs: u64) -> u64 {
    let start = Instant::now();
    loop {
        let h = min_height(urls).await;
        if h >= target || start.elapsed() > Duration::from_secs(secs) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Junk proposals for heights `next..next + 3`, in the three forms an outsider can make.
fn junk(next: u64, bpl: u64, leaders: &[Address], round: u64) -> Vec<Outgoing> {
    let stranger = PrivateKey::from_bytes(&[0x5a; 32]).unwrap();
    let mut out = Vec::new();
    for n in next..next + 3 {
        for (i, leader) in leaders.iter().enumerate() {
            let mut block = L2Block {
                header: L2BlockHeader {
                    block_number: n,
                    slot_number: slot_of_block(n, bpl).unwrap(),
                    sequencer: *leader,
                    timestamp: 1_000 * round + i as u64,
                    state_root: H256([round as u8; 32]),
                    ..Default::default()
                },
                ..Default::default()
            };
            out.push(Outgoing::Proposal {
                block: Box::new(block.clone()),
            });
            // Signed, by a key that is not the producer's.
            block.sign(&stranger, 1).unwrap();
            out.push(Outgoing::Proposal {
                block: Box::new(block.clone()),
            });
            block.header.sequencer = stranger.address();
            block.signatures.clear();
            block.sign(&stranger, 1).unwrap();
            out.push(Outgoing::Proposal {
                block: Box::new(block),
            });
        }
        // A vote for the height, signed by a key outside the registry.
        let mut vote = Vote {
            block_hash: H256([round as u8; 32]),
            voter_address: stranger.address(),
            vote: VoteType::Accept,
            reject_reason: String::new(),
            signature: Vec::new(),
            timestamp: round,
            slot_number: slot_of_block(n, bpl).unwrap(),
        };
        vote.sign(&stranger).unwrap();
        out.push(Outgoing::Vote {
            height: n,
            vote,
            signature: None,
        });
    }
    out
}

async fn dropped(url: &str) -> u64 {
    let text = reqwest::get(format!("{url}metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("casl2_consensus_dropped_proposals"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_proposals_from_outside_do_not_stop_finality() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 4);
    cfg.l1_block_ms = 500;
    let bpl = cfg.params.blocks_per_leader;
    let net = LocalNet::start(&cfg).await.unwrap();
    let urls = urls(&net);
    let start_height = reach(&urls, 2, 60).await;
    assert!(
        start_height >= 2,
        "the network did not start: height {start_height}"
    );
    let leaders: Vec<Address> = net.keys.iter().map(|k| k.address()).collect();

    // Flood every peer endpoint for about three seconds.
    let http = reqwest::Client::new();
    let flood_end = Instant::now() + Duration::from_secs(3);
    let mut round = 0u64;
    let mut sent = 0u64;
    while Instant::now() < flood_end {
        round += 1;
        let next = min_height(&urls).await + 1;
        for m in junk(next, bpl, &leaders, round) {
            for u in &urls {
                let r = http
                    .post(format!("{u}p2p/message"))
                    .json(&m)
                    .send()
                    .await
                    .unwrap();
                // Refused as invalid (422), or ignored as a height already final (200).
                let status = r.status().as_u16();
                assert!(
                    matches!(status, 200 | 422),
                    "{status}: {}",
                    r.text().await.unwrap()
                );
                sent += 1;
            }
        }
    }
    assert!(sent > 100, "only {sent} junk messages were sent");
    // The chain goes on: every node finalises five more blocks.
    let now = min_height(&urls).await;
    let reached = reach(&urls, now + 5, 90).await;
    assert!(
        reached >= now + 5,
        "finality stopped at {reached} after the flood (was {now})"
    );
    for u in &urls {
        assert!(dropped(u).await > 0, "{u} counted no dropped proposal");
    }
}

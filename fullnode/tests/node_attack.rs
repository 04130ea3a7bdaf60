//! The attack of issue 19, end to end: an outside client with no sequencer key floods every
//! node's peer endpoint with block proposals for the next heights (unsigned, signed by a
//! stranger, or naming the real leader without its signature) and votes signed by a stranger.
//! Before the fix, one such proposal cost a node its one vote of the round and finality
//! stopped for good. Now such
//! proposals are dropped unvoted (`casl2_consensus_dropped_proposals`) and the chain keeps
//! finalising.

use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::node::engine::Outgoing;
use casl2_fullnode::node::now_ms;
use casl2_fullnode::node::peer::{sign_peer_message, PEER_AUTH_HEADER};
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
    metric(url, "casl2_consensus_dropped_proposals").await
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
    let before_flood = min_height(&urls).await;
    let flood_start = Instant::now();
    let flood_end = flood_start + Duration::from_secs(3);
    let mut round = 0u64;
    let mut sent = 0u64;
    while Instant::now() < flood_end {
        round += 1;
        let next = min_height(&urls).await + 1;
        for (i, m) in junk(next, bpl, &leaders, round).into_iter().enumerate() {
            let body = serde_json::to_vec(&m).unwrap();
            // Every other message comes signed by a sequencer of the registry turned Byzantine
            // (it passes the peer check and reaches the engine's checks); the rest unsigned.
            let byzantine = i % 2 == 0;
            for u in &urls {
                let mut req = http
                    .post(format!("{u}p2p/message"))
                    .header("content-type", "application/json")
                    .body(body.clone());
                if byzantine {
                    let auth =
                        sign_peer_message(&net.keys[0], cfg.chain_id, now_ms(), &body).unwrap();
                    req = req.header(PEER_AUTH_HEADER, auth);
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                if byzantine {
                    // Refused as invalid (422), or ignored as a height already final (200).
                    assert!(
                        matches!(status, 200 | 422),
                        "{status}: {}",
                        r.text().await.unwrap()
                    );
                } else {
                    // Refused unread: unsigned (401), or over the address's budget (429).
                    assert!(
                        matches!(status, 401 | 429),
                        "{status}: {}",
                        r.text().await.unwrap()
                    );
                }
                sent += 1;
            }
        }
    }
    assert!(sent > 100, "only {sent} junk messages were sent");
    let during = min_height(&urls).await;
    // The figure docs/benchmarks.md quotes ("Peer endpoints under a junk flood").
    let secs = flood_start.elapsed().as_secs_f64();
    eprintln!(
        "junk flood: {sent} messages to 4 nodes in {secs:.1} s = {:.0}/s; \
         finality moved from {before_flood} to {during} meanwhile",
        sent as f64 / secs
    );
    // The chain goes on: every node finalises five more blocks.
    let now = min_height(&urls).await;
    let reached = reach(&urls, now + 5, 90).await;
    assert!(
        reached >= now + 5,
        "finality stopped at {reached} after the flood (was {now})"
    );
    for u in &urls {
        assert!(dropped(u).await > 0, "{u} counted no dropped proposal");
        assert!(
            metric(u, "casl2_p2p_unauthenticated").await > 0,
            "{u} counted no unauthenticated message"
        );
    }
}

/// A counter from a node's `/metrics`.
async fn metric(url: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{url}metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// What a web page or a stranger can do to the peer endpoints: nothing. A request with an
/// `Origin` header or without a JSON content type is refused before it is read, no CORS header
/// is sent (the user RPC keeps them), and `/p2p/batch-sign` answers only a poster of the L1
/// set, and never loads more than a batch's worth of blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_endpoints_refuse_pages_strangers_and_huge_ranges() {
    use casl2_fullnode::node::BatchSignRequest;
    use casl2_verifier::{BatchHeader, BlockSignature};
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 4);
    cfg.l1_block_ms = 500;
    let net = LocalNet::start(&cfg).await.unwrap();
    let urls = urls(&net);
    assert!(reach(&urls, 1, 60).await >= 1, "the network did not start");
    let u = &urls[0];
    let http = reqwest::Client::new();
    let cors = "access-control-allow-origin";

    // A page's cross-origin POST (a "simple request": text/plain, no pre-flight).
    let msg = serde_json::to_string(&junk(5, cfg.params.blocks_per_leader, &[], 1)[0]).unwrap();
    let r = http
        .post(format!("{u}p2p/message"))
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(msg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get(cors).is_none());
    let r = http
        .post(format!("{u}p2p/message"))
        .header("content-type", "text/plain")
        .body(msg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    // The pre-flight a page needs for a JSON POST gets no CORS grant.
    let r = http
        .request(reqwest::Method::OPTIONS, format!("{u}p2p/message"))
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get(cors).is_none(), "{:?}", r.headers());
    // The user RPC still answers pages of any origin.
    let r = http
        .request(reqwest::Method::OPTIONS, u.clone())
        .header("origin", "http://wallet.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get(cors).unwrap(), "*");

    // Batch signing: the poster must prove it is a sequencer of the set.
    let pre = {
        let d = net.l1.lock().unwrap();
        d.state().chain(1).unwrap().info.latest_state_root
    };
    let stranger = PrivateKey::from_bytes(&[0x5a; 32]).unwrap();
    let seq = &net.keys[1];
    let header = |poster: &PrivateKey, end: u64| BatchHeader {
        version: 1,
        start_block: 1,
        end_block: end,
        sequencer_address: poster.address(),
        ..Default::default()
    };
    let sign = |h: BatchHeader, by: &PrivateKey| BatchSignRequest {
        poster_signature: BlockSignature::sign(by, &h.hash(), 0).unwrap(),
        header: h,
        pre_state_root: pre,
    };
    let post = |req: BatchSignRequest| {
        let http = http.clone();
        let u = u.clone();
        async move {
            let r = http
                .post(format!("{u}p2p/batch-sign"))
                .json(&req)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // A stranger signing its own request.
    let (status, text) = post(sign(header(&stranger, 1), &stranger)).await;
    assert_eq!(status, 403, "{text}");
    // A stranger naming a real sequencer as poster.
    let (status, text) = post(sign(header(seq, 1), &stranger)).await;
    assert_eq!(status, 403, "{text}");
    // A real sequencer asking for a range no batch holds: refused before any block is read.
    let (status, text) = post(sign(header(seq, u64::MAX), seq)).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("batchInterval"), "{text}");
    let most = cfg.params.batch_interval;
    let (status, text) = post(sign(header(seq, most + 1), seq)).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("batchInterval"), "{text}");
    net.shutdown().await;
}

/// The RPC's budget is per client: a client flooding batches is refused (each request of a
/// batch counts) while another client, from another address, is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flooding_client_does_not_exhaust_another_clients_rpc_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = LocalNetConfig::new(dir.path().to_path_buf(), 1);
    cfg.l1_block_ms = 500;
    let mut net = LocalNet::start(&cfg).await.unwrap();
    net.stop_node(0).await;
    net.configs[0].rpc_rate_limit = 20;
    net.start_node(0).await.unwrap();
    let u = urls(&net)[0].clone();
    let batch: Vec<serde_json::Value> = (0..30)
        .map(|i| serde_json::json!({"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []}))
        .collect();
    let flooder = reqwest::Client::new();
    let r = flooder.post(&u).json(&batch).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32005, "{body}");
    // Another client (from 127.0.0.2) is answered, whatever the flooder's state.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let r = other
        .post(&u)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    net.shutdown().await;
}

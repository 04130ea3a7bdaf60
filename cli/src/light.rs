//! `casl2 light`: the light client in a terminal. Every answer is checked against what L1
//! anchors (`casl2_lightclient::LightClient`); the node is not trusted.
//!
//! Exit codes: 0 verified; 1 the node's evidence was rejected or a batch was not shown
//! available (the reason is printed); 2 bad input, or L1 or the node could not be reached.

use crate::Failure;
use anyhow::{anyhow, Context};
use casl2_lightclient::endpoint::{AnyL1, Role};
use casl2_lightclient::l1::L1Client;
use casl2_lightclient::verifier::params::COIN;
use casl2_lightclient::verifier::{Address, H256};
use casl2_lightclient::{
    Finality, LightClient, LightError, SampleProgress, Trust, VerifiedBalance,
};
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Flags of `casl2 light`.
#[derive(Debug, Args)]
pub struct LightArgs {
    /// The L1's URL (trusted): `http://host:port/` (the devnet),
    /// `cascoind+http://user:pass@host:port/` or `cascoind+http://host:port/?cookie=PATH` (a real
    /// Cascoin node).
    #[arg(
        long,
        value_name = "URL",
        env = "CASL2_L1",
        default_value = "http://127.0.0.1:18545/"
    )]
    l1: String,
    /// The L2 node to ask (not trusted) [default: the first active sequencer L1 lists].
    #[arg(long, value_name = "URL", env = "CASL2_NODE")]
    node: Option<String>,
    /// The L2 chain id.
    #[arg(long, env = "CASL2_CHAIN_ID", default_value_t = 1)]
    chain_id: u64,
    #[command(subcommand)]
    command: LightCommand,
}

/// What `casl2 light` does.
#[derive(Debug, Subcommand)]
pub enum LightCommand {
    /// An account's balance, proven against the quorum-signed head (soft) or L1's finalised
    /// root (hard).
    Balance {
        /// The account (0x and 40 hex digits).
        address: String,
        /// soft or hard.
        #[arg(long, default_value = "soft")]
        finality: String,
    },
    /// Sample a batch's availability until the wanted confidence.
    Sample {
        /// The batch (anchor index on L1).
        batch: u64,
        /// The wanted confidence that the batch can be rebuilt.
        #[arg(long, default_value_t = 0.9999)]
        confidence: f64,
    },
    /// A withdrawal's status, each step proven.
    Withdrawal {
        /// The withdrawal id (the WITHDRAWAL transaction's hash).
        id: String,
    },
    /// Follow L1: verify each new head's quorum and sample each new batch, until Ctrl-C.
    Follow {
        /// The wanted confidence per batch.
        #[arg(long, default_value_t = 0.9999)]
        confidence: f64,
        /// Pause between polls (ms).
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
        /// Stop after this many seconds (0: until Ctrl-C).
        #[arg(long, default_value_t = 0)]
        run_for: u64,
    },
}

/// A light-client error as the CLI reports it: rejections and failed sampling are failed
/// checks (exit 1), everything else is an error (exit 2).
fn failure(e: LightError) -> Failure {
    match e.kind() {
        "rejected" | "unavailable" => Failure::Invalid(e.to_string()),
        _ => Failure::Error(anyhow!(e)),
    }
}

fn cas(units: i64) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let u = units.unsigned_abs();
    format!("{sign}{}.{:07}", u / COIN as u64, u % COIN as u64)
}

fn trust_lines(t: &Trust) -> Vec<String> {
    let mut out = vec![format!(
        "L2 block {}, state root {}, L1 height {} (tip {})",
        t.l2_block, t.state_root, t.l1_height, t.l1_tip
    )];
    match t.finality {
        Finality::Soft => out.push(format!(
            "quorum: {} signatures on {}, weight {} of {} (threshold {}%)",
            t.signers.unwrap_or(0),
            t.block_hash.map(|h| h.to_string()).unwrap_or_default(),
            t.signed_weight.unwrap_or(0),
            t.total_weight.unwrap_or(0),
            t.threshold_pct.unwrap_or(0)
        )),
        Finality::Hard => out.push(match t.anchor_index {
            Some(i) => format!("final anchor #{i} on L1"),
            None => "the genesis root (no anchor final yet)".into(),
        }),
    }
    out
}

fn print_balance(b: &VerifiedBalance) {
    let kind = match b.trust.finality {
        Finality::Soft => "soft: quorum-signed head",
        Finality::Hard => "hard: L1-finalised anchor",
    };
    println!(
        "{} {} CAS  verified ({kind}){}",
        b.address,
        cas(b.balance),
        if b.exists { "" } else { ", proven absent" }
    );
    for l in trust_lines(&b.trust) {
        println!("  {l}");
    }
    println!(
        "  proof: {}, {} siblings, {} bytes, from {}",
        if b.proof.inclusion {
            "inclusion"
        } else {
            "exclusion"
        },
        b.proof.siblings,
        b.proof.bytes,
        b.node
    );
}

/// The node to ask: `--node`, or the first active sequencer's endpoint L1 lists.
async fn node_url(a: &LightArgs, l1: &AnyL1) -> Result<String, Failure> {
    if let Some(n) = &a.node {
        return Ok(n.clone());
    }
    let seqs = l1.sequencers(a.chain_id).await.with_context(|| {
        format!(
            "asking L1 at {} for chain {}'s sequencers",
            a.l1, a.chain_id
        )
    })?;
    seqs.into_iter()
        .find(|s| s.status == casl2_lightclient::verifier::l1::SequencerStatus::Active)
        .map(|s| s.endpoint)
        .ok_or_else(|| {
            Failure::Error(anyhow!(
                "L1 lists no active sequencer of chain {}: pass --node",
                a.chain_id
            ))
        })
}

/// Progress on stderr (a terminal only): samples verified and the confidence rising.
fn progress(p: &SampleProgress) {
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(
            err,
            "\rbatch {}: {}/{} samples, confidence {:.6}",
            p.batch, p.verified, p.needed, p.confidence
        );
        if p.verified == p.needed {
            let _ = writeln!(err);
        }
    }
}

/// Run `casl2 light …`.
pub fn run(a: LightArgs, json_out: bool) -> Result<(), Failure> {
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        let l1 = AnyL1::from_url(&a.l1).map_err(|e| anyhow!("--l1: {e}"))?;
        l1.check_role(Role::Light)
            .map_err(|e| anyhow!("--l1 {}: {e}", a.l1))?;
        let node = node_url(&a, &l1).await?;
        let lc = LightClient::new(l1, node, a.chain_id);
        match &a.command {
            LightCommand::Balance { address, finality } => {
                let addr = Address::from_hex(address).map_err(|e| {
                    anyhow!("address {address:?}: {e} (want 0x and 40 hex digits)")
                })?;
                let f: Finality = finality.parse().map_err(|e: LightError| anyhow!(e))?;
                let b = lc.balance(&addr, f).await.map_err(failure)?;
                if json_out {
                    println!("{}", json!(b));
                } else {
                    print_balance(&b);
                }
            }
            LightCommand::Sample { batch, confidence } => {
                let seed = casl2_lightclient::sampling::fresh_seed().map_err(failure)?;
                let show = !json_out;
                let r = lc
                    .sample_with(*batch, *confidence, seed, |p| {
                        if show {
                            progress(p)
                        }
                    })
                    .await
                    .map_err(failure)?;
                if json_out {
                    println!("{}", json!(r));
                } else {
                    println!(
                        "batch {} available: {} samples of a {}×{} square verified, confidence {:.6} (wanted {}); L2 blocks {}–{}, L1 height {}, data root {}",
                        r.batch, r.verified, r.width, r.width, r.confidence, r.wanted,
                        r.start_block, r.end_block, r.l1_height, r.data_root
                    );
                }
            }
            LightCommand::Withdrawal { id } => {
                let id = H256::from_hex(id)
                    .map_err(|e| anyhow!("withdrawal id {id:?}: {e} (want 0x and 64 hex digits)"))?;
                let s = lc.withdrawal(&id).await.map_err(failure)?;
                if json_out {
                    println!("{}", json!(s));
                } else {
                    println!("withdrawal {}: {}", s.id, json!(s.state).as_str().unwrap_or(""));
                    if let Some(r) = &s.record {
                        println!(
                            "  {} CAS from {} to {} on L1, L2 block {}",
                            cas(r.amount), r.l2_sender, r.l1_recipient, r.l2_block
                        );
                    }
                    for (name, t) in [("soft", &s.soft), ("hard", &s.hard)] {
                        println!("  {name}: {}", trust_lines(t).join("; "));
                    }
                    match s.paid_on_l1 {
                        Some(p) => println!("  paid on L1: {}", if p { "yes" } else { "no" }),
                        None => println!("  paid on L1: this L1 cannot say"),
                    }
                }
            }
            LightCommand::Follow {
                confidence,
                interval_ms,
                run_for,
            } => follow(&lc, *confidence, *interval_ms, *run_for, json_out).await?,
        }
        Ok(())
    })
}

/// Poll L1, verify the head, sample each new batch; failures are printed as failures and make
/// the command end with exit 1 when it stops.
async fn follow(
    lc: &LightClient<AnyL1>,
    confidence: f64,
    interval_ms: u64,
    run_for: u64,
    json_out: bool,
) -> Result<(), Failure> {
    let start = Instant::now();
    let mut failures = 0u64;
    let mut last_head = None;
    let stop = crate::run::stopped(0);
    tokio::pin!(stop);
    loop {
        let step = async {
            let up = lc.poll().await.map_err(failure)?;
            if json_out {
                println!("{}", json!({ "event": "l1", "update": up }));
            } else {
                println!(
                    "L1 tip {}: {} batches anchored, finalised to L2 block {}, {} sequencers (weight {})",
                    up.l1_tip, up.anchors, up.finalized_l2_block, up.sequencers, up.total_weight
                );
            }
            let mut failed = 0u64;
            match lc.head().await {
                Ok(h) if last_head != Some(h.header.block_number) => {
                    last_head = Some(h.header.block_number);
                    if json_out {
                        println!("{}", json!({ "event": "head", "head": h }));
                    } else {
                        println!(
                            "  head {}: {}",
                            h.header.block_number,
                            trust_lines(&h.trust)[1]
                        );
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if e.kind() == "rejected" {
                        failed += 1;
                    }
                    report_failure("head", &e, json_out);
                }
            }
            for b in &up.new_batches {
                let seed = casl2_lightclient::sampling::fresh_seed().map_err(failure)?;
                let show = !json_out;
                match lc
                    .sample_with(*b, confidence, seed, |p| {
                        if show {
                            progress(p)
                        }
                    })
                    .await
                {
                    Ok(r) if json_out => println!("{}", json!({ "event": "sample", "report": r })),
                    Ok(r) => println!(
                        "  batch {} available: {} samples, confidence {:.6} (L2 blocks {}–{})",
                        r.batch, r.verified, r.confidence, r.start_block, r.end_block
                    ),
                    Err(e) => {
                        failed += 1;
                        report_failure("sample", &e, json_out);
                    }
                }
            }
            Ok::<u64, Failure>(failed)
        };
        tokio::select! {
            r = step => failures += r?,
            r = &mut stop => { r?; break; }
        }
        if run_for > 0 && start.elapsed() >= Duration::from_secs(run_for) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(interval_ms.max(100))) => {}
            r = &mut stop => { r?; break; }
        }
    }
    if failures > 0 {
        return Err(Failure::Invalid(format!(
            "{failures} checks failed while following (see above)"
        )));
    }
    Ok(())
}

fn report_failure(what: &str, e: &LightError, json_out: bool) {
    if json_out {
        println!(
            "{}",
            json!({ "event": what, "failed": true, "kind": e.kind(), "reason": e.to_string() })
        );
    } else {
        println!("  FAILED {what} ({}): {e}", e.kind());
    }
}

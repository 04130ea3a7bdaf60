//! `casl2 sequencer announce|status|leave|withdraw-stake|report-offline`: a sequencer's entry in the L1
//! registry, following the registry's rules (`docs/protocol.md`, "L1 rules"): announcing locks
//! a stake (at least the chain's `minSequencerStake`, from a key whose HAT score reaches
//! `minSequencerHat`), leaving (`Unbond`) starts the `unbondingDelay`, and the stake comes back
//! with `WithdrawStake` once that delay has passed. The devnet L1 applies the rules to signed
//! `L1Tx`s; a real Cascoin node announces a fresh key of its own wallet and keeps no bonding
//! state, so `leave` and `withdraw-stake` are refused there with what it lacks.

use crate::amount::{format_cas, parse_cas};
use crate::chain::{open, send_and_mine_hinted, L1Args};
use crate::net::{parse_address, Conn};
use crate::wallet::{KeyArgs, WalletArgs};
use anyhow::{anyhow, bail, Result};
use casl2_lightclient::cascoind::{CascoindClient, Submitted};
use casl2_lightclient::endpoint::AnyL1;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{check_offline, L1Error, L1Event, L1Op, L1Tx, Sequencer, SequencerStatus};
use casl2_verifier::{Address, PrivateKey};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

/// `casl2 sequencer …`.
#[derive(Debug, Subcommand)]
pub enum SequencerCommand {
    /// Announce the key as a sequencer of a chain, locking its stake on L1.
    Announce(AnnounceArgs),
    /// A sequencer's registry entry: stake, status, HAT score, endpoint, unbonding time left.
    Status(StatusArgs),
    /// Leave the chain's active set: start unbonding the key's stake (`Unbond`).
    Leave(ChainKeyArgs),
    /// Take the unbonded stake back once the unbonding delay has passed (`WithdrawStake`).
    WithdrawStake(ChainKeyArgs),
    /// Report an active sequencer that signed none of the chain's last `offlineAfter` anchors
    /// (`SEQ_OFFLINE`): it leaves the active set, its stake stays locked.
    ReportOffline(ReportArgs),
}

/// Flags of `casl2 sequencer report-offline`.
#[derive(Debug, Args)]
#[command(after_help = "\
Anyone may report; the L1 checks the evidence itself (the chain's last offlineAfter anchors,
each posted while the sequencer was active and none carrying its signature) and it costs the
reporter nothing but the L1 transaction. The rule is checked here first, so a report that would
be refused is not sent. The reported sequencer keeps its stake locked; `casl2 sequencer
announce` brings it back, `casl2 sequencer leave` starts its unbonding.")]
pub struct ReportArgs {
    /// The sequencer's L1 address.
    pub address: String,
    #[command(flatten)]
    pub on: ChainKeyArgs,
}

/// Flags of `casl2 sequencer announce`.
#[derive(Debug, Args)]
#[command(after_help = "\
The L1 takes the stake from the key's L1 balance. It must be at least the chain's
minSequencerStake, and the key's HAT score at least minSequencerHat (`casl2 chain info` shows
both; `casl2 l1 hat get ADDRESS` the score). The first sequencer makes a BOOTSTRAPPING chain
ACTIVE. A real Cascoin node (--l1 cascoind+http://…) announces a fresh key of its own wallet
for the chain it runs, sending --key's HAT score; the printed address is the sequencer's.")]
pub struct AnnounceArgs {
    /// The chain id.
    #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID")]
    pub chain: u64,
    /// The stake to lock, in CAS (up to 7 decimals).
    #[arg(long, value_name = "CAS")]
    pub stake: String,
    /// Where the sequencer's node answers (its JSON-RPC URL, at most 256 bytes).
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub l1: L1Args,
}

/// Flags of `casl2 sequencer status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The sequencer's L1 address [default: the address of --key].
    pub address: Option<String>,
    /// The chain id.
    #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID")]
    pub chain: u64,
    /// The key whose address is meant when ADDRESS is not given (a keystore name or address,
    /// or a raw key; no passphrase needed).
    #[arg(
        long,
        value_name = "NAME|ADDRESS|HEX",
        env = "CASL2_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    #[command(flatten)]
    pub wallet: WalletArgs,
    #[command(flatten)]
    pub l1: L1Args,
}

/// Flags of `casl2 sequencer leave` and `withdraw-stake`.
#[derive(Debug, Args)]
pub struct ChainKeyArgs {
    /// The chain id.
    #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID")]
    pub chain: u64,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub l1: L1Args,
}

/// Run `casl2 sequencer …`.
pub fn run(cmd: SequencerCommand, json_out: bool) -> Result<()> {
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        match cmd {
            SequencerCommand::Announce(a) => announce(a, json_out).await,
            SequencerCommand::Status(a) => status(a, json_out).await,
            SequencerCommand::Leave(a) => leave(a, json_out).await,
            SequencerCommand::WithdrawStake(a) => withdraw_stake(a, json_out).await,
            SequencerCommand::ReportOffline(a) => report_offline(a, json_out).await,
        }
    })
}

/// What to do about an L1 refusal of a registry operation on `chain`.
fn what_to_do(chain: u64, e: &L1Error) -> String {
    match e {
        L1Error::UnknownChain(_) => "`casl2 chain list` shows the registered chains".into(),
        L1Error::SeqNotEligible(_) => format!(
            "lock at least the chain's minSequencerStake from a key whose HAT score reaches \
             minSequencerHat (`casl2 chain info --chain {chain}` shows both, `casl2 l1 hat get \
             ADDRESS` the score)"
        ),
        L1Error::SeqAlreadyRegistered { address, .. } => format!(
            "`casl2 sequencer status {address} --chain {chain}` shows its entry; leave and \
             withdraw the stake before announcing again (only an OFFLINE one announces again \
             as it is)"
        ),
        L1Error::SeqUnknown { address, .. } => format!(
            "`casl2 sequencer status {address} --chain {chain}` shows whether and how it is \
             registered"
        ),
        L1Error::SeqStillBonded { .. } => format!(
            "`casl2 sequencer leave --chain {chain}` starts the unbonding delay; withdraw once it \
             has passed"
        ),
        L1Error::InsufficientFunds { .. } => {
            "the key's L1 balance does not cover the stake: fund it or lock less".into()
        }
        L1Error::WrongStatus { .. } => {
            format!("`casl2 chain info --chain {chain}` shows the chain's status")
        }
        _ => String::new(),
    }
}

/// The chain's registry entries with their HAT scores; an unknown chain is the L1's
/// `CHAIN_UNKNOWN`, with what to do.
async fn entries(c: &Conn, chain: u64) -> Result<Vec<(Sequencer, u32)>> {
    c.l1q("the sequencers", c.l1.sequencers_with_hat(chain))
        .await
        .map_err(|e| anyhow!("{e}; `casl2 chain list` shows the registered chains"))
}

/// The entry of `address` on `chain` (`SEQ_UNKNOWN` when there is none).
async fn entry(c: &Conn, chain: u64, address: &Address) -> Result<(Sequencer, u32)> {
    entries(c, chain)
        .await?
        .into_iter()
        .find(|(s, _)| s.address == *address)
        .ok_or_else(|| {
            let e = L1Error::SeqUnknown {
                chain,
                address: *address,
                detail: "a sequencer".into(),
            };
            anyhow!("{e} (a withdrawn stake leaves no entry; `casl2 sequencer announce` adds one)")
        })
}

/// Seconds per L1 block over the last (up to) 20 blocks, if the block times tell.
async fn seconds_per_block(c: &Conn, tip: u64) -> Option<f64> {
    let from = tip.saturating_sub(20);
    let time = |h: u64| async move {
        let hash = c.l1.block_hash(h).await.ok()?;
        Some(c.l1.block_header(&hash).await.ok()?.time)
    };
    let (t0, t1) = (time(from).await?, time(tip).await?);
    (tip > from && t1 > t0).then(|| (t1 - t0) as f64 / (tip - from) as f64)
}

/// "N L1 blocks (about S s)": how long until L1 height `at` from tip `tip`.
async fn blocks_left_text(c: &Conn, tip: u64, at: u64) -> String {
    let n = at.saturating_sub(tip);
    match seconds_per_block(c, tip).await {
        Some(s) => format!("{n} more L1 blocks (about {:.0} s)", s * n as f64),
        None => format!("{n} more L1 blocks"),
    }
}

/// One entry as JSON, with its unbonding state at L1 tip `tip`.
fn entry_json(chain: u64, s: &Sequencer, hat: u32, tip: u64) -> Value {
    let (status, release_at, offline_since) = match s.status {
        SequencerStatus::Active => ("ACTIVE", None, None),
        SequencerStatus::Unbonding { release_at } => ("UNBONDING", Some(release_at), None),
        SequencerStatus::Offline { since } => ("OFFLINE", None, Some(since)),
    };
    json!({
        "chainId": chain, "address": s.address, "status": status, "stake": s.stake,
        "offlineSince": offline_since,
        "slashed": s.slashed, "hatScore": hat, "endpoint": s.endpoint,
        "announcedAt": s.announced_at, "releaseAt": release_at,
        "blocksLeft": release_at.map(|r| r.saturating_sub(tip)),
        "withdrawable": s.check_withdraw_stake(tip.saturating_add(1)).is_ok(),
        "l1Height": tip, "backend": "devnet",
    })
}

async fn print_entry(c: &Conn, v: &Value) {
    let text = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    let cas = |k: &str| format_cas(v[k].as_i64().unwrap_or(0));
    println!("sequencer {} of chain {}", text("address"), v["chainId"]);
    let status = match (v["releaseAt"].as_u64(), v["withdrawable"].as_bool()) {
        (Some(r), Some(true)) => format!(
            "UNBONDING, released at L1 height {r}: `casl2 sequencer withdraw-stake` takes it back"
        ),
        (Some(r), _) => {
            let tip = v["l1Height"].as_u64().unwrap_or(0);
            format!(
                "UNBONDING, released at L1 height {r}: {}",
                blocks_left_text(c, tip, r).await
            )
        }
        (None, _) => match v["offlineSince"].as_u64() {
            Some(h) => format!(
                "OFFLINE since L1 height {h} (reported: it signed none of the chain's last \
                 offlineAfter anchors); `casl2 sequencer announce` brings it back"
            ),
            None => text("status"),
        },
    };
    println!("  status      {status}");
    println!(
        "  stake       {} CAS (slashed {} CAS)",
        cas("stake"),
        cas("slashed")
    );
    println!("  HAT         {}", v["hatScore"]);
    println!("  endpoint    {}", text("endpoint"));
    println!("  announced   L1 height {}", v["announcedAt"]);
}

async fn show(c: &Conn, chain: u64, address: &Address, json_out: bool, extra: Value) -> Result<()> {
    let (s, hat) = entry(c, chain, address).await?;
    let tip = c.l1_height().await?;
    let mut v = entry_json(chain, &s, hat, tip);
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    if json_out {
        println!("{v}");
    } else {
        print_entry(c, &v).await;
    }
    Ok(())
}

async fn announce(a: AnnounceArgs, json_out: bool) -> Result<()> {
    let stake = parse_cas(&a.stake).map_err(|e| anyhow!("--stake: {e}"))?;
    let key = a.key.private_key()?;
    let c = open(&a.l1, json_out).await?;
    let op = L1Op::AnnounceSequencer {
        chain: a.chain,
        stake,
        endpoint: a.endpoint.clone(),
    };
    if let AnyL1::Cascoind(node) = &c.l1 {
        return announce_on_node(&c, node, &key, op, json_out).await;
    }
    // An unknown chain is named before anything is sent.
    entries(&c, a.chain).await?;
    let (block, _) = send_and_mine_hinted(&c, &key, op, |e| what_to_do(a.chain, e)).await?;
    let extra = json!({ "l1Block": block });
    if !json_out {
        println!(
            "announced {} as a sequencer of chain {} (L1 block {block})",
            key.address(),
            a.chain
        );
    }
    show(&c, a.chain, &key.address(), json_out, extra).await
}

/// Announce on a real node: it announces a fresh key of its own wallet (the L1Tx's signature
/// selects nothing there).
async fn announce_on_node(
    c: &Conn,
    node: &CascoindClient,
    key: &PrivateKey,
    op: L1Op,
    json_out: bool,
) -> Result<()> {
    let tx = L1Tx::signed(key, 0, op).map_err(|e| anyhow!("signing: {e}"))?;
    let (address, eligible) = match c.l1q("the announcement", node.submit(&tx)).await? {
        Submitted::SequencerAnnounced { address, eligible } => (address, eligible),
        other => bail!(
            "the node at {} answered {other:?} to an announcement",
            c.l1_url
        ),
    };
    let v = json!({
        "address": address, "eligible": eligible, "backend": "cascoind",
        "note": "the node announced a fresh key of its own wallet; it keeps no bonding state on L1",
    });
    if json_out {
        println!("{v}");
    } else {
        println!(
            "the node at {} announced {address} (its own wallet's key; eligible: {})",
            c.l1_url,
            eligible.map_or("unknown".into(), |e| e.to_string())
        );
    }
    Ok(())
}

async fn status(a: StatusArgs, json_out: bool) -> Result<()> {
    let address = match (&a.address, &a.key) {
        (Some(s), _) => parse_address("ADDRESS", s)?,
        (None, Some(k)) => KeyArgs {
            key: k.clone(),
            wallet: a.wallet.clone(),
        }
        .address()?,
        (None, None) => bail!("give the sequencer's ADDRESS, or --key for the key's own"),
    };
    let c = open(&a.l1, json_out).await?;
    if let AnyL1::Cascoind(node) = &c.l1 {
        return status_on_node(&c, node, a.chain, &address, json_out).await;
    }
    show(&c, a.chain, &address, json_out, json!({})).await
}

/// The real node's `l2_getsequencers` entry: stake, HAT, endpoint and eligibility, no bonding
/// state (the node has none).
async fn status_on_node(
    c: &Conn,
    node: &CascoindClient,
    chain: u64,
    address: &Address,
    json_out: bool,
) -> Result<()> {
    let info = c.l1q("the node's L2 chain", node.chain_info()).await?;
    if info.chain_id != chain {
        bail!(
            "the node at {} runs L2 chain {}, not {chain}; l2_getsequencers lists only the node's own chain",
            c.l1_url,
            info.chain_id
        );
    }
    let list = c
        .l1q("the node's sequencers", node.node_sequencers(false))
        .await?;
    let s = list.iter().find(|s| s.address == *address).ok_or_else(|| {
        anyhow!(
            "{}",
            L1Error::SeqUnknown {
                chain,
                address: *address,
                detail: "a sequencer the node lists".into(),
            }
        )
    })?;
    let v = json!({
        "chainId": chain, "address": s.address, "stake": s.stake, "hatScore": s.hat_score,
        "endpoint": s.endpoint, "eligible": s.is_eligible, "status": Value::Null,
        "backend": "cascoind",
        "note": "the real node keeps no bonding state: no unbonding, no release height",
    });
    if json_out {
        println!("{v}");
    } else {
        println!("sequencer {} of chain {chain} (real node)", s.address);
        println!("  eligible    {}", s.is_eligible);
        println!("  stake       {} CAS", format_cas(s.stake));
        println!("  HAT         {}", s.hat_score);
        println!("  endpoint    {}", s.endpoint);
        println!("  (the real node keeps no bonding state: no unbonding, no release height)");
    }
    Ok(())
}

/// On a real node: send `op` anyway, so that the backend says what it lacks.
async fn refused_by_node(
    c: &Conn,
    node: &CascoindClient,
    key: &PrivateKey,
    op: L1Op,
) -> Result<()> {
    let tx = L1Tx::signed(key, 0, op).map_err(|e| anyhow!("signing: {e}"))?;
    c.l1q("the L1 transaction", node.submit(&tx)).await?;
    bail!(
        "the node at {} accepted an operation it has no RPC for",
        c.l1_url
    )
}

async fn leave(a: ChainKeyArgs, json_out: bool) -> Result<()> {
    let key = a.key.private_key()?;
    let c = open(&a.l1, json_out).await?;
    let op = L1Op::Unbond { chain: a.chain };
    if let AnyL1::Cascoind(node) = &c.l1 {
        return refused_by_node(&c, node, &key, op).await;
    }
    let (block, _) = send_and_mine_hinted(&c, &key, op, |e| what_to_do(a.chain, e)).await?;
    if !json_out {
        println!(
            "{} left the active set of chain {} (L1 block {block}); the stake unbonds",
            key.address(),
            a.chain
        );
    }
    show(
        &c,
        a.chain,
        &key.address(),
        json_out,
        json!({ "l1Block": block }),
    )
    .await
}

async fn withdraw_stake(a: ChainKeyArgs, json_out: bool) -> Result<()> {
    let key = a.key.private_key()?;
    let c = open(&a.l1, json_out).await?;
    let op = L1Op::WithdrawStake { chain: a.chain };
    if let AnyL1::Cascoind(node) = &c.l1 {
        return refused_by_node(&c, node, &key, op).await;
    }
    // The L1's own rule, asked for the next block before anything is sent.
    let (s, _) = entry(&c, a.chain, &key.address()).await?;
    let tip = c.l1_height().await?;
    if let Err(e) = s.check_withdraw_stake(tip.saturating_add(1)) {
        let when = match s.status {
            SequencerStatus::Active => format!(
                "{} is still active: `casl2 sequencer leave --chain {}` starts the unbonding delay \
                 of the chain's unbondingDelay L1 blocks",
                s.address, a.chain
            ),
            SequencerStatus::Unbonding { release_at } => format!(
                "wait {} (the L1 tip is at {tip}), then run this again",
                blocks_left_text(&c, tip, release_at).await
            ),
            SequencerStatus::Offline { since } => format!(
                "{} was reported offline at L1 height {since}; its stake stays locked until \
                 `casl2 sequencer leave --chain {}` starts the unbonding delay",
                s.address, a.chain
            ),
        };
        bail!("{e}: {when}");
    }
    let (block, receipt) = send_and_mine_hinted(&c, &key, op, |e| what_to_do(a.chain, e)).await?;
    let amount: i64 = receipt
        .outcome
        .iter()
        .flatten()
        .map(|e| match e {
            L1Event::StakeWithdrawn { amount, .. } => *amount,
            _ => 0,
        })
        .sum();
    let balance = c
        .l1q("the L1 account", c.l1.account(&key.address()))
        .await?
        .balance;
    let v = json!({
        "chainId": a.chain, "address": key.address(), "withdrawn": amount, "l1Block": block,
        "l1Balance": balance, "backend": "devnet",
    });
    if json_out {
        println!("{v}");
    } else {
        println!(
            "{} CAS of stake returned to {} in L1 block {block} (L1 balance {} CAS); it is no longer a sequencer of chain {}",
            format_cas(amount),
            key.address(),
            format_cas(balance),
            a.chain
        );
    }
    Ok(())
}

async fn report_offline(a: ReportArgs, json_out: bool) -> Result<()> {
    let who = parse_address("ADDRESS", &a.address)?;
    let a = a.on;
    let key = a.key.private_key()?;
    let c = open(&a.l1, json_out).await?;
    let op = L1Op::ReportOffline {
        chain: a.chain,
        sequencer: who,
    };
    if let AnyL1::Cascoind(node) = &c.l1 {
        return refused_by_node(&c, node, &key, op).await;
    }
    // The L1's own rule over the chain's last offlineAfter anchors, before anything is sent.
    let info = c
        .l1q("the chains", c.l1.chains())
        .await?
        .into_iter()
        .find(|i| i.chain_id == a.chain)
        .ok_or_else(|| anyhow!("{}", L1Error::UnknownChain(a.chain)))?;
    let (s, _) = entry(&c, a.chain, &who).await?;
    if s.status != SequencerStatus::Active {
        bail!(
            "{}",
            L1Error::SeqUnknown {
                chain: a.chain,
                address: who,
                detail: "an active sequencer".into(),
            }
        );
    }
    let k = info.params.offline_after;
    if k == 0 {
        bail!(
            "chain {} has offlineAfter 0: its sequencers cannot be reported offline",
            a.chain
        );
    }
    let n = c.l1q("the anchors", c.l1.anchor_count(a.chain)).await?;
    let window = c
        .l1q(
            "the anchors",
            c.l1.anchors_window(a.chain, n.saturating_sub(k), k),
        )
        .await?;
    check_offline(&window, &who, k).map_err(|e| anyhow!("{e}; nothing was sent"))?;
    let (block, _) = send_and_mine_hinted(&c, &key, op, |e| what_to_do(a.chain, e)).await?;
    if !json_out {
        println!(
            "{who} reported offline on chain {} (L1 block {block}): it signed none of the last {k} anchors",
            a.chain
        );
    }
    show(
        &c,
        a.chain,
        &who,
        json_out,
        json!({ "l1Block": block, "reporter": key.address() }),
    )
    .await
}

//! `casl2 challenger`: watch a chain's anchors on L1 and dispute the bad ones
//! (`lightclient::watcher`). `run` keeps going until Ctrl-C; `status`, `games` and `game` read
//! what `run` persisted in the data directory (and, for `game`, the L1).

use anyhow::{anyhow, bail, Context, Result};
use casl2_fullnode::RedbNodeStore;
use casl2_lightclient::endpoint::{AnyL1, Role};
use casl2_lightclient::l1::L1Client;
pub use casl2_lightclient::watcher::{ChallengerConfig, ChallengerEvent};
use casl2_lightclient::watcher::{ChallengerState, GameRecord, Verdict};
use casl2_verifier::fraud::{Game, GamePhase};
use casl2_verifier::params::COIN;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The challenger as the CLI runs it: its tree in `state.redb`, the L1 reached at
/// [`ChallengerConfig::l1_url`].
pub type Challenger = casl2_lightclient::watcher::Challenger<RedbNodeStore, AnyL1>;

/// Open the challenger of `cfg` (its data directory, the tree's redb store, the L1 client).
pub fn open(cfg: ChallengerConfig) -> Result<Challenger> {
    // Either backend (`--l1 http://…` or `cascoind+http://…`); one that lacks what the
    // challenger needs is refused here, in one line naming the missing RPC.
    let l1 = AnyL1::from_url(&cfg.l1_url).map_err(|e| anyhow::anyhow!("--l1: {e}"))?;
    l1.check_role(Role::Challenger)
        .map_err(|e| anyhow::anyhow!("--l1 {}: {e}", cfg.l1_url))?;
    let open_store = |path: &std::path::Path| RedbNodeStore::open(path).map_err(|e| e.to_string());
    Ok(Challenger::open(cfg, l1, open_store)?)
}

/// Game `id` as the L1 reports it: looked up among the games of `chain` when known (the
/// challenger's chain), else of every chain the L1 has.
async fn live_game<C: L1Client>(l1: &C, id: u64, chain: Option<u64>) -> Result<Game> {
    let chains = match chain {
        Some(c) => vec![c],
        None => l1.chains().await?.into_iter().map(|c| c.chain_id).collect(),
    };
    for chain in chains {
        if let Some(g) = l1
            .games(chain, false)
            .await?
            .into_iter()
            .find(|g| g.id == id)
        {
            return Ok(g);
        }
    }
    bail!("no game {id}")
}

/// `casl2 challenger …`.
#[derive(Debug, Subcommand)]
pub enum ChallengerCommand {
    /// Follow the chain's anchors on L1, re-execute every batch from L1 data alone, and dispute
    /// every bad one (fraud proofs, bisection games, timeouts) until Ctrl-C.
    Run(RunArgs),
    /// Summary of what the challenger in --data-dir has judged and played.
    Status(DirArgs),
    /// The games the challenger in --data-dir opened or played.
    Games(DirArgs),
    /// One game: the challenger's record and, when the L1 answers, its live state.
    Game(GameArgs),
}

/// Where the challenger keeps its state.
#[derive(Debug, Args)]
pub struct DirArgs {
    /// The challenger's data directory.
    #[arg(
        long,
        value_name = "DIR",
        env = "CASL2_CHALLENGER_DIR",
        default_value = "casl2-challenger"
    )]
    data_dir: PathBuf,
}

/// Flags of `casl2 challenger game`.
#[derive(Debug, Args)]
pub struct GameArgs {
    /// The game id (as L1 numbers games).
    id: u64,
    #[command(flatten)]
    dir: DirArgs,
    /// The L1's JSON-RPC URL, for the game's live state.
    #[arg(
        long,
        value_name = "URL",
        env = "CASL2_L1",
        default_value = "http://127.0.0.1:18545/"
    )]
    l1: String,
}

/// Flags of `casl2 challenger run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    dir: DirArgs,
    /// The L2 chain to watch.
    #[arg(long, env = "CASL2_CHAIN_ID", default_value_t = 1)]
    chain_id: u64,
    /// The L1's JSON-RPC URL.
    #[arg(
        long,
        value_name = "URL",
        env = "CASL2_L1",
        default_value = "http://127.0.0.1:18545/"
    )]
    l1: String,
    /// The challenger's key (a keystore name or address, or 64 hex digits): it pays fees and
    /// locks bonds on L1.
    #[arg(long, value_name = "KEY", env = "CASL2_KEY", hide_env_values = true)]
    key: Option<String>,
    /// The keystore a named --key is read from.
    #[command(flatten)]
    wallet: crate::wallet::WalletArgs,
    /// File holding the private key in hex.
    #[arg(long, value_name = "FILE", env = "CASL2_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Serve Prometheus metrics (/metrics) and the status (/status) on this address.
    #[arg(long, value_name = "ADDR", env = "CASL2_METRICS")]
    metrics: Option<SocketAddr>,
    /// Poll the L1 every MS milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 200)]
    poll_ms: u64,
    /// Run for this many seconds, then stop as on Ctrl-C (0: until Ctrl-C).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    run_for: u64,
}

/// Run a `casl2 challenger` command.
pub fn run(cmd: ChallengerCommand, json_out: bool) -> Result<()> {
    match cmd {
        ChallengerCommand::Run(a) => run_challenger(a, json_out),
        ChallengerCommand::Status(d) => status(&d, json_out),
        ChallengerCommand::Games(d) => games(&d, json_out),
        ChallengerCommand::Game(g) => game(&g, json_out),
    }
}

fn load(d: &DirArgs) -> Result<ChallengerState> {
    ChallengerState::load(&d.data_dir)?.ok_or_else(|| {
        anyhow!(
            "{} holds no challenger state (start one with `casl2 challenger run --data-dir {}`)",
            d.data_dir.display(),
            d.data_dir.display()
        )
    })
}

fn cas(units: i64) -> String {
    format!("{}.{:07} CAS", units / COIN, (units % COIN).abs())
}

fn summary(s: &ChallengerState) -> Value {
    let bad: Vec<u64> = s
        .judged
        .iter()
        .filter(|j| j.verdict.is_bad())
        .map(|j| j.index)
        .collect();
    json!({
        "chainId": s.chain_id,
        "address": s.address,
        "l1Tip": s.l1_tip,
        "l1Anchors": s.l1_anchors,
        "anchorsJudged": s.judged.len(),
        "badAnchors": bad,
        "lagAnchors": s.lag(),
        "openGames": s.open_games(),
        "bondsAtRisk": s.bonds_at_risk(),
        "stats": s.stats,
        "updatedMs": s.updated_ms,
    })
}

fn status(d: &DirArgs, json_out: bool) -> Result<()> {
    let s = load(d)?;
    if json_out {
        println!("{}", summary(&s));
        return Ok(());
    }
    let age = casl2_fullnode::node::now_ms().saturating_sub(s.updated_ms) / 1000;
    println!("challenger {} on chain {}", s.address, s.chain_id);
    println!("last tick {age} s ago at L1 height {}", s.l1_tip);
    println!(
        "anchors: {} on L1, {} judged ({} behind), {} bad",
        s.l1_anchors,
        s.judged.len(),
        s.lag(),
        s.judged.iter().filter(|j| j.verdict.is_bad()).count()
    );
    let st = &s.stats;
    println!(
        "games: {} open, {} won, {} lost, {} cancelled; bonds at risk {}",
        s.open_games(),
        st.games_won,
        st.games_lost,
        st.games_cancelled,
        cas(s.bonds_at_risk())
    );
    println!(
        "sent: {} fraud proofs, {} games opened, {} moves ({} send errors)",
        st.proofs_sent, st.games_opened, st.moves_sent, st.send_errors
    );
    println!(
        "availability: {} anchors sampled ({} shares verified); challenges {} opened, {} won, {} lost, {} cancelled",
        st.anchors_sampled,
        st.shares_verified,
        st.availability_opened,
        st.availability_won,
        st.availability_lost,
        st.availability_cancelled
    );
    println!(
        "replayed {} transactions in {} ms",
        st.transactions_replayed, st.replay_ms
    );
    Ok(())
}

fn game_line(g: &Game, moves: u32) -> String {
    let state = match (g.result, g.phase) {
        (Some(r), _) => format!("{r:?}"),
        (None, GamePhase::Reveal) => format!("defender to reveal step {}", g.midpoint()),
        (None, GamePhase::Answer { index, .. }) => format!("challenger to answer step {index}"),
        (None, GamePhase::OneStep) => format!("one-step proof of step {}", g.agreed_index),
    };
    format!(
        "game {:>3}  anchor {:>3}  {:<34} rounds {:>2}  moves {:>2}  bond {}",
        g.id,
        g.anchor,
        state,
        g.rounds,
        moves,
        cas(g.bond)
    )
}

fn games(d: &DirArgs, json_out: bool) -> Result<()> {
    let s = load(d)?;
    if json_out {
        let list: Vec<&GameRecord> = s.games.values().collect();
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    if s.games.is_empty() {
        println!("no games (every anchor judged so far is valid, or was proven by evidence)");
    }
    for r in s.games.values() {
        println!("{}", game_line(&r.game, r.moves));
    }
    Ok(())
}

fn game(a: &GameArgs, json_out: bool) -> Result<()> {
    let state = ChallengerState::load(&a.dir.data_dir)?;
    let chain = state.as_ref().map(|s| s.chain_id);
    let record = state.and_then(|s| s.games.get(&a.id).cloned());
    let rt = crate::run::runtime()?;
    let l1 = AnyL1::from_url(&a.l1).map_err(|e| anyhow::anyhow!("--l1: {e}"))?;
    let live = rt.block_on(live_game(&l1, a.id, chain));
    let (game, source) = match (live, &record) {
        (Ok(g), _) => (g, "L1"),
        (Err(_), Some(r)) => (r.game.clone(), "the challenger's last tick"),
        (Err(e), None) => bail!(
            "game {}: not in the challenger's records, and the L1 at {} says: {e}",
            a.id,
            a.l1
        ),
    };
    if json_out {
        println!(
            "{}",
            json!({ "game": game, "source": source, "moves": record.as_ref().map(|r| r.moves) })
        );
        return Ok(());
    }
    println!("{}", game_line(&game, record.map_or(0, |r| r.moves)));
    println!("  (from {source})");
    println!(
        "  challenger {}  defender {}",
        game.challenger, game.defender
    );
    println!(
        "  agreed step {} root {}",
        game.agreed_index, game.agreed_root
    );
    println!(
        "  disputed step {} root {}",
        game.disputed_index, game.disputed_root
    );
    println!(
        "  clocks: defender {} blocks, challenger {} blocks; turn since L1 height {} (deadline {})",
        game.defender_clock,
        game.challenger_clock,
        game.turn_since,
        game.deadline()
    );
    Ok(())
}

pub(crate) fn event_line(e: &ChallengerEvent) -> String {
    match e {
        ChallengerEvent::Judged { anchor: j } => {
            let v = match &j.verdict {
                Verdict::Valid => "valid".to_string(),
                Verdict::Evidence { evidence } => format!("FRAUD: {:?}", evidence.kind()),
                Verdict::WrongRoot {
                    computed,
                    invalid_step,
                } => match invalid_step {
                    Some(s) => format!("FRAUD: step {s} is invalid"),
                    None => format!("FRAUD: re-execution gives {computed}"),
                },
                Verdict::BuildsOnFraud => "stands on a fraudulent anchor".to_string(),
            };
            format!(
                "anchor {} (L2 blocks {}..={}, {} txs, {} steps): {v}",
                j.index, j.blocks.0, j.blocks.1, j.transactions, j.steps
            )
        }
        ChallengerEvent::Sent { op, about, txid } => format!("sent {op} for {about} ({txid})"),
        ChallengerEvent::SendFailed { op, error } => format!("could not send {op}: {error}"),
        ChallengerEvent::GameOver {
            game,
            anchor,
            result,
        } => format!("game {game} on anchor {anchor} is over: {result:?}"),
        ChallengerEvent::Sampled { anchor, result } => match result.status.as_str() {
            "available" => format!(
                "anchor {anchor}: {} shares sampled, all available",
                result.samples
            ),
            "withheld" => format!(
                "anchor {anchor}: {} of {} sampled shares WITHHELD by the nodes",
                result.missing.len(),
                result.samples
            ),
            _ => format!("anchor {anchor}: no node reachable for sampling (retrying)"),
        },
        ChallengerEvent::AvailabilityOver { id, anchor, result } => {
            format!("availability challenge {id} on anchor {anchor} is over: {result:?}")
        }
    }
}

async fn serve_metrics(addr: SocketAddr, state: Arc<Mutex<ChallengerState>>) -> Result<()> {
    use axum::routing::get;
    let s1 = state.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let s = s1.lock().unwrap_or_else(|p| p.into_inner()).metrics();
                async move { s }
            }),
        )
        .route(
            "/status",
            get(move || {
                let v = summary(&state.lock().unwrap_or_else(|p| p.into_inner()));
                async move { axum::Json(v) }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics: binding {addr}"))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(())
}

fn run_challenger(a: RunArgs, json_out: bool) -> Result<()> {
    casl2_lightclient::endpoint::L1Endpoint::parse(&a.l1).map_err(|e| anyhow!("--l1: {e}"))?;
    let key = crate::node::read_key(a.key, a.key_file, &a.wallet)?
        .ok_or_else(|| anyhow!("--key or --key-file is required: the challenger signs its proofs and locks bonds on L1"))?;
    let cfg = ChallengerConfig {
        data_dir: a.dir.data_dir.clone(),
        chain_id: a.chain_id,
        l1_url: a.l1.clone(),
        key,
    };
    let mut c = open(cfg).context("opening the challenger")?;
    let shared = Arc::new(Mutex::new(c.state().clone()));
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        if let Some(addr) = a.metrics {
            serve_metrics(addr, shared.clone()).await?;
        }
        let st = c.state();
        if json_out {
            println!(
                "{}",
                json!({ "event": "started", "address": st.address, "chainId": st.chain_id, "l1": a.l1, "dataDir": a.dir.data_dir.display().to_string(), "resumedAnchors": st.judged.len() })
            );
        } else {
            println!("casl2 challenger {} watching chain {} on {}", st.address, st.chain_id, a.l1);
            println!("data {} ({} anchors judged before)", a.dir.data_dir.display(), st.judged.len());
            if let Some(m) = a.metrics {
                println!("metrics on http://{m}/metrics, status on http://{m}/status");
            }
        }
        let stop = crate::run::stopped(a.run_for);
        tokio::pin!(stop);
        let tty = std::io::stderr().is_terminal() && !json_out;
        let mut failures = 0u32;
        loop {
            let mut last_progress = Instant::now();
            let res = c
                .tick(|done, total| {
                    if tty && (last_progress.elapsed() > Duration::from_millis(250) || done == total) {
                        last_progress = Instant::now();
                        let width = 30usize;
                        let filled = (done as usize * width) / (total.max(1) as usize);
                        eprint!("\rreplaying anchors [{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled));
                        if done == total {
                            eprintln!();
                        }
                    }
                })
                .await;
            match res {
                Ok(events) => {
                    failures = 0;
                    for e in &events {
                        if json_out {
                            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string(e)?);
                        } else {
                            println!("{}", event_line(e));
                        }
                    }
                }
                Err(e) => {
                    failures += 1;
                    // Say it once, then every 50 failures: the L1 may come back.
                    if failures == 1 || failures.is_multiple_of(50) {
                        eprintln!("challenger: {e} (retrying)");
                    }
                }
            }
            *shared.lock().unwrap_or_else(|p| p.into_inner()) = c.state().clone();
            tokio::select! {
                r = &mut stop => { r?; break; }
                _ = tokio::time::sleep(Duration::from_millis(a.poll_ms.max(20))) => {}
            }
        }
        let st = c.state();
        eprintln!(
            "stopped: {} anchors judged, {} games open",
            st.judged.len(),
            st.open_games()
        );
        Ok(())
    })
}

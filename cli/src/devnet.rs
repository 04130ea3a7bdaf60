//! `casl2 devnet`: the embedded devnet L1, one registered L2 chain and N sequencer nodes on
//! 127.0.0.1 in one process, until Ctrl-C (`fullnode::harness::localnet`). The data directory is reused.

use crate::challenger::{Challenger, ChallengerConfig, ChallengerEvent};
use anyhow::{bail, Context, Result};
use casl2_fullnode::devnet::{authority_key, dev_key};
use casl2_fullnode::harness::localnet::{LocalNet, LocalNetConfig};
use casl2_fullnode::harness::www::PageConfig;
use casl2_verifier::params::COIN;
use clap::Args;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `casl2 devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Directory of the whole network (L1 and every node; reused on restart).
    #[arg(long, value_name = "DIR", default_value = "casl2-devnet")]
    data_dir: PathBuf,
    /// Number of sequencers (a quorum of two thirds of them must run: with the default four,
    /// the chain goes on when one of them stops).
    #[arg(long, value_name = "N", default_value_t = 4)]
    sequencers: usize,
    /// L1 RPC port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 18545)]
    port: u16,
    /// Mine an L1 block every MS milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1_000)]
    l1_block_ms: u64,
    /// Run for this many seconds, then stop as on Ctrl-C (0: until Ctrl-C).
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    run_for: u64,
    /// Do not run the challenger (dev key 9) that watches the chain's anchors.
    #[arg(long)]
    no_challenger: bool,
    /// `fraud`: the sequencers collude to anchor one bad batch (a wrong state root) so the
    /// challenger can be watched winning the game; `emergency`: every sequencer stops after
    /// --stop-after seconds, once the deposits so far are final, so the chain falls into EMERGENCY (after the chain's `emergencyAfter` L1
    /// blocks, 50 on regtest) and `casl2 exit` can be tried; `censor`: the sequencers leave the
    /// transactions of --censor ADDRESS out of their blocks (try `casl2 force`); `honest`
    /// (default): nothing staged.
    #[arg(long, value_name = "NAME", default_value = "honest")]
    scenario: String,
    /// With `--scenario censor`: the L2 address whose transactions the sequencers ignore.
    #[arg(long, value_name = "ADDRESS")]
    censor: Option<String>,
    /// With `--scenario censor`: the sequencers ignore the L1's forced-inclusion queue too, so
    /// a forced transaction's deadline passes and the L1 punishes the chain.
    #[arg(long)]
    censor_forced: bool,
    /// With `--scenario emergency`: stop the sequencers once this many seconds have passed and
    /// every deposit queued so far is in a final batch (time to make deposits first).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    stop_after: u64,
    /// With `--scenario emergency`: also wait until at least this many deposits are queued on
    /// L1 (and final), so a script can make its deposits at its own pace.
    #[arg(long, value_name = "N", default_value_t = 0)]
    stop_after_deposits: u64,
    /// With `--scenario fraud`: the kind of bad batch (wrong-root[:STEP], wrong-root:contract:
    /// from a batch's first contract call, bad-signature, bad-block-signature, bad-timestamp, double-spend,
    /// withhold: honest batches whose shares the nodes refuse).
    #[arg(long, value_name = "KIND", default_value = "wrong-root:3")]
    fraud: String,
    /// Port on 127.0.0.1 of the light-client page (the browser client of `wasm/`; 0 picks a
    /// free one). Its wasm package must be built once: `scripts/build-wasm.sh`.
    #[arg(long, value_name = "PORT", default_value_t = 18580)]
    www_port: u16,
    /// Do not serve the light-client page.
    #[arg(long)]
    no_www: bool,
    /// The directory holding the page (`www/`) and its package (`pkg/`); default: this source
    /// tree's `wasm/`, else `./wasm`.
    #[arg(long, value_name = "DIR")]
    www_dir: Option<PathBuf>,
    /// Send about this many L2 transfers per second between 32 load accounts of their own
    /// (funded once from dev key 0 by L1 deposits); 0: no load.
    #[arg(long, value_name = "TPS", default_value_t = 0)]
    load: u32,
}

/// Dev key of the devnet's challenger.
const CHALLENGER_KEY: u32 = 9;

/// Run `casl2 devnet`.
pub fn run(a: DevnetArgs, json_out: bool) -> Result<()> {
    let (www_root, challenger) = check(&a)?;
    let cfg = local_config(&a)?;
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        let mut net = LocalNet::start(&cfg)
            .await
            .with_context(|| format!("starting the devnet in {}", a.data_dir.display()))?;
        let node_urls: Vec<String> = net
            .configs
            .iter()
            .map(|c| format!("http://{}/", c.listen))
            .collect();
        let page = match &www_root {
            Some(root) => Some(serve_page(&net, &node_urls, root, a.www_port, cfg.chain_id).await?),
            None => None,
        };
        let load_stats = crate::load::SharedStats::default();
        let load_task = (a.load > 0).then(|| {
            tokio::spawn(crate::load::run(
                net.l1.clone(),
                cfg.chain_id,
                node_urls.clone(),
                a.load,
                load_stats.clone(),
            ))
        });
        print_start(&a, &cfg, &net, page.as_ref(), challenger, json_out)?;
        let challenger_task = if challenger {
            Some(start_challenger(&a, &cfg, &net, json_out)?)
        } else {
            None
        };
        let watched = watch(&a, &cfg, &mut net, &load_stats, json_out).await;
        if let Some(t) = challenger_task {
            t.abort();
        }
        if let Some(t) = load_task {
            t.abort();
        }
        watched?;
        net.shutdown().await;
        eprintln!("devnet stopped");
        Ok(())
    })
}

/// Check the flags; returns the light-client page's directory (`None`: not served) and
/// whether the challenger runs.
fn check(a: &DevnetArgs) -> Result<(Option<PathBuf>, bool)> {
    if a.sequencers == 0 || a.sequencers > 9 {
        bail!(
            "--sequencers must be 1..=9 (dev keys 1..=9 are the sequencers), got {}",
            a.sequencers
        );
    }
    if a.l1_block_ms == 0 {
        bail!("--l1-block-ms must be at least 1");
    }
    if a.load > 10_000 {
        bail!("--load {}: at most 10000 transfers per second", a.load);
    }
    let www_root = if a.no_www {
        None
    } else {
        match &a.www_dir {
            Some(d) if d.join("www").join("index.html").is_file() => Some(d.clone()),
            Some(d) => bail!(
                "--www-dir {}: no www/index.html there (give the repository's wasm/ directory)",
                d.display()
            ),
            None => casl2_fullnode::harness::www::default_root(),
        }
    };
    let challenger = !a.no_challenger;
    if challenger && a.sequencers as u32 >= CHALLENGER_KEY {
        bail!("--sequencers {} leaves no dev key for the challenger (key {CHALLENGER_KEY}); use 8 or fewer, or --no-challenger", a.sequencers);
    }
    Ok((www_root, challenger))
}

/// The local network of the flags (with the fraud scenario's dishonest sequencers).
fn local_config(a: &DevnetArgs) -> Result<LocalNetConfig> {
    let mut cfg = LocalNetConfig::new(a.data_dir.clone(), a.sequencers);
    match a.scenario.as_str() {
        "honest" => {}
        "fraud" => {
            let d: casl2_fullnode::harness::dishonest::Dishonest = a
                .fraud
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--fraud: {e}"))?;
            cfg.dishonest = Some(d);
        }
        "emergency" => {}
        "censor" => {
            let Some(who) = &a.censor else {
                bail!("--scenario censor needs --censor ADDRESS (the L2 address to ignore)");
            };
            cfg.censor = Some(casl2_fullnode::harness::censor::Censor {
                address: crate::net::parse_address("--censor", who)?,
                ignore_forced: a.censor_forced,
            });
        }
        o => bail!("--scenario: unknown scenario {o:?} (honest, fraud, emergency or censor)"),
    }
    if a.scenario != "censor" && (a.censor.is_some() || a.censor_forced) {
        bail!("--censor and --censor-forced go with --scenario censor");
    }
    cfg.l1_port = a.port;
    cfg.l1_block_ms = a.l1_block_ms;
    Ok(cfg)
}

/// Serve the light-client page from `root` on `port`; returns its URL and whether its wasm
/// package is built.
async fn serve_page(
    net: &LocalNet,
    node_urls: &[String],
    root: &std::path::Path,
    port: u16,
    chain_id: u64,
) -> Result<(String, bool)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| {
            format!("binding the light-client page to 127.0.0.1:{port} (--www-port, or --no-www)")
        })?;
    let addr = listener.local_addr()?;
    let cfg = PageConfig {
        root: root.to_path_buf(),
        query: format!("l1={}&node={}&chain={chain_id}", net.l1_url, node_urls[0]),
    };
    let built = cfg.package_built();
    let mut stop = net.stop_signal();
    tokio::spawn(casl2_fullnode::harness::www::serve(
        cfg,
        listener,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    ));
    Ok((format!("http://{addr}/"), built))
}

/// Print the network (its URLs, the funded accounts and the authority) as JSON or text.
fn print_start(
    a: &DevnetArgs,
    cfg: &LocalNetConfig,
    net: &LocalNet,
    page: Option<&(String, bool)>,
    challenger: bool,
    json_out: bool,
) -> Result<()> {
    let nodes: Vec<_> = net
        .configs
        .iter()
        .zip(&net.keys)
        .map(
            |(c, k)| json!({ "rpcUrl": format!("http://{}/", c.listen), "sequencer": k.address() }),
        )
        .collect();
    let last_user = if challenger { CHALLENGER_KEY } else { 10 };
    let user_keys: Vec<_> = ((a.sequencers as u32 + 1)..last_user)
        .filter_map(|i| dev_key(i).ok().map(|k| (i, k)))
        .collect();
    let authority = authority_key()?;
    if json_out {
        let users: Vec<_> = user_keys
            .iter()
            .map(|(i, k)| json!({ "index": i, "address": k.address(), "privateKey": k.to_hex() }))
            .collect();
        println!(
            "{}",
            json!({
                "l1RpcUrl": net.l1_url,
                "chainId": cfg.chain_id,
                "nodes": nodes,
                "accounts": users,
                "authority": { "address": authority.address(), "privateKey": authority.to_hex() },
                "dataDir": a.data_dir.display().to_string(),
                "lightClientPage": page.map(|p| json!({ "url": p.0, "packageBuilt": p.1 })),
                "loadTps": a.load,
                "censor": cfg.censor.map(|x| json!({ "address": x.address, "ignoreForced": x.ignore_forced })),
            })
        );
        return Ok(());
    }
    println!(
        "casl2 devnet: L1 + chain {} with {} sequencers (data {})",
        cfg.chain_id,
        a.sequencers,
        a.data_dir.display()
    );
    println!("L1 JSON-RPC   {}", net.l1_url);
    for (i, n) in nodes.iter().enumerate() {
        println!(
            "node {i}        {}  (sequencer {})",
            n["rpcUrl"].as_str().unwrap_or(""),
            n["sequencer"].as_str().unwrap_or("")
        );
    }
    match page {
        Some((url, true)) => println!("light client  {url}  (the browser page, verifying against L1)"),
        Some((url, false)) => println!("light client  {url}  (wasm package not built: run scripts/build-wasm.sh once, then reload)"),
        None if a.no_www => {}
        None => println!("light client  not served: no wasm/www found (--www-dir DIR)"),
    }
    if let Some(x) = &cfg.censor {
        let forced = if x.ignore_forced {
            " and the forced-inclusion queue"
        } else {
            ""
        };
        println!(
            "scenario      censor: the sequencers ignore the transactions of {}{forced}",
            x.address
        );
    }
    if a.load > 0 {
        println!("load          about {} L2 transfers/s between 32 load accounts (funded from dev key 0)", a.load);
    }
    println!();
    println!(
        "Funded L1 accounts (keys are public knowledge: devnet only; {} CAS each)",
        casl2_fullnode::devnet::DEFAULT_DEV_BALANCE / COIN
    );
    for (i, k) in &user_keys {
        println!("({i}) {}  key {}", k.address(), k.to_hex());
    }
    println!(
        "Authority (SetHatScore): {}  key {}",
        authority.address(),
        authority.to_hex()
    );
    println!();
    println!("Ctrl-C stops everything; the same --data-dir resumes the network.");
    Ok(())
}

/// Open the devnet's challenger (dev key 9) and run it in a task.
fn start_challenger(
    a: &DevnetArgs,
    cfg: &LocalNetConfig,
    net: &LocalNet,
    json_out: bool,
) -> Result<tokio::task::JoinHandle<()>> {
    let cc = ChallengerConfig {
        data_dir: a.data_dir.join("challenger"),
        chain_id: cfg.chain_id,
        l1_url: net.l1_url.clone(),
        key: dev_key(CHALLENGER_KEY)?,
    };
    let c = crate::challenger::open(cc).context("opening the devnet's challenger")?;
    if !json_out {
        println!(
            "challenger    {} (dev key {CHALLENGER_KEY}; `casl2 challenger status --data-dir {}`)",
            c.state().address,
            a.data_dir.join("challenger").display()
        );
        if let Some(d) = &cfg.dishonest {
            println!("scenario fraud: the sequencers will anchor a bad batch ({}) until {} fraud(s) are proven", d.kind, d.batches);
        }
    }
    Ok(tokio::spawn(run_challenger(c, json_out)))
}

/// Report the heights every 5 s (and stage the emergency scenario) until Ctrl-C or --run-for.
async fn watch(
    a: &DevnetArgs,
    cfg: &LocalNetConfig,
    net: &mut LocalNet,
    load_stats: &crate::load::SharedStats,
    json_out: bool,
) -> Result<()> {
    let node0 =
        casl2_lightclient::l2::NodeClient::new(format!("http://{}/", net.configs[0].listen));
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut scenario_tick = tokio::time::interval(Duration::from_millis(500));
    let mut sequencers_up = true;
    let started = std::time::Instant::now();
    let stop = crate::run::stopped(a.run_for);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            r = &mut stop => { r?; return Ok(()); }
            _ = scenario_tick.tick(), if a.scenario == "emergency" && sequencers_up => {
                let final_anchor = net.l1.lock().ok().and_then(|d| d.state().chain(cfg.chain_id).map(|c| (c.finalized_count, d.height(), c.info.params.emergency_after, c.finalized_consumed >= c.queue.len() as u64 && c.queue.iter().filter(|m| !m.is_forced()).count() as u64 >= a.stop_after_deposits)));
                let due = started.elapsed() >= Duration::from_secs(a.stop_after);
                if let Some((n, h, after, _)) = final_anchor.filter(|(n, _, _, all)| due && *n >= 1 && *all) {
                    for i in 0..net.nodes.len() {
                        net.stop_node(i).await;
                    }
                    sequencers_up = false;
                    let line = json!({ "event": "sequencersStopped", "l1Height": h, "finalizedAnchors": n, "emergencyAfterBlocks": after });
                    if json_out {
                        let _ = writeln!(std::io::stdout(), "{line}");
                    } else {
                        eprintln!("scenario emergency: every sequencer stopped at L1 height {h} ({n} final anchors); the chain enters EMERGENCY {after} L1 blocks after its last anchor, then try `casl2 exit`");
                    }
                }
            }
            _ = tick.tick() => {
                let h = if sequencers_up {
                    node0.block_number().await.ok()
                } else {
                    None
                };
                let (l1, status) = net.l1.lock().map(|d| (d.height(), d.state().chain(cfg.chain_id).map(|c| c.info.status.to_string()))).unwrap_or((0, None));
                let load = (a.load > 0).then(|| load_stats.lock().map(|s| s.clone()).unwrap_or_default());
                let line = json!({ "l2Height": h, "l1Height": l1, "chainStatus": status, "load": load });
                if json_out {
                    let _ = writeln!(std::io::stdout(), "{line}");
                } else {
                    let load = load.map(|s| match s.phase.as_str() {
                        "running" => format!("  load accepted {} rejected {}", s.accepted, s.rejected),
                        "failed" => format!("  load FAILED: {}", s.last_error.unwrap_or_default()),
                        p => format!("  load {p}"),
                    }).unwrap_or_default();
                    eprintln!("L2 height {}  L1 height {l1}  chain {}{load}", h.map(|v| v.to_string()).unwrap_or_else(|| "-".into()), status.unwrap_or_default());
                }
            }
        }
    }
}

/// The devnet's challenger: tick every 200 ms, print what it does.
async fn run_challenger(mut c: Challenger, json_out: bool) {
    let mut failures = 0u32;
    loop {
        match c.tick(|_, _| {}).await {
            Ok(events) => {
                failures = 0;
                for e in events {
                    let valid = matches!(&e, ChallengerEvent::Judged { anchor } if !anchor.verdict.is_bad());
                    if json_out {
                        let line = json!({ "challenger": e });
                        let _ = writeln!(std::io::stdout(), "{line}");
                    } else if !valid {
                        eprintln!("challenger: {}", crate::challenger::event_line(&e));
                    }
                }
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(50) {
                    eprintln!("challenger: {e} (retrying)");
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

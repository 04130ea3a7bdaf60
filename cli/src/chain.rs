//! `casl2 chain`: the L1 registry of L2 chains — register a chain, read one or all, change a
//! chain's status. Works against either L1 backend: the devnet L1 applies casl2's registry
//! rules to a signed `L1Tx`; a real Cascoin node (`--l1 cascoind+http://…`) registers with its
//! own wallet, assigns the chain id itself and keeps its registry in memory only.

use crate::amount::{format_cas, parse_cas};
use crate::net::{l1_failure, Conn, DEFAULT_L1};
use crate::wallet::{resolve_key, WalletArgs};
use anyhow::{anyhow, bail, Context, Result};
use casl2_lightclient::cascoind::{CascoindClient, Submitted};
use casl2_lightclient::endpoint::AnyL1;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{L1Error, L1Op, L1Receipt, L2ChainInfo, L2Status};
use casl2_verifier::params::{ChainParams, Network};
use casl2_verifier::smt::empty_root;
use casl2_verifier::PrivateKey;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Where the L1 is.
#[derive(Debug, Clone, Args)]
pub struct L1Args {
    /// The L1's URL: `http://host:port/` (the devnet), `cascoind+http://user:pass@host:port/`
    /// or `cascoind+http://host:port/?cookie=PATH` (a real Cascoin node; add `network=` to the
    /// query to insist on one).
    #[arg(long, value_name = "URL", env = "CASL2_L1", default_value = DEFAULT_L1)]
    pub l1: String,
    /// Give up waiting after this many seconds (0: wait as long as it takes).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub timeout: u64,
}

/// `casl2 chain …`.
#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Register a new L2 chain on L1 and print its id.
    Register(RegisterArgs),
    /// One chain's registry record (and, on the devnet, its bridge and queue).
    Info {
        /// The chain id.
        #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID")]
        chain: u64,
        #[command(flatten)]
        l1: L1Args,
    },
    /// The chains the L1 knows.
    List {
        #[command(flatten)]
        l1: L1Args,
    },
    /// Pause, resume or deprecate a chain (its deployer's key on the devnet).
    Status(StatusArgs),
}

/// Flags of `casl2 chain register`.
#[derive(Debug, Args)]
#[command(after_help = "\
Parameters: the --network preset (casl2's own values; docs/protocol.md \"Chain parameters\"),
then the fields of --params FILE (a TOML table with the preset's camelCase names, e.g.
`challengePeriod = 24`), then --challenge-period. On the devnet the deployer (--key) pays the
stake and the chain id is --chain-id or the next free one. A real Cascoin node registers with
its own wallet (--key is not used), checks its own limits (a challenge period of at least 3600 s,
i.e. 24 L1 blocks; a deployer stake of at least 1000 CAS) and assigns the id itself: use the
printed id from then on. The real node keeps its registry in memory only (gone on restart).")]
pub struct RegisterArgs {
    /// The chain's name (the real node: a letter, then letters, digits, '_' or '-').
    #[arg(long)]
    pub name: String,
    /// The parameter preset.
    #[arg(long, value_name = "NETWORK", default_value = "regtest")]
    pub network: Network,
    /// A TOML file whose fields override the preset's.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// The standard challenge period in L1 blocks (overrides the preset and --params).
    #[arg(long, value_name = "BLOCKS")]
    pub challenge_period: Option<u64>,
    /// The deployer's stake in CAS [default: the devnet: the minimum sequencer stake; a real
    /// node: 1000].
    #[arg(long, value_name = "CAS")]
    pub deployer_stake: Option<String>,
    /// The chain id (devnet only) [default: one above the highest registered].
    #[arg(long, value_name = "ID")]
    pub chain_id: Option<u64>,
    #[command(flatten)]
    pub key: DeployerKey,
    #[command(flatten)]
    pub l1: L1Args,
}

/// The deployer's key, needed on the devnet only (a real node signs with its wallet).
#[derive(Debug, Clone, Args)]
pub struct DeployerKey {
    /// The deployer's key (devnet only): a keystore name or address, or a raw key.
    #[arg(
        long,
        value_name = "NAME|ADDRESS|HEX",
        env = "CASL2_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    #[command(flatten)]
    pub wallet: WalletArgs,
}

impl DeployerKey {
    fn private_key(&self) -> Result<PrivateKey> {
        let spec = self
            .key
            .as_deref()
            .ok_or_else(|| anyhow!("--key is needed on the devnet L1: the deployer signs"))?;
        resolve_key(spec, &self.wallet)
    }
}

/// A status a deployer may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewStatus {
    /// ACTIVE (from PAUSED).
    Active,
    /// PAUSED (from ACTIVE).
    Paused,
    /// DEPRECATED (final; the devnet returns the deployer's stake).
    Deprecated,
}

impl From<NewStatus> for L2Status {
    fn from(s: NewStatus) -> L2Status {
        match s {
            NewStatus::Active => L2Status::Active,
            NewStatus::Paused => L2Status::Paused,
            NewStatus::Deprecated => L2Status::Deprecated,
        }
    }
}

/// Flags of `casl2 chain status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The new status.
    pub status: NewStatus,
    /// The chain id.
    #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID")]
    pub chain: u64,
    #[command(flatten)]
    pub key: DeployerKey,
    #[command(flatten)]
    pub l1: L1Args,
}

/// Run `casl2 chain …`.
pub fn run(cmd: ChainCommand, json_out: bool) -> Result<()> {
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        match cmd {
            ChainCommand::Register(a) => register(a, json_out).await,
            ChainCommand::Info { chain, l1 } => info(chain, &l1, json_out).await,
            ChainCommand::List { l1 } => list(&l1, json_out).await,
            ChainCommand::Status(a) => status(a, json_out).await,
        }
    })
}

/// Open the L1 of `--l1`: a real node must answer which network it runs (that fixes its
/// address version) before anything is sent.
pub(crate) async fn open(a: &L1Args, json_out: bool) -> Result<Conn> {
    let l1 = AnyL1::from_url(&a.l1).map_err(|e| anyhow!("--l1: {e}"))?;
    l1.check_network()
        .await
        .map_err(|e| anyhow!("--l1 {}: {e}", a.l1))?;
    Ok(Conn::bare(&a.l1, l1, a.timeout, json_out))
}

/// The preset of `network`, overridden by the TOML table in `file` (same camelCase names).
pub fn chain_params(network: Network, file: Option<&Path>) -> Result<ChainParams> {
    let preset = ChainParams::for_network(network);
    let Some(file) = file else {
        return Ok(preset);
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not a TOML table", file.display()))?;
    let mut v = serde_json::to_value(&preset)?;
    let fields = v
        .as_object_mut()
        .ok_or_else(|| anyhow!("internal: parameters are not an object"))?;
    for (k, val) in table {
        if !fields.contains_key(&k) || k == "network" {
            let known: Vec<&String> = fields.keys().filter(|k| *k != "network").collect();
            bail!(
                "{}: unknown parameter {k:?} (known: {})",
                file.display(),
                known
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let jv = serde_json::to_value(&val)?;
        fields.insert(k, jv);
    }
    serde_json::from_value(v)
        .with_context(|| format!("{}: a parameter has the wrong type", file.display()))
}

async fn register(a: RegisterArgs, json_out: bool) -> Result<()> {
    let mut params = chain_params(a.network, a.params.as_deref())?;
    if let Some(p) = a.challenge_period {
        params.challenge_period = p;
    }
    let stake = a
        .deployer_stake
        .as_deref()
        .map(parse_cas)
        .transpose()
        .context("--deployer-stake")?;
    let c = open(&a.l1, json_out).await?;
    let out = match &c.l1 {
        AnyL1::Cascoind(node) => {
            if a.chain_id.is_some() {
                bail!("--chain-id: a real Cascoin node assigns chain ids itself; drop --chain-id");
            }
            let stake = stake.unwrap_or(casl2_lightclient::cascoind::registry::MIN_DEPLOYER_STAKE);
            register_on_node(node, &a.name, &params, stake)
                .await
                .map_err(|e| c.l1e(e))?
        }
        AnyL1::Devnet(_) => {
            let key = a.key.private_key()?;
            let chains = c.l1q("the chains", c.l1.chains()).await?;
            let id = a
                .chain_id
                .unwrap_or_else(|| chains.iter().map(|x| x.chain_id).max().unwrap_or(0) + 1);
            let op = L1Op::RegisterChain {
                chain_id: id,
                name: a.name.clone(),
                params: params.clone(),
                genesis_root: empty_root(),
                deployer_stake: stake.unwrap_or(params.min_sequencer_stake),
            };
            let block = send_and_mine(&c, &key, op).await?;
            json!({ "chainId": id, "name": a.name, "deployer": key.address(), "l1Block": block,
                    "backend": "devnet" })
        }
    };
    if json_out {
        println!("{out}");
    } else {
        println!(
            "registered chain {} ({:?}) on the {} L1; use --chain {} from now on",
            out["chainId"],
            a.name,
            out["backend"].as_str().unwrap_or("?"),
            out["chainId"]
        );
    }
    Ok(())
}

async fn register_on_node(
    node: &CascoindClient,
    name: &str,
    params: &ChainParams,
    stake: i64,
) -> Result<Value, casl2_lightclient::l1::L1ClientError> {
    match node.register_chain(name, params, stake).await? {
        Submitted::ChainRegistered { chain_id, deployer } => Ok(json!({
            "chainId": chain_id, "name": name, "deployer": deployer, "backend": "cascoind",
            "note": "the node assigned the id and keeps its registry in memory only",
        })),
        other => Err(casl2_lightclient::l1::L1ClientError::Decode(format!(
            "l2_registerchain answered {other:?}"
        ))),
    }
}

/// Sign `op` with `key`, send it to the devnet L1, wait until it is mined and fail with the
/// rule's name when L1 refused it. Returns the L1 block.
pub(crate) async fn send_and_mine(c: &Conn, key: &PrivateKey, op: L1Op) -> Result<u64> {
    let (block, _) = send_and_mine_hinted(c, key, op, |_| String::new()).await?;
    Ok(block)
}

/// [`send_and_mine`] that returns the receipt, and ends a refusal's error with `hint(rule)`
/// (what to do about it; empty: nothing).
pub(crate) async fn send_and_mine_hinted(
    c: &Conn,
    key: &PrivateKey,
    op: L1Op,
    hint: impl FnOnce(&L1Error) -> String,
) -> Result<(u64, L1Receipt)> {
    let (id, nonce, since) = c.send_l1(key, op).await?;
    c.note(format!(
        "sent L1 transaction {id}; waiting for it to be mined"
    ));
    let (block, receipt) = c
        .wait_l1_mined(&id, &key.address(), nonce, since, "")
        .await?;
    if let Some(why) = l1_failure(&receipt) {
        let what = receipt.outcome.as_ref().err().map(hint).unwrap_or_default();
        let what = if what.is_empty() {
            what
        } else {
            format!("; {what}")
        };
        bail!("the L1 refused transaction {id} in block {block}: {why}{what}");
    }
    Ok((block, receipt))
}

fn chain_json(i: &L2ChainInfo) -> Value {
    json!({
        "chainId": i.chain_id, "name": i.name, "status": i.status.to_string(),
        "deployer": i.deployer, "deployerStake": i.deployer_stake,
        "latestL2Block": i.latest_l2_block, "finalizedL2Block": i.finalized_l2_block,
        "params": i.params,
    })
}

async fn info(chain: u64, a: &L1Args, json_out: bool) -> Result<()> {
    let c = open(a, json_out).await?;
    let v = match &c.l1 {
        AnyL1::Cascoind(node) => {
            let r = c
                .l1q("the registered chain", node.registered_chain(chain))
                .await?;
            let r = r.ok_or_else(|| {
                anyhow!(
                    "the node at {} has no chain {chain} (its registry is in memory only)",
                    a.l1
                )
            })?;
            serde_json::to_value(&r)?
        }
        AnyL1::Devnet(_) => {
            let st = c.l1q("the chain state", c.l1.chain_state(chain)).await;
            let st = st.map_err(|e| anyhow!("chain {chain}: {e}"))?;
            let mut v = chain_json(&st.info);
            v["escrow"] = json!(st.escrow);
            v["sequencers"] = json!(st.sequencers);
            v["queueLength"] = json!(st.queue_length);
            v["consumed"] = json!(st.consumed);
            v["missed"] = json!(st.missed);
            v["anchors"] = json!(st.anchors);
            v["finalizedAnchors"] = json!(st.finalized_anchors);
            v
        }
    };
    if json_out {
        println!("{v}");
    } else {
        print_chain(&v);
    }
    Ok(())
}

fn print_chain(v: &Value) {
    let text = |k: &str| match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        o => o.to_string(),
    };
    println!("chain {} ({})", text("chainId"), text("name"));
    println!("  status      {}", text("status"));
    println!("  deployer    {}", text("deployer"));
    for (k, label) in [
        ("deployerStake", "stake"),
        ("stake", "stake"),
        ("escrow", "escrow"),
    ] {
        if let Some(n) = v[k].as_i64() {
            println!("  {label:<11} {} CAS", format_cas(n));
        }
    }
    for (k, label) in [
        ("latestL2Block", "anchored L2"),
        ("finalizedL2Block", "final L2"),
        ("anchors", "anchors"),
        ("sequencers", "sequencers"),
        ("sequencerCount", "sequencers"),
        ("queueLength", "L1 queue"),
        ("consumed", "consumed"),
        ("missed", "missed"),
    ] {
        if !v[k].is_null() {
            println!("  {label:<11} {}", text(k));
        }
    }
}

async fn list(a: &L1Args, json_out: bool) -> Result<()> {
    let c = open(a, json_out).await?;
    let list: Vec<Value> = match &c.l1 {
        AnyL1::Cascoind(node) => {
            let r = c
                .l1q("the registered chains", node.registered_chains())
                .await?;
            r.iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?
        }
        AnyL1::Devnet(_) => {
            let r = c.l1q("the chains", c.l1.chains()).await?;
            r.iter().map(chain_json).collect()
        }
    };
    if json_out {
        println!("{}", Value::Array(list));
        return Ok(());
    }
    if list.is_empty() {
        println!("no L2 chain is registered on the L1 at {}", a.l1);
    }
    for v in &list {
        println!(
            "{:>10}  {:<14} {:<20} {}",
            v["chainId"],
            v["status"].as_str().unwrap_or("?"),
            v["name"].as_str().unwrap_or("?"),
            v["deployer"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

async fn status(a: StatusArgs, json_out: bool) -> Result<()> {
    let c = open(&a.l1, json_out).await?;
    let to: L2Status = a.status.into();
    let out = match &c.l1 {
        AnyL1::Cascoind(node) => {
            let old = c
                .l1q("l2_updatechainstatus", node.set_chain_status(a.chain, to))
                .await?;
            json!({ "chainId": a.chain, "from": old, "to": to.to_string(), "backend": "cascoind" })
        }
        AnyL1::Devnet(_) => {
            let key = a.key.private_key()?;
            let before = c.l1q("the chain state", c.l1.chain_state(a.chain)).await?;
            let op = L1Op::SetChainStatus {
                chain: a.chain,
                status: to,
            };
            let block = send_and_mine(&c, &key, op).await?;
            json!({ "chainId": a.chain, "from": before.info.status.to_string(),
                    "to": to.to_string(), "l1Block": block, "backend": "devnet" })
        }
    };
    if json_out {
        println!("{out}");
    } else {
        println!(
            "chain {}: {} → {}",
            a.chain,
            out["from"].as_str().unwrap_or("?"),
            out["to"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}

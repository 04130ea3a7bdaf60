//! What the user flows (`deposit`, `transfer`, `withdraw`, `withdrawals`) share: the flags that
//! name the L1, the L2 node and the chain; the connection to both with errors in plain words;
//! sending an L1 transaction and waiting until it is mined; bounded, interruptible waits; and
//! the progress bar (stderr, only on a terminal and without `--json`).

use anyhow::{anyhow, bail, Result};
use casl2_lightclient::api::devnet_types::ChainState;
use casl2_lightclient::endpoint::{AnyL1, Role};
use casl2_lightclient::l1::{find_mined, L1Client, L1ClientError, MinedError};
use casl2_lightclient::l2::{NodeClient, NodeError};
use casl2_verifier::l1::{L1Op, L1Receipt, L1Tx, L2ChainInfo, SequencerStatus};
use casl2_verifier::params::ChainParams;
use casl2_verifier::{Address, PrivateKey, H256};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// The default L1 RPC: `casl2 devnet` and `casl2 l1 devnet` listen there.
pub const DEFAULT_L1: &str = "http://127.0.0.1:18545/";

/// Where the L1, the L2 node and the chain are; how long to wait.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// The L1's URL: `http://host:port/` (the devnet), `cascoind+http://user:pass@host:port/`
    /// or `cascoind+http://host:port/?cookie=PATH` (a real Cascoin node).
    #[arg(long, value_name = "URL", env = "CASL2_L1", default_value = DEFAULT_L1)]
    pub l1: String,
    /// The L2 node's JSON-RPC URL [default: the endpoint of the chain's first active sequencer
    /// in the L1 registry].
    #[arg(long, value_name = "URL", env = "CASL2_NODE")]
    pub node: Option<String>,
    /// The L2 chain id.
    #[arg(long, value_name = "ID", env = "CASL2_CHAIN_ID", default_value_t = 1)]
    pub chain: u64,
    /// Give up waiting after this many seconds (0: wait as long as it takes).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
}

impl NetArgs {
    /// Fail in one line, before anything is sent, when the L1 of `--l1` lacks an RPC that
    /// `role` needs.
    pub fn require(&self, role: Role) -> Result<()> {
        AnyL1::from_url(&self.l1)
            .map_err(|e| anyhow!("--l1: {e}"))?
            .check_role(role)
            .map_err(|e| anyhow!("--l1 {}: {e}", self.l1))
    }
}

fn check_url(flag: &str, url: &str) -> Result<()> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("{flag}: {url:?} is not an http:// URL");
    }
    Ok(())
}

/// An L1 error in plain words.
pub fn l1_err(url: &str, e: L1ClientError) -> anyhow::Error {
    match e {
        L1ClientError::Transport(m) => anyhow!(
            "cannot reach the L1 at {url} (is `casl2 devnet` running? --l1 names another): {m}"
        ),
        L1ClientError::Rpc {
            message,
            name: Some(n),
            ..
        } => anyhow!("the L1 refused: {n}: {message}"),
        other => anyhow!("L1 at {url}: {other}"),
    }
}

/// An L2 node error in plain words.
pub fn node_err(url: &str, e: NodeError) -> anyhow::Error {
    match e {
        NodeError::Transport { message, .. } => anyhow!(
            "cannot reach the L2 node at {url} (is it running? --node names another): {message}"
        ),
        NodeError::Rpc { message, .. } => anyhow!("the L2 node at {url} refused: {message}"),
        other => anyhow!("L2 node at {url}: {other}"),
    }
}

/// One RPC call with a 30 s limit.
pub async fn timed<T, E, F>(what: &str, f: F) -> Result<T>
where
    F: Future<Output = Result<T, E>>,
    E: Into<anyhow::Error>,
{
    match tokio::time::timeout(Duration::from_secs(30), f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => bail!("{what}: no answer within 30 s"),
    }
}

/// The connection of one command: the L1, the chain on it, and one of its L2 nodes.
#[derive(Debug)]
pub struct Conn {
    /// The L1 URL.
    pub l1_url: String,
    /// The L1 (either backend).
    pub l1: AnyL1,
    /// The L2 node.
    pub node: NodeClient,
    /// The chain id.
    pub chain: u64,
    /// The chain's parameters as registered on L1.
    pub params: ChainParams,
    /// The last L2 block L1 had anchored when the connection opened.
    pub anchored: u64,
    deadline: Option<Instant>,
    timeout: u64,
    /// Turns true on Ctrl-C (listened to from [`Conn::open`] on, so none is missed).
    interrupted: tokio::sync::watch::Receiver<bool>,
    /// Whether the output is JSON (no bars, no notes).
    pub json: bool,
}

impl Conn {
    /// Connect: the L1 must answer and hold the chain, the node must answer, serve it, and be
    /// at the chain's head (`insync`; it waits up to `--timeout` for a node catching up).
    pub async fn open(net: &NetArgs, json_out: bool) -> Result<Conn> {
        let mut c = Conn::open_l1(net, json_out).await?;
        let node_url = match &net.node {
            Some(u) => u.clone(),
            None => {
                let seqs =
                    c.l1.sequencers(net.chain)
                        .await
                        .map_err(|e| l1_err(&net.l1, e))?;
                seqs.into_iter()
                    .find(|s| s.status == SequencerStatus::Active && !s.endpoint.is_empty())
                    .map(|s| s.endpoint)
                    .ok_or_else(|| {
                        anyhow!(
                            "chain {} has no active sequencer with an endpoint on L1; give --node URL",
                            net.chain
                        )
                    })?
            }
        };
        check_url("--node", &node_url)?;
        let node = NodeClient::new(node_url.clone());
        let ci = timed("the L2 node", node.chain_info()).await.map_err(|e| {
            match e.downcast::<NodeError>() {
                Ok(e) => node_err(&node_url, e),
                Err(e) => e,
            }
        })?;
        if ci.chain_id != net.chain {
            bail!(
                "the L2 node at {node_url} serves chain {}, not chain {}",
                ci.chain_id,
                net.chain
            );
        }
        c.node = node;
        crate::insync::await_in_sync(&c).await?;
        Ok(c)
    }

    /// Connect to the L1 only (the chain must be registered there): for what needs no L2 node,
    /// such as an emergency exit. Its `node` is a client of `--node` if given, never contacted
    /// by this constructor.
    pub async fn open_l1(net: &NetArgs, json_out: bool) -> Result<Conn> {
        if let Some(n) = &net.node {
            check_url("--node", n)?;
        }
        let l1 = AnyL1::from_url(&net.l1).map_err(|e| anyhow!("--l1: {e}"))?;
        l1.check_network()
            .await
            .map_err(|e| anyhow!("--l1 {}: {e}", net.l1))?;
        let chains = timed("the L1", l1.chains()).await.map_err(|e| {
            match e.downcast::<L1ClientError>() {
                Ok(e) => l1_err(&net.l1, e),
                Err(e) => e,
            }
        })?;
        let info: &L2ChainInfo =
            chains
                .iter()
                .find(|c| c.chain_id == net.chain)
                .ok_or_else(|| {
                    let ids: Vec<String> = chains.iter().map(|c| c.chain_id.to_string()).collect();
                    anyhow!(
                        "the L1 at {} has no L2 chain {} (registered: {}); --chain names another",
                        net.l1,
                        net.chain,
                        if ids.is_empty() {
                            "none".into()
                        } else {
                            ids.join(", ")
                        }
                    )
                })?;
        Ok(Conn {
            l1_url: net.l1.clone(),
            node: NodeClient::new(net.node.clone().unwrap_or_default()),
            l1,
            chain: net.chain,
            params: info.params.clone(),
            anchored: info.latest_l2_block,
            deadline: (net.timeout > 0).then(|| Instant::now() + Duration::from_secs(net.timeout)),
            timeout: net.timeout,
            interrupted: listen_for_ctrl_c(),
            json: json_out,
        })
    }

    /// A connection to the L1 `l1` (at `url`) that knows no chain yet, for the registry
    /// commands (`casl2 chain`): no node, default parameters, chain 0.
    pub fn bare(url: &str, l1: AnyL1, timeout: u64, json_out: bool) -> Conn {
        Conn {
            l1_url: url.to_string(),
            node: NodeClient::new(String::new()),
            l1,
            chain: 0,
            params: ChainParams::for_network(casl2_verifier::params::Network::Regtest),
            anchored: 0,
            deadline: (timeout > 0).then(|| Instant::now() + Duration::from_secs(timeout)),
            timeout,
            interrupted: listen_for_ctrl_c(),
            json: json_out,
        }
    }

    /// A human note on stderr (nothing with `--json`).
    pub fn note(&self, msg: impl AsRef<str>) {
        if !self.json {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// Map an L1 error.
    pub fn l1e(&self, e: L1ClientError) -> anyhow::Error {
        l1_err(&self.l1_url, e)
    }

    /// Map a node error.
    pub fn ne(&self, e: NodeError) -> anyhow::Error {
        node_err(self.node.url(), e)
    }

    /// An L1 call with a 30 s limit, its error in plain words.
    pub async fn l1q<T>(
        &self,
        what: &str,
        f: impl Future<Output = Result<T, L1ClientError>>,
    ) -> Result<T> {
        match tokio::time::timeout(Duration::from_secs(30), f).await {
            Ok(r) => r.map_err(|e| self.l1e(e)),
            Err(_) => bail!("the L1 at {}: no answer to {what} within 30 s", self.l1_url),
        }
    }

    /// The L1 tip height.
    pub async fn l1_height(&self) -> Result<u64> {
        self.l1q("the tip height", self.l1.tip_height()).await
    }

    /// The chain as the L1 holds it.
    pub async fn l1_chain(&self) -> Result<ChainState> {
        self.l1q("the chain state", self.l1.chain_state(self.chain))
            .await
    }

    /// Sign `op` with `key` at its next L1 nonce and send it. Returns (transaction id, nonce,
    /// L1 height when it was sent).
    pub async fn send_l1(&self, key: &PrivateKey, op: L1Op) -> Result<(H256, u64, u64)> {
        let height = self.l1_height().await?;
        let acct = timed("the L1", self.l1.account(&key.address()))
            .await
            .map_err(|e| match e.downcast::<L1ClientError>() {
                Ok(e) => self.l1e(e),
                Err(e) => e,
            })?;
        let tx = L1Tx::signed(key, acct.next_nonce, op)
            .map_err(|e| anyhow!("signing the L1 transaction: {e}"))?;
        let id = timed("the L1", self.l1.send_transaction(&tx))
            .await
            .map_err(|e| match e.downcast::<L1ClientError>() {
                Ok(e) => self.l1e(e),
                Err(e) => e,
            })?;
        Ok((id, acct.next_nonce, height))
    }

    /// Wait until L1 transaction `id` (from `from` with `nonce`, sent at L1 height `since`) is
    /// mined; returns its block height and its receipt.
    pub async fn wait_l1_mined(
        &self,
        id: &H256,
        from: &Address,
        nonce: u64,
        since: u64,
        hint: &str,
    ) -> Result<(u64, L1Receipt)> {
        let bar = Progress::spinner(self.json, "waiting for the L1 to mine the transaction");
        self.wait("the L1 to mine the transaction", hint, || async {
            match find_mined(&self.l1, id, from, nonce, since).await {
                Ok(found) => Ok(found),
                Err(MinedError::L1(e)) => Err(self.l1e(e)),
                Err(e @ MinedError::NonceReused { .. }) => Err(Fatal(e.to_string()).into()),
                Err(e) => Err(anyhow!("{e}")),
            }
        })
        .await
        .inspect(|_| bar.done())
    }

    /// Poll `poll` every 250 ms until it gives `Some`: at most `--timeout` seconds, stopped by
    /// Ctrl-C; `hint` (e.g. how to resume) ends the error of either. An error from `poll` is
    /// retried (the L1 or the node may restart) unless it repeats 20 times in a row or is
    /// [`Fatal`].
    pub async fn wait<T, F, Fut>(&self, what: &str, hint: &str, mut poll: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let mut errors = 0;
        let mut stop = self.interrupted.clone();
        let interrupted = || anyhow!("interrupted while waiting for {what}{hint}");
        loop {
            if *stop.borrow() {
                return Err(interrupted());
            }
            let r = tokio::select! {
                Ok(_) = stop.wait_for(|v| *v) => return Err(interrupted()),
                r = poll() => r,
            };
            match r {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => errors = 0,
                Err(e) if e.downcast_ref::<Fatal>().is_some() => return Err(e),
                Err(e) => {
                    errors += 1;
                    if errors >= 20 {
                        return Err(e.context(format!("waiting for {what}")));
                    }
                }
            }
            if self.deadline.is_some_and(|d| Instant::now() > d) {
                bail!(
                    "gave up after {} s waiting for {what} (--timeout){hint}",
                    self.timeout
                );
            }
            tokio::select! {
                Ok(_) = stop.wait_for(|v| *v) => return Err(interrupted()),
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }
}

/// A flag set by Ctrl-C from now on (the handler stays installed, so a Ctrl-C between two waits
/// stops the next one instead of killing the process halfway through writing its state).
fn listen_for_ctrl_c() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = tx.send(true);
            // Keep the sender (and the handler) alive until the process ends.
            std::future::pending::<()>().await;
        }
    });
    rx
}

/// An error a wait does not retry: the thing waited for can no longer happen.
#[derive(Debug)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// The reason an L1 receipt failed, if it did (`BRIDGE_NOT_FINAL: …`).
pub fn l1_failure(r: &L1Receipt) -> Option<String> {
    r.outcome.as_ref().err().map(|e| {
        let text = e.to_string();
        if text.starts_with(e.name()) {
            text
        } else {
            format!("{}: {text}", e.name())
        }
    })
}

/// A progress bar on stderr; does nothing with `--json` or when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress(Option<ProgressBar>);

impl Progress {
    fn shown(json_out: bool) -> bool {
        !json_out && std::io::stderr().is_terminal()
    }

    /// A bar of `len` steps.
    pub fn bar(json_out: bool, len: u64, msg: &str) -> Progress {
        if !Self::shown(json_out) {
            return Progress(None);
        }
        let b = ProgressBar::new(len);
        if let Ok(s) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}") {
            b.set_style(s.progress_chars("=> "));
        }
        b.set_message(msg.to_string());
        b.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(b))
    }

    /// A spinner (no known length).
    pub fn spinner(json_out: bool, msg: &str) -> Progress {
        if !Self::shown(json_out) {
            return Progress(None);
        }
        let b = ProgressBar::new_spinner();
        b.set_message(msg.to_string());
        b.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(b))
    }

    /// Move to `pos` of `len` with `msg`.
    pub fn set(&self, pos: u64, len: u64, msg: &str) {
        if let Some(b) = &self.0 {
            b.set_length(len);
            b.set_position(pos.min(len));
            b.set_message(msg.to_string());
        }
    }

    /// Remove the bar.
    pub fn done(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}

/// Parse an address argument (`0x` + 40 hex, raw order).
pub fn parse_address(what: &str, s: &str) -> Result<Address> {
    if !(s.starts_with("0x") || s.starts_with("0X")) {
        bail!("{what}: {s:?} is not an address (0x + 40 hex digits)");
    }
    Address::from_hex(s)
        .map_err(|e| anyhow!("{what}: {s:?} is not an address (0x + 40 hex digits): {e}"))
}

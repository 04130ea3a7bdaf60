//! `casl2 withdraw` (L2 → L1) and `casl2 withdrawals`: flags, the wallet's file store
//! (`<wallet dir>/withdrawals.json`), output; the withdrawal state machine is the library's
//! (`casl2_lightclient::withdrawal::Machine`, its stages in the flags' help below), run here
//! with this command's host ([`CliHost`]). An interrupted run is continued by
//! `casl2 withdraw --resume ID`.

use crate::amount::{format_cas, parse_cas};
use crate::files::{read_optional, write_atomic, FileLock};
use crate::net::{parse_address, Conn, Fatal, NetArgs, Progress};
use crate::wallet::{KeyArgs, WalletArgs};
use anyhow::{anyhow, bail, Context, Result};
use casl2_lightclient::api::node::{ProofAt, ReceiptAnswer};
use casl2_lightclient::endpoint::Role;
use casl2_lightclient::l1::{L1Client, L1ClientError};
use casl2_lightclient::withdrawal::{Event, Host, Machine, Step, Wait, WithdrawError};
use casl2_verifier::{Address, TxType, H256};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::future::Future;
use std::path::PathBuf;

pub use casl2_lightclient::withdrawal::{Stage, Withdrawal};

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    withdrawals: Vec<Withdrawal>,
}

/// The wallet's withdrawal records (`<wallet dir>/withdrawals.json`).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// The store of a wallet directory.
    pub fn new(w: &WalletArgs) -> Result<Store> {
        Ok(Store {
            path: w.dir()?.join("withdrawals.json"),
        })
    }

    fn load(&self) -> Result<StateFile> {
        match read_optional(&self.path)? {
            None => Ok(StateFile {
                version: 1,
                withdrawals: Vec::new(),
            }),
            Some(t) => serde_json::from_str(&t).map_err(|e| {
                anyhow!(
                    "{} is not a casl2 withdrawals file: {e}",
                    self.path.display()
                )
            }),
        }
    }

    /// Every withdrawal kept.
    pub fn all(&self) -> Result<Vec<Withdrawal>> {
        Ok(self.load()?.withdrawals)
    }

    /// Save `w` (replacing the record with its id) atomically under the lock.
    pub fn save(&self, w: &Withdrawal) -> Result<()> {
        let _lock = FileLock::acquire(&self.path)?;
        let mut f = self.load()?;
        f.version = 1;
        match f.withdrawals.iter_mut().find(|x| x.id == w.id) {
            Some(x) => *x = w.clone(),
            None => f.withdrawals.push(w.clone()),
        }
        let text = serde_json::to_string_pretty(&f).context("encoding the withdrawals")?;
        write_atomic(&self.path, format!("{text}\n").as_bytes())
    }
}

/// Flags of `casl2 withdraw`.
#[derive(Debug, Args)]
#[command(after_help = "\
Stages (saved in <wallet dir>/withdrawals.json before each next step):
  signed      the WITHDRAWAL transaction is signed (its hash is the withdrawal id) and sent
  included    it is in a final L2 block
              ... a batch with that block is anchored on L1; its challenge period runs
              (the fast one when the sender's L1 HAT score is at least fastWithdrawalHat)
  finalizing  FinalizeWithdrawal with the record's proof (checked here first) is sent to L1
  paid        the L1 paid it (once per id: BRIDGE_ALREADY_PAID refuses a second payment)
Ctrl-C, --timeout or --no-wait stop it; `casl2 withdraw --resume ID --key ...` continues.")]
pub struct WithdrawArgs {
    /// Amount in CAS (up to 7 decimals); not with --resume.
    #[arg(allow_hyphen_values = true)]
    pub amount: Option<String>,
    /// The L1 account paid [default: the key's own address].
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
    /// Continue a withdrawal started before (its id, as `casl2 withdrawals` lists it).
    #[arg(long, value_name = "ID", conflicts_with_all = ["amount", "to"])]
    pub resume: Option<String>,
    /// Stop once the withdrawal is in a final L2 block; `--resume ID` finishes it later.
    #[arg(long)]
    pub no_wait: bool,
    /// Gas price of the L2 transaction (smallest units per gas).
    #[arg(long, value_name = "UNITS", default_value_t = 1)]
    pub gas_price: u64,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Flags of `casl2 withdrawals`.
#[derive(Debug, Args)]
pub struct WithdrawalsArgs {
    /// Include each withdrawal's record proof (`l2_getwithdrawalproof`).
    #[arg(long)]
    pub proofs: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

fn parse_id(s: &str) -> Result<H256> {
    H256::from_hex(s)
        .map_err(|e| anyhow!("--resume: {s:?} is not a withdrawal id (0x + 64 hex digits): {e}"))
}

/// Run `casl2 withdraw`.
pub fn withdraw(a: WithdrawArgs, json_out: bool) -> Result<()> {
    let store = Store::new(&a.key.wallet)?;
    enum Start {
        New(i64, Option<Address>),
        Resume(H256),
    }
    let start = match (&a.amount, &a.resume) {
        (Some(s), None) => {
            let v = parse_cas(s).map_err(|e| anyhow!("the amount: {e}"))?;
            if v <= 0 {
                bail!("the amount: must be more than 0");
            }
            let to = match &a.to {
                Some(t) => Some(parse_address("--to", t)?),
                None => None,
            };
            Start::New(v, to)
        }
        (None, Some(id)) => Start::Resume(parse_id(id)?),
        _ => bail!("give an amount to withdraw, or --resume ID to continue one"),
    };
    let (price, max_fee) = crate::flows::gas_price(
        a.gas_price,
        casl2_verifier::stf::rules::intrinsic_gas(TxType::Withdrawal, &[]),
    )?;
    // Look up a resumed withdrawal before asking for the passphrase.
    let resumed = match &start {
        Start::Resume(id) => Some(store.all()?.into_iter().find(|w| w.id == *id).ok_or_else(
            || {
                anyhow!(
                    "no withdrawal {id} in {} (`casl2 withdrawals` lists them)",
                    store.path.display()
                )
            },
        )?),
        Start::New(..) => None,
    };
    let key = a.key.private_key()?;
    crate::run::runtime()?.block_on(async move {
        a.net.require(Role::Withdraw)?;
        let c = Conn::open(&a.net, json_out).await?;
        let host = CliHost {
            c: &c,
            store: &store,
            bar: RefCell::new(None),
        };
        let m = Machine {
            l1: &c.l1,
            node: &c.node,
            host: &host,
            chain: c.chain,
            params: &c.params,
        };
        let mut w = match (start, resumed) {
            (_, Some(w)) => {
                if w.chain != c.chain {
                    bail!(
                        "withdrawal {} is on chain {}, not on --chain {}",
                        w.id,
                        w.chain,
                        c.chain
                    );
                }
                w
            }
            (Start::New(amount, to), None) => {
                let from = key.address();
                let nonce =
                    crate::flows::funded_nonce(&c, &from, amount, max_fee, "withdrawal").await?;
                let to = to.unwrap_or(from);
                m.start(&key, to, amount, nonce, price)
                    .map_err(|e| host.error("", e))?
            }
            (Start::Resume(_), None) => unreachable_resume()?,
        };
        m.drive(&key, &mut w, a.no_wait)
            .await
            .map_err(|e| host.error(&resume_hint(&w.id), e))?;
        report(&w, json_out);
        Ok(())
    })
}

fn unreachable_resume() -> Result<Withdrawal> {
    bail!("internal: a resumed withdrawal was not loaded")
}

/// How an interrupted withdrawal goes on (the end of a wait's or a refusal's error).
fn resume_hint(id: &H256) -> String {
    format!("; `casl2 withdraw --resume {id}` continues")
}

/// `casl2 withdraw` as the machine's host: the wallet's file store, notes and bars on stderr,
/// the connection's bounded, interruptible waits and 30 s L1 calls.
struct CliHost<'a> {
    c: &'a Conn,
    store: &'a Store,
    /// The bar of the wait under way.
    bar: RefCell<Option<Progress>>,
}

impl CliHost<'_> {
    /// A machine error in the words `casl2 withdraw` has always used.
    fn error(&self, hint: &str, e: WithdrawError<anyhow::Error>) -> anyhow::Error {
        let c = self.c;
        match e {
            WithdrawError::Host(e) => e,
            WithdrawError::L1 { error, .. } => c.l1e(error),
            WithdrawError::Node(e) => c.ne(e),
            WithdrawError::Sending { id, error } => c
                .ne(error)
                .context(format!("sending withdrawal {id}{hint}")),
            e @ WithdrawError::Refused { .. } => anyhow!("{e}{hint}"),
            e if e.is_fatal() => Fatal(e.to_string()).into(),
            e => anyhow!("{e}"),
        }
    }

    fn set_bar(&self, pos: u64, len: u64, msg: &str) {
        if let Some(b) = self.bar.borrow().as_ref() {
            b.set(pos, len, msg);
        }
    }
}

impl Host for CliHost<'_> {
    type Error = anyhow::Error;

    fn save(&self, w: &Withdrawal) -> Result<()> {
        self.store.save(w)
    }

    fn event(&self, e: Event<'_>) {
        let c = self.c;
        match e {
            Event::Started(w) => c.note(format!(
                "withdrawal {} of {} CAS to L1 account {} (resume with `casl2 withdraw --resume {}`)",
                w.id,
                format_cas(w.amount),
                w.to,
                w.id
            )),
            Event::FastPath {
                from,
                hat,
                fast_withdrawal_hat,
                fast_challenge_period,
            } => c.note(format!(
                "{from} has HAT {hat} (≥ {fast_withdrawal_hat}): the fast challenge period of {fast_challenge_period} L1 blocks applies"
            )),
            Event::AwaitingBatch { l2_block, anchored } => self.set_bar(
                0,
                1,
                &format!("waiting for a batch with L2 block {l2_block} on L1 (anchored: {anchored})"),
            ),
            Event::ChallengePeriod {
                anchor,
                path,
                since,
                tip,
                end,
            } => self.set_bar(
                tip.saturating_sub(since),
                end.saturating_sub(since).max(1),
                &format!(
                    "anchor {anchor}: {} challenge period (L1 {tip} of {end})",
                    path.as_str()
                ),
            ),
            Event::Included(block) => c.note(format!("in final L2 block {block}")),
            Event::FinalizeSent { tx, anchor, path } => c.note(format!(
                "L1 transaction {tx}: FinalizeWithdrawal against anchor {anchor} ({} path)",
                path.as_str()
            )),
            Event::FinalizeLost(tx) => c.note(format!(
                "L1 transaction {tx} is gone from the L1; sending the finalisation again"
            )),
        }
    }

    async fn wait<T, F, Fut>(&self, id: &H256, wait: Wait, mut poll: F) -> Step<T, anyhow::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Step<Option<T>, anyhow::Error>>,
    {
        let json = self.c.json;
        *self.bar.borrow_mut() = Some(match wait {
            Wait::Included => {
                Progress::spinner(json, "waiting for the withdrawal in a final L2 block")
            }
            Wait::ChallengePeriod => {
                Progress::bar(json, 1, "waiting for a batch with the withdrawal on L1")
            }
            Wait::L1Mined => Progress::spinner(json, "waiting for the L1 to mine the transaction"),
        });
        let hint = resume_hint(id);
        let hint = hint.as_str();
        let r = self
            .c
            .wait(wait.what(), hint, || {
                let next = poll();
                async move { next.await.map_err(|e| self.error(hint, e)) }
            })
            .await;
        if let Some(b) = self.bar.borrow_mut().take() {
            b.done();
        }
        r.map_err(WithdrawError::Host)
    }

    async fn l1_call<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, L1ClientError>>,
    ) -> Step<T, anyhow::Error> {
        self.c.l1q(what, call).await.map_err(WithdrawError::Host)
    }
}

fn withdrawal_json(w: &Withdrawal) -> Value {
    json!({
        "id": w.id,
        "chain": w.chain,
        "from": w.from,
        "to": w.to,
        "amount": w.amount,
        "stage": w.stage,
        "l2Block": w.l2_block,
        "anchor": w.anchor,
        "path": w.path,
        "l1Tx": w.l1_tx,
        "l1Block": w.l1_block,
        "error": w.error,
    })
}

fn report(w: &Withdrawal, json_out: bool) {
    if json_out {
        println!("{}", withdrawal_json(w));
        return;
    }
    match w.stage {
        Stage::Paid => println!(
            "withdrawal {}: {} CAS paid to L1 account {}{}",
            w.id,
            format_cas(w.amount),
            w.to,
            match (w.l1_block, &w.path) {
                (Some(b), Some(p)) => format!(" in L1 block {b} ({p} path)"),
                _ => String::new(),
            }
        ),
        Stage::Included => println!(
            "withdrawal {}: {} CAS in final L2 block {}; `casl2 withdraw --resume {}` finalises it on L1 after the challenge period",
            w.id,
            format_cas(w.amount),
            w.l2_block.map(|b| b.to_string()).unwrap_or_else(|| "?".into()),
            w.id
        ),
        s => println!("withdrawal {}: {s:?}", w.id),
    }
}

/// Run `casl2 withdrawals`: every withdrawal of the key kept in the wallet, with its status
/// checked against the L2 node and the L1 now.
pub fn withdrawals(a: WithdrawalsArgs, json_out: bool) -> Result<()> {
    let store = Store::new(&a.key.wallet)?;
    let me = a.key.address()?;
    let mine: Vec<Withdrawal> = store
        .all()?
        .into_iter()
        .filter(|w| w.from == me && w.chain == a.net.chain)
        .collect();
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        let chain = c.l1_chain().await?;
        let finalized_block = chain.info.finalized_l2_block;
        let latest_block = chain.info.latest_l2_block;
        let paid = c
            .l1q("the paid withdrawals", c.l1.paid_withdrawals(c.chain))
            .await?;
        let mut out = Vec::new();
        for w in &mine {
            let is_paid = paid.iter().any(|(id, _)| *id == w.id);
            let receipt = c.node.receipt(&w.id).await.map_err(|e| c.ne(e))?;
            let stored = receipt.as_ref().and_then(|r| r.final_receipt());
            let l2_block = stored.map(|r| r.block_number).or(w.l2_block);
            let status = if is_paid {
                "paid"
            } else if w.stage == Stage::Failed {
                "failed"
            } else if matches!(receipt, Some(ReceiptAnswer::Pending(_))) {
                "pending"
            } else if stored.is_some_and(|r| !r.receipt.success) {
                "failed"
            } else if let Some(b) = l2_block {
                if finalized_block >= b {
                    "final"
                } else if latest_block >= b {
                    "anchored"
                } else {
                    "included"
                }
            } else {
                "signed"
            };
            let mut v = withdrawal_json(w);
            v["status"] = json!(status);
            v["l2Block"] = json!(l2_block);
            if a.proofs && l2_block.is_some() {
                let at = if status == "final" || status == "paid" {
                    ProofAt::Finalized
                } else {
                    ProofAt::Latest
                };
                match c.node.withdrawal_proof(&w.id, at).await {
                    Ok(p) => v["proof"] = json!(p),
                    Err(e) => v["proofError"] = json!(c.ne(e).to_string()),
                }
            }
            out.push(v);
        }
        if json_out {
            println!(
                "{}",
                json!({ "address": me, "chain": c.chain, "withdrawals": out })
            );
        } else if out.is_empty() {
            println!("no withdrawals of {me} on chain {} in this wallet", c.chain);
        } else {
            for v in &out {
                println!(
                    "{}  {:>14} CAS  {:<9} to {}{}",
                    v["id"].as_str().unwrap_or(""),
                    format_cas(v["amount"].as_i64().unwrap_or(0)),
                    v["status"].as_str().unwrap_or(""),
                    v["to"].as_str().unwrap_or(""),
                    match v["status"].as_str() {
                        Some("final") | Some("anchored") | Some("included") =>
                            "  (`casl2 withdraw --resume ID` finalises it)",
                        _ => "",
                    }
                );
                if a.proofs {
                    if let Some(p) = v.get("proof") {
                        println!(
                            "  proof at root {} (block {}): {}",
                            p["stateRoot"], p["blockNumber"], p["proof"]
                        );
                    }
                }
            }
        }
        Ok(())
    })
}

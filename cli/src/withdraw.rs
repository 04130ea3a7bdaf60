//! `casl2 withdraw` (L2 → L1) and `casl2 withdrawals`.
//!
//! A withdrawal goes through stages, each saved in `<wallet dir>/withdrawals.json` before the
//! next step is taken, so an interrupted run is continued by `casl2 withdraw --resume ID`:
//!
//! 1. `signed`: the WITHDRAWAL transaction is signed and saved (its hash is the withdrawal id),
//!    then sent to the L2 node (sending it again is harmless: same hash, same nonce);
//! 2. `included`: it is in a final L2 block, which wrote its `WithdrawalRecord`;
//! 3. wait until a batch holding that block is anchored on L1 and its challenge period is over
//!    (or, for a sender whose L1 HAT score is at least the chain's `fastWithdrawalHat`, the
//!    fast challenge period: the L1 rule's fast path);
//! 4. `finalizing`: `FinalizeWithdrawal` with the record's proof (checked here against the
//!    anchor's root before it is sent) is signed and saved, then sent to L1;
//! 5. `paid`: the L1 paid it. The L1 pays a withdrawal id once (`BRIDGE_ALREADY_PAID`), and
//!    before sending, this command asks the L1 whether it already did.

use crate::amount::{format_cas, parse_cas};
use crate::files::{read_optional, write_atomic, FileLock};
use crate::flows::wait_l2_receipt;
use crate::net::{l1_failure, parse_address, Conn, NetArgs, Progress};
use crate::wallet::{KeyArgs, WalletArgs};
use anyhow::{anyhow, bail, Context, Result};
use casl2_lightclient::api::node::ProofAt;
use casl2_lightclient::endpoint::Role;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{Anchor, L1Error, L1Op, L2Status};
use casl2_verifier::smt::CompactProof;
use casl2_verifier::types::WithdrawalRecord;
use casl2_verifier::{Address, Decode, Encode, L2Transaction, PrivateKey, TxType, H256};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
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
                start_new(
                    &c,
                    &key,
                    amount,
                    to.unwrap_or_else(|| key.address()),
                    (price, max_fee),
                    &store,
                )
                .await?
            }
            (Start::Resume(_), None) => unreachable_resume()?,
        };
        drive(&c, &key, &mut w, &store, a.no_wait).await?;
        report(&w, json_out);
        Ok(())
    })
}

fn unreachable_resume() -> Result<Withdrawal> {
    bail!("internal: a resumed withdrawal was not loaded")
}

async fn start_new(
    c: &Conn,
    key: &PrivateKey,
    amount: i64,
    to: Address,
    (gas_price, max_fee): (i64, i64),
    store: &Store,
) -> Result<Withdrawal> {
    let from = key.address();
    let nonce = crate::flows::funded_nonce(c, &from, amount, max_fee, "withdrawal").await?;
    let mut tx = L2Transaction {
        from,
        to,
        value: amount,
        nonce,
        gas_limit: casl2_verifier::stf::rules::intrinsic_gas(TxType::Withdrawal, &[]),
        gas_price,
        tx_type: TxType::Withdrawal,
        l2_chain_id: c.chain,
        ..Default::default()
    };
    tx.sign(key).map_err(|e| anyhow!("signing: {e}"))?;
    let w = Withdrawal {
        id: tx.hash(),
        chain: c.chain,
        from,
        to,
        amount,
        l2_tx: hex::encode(tx.encode()),
        stage: Stage::Signed,
        l2_block: None,
        anchor: None,
        path: None,
        l1_tx: None,
        l1_from: None,
        l1_nonce: None,
        l1_since: None,
        l1_block: None,
        error: None,
    };
    // Saved before it is sent: an interruption from here on is resumable.
    store.save(&w)?;
    c.note(format!(
        "withdrawal {} of {} CAS to L1 account {to} (resume with `casl2 withdraw --resume {}`)",
        w.id,
        format_cas(amount),
        w.id
    ));
    Ok(w)
}

/// Is withdrawal `id` paid on L1?
async fn paid_on_l1(c: &Conn, id: &H256) -> Result<bool> {
    let list = c
        .l1q("the paid withdrawals", c.l1.paid_withdrawals(c.chain))
        .await?;
    Ok(list.iter().any(|(paid, _)| paid == id))
}

async fn anchor_at(c: &Conn, index: u64) -> Result<Anchor> {
    let mut list = c
        .l1q("an anchor", c.l1.anchors_window(c.chain, index, 1))
        .await?;
    if list.is_empty() {
        bail!("the L1 has no anchor {index} of chain {}", c.chain);
    }
    Ok(list.swap_remove(0))
}

/// A withdrawal ready to be paid: the anchor, the record and its checked proof.
struct Payable {
    anchor: Anchor,
    record: WithdrawalRecord,
    proof: CompactProof,
    path: &'static str,
}

/// What the wait for finality found.
enum Ready {
    Paid,
    Proof(Box<Payable>),
}

/// Check a node's withdrawal proof against the anchor's root and the withdrawal we made.
fn check_proof(
    w: &Withdrawal,
    anchor: &Anchor,
    v: &Value,
) -> Result<(WithdrawalRecord, CompactProof)> {
    let record: WithdrawalRecord = serde_json::from_value(v["record"].clone())
        .map_err(|_| anyhow!("the node has no record of withdrawal {} at that root", w.id))?;
    let proof: CompactProof = serde_json::from_value(v["proof"].clone())
        .map_err(|e| anyhow!("the node's proof does not decode: {e}"))?;
    if record.id != w.id
        || record.l2_sender != w.from
        || record.l1_recipient != w.to
        || record.amount != w.amount
    {
        bail!(
            "the node's record of withdrawal {} is not the one this wallet made",
            w.id
        );
    }
    // The check L1 makes before it pays (`verifier::l1::check_withdrawal_proof`).
    let root = anchor.header.post_state_root;
    casl2_verifier::l1::check_withdrawal_proof(&record, &proof, &root).map_err(|e| {
        anyhow!(
            "the node's proof of withdrawal {} does not hold under anchor {}'s root: {e}",
            w.id,
            anchor.index
        )
    })?;
    Ok((record, proof))
}

async fn wait_ready(c: &Conn, w: &Withdrawal, hint: &str) -> Result<Ready> {
    let hat = c.l1.hat_score(&w.from).await.map_err(|e| c.l1e(e))?;
    let p = &c.params;
    // The L1's own rule (`verifier::l1::fast_withdrawal_eligible`), not a copy of it.
    let fast_ok = casl2_verifier::l1::fast_withdrawal_eligible(p, hat, w.amount);
    if fast_ok {
        c.note(format!(
            "{} has HAT {hat} (≥ {}): the fast challenge period of {} L1 blocks applies",
            w.from, p.fast_withdrawal_hat, p.fast_challenge_period
        ));
    }
    let bar = Progress::bar(c.json, 1, "waiting for a batch with the withdrawal on L1");
    let r = c
        .wait("the withdrawal's challenge period", hint, || {
            poll_ready(c, w, fast_ok, &bar)
        })
        .await;
    bar.done();
    r
}

/// One look at the L1 and the node: is the withdrawal paid, or payable (with a checked proof)?
async fn poll_ready(
    c: &Conn,
    w: &Withdrawal,
    fast_ok: bool,
    bar: &Progress,
) -> Result<Option<Ready>> {
    let l2_block = w.l2_block.unwrap_or(0);
    if paid_on_l1(c, &w.id).await? {
        return Ok(Some(Ready::Paid));
    }
    let chain = c.l1_chain().await?;
    let finalized_block = chain.info.finalized_l2_block;
    let latest_block = chain.info.latest_l2_block;
    let finalized = chain.finalized_anchors;
    let anchors = chain.anchors;
    let tip = c.l1_height().await?;
    if finalized_block >= l2_block && finalized > 0 {
        let v = c
            .node
            .withdrawal_proof(&w.id, ProofAt::Finalized)
            .await
            .map_err(|e| c.ne(e))?;
        let v = serde_json::to_value(v)?;
        let anchor = anchor_at(c, finalized - 1).await?;
        if serde_json::from_value::<H256>(v["stateRoot"].clone()).ok()
            != Some(anchor.header.post_state_root)
        {
            return Ok(None); // the node and the L1 are a moment apart: ask again
        }
        let (record, proof) = check_proof(w, &anchor, &v)?;
        let p = Payable {
            anchor,
            record,
            proof,
            path: "standard",
        };
        return Ok(Some(Ready::Proof(Box::new(p))));
    }
    if latest_block < l2_block || anchors == 0 {
        let msg = format!(
            "waiting for a batch with L2 block {l2_block} on L1 (anchored: {latest_block})"
        );
        bar.set(0, 1, &msg);
        return Ok(None);
    }
    // The first non-final anchor that holds the block.
    let mut holder = None;
    for i in finalized..anchors {
        let a = anchor_at(c, i).await?;
        if a.header.end_block >= l2_block {
            holder = Some(a);
            break;
        }
    }
    let Some(a) = holder else { return Ok(None) };
    let status: Option<L2Status> = Some(chain.info.status);
    let (end, kind) = if fast_ok {
        (a.fast_deadline, "fast")
    } else {
        (a.deadline, "standard")
    };
    bar.set(
        tip.saturating_sub(a.l1_height),
        end.saturating_sub(a.l1_height).max(1),
        &format!(
            "anchor {}: {kind} challenge period (L1 {tip} of {end})",
            a.index
        ),
    );
    if !fast_ok || tip < a.fast_deadline || status == Some(L2Status::Emergency) {
        return Ok(None);
    }
    // Fast path: the L1 pays against the latest anchor once its fast deadline is
    // passed and no anchor from the first non-final one up to it is disputed.
    let latest = anchor_at(c, anchors - 1).await?;
    if tip < latest.fast_deadline {
        return Ok(None);
    }
    for i in finalized..anchors {
        if anchor_at(c, i).await?.disputed {
            return Ok(None);
        }
    }
    let v = match c.node.withdrawal_proof(&w.id, ProofAt::Anchored).await {
        Ok(v) => serde_json::to_value(v)?,
        Err(_) => return Ok(None), // a node without "anchored" proofs: wait for finality
    };
    if serde_json::from_value::<H256>(v["stateRoot"].clone()).ok()
        != Some(latest.header.post_state_root)
    {
        return Ok(None);
    }
    let (record, proof) = check_proof(w, &latest, &v)?;
    let p = Payable {
        anchor: latest,
        record,
        proof,
        path: "fast",
    };
    Ok(Some(Ready::Proof(Box::new(p))))
}

/// Take `w` from its stage to `paid` (or to `included` with `no_wait`), saving each stage.
async fn drive(
    c: &Conn,
    key: &PrivateKey,
    w: &mut Withdrawal,
    store: &Store,
    no_wait: bool,
) -> Result<()> {
    let hint = format!("; `casl2 withdraw --resume {}` continues", w.id);
    loop {
        match w.stage {
            Stage::Signed => send_and_include(c, w, store, &hint).await?,
            Stage::Included if no_wait => return Ok(()),
            Stage::Included => finalize(c, key, w, store, &hint).await?,
            Stage::Finalizing => follow_finalization(c, key, w, store, &hint).await?,
            Stage::Paid => return Ok(()),
            Stage::Failed => bail!(
                "withdrawal {} failed: {}",
                w.id,
                w.error.clone().unwrap_or_else(|| "no reason kept".into())
            ),
        }
    }
}

/// `signed` → `included`: send the L2 transaction (unless the node knows it) and wait for its
/// final block.
async fn send_and_include(c: &Conn, w: &mut Withdrawal, store: &Store, hint: &str) -> Result<()> {
    let known = c.node.receipt(&w.id).await.map_err(|e| c.ne(e))?;
    if known.is_none() {
        let bytes = hex::decode(&w.l2_tx).map_err(|e| anyhow!("the saved transaction: {e}"))?;
        let tx =
            L2Transaction::decode(&bytes).map_err(|e| anyhow!("the saved transaction: {e}"))?;
        if let Err(e) = c.node.send_transaction(&tx).await {
            let e = c.ne(e);
            if format!("{e}").contains("MEMPOOL_BAD_NONCE") {
                // Its nonce went to another transaction: this one can never be included.
                if c.node.receipt(&w.id).await.map_err(|e| c.ne(e))?.is_none() {
                    w.stage = Stage::Failed;
                    w.error = Some(
                        "its L2 nonce was used by another transaction; nothing was withdrawn"
                            .into(),
                    );
                    store.save(w)?;
                    bail!(
                        "withdrawal {}: {}",
                        w.id,
                        w.error.clone().unwrap_or_default()
                    );
                }
            } else {
                return Err(e.context(format!("sending withdrawal {}{hint}", w.id)));
            }
        }
    }
    let r = serde_json::to_value(wait_l2_receipt(c, &w.id, "the withdrawal", hint).await?)?;
    if r["receipt"]["success"] != json!(true) {
        w.stage = Stage::Failed;
        w.error = Some(format!(
            "included in L2 block {} but failed: {}",
            r["blockNumber"],
            r["receipt"]["error"].as_str().unwrap_or("no reason given")
        ));
        store.save(w)?;
        bail!(
            "withdrawal {}: {}",
            w.id,
            w.error.clone().unwrap_or_default()
        );
    }
    w.l2_block = r["blockNumber"].as_u64();
    w.stage = Stage::Included;
    store.save(w)?;
    c.note(format!("in final L2 block {}", r["blockNumber"]));
    Ok(())
}

/// `included` → `finalizing`: wait out the challenge period, then send FinalizeWithdrawal with
/// the checked proof (or note that the withdrawal is paid already).
async fn finalize(
    c: &Conn,
    key: &PrivateKey,
    w: &mut Withdrawal,
    store: &Store,
    hint: &str,
) -> Result<()> {
    match wait_ready(c, w, hint).await? {
        Ready::Paid => {
            w.stage = Stage::Paid;
            store.save(w)?;
        }
        Ready::Proof(p) => {
            let Payable {
                anchor,
                record,
                proof,
                path,
            } = *p;
            let op = L1Op::FinalizeWithdrawal {
                chain: c.chain,
                anchor: anchor.index,
                record,
                proof,
            };
            let (id, nonce, since) = c.send_l1(key, op).await?;
            w.stage = Stage::Finalizing;
            w.anchor = Some(anchor.index);
            w.path = Some(path.to_string());
            w.l1_tx = Some(id);
            w.l1_from = Some(key.address());
            w.l1_nonce = Some(nonce);
            w.l1_since = Some(since);
            w.error = None;
            store.save(w)?;
            c.note(format!(
                "L1 transaction {id}: FinalizeWithdrawal against anchor {} ({path} path)",
                anchor.index
            ));
        }
    }
    Ok(())
}

/// `finalizing` → `paid`: follow the L1 transaction until it is mined (or lost, or refused).
async fn follow_finalization(
    c: &Conn,
    key: &PrivateKey,
    w: &mut Withdrawal,
    store: &Store,
    hint: &str,
) -> Result<()> {
    if paid_on_l1(c, &w.id).await? {
        // Paid (by this transaction or an earlier one); find where if it was ours
        // and it is mined.
        let sender = w.l1_from.unwrap_or_else(|| key.address());
        if let (Some(id), Some(nonce), Some(since)) = (w.l1_tx, w.l1_nonce, w.l1_since) {
            let acct = c.l1.account(&sender).await.map_err(|e| c.l1e(e))?;
            if acct.nonce > nonce {
                if let Ok((h, r)) = c.wait_l1_mined(&id, &sender, nonce, since, hint).await {
                    if r.outcome.is_ok() {
                        w.l1_block = Some(h);
                    }
                }
            }
        }
        w.stage = Stage::Paid;
        store.save(w)?;
        return Ok(());
    }
    let (Some(id), Some(nonce), Some(since)) = (w.l1_tx, w.l1_nonce, w.l1_since) else {
        w.stage = Stage::Included;
        return Ok(());
    };
    // The mempool first, then the nonce: a transaction mined in between shows in
    // the nonce, so only a lost one is seen as neither.
    let sender = w.l1_from.unwrap_or_else(|| key.address());
    let pool = c.l1q("the mempool", c.l1.mempool()).await?;
    let waiting = pool.contains(&id);
    let acct = c.l1.account(&sender).await.map_err(|e| c.l1e(e))?;
    if acct.nonce <= nonce && !waiting {
        // Lost (the devnet's mempool is memory only): sign a new one.
        c.note(format!(
            "L1 transaction {id} is gone from the L1; sending the finalisation again"
        ));
        w.stage = Stage::Included;
        return Ok(());
    }
    let (h, r) = c.wait_l1_mined(&id, &sender, nonce, since, hint).await?;
    match &r.outcome {
        Ok(_) => {
            w.stage = Stage::Paid;
            w.l1_block = Some(h);
            store.save(w)?;
        }
        Err(L1Error::AlreadyPaid(_)) => {
            w.stage = Stage::Paid;
            store.save(w)?;
        }
        Err(_) => {
            let why = l1_failure(&r).unwrap_or_default();
            w.stage = Stage::Included;
            w.error = Some(format!(
                "the L1 refused the finalisation in block {h}: {why}"
            ));
            store.save(w)?;
            bail!(
                "withdrawal {}: the L1 refused the finalisation in block {h} ({why}){hint}",
                w.id
            );
        }
    }
    Ok(())
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
            let receipt = receipt.map(serde_json::to_value).transpose()?;
            let l2_block = receipt
                .as_ref()
                .and_then(|r| r["blockNumber"].as_u64())
                .or(w.l2_block);
            let status = if is_paid {
                "paid"
            } else if w.stage == Stage::Failed {
                "failed"
            } else if receipt
                .as_ref()
                .is_some_and(|r| r["pending"] == json!(true))
            {
                "pending"
            } else if receipt
                .as_ref()
                .is_some_and(|r| r["receipt"]["success"] == json!(false))
            {
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
                    Ok(p) => v["proof"] = serde_json::to_value(p)?,
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

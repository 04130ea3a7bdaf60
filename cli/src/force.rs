//! `casl2 force`: a transfer that the sequencers do not include (censorship) sent through L1's
//! forced-inclusion queue (`ForceTransaction`). It is signed as `casl2 transfer` signs it, then
//! the command waits for the L1's verdict: an anchored batch consumed the queue message in time
//! (included), or its inclusion deadline passed and the L1 rules punished the chain (every
//! active sequencer slashed by `minSlash`; the `MAX_MISSED_MESSAGES`-th missed message puts the
//! chain in EMERGENCY).

use crate::amount::format_cas;
use crate::flows::{
    check_funded, find_message, gas_price, parse_hash, positive, resumed_message, transfer_tx,
};
use crate::net::{l1_failure, parse_address, Conn, NetArgs, Progress};
use crate::wallet::KeyArgs;
use crate::Failure;
use anyhow::{anyhow, bail, Result};
use casl2_lightclient::api::devnet_types::ChainState;
use casl2_lightclient::api::node::StoredReceipt;
use casl2_lightclient::endpoint::Role;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{L1Op, L2Status, QueuedMessage, MAX_MISSED_MESSAGES};
use casl2_verifier::types::L1MessageBody;
use casl2_verifier::{Address, L2Transaction, PrivateKey, TxType, H256};
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Flags of `casl2 force`.
#[derive(Debug, Args)]
#[command(after_help = "\
Signs a TRANSFER at the account's nonce in the node's head state (a transaction of yours that
waits unincluded in a mempool at that nonce is superseded), sends it to L1 as ForceTransaction
(the chain must be ACTIVE) and waits until the L1 decides. Either an anchored batch consumes
the queue message before the chain's forcedInclusionDeadline (in L1 blocks): exit 0, or 1 if
the transfer failed there. Or the deadline passes: the L1 slashes every active sequencer by
minSlash, the third missed message putting the chain in EMERGENCY; exit 1, the punishment
printed. Errors exit 2. The L1 keeps the message whatever this command does next: after an
interruption `casl2 force --resume L1TX --key ...` waits for it again; do not send it
twice.")]
pub struct ForceArgs {
    /// The L2 recipient (0x + 40 hex digits).
    #[arg(required_unless_present = "resume")]
    pub to: Option<String>,
    /// Amount in CAS (up to 7 decimals).
    #[arg(allow_hyphen_values = true, required_unless_present = "resume")]
    pub amount: Option<String>,
    /// Wait again for a forced transfer sent before (its L1 transaction id) instead of sending
    /// one (the slashed amounts are then not known: `casl2 sequencer status` shows totals).
    #[arg(long, value_name = "L1TX", conflicts_with_all = ["to", "amount"])]
    pub resume: Option<String>,
    /// Gas price in smallest units per gas (the fee is 21 000 × this, less the reputation
    /// discount).
    #[arg(long, value_name = "UNITS", default_value_t = 1)]
    pub gas_price: u64,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// How the wait ended.
enum Verdict {
    /// An anchored batch consumed the message before its deadline.
    Included,
    /// The deadline passed (or the chain fell into EMERGENCY) without it.
    Punished,
}

/// The sequencers' slashed totals, by address.
async fn slashed(c: &Conn) -> Result<BTreeMap<Address, i64>> {
    let list = c.l1q("the sequencers", c.l1.sequencers(c.chain)).await?;
    Ok(list.into_iter().map(|s| (s.address, s.slashed)).collect())
}

/// A forced transfer on its way: the L1 transaction, the queue message and the transfer.
struct Sent {
    id: H256,
    msg: QueuedMessage,
    tx: L2Transaction,
}

/// Check, sign and send the forced transfer, wait until the L1 mines it; returns it queued.
async fn send_forced(
    c: &Conn,
    key: &PrivateKey,
    (to, amount): (Address, i64),
    (price, max_fee): (i64, i64),
) -> Result<Sent> {
    let from = key.address();
    check_funded(c, &from, amount, max_fee, "forced transfer").await?;
    let nonce = c.node.nonce(&from).await.map_err(|e| c.ne(e))?.nonce;
    let tx = transfer_tx(c.chain, key, to, amount, price, nonce)?;
    let queued_before = c.l1_chain().await?.queue_length;
    let op = L1Op::ForceTransaction {
        chain: c.chain,
        tx: Box::new(tx.clone()),
    };
    let (id, l1_nonce, since) = c.send_l1(key, op).await?;
    c.note(format!(
        "L1 transaction {id} sent: forced transfer {} of {} CAS to {to} (nonce {nonce})",
        tx.hash(),
        format_cas(amount)
    ));
    let (l1_block, receipt) = c
        .wait_l1_mined(&id, &from, l1_nonce, since, &resume_hint(&id))
        .await?;
    if let Some(why) = l1_failure(&receipt) {
        bail!(
            "the L1 refused the forced transaction {id} in block {l1_block}: {why} \
             (forced transactions need an ACTIVE chain: `casl2 chain info --chain {}`)",
            c.chain
        );
    }
    let msg = find_message(c, &id, queued_before)
        .await?
        .ok_or_else(|| anyhow!("the L1 mined {id} but its queue holds no message for it"))?;
    Ok(Sent { id, msg, tx })
}

/// The forced transfer of an earlier run, by its L1 transaction (in the queue, or waiting in
/// the L1's mempool).
async fn resumed(c: &Conn, id: H256) -> Result<Sent> {
    let msg = resumed_message(c, &id).await?;
    let tx = match &msg.message.body {
        L1MessageBody::ForcedTransaction { tx } => (**tx).clone(),
        L1MessageBody::Deposit { .. } => {
            bail!("L1 transaction {id} queued a deposit, not a forced transaction")
        }
    };
    Ok(Sent { id, msg, tx })
}

fn resume_hint(id: &H256) -> String {
    format!(
        "; the forced transaction was sent and the L1 keeps it: `casl2 force --resume {id}` \
         waits for it again (do not send it twice)"
    )
}

/// Run `casl2 force`.
pub fn force(a: ForceArgs, json_out: bool) -> Result<(), Failure> {
    a.net.require(Role::Force)?;
    let new = match (&a.resume, &a.to, &a.amount) {
        (Some(r), _, _) => Err(parse_hash("--resume", r)?),
        (None, Some(t), Some(v)) => Ok((
            parse_address("the recipient", t)?,
            positive("the amount", v)?,
        )),
        _ => return Err(anyhow!("give a recipient and an amount, or --resume L1TX").into()),
    };
    let gas = casl2_verifier::stf::rules::intrinsic_gas(TxType::Transfer, &[]);
    let fees = gas_price(a.gas_price, gas)?;
    let key = match new {
        Ok(_) => Some(a.key.private_key()?),
        Err(_) => None,
    };
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        // The slashed totals before: only a new run knows them.
        let (sent, before) = match (new, &key) {
            (Ok(transfer), Some(key)) => {
                let before = slashed(&c).await?;
                (send_forced(&c, key, transfer, fees).await?, Some(before))
            }
            (Err(id), _) => (resumed(&c, id).await?, None),
            (Ok(_), None) => return Err(anyhow!("internal: no key for a new forced transfer").into()),
        };
        let Sent { id, msg, tx } = sent;
        let deadline = msg.inclusion_deadline(&c.params);
        c.note(format!(
            "queued as L1 message {} in L1 block {}: an anchored batch must consume it by L1 block {deadline}",
            msg.message.index, msg.message.l1_block
        ));
        let (verdict, st, r) = watch(&c, &msg, deadline, &resume_hint(&id)).await?;
        let r = match r {
            Some(r) => Some(r),
            None => final_receipt(&c, &msg).await,
        };
        let cut = match before {
            Some(before) => {
                let after = slashed(&c).await.unwrap_or_default();
                let cut: Vec<Value> = after
                    .iter()
                    .filter_map(|(a, s)| {
                        let d = s - before.get(a).copied().unwrap_or(0);
                        (d > 0).then(|| json!({ "address": a, "amount": d }))
                    })
                    .collect();
                Value::Array(cut)
            }
            None => Value::Null,
        };
        let out = json!({
            "l1Tx": id, "l1Block": msg.message.l1_block, "messageIndex": msg.message.index,
            "messageHash": msg.hash, "hash": tx.hash(), "from": tx.from, "to": tx.to,
            "amount": tx.value, "nonce": tx.nonce, "deadline": deadline,
            "outcome": match verdict { Verdict::Included => "included", Verdict::Punished => "punished" },
            "anchored": st.consumed > msg.message.index,
            "l2Block": r.as_ref().map(|r| r.block_number),
            "success": r.as_ref().map(|r| r.receipt.success),
            "error": r.as_ref().filter(|r| !r.receipt.success).map(|r| r.receipt.error.clone()),
            "chainStatus": st.info.status.to_string(), "missed": st.missed,
            "emergencyAtMissed": MAX_MISSED_MESSAGES, "slashed": cut,
        });
        report(&out, json_out);
        match verdict {
            Verdict::Included if out["success"] != json!(false) => Ok(()),
            _ => Err(Failure::Answered),
        }
    })
}

/// The node's final receipt of the queue message, if the node has it.
async fn final_receipt(c: &Conn, msg: &QueuedMessage) -> Option<StoredReceipt> {
    let r = c.node.receipt(&msg.hash).await.ok().flatten()?;
    r.final_receipt().cloned()
}

/// Wait for the L1's verdict on queue message `msg` (deadline at L1 height `deadline`); the
/// progress bar counts L1 blocks towards the deadline. Returns the verdict, the chain's L1
/// state then, and the node's final receipt when it had one.
async fn watch(
    c: &Conn,
    msg: &QueuedMessage,
    deadline: u64,
    hint: &str,
) -> Result<(Verdict, ChainState, Option<StoredReceipt>)> {
    let index = msg.message.index;
    let window = deadline.saturating_sub(msg.message.l1_block).max(1);
    let bar = Progress::bar(c.json, window, "waiting for the forced transaction");
    let seen = std::cell::Cell::new(false);
    let r = c
        .wait(
            "the forced transaction's inclusion or its deadline",
            hint,
            || async {
                let st = c.l1_chain().await?;
                let r = final_receipt(c, msg).await;
                if st.missed.contains(&index) {
                    return Ok(Some((Verdict::Punished, st, r)));
                }
                if st.consumed > index {
                    return Ok(Some((Verdict::Included, st, r)));
                }
                if st.info.status == L2Status::Emergency {
                    return Ok(Some((Verdict::Punished, st, r)));
                }
                let tip = c.l1_height().await?;
                let what = match &r {
                    Some(r) => {
                        if !seen.replace(true) {
                            c.note(format!(
                            "included in final L2 block {}; waiting for an anchored batch on L1",
                            r.block_number
                        ));
                        }
                        format!("in L2 block {}, waiting for its anchor", r.block_number)
                    }
                    None => "not in an L2 block yet".to_string(),
                };
                bar.set(
                    tip.saturating_sub(msg.message.l1_block),
                    window,
                    &format!(
                        "forced transaction {what}; L1 {tip}, deadline {deadline} ({})",
                        st.info.status
                    ),
                );
                Ok(None)
            },
        )
        .await;
    bar.done();
    r
}

fn report(out: &Value, json_out: bool) {
    if json_out {
        println!("{out}");
        return;
    }
    let l2 = match out["l2Block"].as_u64() {
        Some(n) => format!("L2 block {n}"),
        None => "an L2 block".into(),
    };
    if out["outcome"] == "included" {
        println!(
            "forced transfer {} included in {l2} and anchored on L1 before its deadline (L1 block {})",
            out["hash"].as_str().unwrap_or("?"),
            out["deadline"]
        );
        if out["success"] == json!(false) {
            println!(
                "  but it failed there: {}",
                out["error"].as_str().unwrap_or("?")
            );
        }
        return;
    }
    println!(
        "forced transfer {} was not included by its deadline (L1 block {}): the L1 punished the chain",
        out["hash"].as_str().unwrap_or("?"),
        out["deadline"]
    );
    for s in out["slashed"].as_array().into_iter().flatten() {
        println!(
            "  sequencer {} slashed {} CAS",
            s["address"].as_str().unwrap_or("?"),
            format_cas(s["amount"].as_i64().unwrap_or(0))
        );
    }
    let missed = out["missed"].as_array().map_or(0, Vec::len);
    println!(
        "  chain status {}; {missed} missed message(s) (EMERGENCY at {})",
        out["chainStatus"].as_str().unwrap_or("?"),
        MAX_MISSED_MESSAGES
    );
}

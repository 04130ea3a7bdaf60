//! `casl2 deposit` (L1 → L2, through the escrow or an `L2BURN` script) and `casl2 transfer`
//! (on L2), each waiting until the result is final on L2.

use crate::amount::{format_cas, parse_cas};
use crate::net::{l1_failure, parse_address, Conn, NetArgs, Progress};
use crate::wallet::KeyArgs;
use anyhow::{anyhow, bail, Result};
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{L1Op, QueuedMessage};
use casl2_verifier::types::BurnData;
use casl2_verifier::{L2Transaction, TxType, H256};
use clap::Args;
use serde_json::{json, Value};

/// Intrinsic gas of a plain transfer.
pub const TRANSFER_GAS: u64 = 21_000;

/// Flags of `casl2 deposit`.
#[derive(Debug, Args)]
pub struct DepositArgs {
    /// Amount in CAS (up to 7 decimals).
    #[arg(allow_hyphen_values = true)]
    pub amount: String,
    /// The L2 account credited [default: the key's own address].
    #[arg(long, value_name = "ADDRESS")]
    pub to: Option<String>,
    /// Deposit with an `L2BURN` script (BurnDeposit) instead of the plain escrow deposit; the
    /// script names a public key, so it credits the key itself.
    #[arg(long)]
    pub burn: bool,
    /// Return once the L1 has mined the deposit, without waiting for the L2 credit.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Flags of `casl2 transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The L2 recipient (0x + 40 hex digits).
    pub to: String,
    /// Amount in CAS (up to 7 decimals).
    #[arg(allow_hyphen_values = true)]
    pub amount: String,
    /// Gas price in smallest units per gas (the fee is 21 000 × this, less the reputation
    /// discount).
    #[arg(long, value_name = "UNITS", default_value_t = 1)]
    pub gas_price: u64,
    /// Return once the node has accepted the transaction, without waiting for its block.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// The gas price as the transaction carries it, refusing one whose fee for `gas` overflows.
pub fn gas_price(price: u64, gas: u64) -> Result<(i64, i64)> {
    let p = i64::try_from(price).ok();
    let fee = p.and_then(|p| i64::try_from(gas).ok().and_then(|g| g.checked_mul(p)));
    match (p, fee) {
        (Some(p), Some(fee)) => Ok((p, fee)),
        _ => bail!("--gas-price {price} is too large: the fee would overflow"),
    }
}

fn positive(what: &str, s: &str) -> Result<i64> {
    let v = parse_cas(s).map_err(|e| anyhow!("{what}: {e}"))?;
    if v <= 0 {
        bail!("{what}: must be more than 0");
    }
    Ok(v)
}

/// Wait until the node has L2 transaction (or L1 message) `hash` in a final block; returns the
/// node's receipt object `{hash, blockNumber, blockHash, step, receipt}`.
pub async fn wait_l2_receipt(c: &Conn, hash: &H256, what: &str, hint: &str) -> Result<Value> {
    let bar = Progress::spinner(c.json, &format!("waiting for {what} in a final L2 block"));
    let r = c
        .wait(&format!("{what} in a final L2 block"), hint, || async {
            let r = c.node.receipt(hash).await.map_err(|e| c.ne(e))?;
            Ok(r.filter(|v| v.get("blockNumber").is_some_and(Value::is_u64)))
        })
        .await;
    bar.done();
    r
}

/// Run `casl2 deposit`.
pub fn deposit(a: DepositArgs, json_out: bool) -> Result<()> {
    let amount = positive("the amount", &a.amount)?;
    let to = match &a.to {
        Some(_) if a.burn => {
            bail!("--burn credits the key itself (the script names its public key); drop --to")
        }
        Some(t) => Some(parse_address("--to", t)?),
        None => None,
    };
    let key = a.key.private_key()?;
    let recipient = to.unwrap_or_else(|| key.address());
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        let p = &c.params;
        if amount > p.max_deposit_per_tx {
            bail!(
                "{} CAS is over the chain's per-deposit limit of {} CAS",
                format_cas(amount),
                format_cas(p.max_deposit_per_tx)
            );
        }
        let have = c.l1.account(&key.address()).await.map_err(|e| c.l1e(e))?;
        if have.balance < amount {
            bail!(
                "the L1 account {} has {} CAS, the deposit needs {}",
                key.address(),
                format_cas(have.balance),
                format_cas(amount)
            );
        }
        let chain = c.l1_chain().await?;
        let queued_before = chain["queueLength"].as_u64().unwrap_or(0);
        let op = if a.burn {
            let chain32 = u32::try_from(c.chain)
                .map_err(|_| anyhow!("--burn: chain id {} does not fit the burn script's 32 bits", c.chain))?;
            let burn = BurnData::new(chain32, key.public_key(), amount)
                .map_err(|e| anyhow!("the burn script: {e}"))?;
            L1Op::BurnDeposit {
                script: burn.to_script().to_vec(),
            }
        } else {
            L1Op::Deposit {
                chain: c.chain,
                recipient,
                amount,
            }
        };
        let (id, nonce, since) = c.send_l1(&key, op).await?;
        c.note(format!("L1 transaction {id} sent: deposit of {} CAS to {recipient}", format_cas(amount)));
        let (l1_block, receipt) = c.wait_l1_mined(&id, &key.address(), nonce, since, "").await?;
        if let Some(why) = l1_failure(&receipt) {
            bail!("the L1 mined the deposit {id} in block {l1_block} but refused it ({why}); nothing left your L1 account");
        }
        let msgs: Vec<QueuedMessage> = serde_json::from_value(
            c.l1_call("l2_getqueue", json!([c.chain, queued_before, 1000])).await?,
        )
        .map_err(|e| anyhow!("the L1's queue: {e}"))?;
        let msg = msgs
            .iter()
            .find(|m| m.message.l1_tx_hash == id)
            .ok_or_else(|| anyhow!("the L1 mined deposit {id} but its queue has no message for it"))?;
        c.note(format!(
            "mined in L1 block {l1_block}: queue message {} ({})",
            msg.message.index, msg.hash
        ));
        let mut out = json!({
            "deposit": id,
            "kind": if a.burn { "burn" } else { "escrow" },
            "amount": amount,
            "recipient": recipient,
            "l1Block": l1_block,
            "messageIndex": msg.message.index,
            "messageHash": msg.hash,
            "credited": false,
        });
        if !a.no_wait {
            let r = wait_l2_receipt(&c, &msg.hash, "the deposit", "").await?;
            if r["receipt"]["success"] != json!(true) {
                bail!(
                    "the L2 consumed deposit {id} in block {} without crediting it: {}",
                    r["blockNumber"],
                    r["receipt"]["error"].as_str().unwrap_or("no reason given")
                );
            }
            let balance = c.node.balance(&recipient).await.map_err(|e| c.ne(e))?;
            out["credited"] = json!(true);
            out["l2Block"] = r["blockNumber"].clone();
            out["l2Balance"] = json!(balance);
        }
        if json_out {
            println!("{out}");
        } else if a.no_wait {
            println!("deposited {} CAS on L1 (block {l1_block}); the L2 credits {recipient} once a sequencer includes queue message {}", format_cas(amount), msg.message.index);
        } else {
            println!(
                "deposited {} CAS: credited to {recipient} in L2 block {} (L2 balance {} CAS)",
                format_cas(amount),
                out["l2Block"],
                format_cas(out["l2Balance"].as_i64().unwrap_or(0))
            );
        }
        Ok(())
    })
}

/// Run `casl2 transfer`.
pub fn transfer(a: TransferArgs, json_out: bool) -> Result<()> {
    let to = parse_address("the recipient", &a.to)?;
    let amount = positive("the amount", &a.amount)?;
    let (price, max_fee) = gas_price(a.gas_price, TRANSFER_GAS)?;
    let key = a.key.private_key()?;
    let from = key.address();
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        let need = amount
            .checked_add(max_fee)
            .ok_or_else(|| anyhow!("the amount plus the fee is too large"))?;
        let balance = c.node.balance(&from).await.map_err(|e| c.ne(e))?;
        if balance < need {
            bail!(
                "the L2 account {from} has {} CAS; the transfer needs {} (amount {} + fee up to {})",
                format_cas(balance),
                format_cas(need),
                format_cas(amount),
                format_cas(max_fee)
            );
        }
        let nonce = c.node.nonce(&from).await.map_err(|e| c.ne(e))?.pending;
        let mut tx = L2Transaction {
            from,
            to,
            value: amount,
            nonce,
            gas_limit: TRANSFER_GAS,
            gas_price: price,
            tx_type: TxType::Transfer,
            l2_chain_id: c.chain,
            ..Default::default()
        };
        tx.sign(&key).map_err(|e| anyhow!("signing: {e}"))?;
        let hash = c.node.send_transaction(&tx).await.map_err(|e| c.ne(e))?;
        c.note(format!("L2 transaction {hash} sent (nonce {nonce})"));
        let mut out = json!({
            "hash": hash, "from": from, "to": to, "amount": amount, "nonce": nonce, "included": false,
        });
        if !a.no_wait {
            let r = wait_l2_receipt(&c, &hash, "the transfer", "").await?;
            if r["receipt"]["success"] != json!(true) {
                bail!(
                    "transfer {hash} was included in L2 block {} but failed: {}",
                    r["blockNumber"],
                    r["receipt"]["error"].as_str().unwrap_or("no reason given")
                );
            }
            out["included"] = json!(true);
            out["blockNumber"] = r["blockNumber"].clone();
            out["fee"] = r["receipt"]["fee"].clone();
            out["balance"] = json!(c.node.balance(&from).await.map_err(|e| c.ne(e))?);
        }
        if json_out {
            println!("{out}");
        } else if a.no_wait {
            println!("sent {} CAS to {to}: transaction {hash} waits in the node's mempool", format_cas(amount));
        } else {
            println!(
                "sent {} CAS to {to} in L2 block {} (fee {} CAS, balance {} CAS)",
                format_cas(amount),
                out["blockNumber"],
                format_cas(out["fee"].as_i64().unwrap_or(0)),
                format_cas(out["balance"].as_i64().unwrap_or(0))
            );
        }
        Ok(())
    })
}

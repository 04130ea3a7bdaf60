//! `casl2 deposit` (L1 → L2, through the escrow or an `L2BURN` script) and `casl2 transfer`
//! (on L2), each waiting until the result is final on L2.

use crate::amount::{format_cas, parse_cas};
use crate::net::{l1_failure, parse_address, Conn, Fatal, NetArgs, Progress};
use crate::wallet::KeyArgs;
use anyhow::{anyhow, bail, Result};
use casl2_lightclient::api::node::StoredReceipt;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::{L1Op, QueuedMessage};
use casl2_verifier::types::BurnData;
use casl2_verifier::types::L1MessageBody;
use casl2_verifier::{Address, L2Transaction, PrivateKey, TxType, H256};
use clap::Args;
use serde_json::{json, Value};

/// Flags of `casl2 deposit`.
#[derive(Debug, Args)]
#[command(after_help = "\
Sends Deposit (or BurnDeposit) on L1, waits until it is mined, then until a final L2 block
applies its queue message. Once sent it goes on by itself: after an interruption,
`casl2 deposit --resume L1TX --key ...` waits for it again (do not send it twice).")]
pub struct DepositArgs {
    /// Amount in CAS (up to 7 decimals); not with --resume.
    #[arg(allow_hyphen_values = true, required_unless_present = "resume")]
    pub amount: Option<String>,
    /// Wait again for a deposit sent before (its L1 transaction id) instead of sending one.
    #[arg(long, value_name = "L1TX", conflicts_with_all = ["amount", "to", "burn"])]
    pub resume: Option<String>,
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
#[command(after_help = "\
Signs a TRANSFER at the next nonce, sends it to the node and waits until it is in a final
block. After an interruption, `casl2 transfer --resume HASH --key ...` waits for it again.")]
pub struct TransferArgs {
    /// The L2 recipient (0x + 40 hex digits).
    #[arg(required_unless_present = "resume")]
    pub to: Option<String>,
    /// Amount in CAS (up to 7 decimals).
    #[arg(allow_hyphen_values = true, required_unless_present = "resume")]
    pub amount: Option<String>,
    /// Wait again for a transfer sent before (its L2 transaction hash) instead of sending one.
    #[arg(long, value_name = "HASH", conflicts_with_all = ["to", "amount"])]
    pub resume: Option<String>,
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
    // The sender's most fee, as the STF computes it (`stf::rules::max_fee`).
    let fee = p.and_then(|p| casl2_verifier::stf::rules::max_fee(gas, p));
    match (p, fee) {
        (Some(p), Some(fee)) => Ok((p, fee)),
        _ => bail!("--gas-price {price} is too large: the fee would overflow"),
    }
}

/// Parse a CAS amount that must be more than 0 (`what` names it in the error).
pub fn positive(what: &str, s: &str) -> Result<i64> {
    let v = parse_cas(s).map_err(|e| anyhow!("{what}: {e}"))?;
    if v <= 0 {
        bail!("{what}: must be more than 0");
    }
    Ok(v)
}

/// Wait until the node has L2 transaction (or L1 message) `hash` in a final block; returns the
/// node's receipt.
pub async fn wait_l2_receipt(
    c: &Conn,
    hash: &H256,
    what: &str,
    hint: &str,
) -> Result<StoredReceipt> {
    let bar = Progress::spinner(c.json, &format!("waiting for {what} in a final L2 block"));
    let r = c
        .wait(&format!("{what} in a final L2 block"), hint, || async {
            let r = c.node.receipt(hash).await.map_err(|e| c.ne(e))?;
            Ok(r.and_then(|r| r.final_receipt().cloned()))
        })
        .await;
    bar.done();
    r
}

/// Parse a transaction id flag (0x + 64 hex digits).
pub fn parse_hash(flag: &str, s: &str) -> Result<H256> {
    H256::from_hex(s)
        .map_err(|e| anyhow!("{flag}: {s:?} is not a transaction id (0x + 64 hex digits): {e}"))
}

/// The queue message of the deposit made by L1 transaction `id`, looking from queue index
/// `from` on.
pub async fn find_message(c: &Conn, id: &H256, mut from: u64) -> Result<Option<QueuedMessage>> {
    loop {
        let page = c
            .l1q("the queue", c.l1.queue_window(c.chain, from, 1000))
            .await?;
        if let Some(m) = page.iter().find(|m| m.message.l1_tx_hash == *id) {
            return Ok(Some(m.clone()));
        }
        if page.len() < 1000 {
            return Ok(None);
        }
        from += 1000;
    }
}

/// The queue message of L1 transaction `id` for `--resume` (a deposit, a forced transaction):
/// in the queue, or waited for while the transaction is in the L1's mempool.
pub async fn resumed_message(c: &Conn, id: &H256) -> Result<QueuedMessage> {
    c.wait("the L1 transaction's message in the queue", "", || async {
        if let Some(m) = find_message(c, id, 0).await? {
            return Ok(Some(m));
        }
        let pool = c.l1q("the mempool", c.l1.mempool()).await?;
        if pool.contains(id) {
            return Ok(None);
        }
        // Mined between the two looks?
        if let Some(m) = find_message(c, id, 0).await? {
            return Ok(Some(m));
        }
        Err(Fatal(format!(
            "the L1 holds no message of transaction {id}: not in chain {}'s queue nor in the mempool (refused when mined, or never sent)",
            c.chain
        ))
        .into())
    })
    .await
}

/// Run `casl2 deposit`.
pub fn deposit(a: DepositArgs, json_out: bool) -> Result<()> {
    let resume = match &a.resume {
        Some(r) => Some(parse_hash("--resume", r)?),
        None => None,
    };
    let amount = match &a.amount {
        Some(s) => positive("the amount", s)?,
        None => 0,
    };
    let to = match &a.to {
        Some(_) if a.burn => {
            bail!("--burn credits the key itself (the script names its public key); drop --to")
        }
        Some(t) => Some(parse_address("--to", t)?),
        None => None,
    };
    let key = match resume {
        Some(_) => None,
        None => Some(a.key.private_key()?),
    };
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        let (id, msg) = match (resume, &key) {
            (Some(id), _) => (id, resumed_message(&c, &id).await?),
            (None, Some(key)) => {
                let recipient = to.unwrap_or_else(|| key.address());
                send_deposit(&c, key, amount, recipient, a.burn).await?
            }
            (None, None) => bail!("internal: no key for a new deposit"),
        };
        let (recipient, amount) = match &msg.message.body {
            L1MessageBody::Deposit { recipient, amount } => (*recipient, *amount),
            L1MessageBody::ForcedTransaction { .. } => {
                bail!("L1 transaction {id} queued a forced transaction, not a deposit")
            }
        };
        let mut out = json!({
            "deposit": id,
            "kind": if resume.is_some() { Value::Null } else if a.burn { json!("burn") } else { json!("escrow") },
            "amount": amount,
            "recipient": recipient,
            "l1Block": msg.message.l1_block,
            "messageIndex": msg.message.index,
            "messageHash": msg.hash,
            "credited": false,
        });
        let hint = format!(
            "; the deposit stays on its way: `casl2 deposit --resume {id}` waits for it again (do not send it twice)"
        );
        if !a.no_wait {
            let r = wait_l2_receipt(&c, &msg.hash, "the deposit", &hint).await?;
            if !r.receipt.success {
                bail!(
                    "the L2 consumed deposit {id} in block {} without crediting it: {}",
                    r.block_number,
                    r.receipt.error
                );
            }
            let balance = c.node.balance(&recipient).await.map_err(|e| c.ne(e))?;
            out["credited"] = json!(true);
            out["l2Block"] = json!(r.block_number);
            out["l2Balance"] = json!(balance);
        }
        if json_out {
            println!("{out}");
        } else if a.no_wait {
            println!(
                "deposited {} CAS on L1 (block {}); the L2 credits {recipient} once a sequencer includes queue message {}",
                format_cas(amount),
                msg.message.l1_block,
                msg.message.index
            );
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

/// Check, send and wait for the L1 to mine a deposit; returns its id and its queue message.
async fn send_deposit(
    c: &Conn,
    key: &PrivateKey,
    amount: i64,
    recipient: Address,
    burn: bool,
) -> Result<(H256, QueuedMessage)> {
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
    let queued_before = chain.queue_length;
    let op = if burn {
        let chain32 = u32::try_from(c.chain).map_err(|_| {
            anyhow!(
                "--burn: chain id {} does not fit the burn script's 32 bits",
                c.chain
            )
        })?;
        let b = BurnData::new(chain32, key.public_key(), amount)
            .map_err(|e| anyhow!("the burn script: {e}"))?;
        L1Op::BurnDeposit {
            script: b.to_script().to_vec(),
        }
    } else {
        L1Op::Deposit {
            chain: c.chain,
            recipient,
            amount,
        }
    };
    let (id, nonce, since) = c.send_l1(key, op).await?;
    c.note(format!(
        "L1 transaction {id} sent: deposit of {} CAS to {recipient}",
        format_cas(amount)
    ));
    let hint = format!(
        "; the deposit was sent: `casl2 deposit --resume {id}` waits for it (do not send it twice)"
    );
    let (l1_block, receipt) = c
        .wait_l1_mined(&id, &key.address(), nonce, since, &hint)
        .await?;
    if let Some(why) = l1_failure(&receipt) {
        bail!(
            "the L1 mined the deposit {id} in block {l1_block} but refused it ({why}); nothing left your L1 account"
        );
    }
    let msg = find_message(c, &id, queued_before)
        .await?
        .ok_or_else(|| anyhow!("the L1 mined deposit {id} but its queue has no message for it"))?;
    c.note(format!(
        "mined in L1 block {l1_block}: queue message {} ({})",
        msg.message.index, msg.hash
    ));
    Ok((id, msg))
}

/// Run `casl2 transfer`.
pub fn transfer(a: TransferArgs, json_out: bool) -> Result<()> {
    let resume = match &a.resume {
        Some(r) => Some(parse_hash("--resume", r)?),
        None => None,
    };
    let new = match (&a.to, &a.amount) {
        (Some(t), Some(v)) => Some((
            parse_address("the recipient", t)?,
            positive("the amount", v)?,
        )),
        _ => None,
    };
    let (price, max_fee) = gas_price(
        a.gas_price,
        casl2_verifier::stf::rules::intrinsic_gas(TxType::Transfer, &[]),
    )?;
    let key = match (resume, new) {
        (None, Some(_)) => Some(a.key.private_key()?),
        (Some(_), _) => None,
        (None, None) => bail!("give a recipient and an amount, or --resume HASH"),
    };
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&a.net, json_out).await?;
        let (hash, from, to, amount, nonce) = match (resume, new, &key) {
            (Some(h), _, _) => {
                let r = c.node.receipt(&h).await.map_err(|e| c.ne(e))?;
                if r.is_none() {
                    bail!("the L2 node at {} does not know transaction {h}", c.node.url());
                }
                (h, None, None, None, None)
            }
            (None, Some((to, amount)), Some(key)) => {
                let (h, nonce) = send_transfer(&c, key, to, amount, price, max_fee).await?;
                (h, Some(key.address()), Some(to), Some(amount), Some(nonce))
            }
            _ => bail!("internal: no transfer to send"),
        };
        let mut out = json!({
            "hash": hash, "from": from, "to": to, "amount": amount, "nonce": nonce, "included": false,
        });
        let hint = format!(
            "; the transfer was sent: `casl2 transfer --resume {hash}` waits for it (do not send it twice)"
        );
        if !a.no_wait {
            let r = wait_l2_receipt(&c, &hash, "the transfer", &hint).await?;
            let block = r.block_number;
            if !r.receipt.success {
                bail!(
                    "transfer {hash} was included in L2 block {block} but failed: {}",
                    r.receipt.error
                );
            }
            // The transaction as the block holds it (a resumed run knows only its hash).
            let b = c
                .node
                .block_by_number(block)
                .await
                .map_err(|e| c.ne(e))?;
            let tx: Option<L2Transaction> = b
                .into_iter()
                .flat_map(|b| b.block.transactions)
                .find(|t| t.hash() == hash);
            let tx = tx.ok_or_else(|| anyhow!("L2 block {block} does not hold transaction {hash}"))?;
            out["from"] = json!(tx.from);
            out["to"] = json!(tx.to);
            out["amount"] = json!(tx.value);
            out["nonce"] = json!(tx.nonce);
            out["included"] = json!(true);
            out["blockNumber"] = json!(block);
            out["fee"] = json!(r.receipt.fee);
            out["balance"] = json!(c.node.balance(&tx.from).await.map_err(|e| c.ne(e))?);
        }
        if json_out {
            println!("{out}");
        } else if a.no_wait {
            println!("transaction {hash} waits in the node's mempool (`casl2 transfer --resume {hash}` waits for its block)");
        } else {
            println!(
                "sent {} CAS to {} in L2 block {} (fee {} CAS, balance {} CAS)",
                format_cas(out["amount"].as_i64().unwrap_or(0)),
                out["to"].as_str().unwrap_or("?"),
                out["blockNumber"],
                format_cas(out["fee"].as_i64().unwrap_or(0)),
                format_cas(out["balance"].as_i64().unwrap_or(0))
            );
        }
        Ok(())
    })
}

/// Check the balance, sign and send a transfer; returns its hash and nonce.
async fn send_transfer(
    c: &Conn,
    key: &PrivateKey,
    to: Address,
    amount: i64,
    price: i64,
    max_fee: i64,
) -> Result<(H256, u64)> {
    let nonce = funded_nonce(c, &key.address(), amount, max_fee, "transfer").await?;
    let tx = transfer_tx(c.chain, key, to, amount, price, nonce)?;
    let hash = c.node.send_transaction(&tx).await.map_err(|e| c.ne(e))?;
    c.note(format!("L2 transaction {hash} sent (nonce {nonce})"));
    Ok((hash, nonce))
}

/// The TRANSFER of `amount` from `key` to `to` on `chain` at `nonce` and gas price `price`,
/// signed (what `casl2 transfer` sends to a node and `casl2 force` through L1).
pub fn transfer_tx(
    chain: u64,
    key: &PrivateKey,
    to: Address,
    amount: i64,
    price: i64,
    nonce: u64,
) -> Result<L2Transaction> {
    let mut tx = L2Transaction {
        from: key.address(),
        to,
        value: amount,
        nonce,
        gas_limit: casl2_verifier::stf::rules::intrinsic_gas(TxType::Transfer, &[]),
        gas_price: price,
        tx_type: TxType::Transfer,
        l2_chain_id: chain,
        ..Default::default()
    };
    tx.sign(key).map_err(|e| anyhow!("signing: {e}"))?;
    Ok(tx)
}

/// Check that the L2 account `from` holds `amount` plus the fee of the whole gas limit for a
/// `what` (in plain words if not), and return its next nonce counting the node's mempool.
pub async fn funded_nonce(
    c: &Conn,
    from: &Address,
    amount: i64,
    max_fee: i64,
    what: &str,
) -> Result<u64> {
    check_funded(c, from, amount, max_fee, what).await?;
    Ok(c.node.nonce(from).await.map_err(|e| c.ne(e))?.pending)
}

/// Check that the L2 account `from` holds `amount` plus the fee of the whole gas limit for a
/// `what`, in plain words if not.
pub async fn check_funded(
    c: &Conn,
    from: &Address,
    amount: i64,
    max_fee: i64,
    what: &str,
) -> Result<()> {
    let need = amount
        .checked_add(max_fee)
        .ok_or_else(|| anyhow!("the amount plus the fee is too large"))?;
    let balance = c.node.balance(from).await.map_err(|e| c.ne(e))?;
    if balance < need {
        bail!(
            "the L2 account {from} has {} CAS; the {what} needs {} (amount {} + fee up to {})",
            format_cas(balance),
            format_cas(need),
            format_cas(amount),
            format_cas(max_fee)
        );
    }
    Ok(())
}

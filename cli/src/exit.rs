//! `casl2 exit`: the emergency exit. When a chain is in EMERGENCY (its sequencers stopped
//! anchoring), every account's balance in the last finalised root can be taken back to L1 with a
//! proof. This needs no L2 node: the state is rebuilt from the batches anchored on L1
//! (`lightclient::watcher::Replica`), the account and its proof are read at the finalised root, and
//! `EmergencyWithdraw` is sent. Running it again after the payment says so and sends nothing.

use crate::net::{Conn, NetArgs, Progress};
use crate::wallet::KeyArgs;
use anyhow::{anyhow, bail, Result};
use casl2_lightclient::endpoint::Role;
use casl2_lightclient::l1::L1Client;
use casl2_lightclient::watcher::{ChainData, Replica, Verdict};
use casl2_verifier::l1::{L1Op, L2Status};
use casl2_verifier::smt::{empty_root, verify_account_proof, MemoryStore};
use casl2_verifier::{AccountState, Address, Decode};
use clap::Args;
use serde_json::json;

/// Flags of `casl2 exit`.
#[derive(Debug, Args)]
#[command(after_help = "\
Needs the chain in EMERGENCY (no anchor for the chain's emergencyAfter L1 blocks). Rebuilds the
L2 state from the L1's anchored batches alone, proves the key's account at the last finalised
root and sends EmergencyWithdraw; the whole balance is paid to the same address on L1. Safe to
run again: an exit already paid is reported and nothing is sent.")]
pub struct ExitArgs {
    /// Wait until the chain enters EMERGENCY instead of refusing while it is not.
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

async fn exited(c: &Conn, a: &Address) -> Result<bool> {
    let list = c.l1q("the exits", c.l1.exits(c.chain)).await?;
    Ok(list.contains(a))
}

/// Run `casl2 exit`.
pub fn exit(a: ExitArgs, json_out: bool) -> Result<()> {
    let key = a.key.private_key()?;
    let me = key.address();
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        a.net.require(Role::Exit)?;
        let c = Conn::open_l1(&a.net, json_out).await?;
        let status = |info: &casl2_verifier::l1::L2ChainInfo| info.status;
        let info = ChainData::fetch(&c.l1, c.chain)
            .await
            .map_err(|e| anyhow!("reading chain {} from the L1 at {}: {e}", c.chain, c.l1_url))?
            .info;
        if status(&info) != L2Status::Emergency {
            if !a.wait {
                bail!(
                    "chain {} is {}, not in EMERGENCY: while its sequencers anchor batches, use `casl2 withdraw` (or wait for EMERGENCY with `casl2 exit --wait`)",
                    c.chain,
                    info.status
                );
            }
            let bar = Progress::spinner(json_out, "waiting for the chain to enter EMERGENCY");
            c.wait("the chain to enter EMERGENCY", " (run `casl2 exit` again later)", || async {
                let d = ChainData::fetch(&c.l1, c.chain).await.map_err(|e| anyhow!("{e}"))?;
                Ok((d.info.status == L2Status::Emergency).then_some(()))
            })
            .await?;
            bar.done();
        }
        if exited(&c, &me).await? {
            report(json_out, json!({ "address": me, "chainId": c.chain, "exited": true, "alreadyPaid": true }),
                &format!("the emergency exit of {me} was already paid; nothing sent"));
            return Ok(());
        }
        // Rebuild the state from L1 data alone.
        let data = ChainData::fetch(&c.l1, c.chain)
            .await
            .map_err(|e| anyhow!("reading chain {} from the L1: {e}", c.chain))?;
        let root = data.info.finalized_state_root;
        let total = data.anchors.len() as u64;
        let bar = Progress::bar(json_out, total, "rebuilding the L2 state from L1");
        let mut replica = Replica::new(c.chain, MemoryStore::new(), Vec::new())
            .map_err(|e| anyhow!("{e}"))?;
        replica
            .sync(&data, |done, total| bar.set(done, total, "rebuilding the L2 state from L1"))
            .map_err(|e| anyhow!("rebuilding the L2 state from L1: {e}"))?;
        bar.done();
        let reached = root == empty_root()
            || replica
                .judged()
                .iter()
                .any(|j| j.verdict == Verdict::Valid && j.post_state_root == root);
        if !reached {
            bail!(
                "re-executing the L1's batches does not give the last finalised root {root}: a fraudulent batch was finalised, and no exit can be proven against it"
            );
        }
        let value = replica
            .tree()
            .get_at(root, &me.tree_key())
            .map_err(|e| anyhow!("reading {me} at {root}: {e}"))?;
        let account = match value {
            Some(v) => AccountState::decode(&v).map_err(|e| anyhow!("the account of {me} at {root}: {e}"))?,
            None => AccountState::default(),
        };
        if account.balance <= 0 {
            report(json_out, json!({ "address": me, "chainId": c.chain, "exited": false, "balance": account.balance, "root": root }),
                &format!("{me} holds nothing in the last finalised root {root}: nothing to exit"));
            return Ok(());
        }
        let proof = replica
            .tree()
            .prove_compact_at(root, &me.tree_key())
            .map_err(|e| anyhow!("proving {me} at {root}: {e}"))?;
        let proven = verify_account_proof(&proof, &root, &me)
            .map_err(|e| anyhow!("the proof built for {me} does not verify: {e}"))?;
        if proven != account {
            bail!("the proof built for {me} shows another account than the one read");
        }
        c.note(format!(
            "{me} holds {} in the last finalised root {root} ({} anchors replayed); sending EmergencyWithdraw",
            crate::amount::format_cas(account.balance),
            total
        ));
        let op = L1Op::EmergencyWithdraw {
            chain: c.chain,
            address: me,
            account,
            proof,
        };
        let (id, nonce, since) = c.send_l1(&key, op).await?;
        let (height, receipt) = c
            .wait_l1_mined(&id, &me, nonce, since, " (run `casl2 exit` again: it never pays twice)")
            .await?;
        if let Some(why) = crate::net::l1_failure(&receipt) {
            bail!("the L1 refused the emergency exit: {why}");
        }
        if !exited(&c, &me).await? {
            bail!("the L1 mined the exit in block {height} but lists no exit of {me}");
        }
        report(
            json_out,
            json!({ "address": me, "chainId": c.chain, "exited": true, "amount": account.balance, "root": root, "l1Tx": id, "l1Height": height }),
            &format!(
                "exited: {} paid to {me} on L1 (transaction {id}, block {height})",
                crate::amount::format_cas(account.balance)
            ),
        );
        Ok(())
    })
}

fn report(json_out: bool, v: serde_json::Value, text: &str) {
    if json_out {
        println!("{v}");
    } else {
        println!("{text}");
    }
}

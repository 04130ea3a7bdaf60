//! `casl2 tree`: the account tree offline: roots, proofs and their verification.

use crate::accounts::{account_json, parse_account_object, read_accounts_file};
use crate::Failure;
use anyhow::{anyhow, bail, Context, Result};
use casl2_verifier::smt::{
    verify_account_node_proof, verify_account_proof, AccountTree, CompactProof, MemoryStore,
    NodeProof,
};
use casl2_verifier::{AccountState, Address, Decode, Encode, H256};
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum TreeCommand {
    /// Print the root of the tree holding the accounts of FILE (64 hex digits, raw byte order).
    Root {
        /// JSON array of accounts: {"address": "0x…", "balance", "nonce", "codeHash",
        /// "storageRoot", "hatScore", "lastActivity"}; all but address default to zero.
        #[arg(long, value_name = "FILE")]
        accounts: PathBuf,
    },
    /// Write a proof of one account (inclusion, or exclusion when absent) to standard output.
    Prove {
        /// The accounts file (as for `root`).
        #[arg(long, value_name = "FILE")]
        accounts: PathBuf,
        /// The account's address, 0x + 40 hex digits in raw byte order.
        #[arg(long)]
        address: String,
        /// Proof format: casl2's compact form, or the real node's 256-sibling object.
        #[arg(long, value_enum, default_value_t = ProofFormat::Compact)]
        format: ProofFormat,
    },
    /// Check a proof (as written by `prove`) against a root; exit 0 if valid, 1 if not.
    Verify {
        /// The trusted root, 64 hex digits in raw byte order (0x optional).
        #[arg(long)]
        root: String,
        /// The proof file written by `casl2 tree prove`.
        #[arg(long, value_name = "FILE")]
        proof: PathBuf,
        /// The address the proof must be about.
        #[arg(long)]
        address: String,
        /// The account state the proof must show, as a JSON object with the accounts-file
        /// fields (zero fields may be left out; an all-zero account means "absent").
        #[arg(long, value_name = "JSON")]
        account: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProofFormat {
    /// Bitmap of non-default siblings plus those siblings (about 0.8 KB at 1M accounts).
    Compact,
    /// The real Cascoin node's proof object: 256 siblings and path bits (8.6 KB).
    Cascoind,
}

pub fn run(cmd: TreeCommand, json_out: bool) -> Result<(), Failure> {
    match cmd {
        TreeCommand::Root { accounts } => {
            let tree = build(&accounts)?;
            if json_out {
                println!(
                    "{}",
                    json!({ "root": hex::encode(tree.root().0), "accounts": count(&tree) })
                );
            } else {
                println!("{}", hex::encode(tree.root().0));
            }
            Ok(())
        }
        TreeCommand::Prove {
            accounts,
            address,
            format,
        } => {
            let addr = parse_address(&address)?;
            let tree = build(&accounts)?;
            let out = match format {
                ProofFormat::Compact => {
                    let p = tree.prove_compact(&addr).map_err(anyhow::Error::from)?;
                    compact_json(&p, &tree.root())
                }
                ProofFormat::Cascoind => {
                    let p = tree.prove(&addr).map_err(anyhow::Error::from)?;
                    let mut v = serde_json::to_value(&p).map_err(anyhow::Error::from)?;
                    if let Value::Object(m) = &mut v {
                        m.insert("format".into(), json!("cascoind"));
                        m.insert("root".into(), json!(hex::encode(tree.root().0)));
                    }
                    v
                }
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(anyhow::Error::from)?
            );
            Ok(())
        }
        TreeCommand::Verify {
            root,
            proof,
            address,
            account,
        } => verify(&root, &proof, &address, account.as_deref(), json_out),
    }
}

fn count(tree: &AccountTree<MemoryStore>) -> usize {
    tree.tree().store().len().1
}

fn parse_address(s: &str) -> Result<Address> {
    Address::from_hex(s).map_err(|e| anyhow!("--address {s:?}: {e}"))
}

fn build(path: &Path) -> Result<AccountTree<MemoryStore>> {
    let accounts = read_accounts_file(path)?;
    let mut tree = AccountTree::new(MemoryStore::new());
    tree.set_many(&accounts)?;
    Ok(tree)
}

fn compact_json(p: &CompactProof, root: &H256) -> Value {
    json!({
        "format": "compact",
        "root": hex::encode(root.0),
        "key": p.key.to_hex(),
        "value": p.value.as_ref().map(|v| format!("0x{}", hex::encode(v))),
        "bitmap": p.bitmap.to_hex(),
        "siblings": p.siblings.iter().map(|s| s.to_hex()).collect::<Vec<_>>(),
        "encoded": format!("0x{}", hex::encode(p.encode())),
        "size": p.encode().len(),
    })
}

enum AnyProof {
    Compact(CompactProof),
    Node(NodeProof),
}

fn read_proof(path: &Path) -> Result<AnyProof> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read proof file {}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("proof file {}: not valid JSON: {e}", path.display()))?;
    let fmt = v.get("format").and_then(Value::as_str).unwrap_or("");
    match fmt {
        "compact" => {
            let enc = v.get("encoded").and_then(Value::as_str).ok_or_else(|| {
                anyhow!(
                    "proof file {}: field \"encoded\" is missing",
                    path.display()
                )
            })?;
            let bytes = hex::decode(enc.strip_prefix("0x").unwrap_or(enc))
                .map_err(|e| anyhow!("proof file {}: field \"encoded\": {e}", path.display()))?;
            let p = CompactProof::decode(&bytes)
                .map_err(|e| anyhow!("proof file {}: field \"encoded\": {e}", path.display()))?;
            Ok(AnyProof::Compact(p))
        }
        "cascoind" => {
            let p: NodeProof = serde_json::from_value(v)
                .map_err(|e| anyhow!("proof file {}: {e}", path.display()))?;
            Ok(AnyProof::Node(p))
        }
        other => bail!(
            "proof file {}: field \"format\" must be \"compact\" or \"cascoind\", got {other:?}",
            path.display()
        ),
    }
}

fn verify(
    root: &str,
    proof: &Path,
    address: &str,
    account: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let root = H256::from_hex(root).map_err(|e| anyhow!("--root {root:?}: {e}"))?;
    let addr = parse_address(address)?;
    let expected = match account {
        None => None,
        Some(s) => {
            let v: Value =
                serde_json::from_str(s).map_err(|e| anyhow!("--account: not valid JSON: {e}"))?;
            let Value::Object(obj) = v else {
                return Err(anyhow!("--account: expected a JSON object").into());
            };
            let (a, st) = parse_account_object(&obj, true).context("--account")?;
            if let Some(a) = a {
                if a != addr {
                    return Err(
                        anyhow!("--account: address {a} differs from --address {addr}").into(),
                    );
                }
            }
            Some(st)
        }
    };
    let proven = match read_proof(proof)? {
        AnyProof::Compact(p) => verify_account_proof(&p, &root, &addr),
        AnyProof::Node(p) => verify_account_node_proof(&p, &root, &addr),
    }
    .map_err(|e| Failure::Invalid(e.to_string()))?;
    if let Some(exp) = expected {
        if exp != proven {
            return Err(Failure::Invalid(format!(
                "the proof shows {} for {addr}, not the expected account",
                describe(&proven)
            )));
        }
    }
    if json_out {
        println!(
            "{}",
            json!({
                "valid": true,
                "inclusion": !proven.is_empty(),
                "root": hex::encode(root.0),
                "account": account_json(&addr, &proven),
            })
        );
    } else if proven.is_empty() {
        println!(
            "valid: {addr} is absent from the tree at {}",
            hex::encode(root.0)
        );
    } else {
        println!("valid: {addr} has {}", describe(&proven));
    }
    Ok(())
}

fn describe(st: &AccountState) -> String {
    if st.is_empty() {
        return "no account (absent)".into();
    }
    format!(
        "balance {} nonce {} hatScore {} lastActivity {} codeHash {} storageRoot {}",
        st.balance, st.nonce, st.hat_score, st.last_activity, st.code_hash, st.storage_root
    )
}

//! `casl2 contract deploy | call | send`: EVM contracts on L2. `deploy` signs a
//! CONTRACT_DEPLOY, `send` a CONTRACT_CALL, each waiting until it is in a final block; `call`
//! is a read-only call through the node's `l2_call` (nothing signed, nothing paid).
//!
//! Functions are named by signature, as `cast` does: `"transfer(address,uint256)"`, with the
//! return types after it to decode the result: `"balanceOf(address)(uint256)"`. Arguments are
//! Solidity values in text (`alloy-dyn-abi`'s coercion: numbers, `0x…` addresses and bytes,
//! `true`, strings, `[a,b]` arrays, `(a,b)` tuples). Raw calldata (`0x…`) works too.

use crate::amount::{format_cas, parse_cas};
use crate::flows::{funded_nonce, gas_price, wait_l2_receipt};
use crate::net::{parse_address, Conn, NetArgs};
use crate::wallet::KeyArgs;
use alloy_dyn_abi::{DynSolType, DynSolValue};
use anyhow::{anyhow, bail, Context, Result};
use casl2_lightclient::api::node::{BlockId, CallRequest};
use casl2_verifier::stf::cvm::keccak256;
use casl2_verifier::{Address, L2Transaction, PrivateKey, TxType, H256};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::path::Path;

/// `casl2 contract …`.
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Deploy a contract (CONTRACT_DEPLOY) and wait until it is in a final block.
    Deploy(Box<DeployArgs>),
    /// Call a contract read-only (the node's `l2_call`): nothing is signed, sent or paid.
    Call(Box<CallArgs>),
    /// Send a contract call (CONTRACT_CALL) and wait until it is in a final block.
    Send(Box<SendArgs>),
}

/// What `deploy` and `send` share: the transaction's value, gas and key, and the network.
#[derive(Debug, Args)]
pub struct TxArgs {
    /// CAS sent with the transaction (up to 7 decimals; 1 smallest unit = 1 wei in the EVM).
    #[arg(long, value_name = "CAS", default_value = "0")]
    pub value: String,
    /// Gas limit [default: the node's estimate (`l2_estimategas`) + 20 %].
    #[arg(long, value_name = "GAS")]
    pub gas_limit: Option<u64>,
    /// Gas price in smallest units per gas (the fee is gas used × this, less the reputation
    /// discount; the whole gas limit's fee must be covered up front).
    #[arg(long, value_name = "UNITS", default_value_t = 1)]
    pub gas_price: u64,
    /// Return once the node has accepted the transaction, without waiting for its block.
    #[arg(long)]
    pub no_wait: bool,
    /// Wait again for a transaction sent before (its L2 hash) instead of sending one.
    #[arg(long, value_name = "HASH")]
    pub resume: Option<String>,
    #[command(flatten)]
    pub key: KeyArgs,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Flags of `casl2 contract deploy`.
#[derive(Debug, Args)]
#[command(after_help = "\
CODE is the init code (what solc calls the bytecode): 0x + hex digits, or a file holding them
(hex text, or raw bytes). After it, the constructor's parameter types and its arguments:
  casl2 contract deploy Token.bin 'constructor(uint256)' 1000000 --key dev0
The contract's address is printed (and is `contractAddress` with --json). After an
interruption, `casl2 contract deploy --resume HASH --key ...` waits for it again.")]
pub struct DeployArgs {
    /// The init code: 0x + hex, or a file.
    #[arg(required_unless_present = "resume")]
    pub code: Option<String>,
    /// The constructor's types, e.g. "constructor(uint256,string)" or "(uint256,string)",
    /// then its arguments.
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// Flags of `casl2 contract send`.
#[derive(Debug, Args)]
#[command(after_help = "\
  casl2 contract send 0x4b28…bef6 'transfer(address,uint256)' 0xd212…70f4 25 --key dev0
A call that reverts is still a valid transaction: it is included, pays its fee, and this
command then fails with the revert reason. After an interruption,
`casl2 contract send --resume HASH --key ...` waits for it again.")]
pub struct SendArgs {
    /// The contract.
    #[arg(required_unless_present = "resume")]
    pub address: Option<String>,
    /// The function signature ("transfer(address,uint256)") or raw calldata (0x…), then the
    /// arguments.
    #[arg(required_unless_present = "resume")]
    pub function: Option<String>,
    /// The function's arguments.
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// Flags of `casl2 contract call`.
#[derive(Debug, Args)]
#[command(after_help = "\
  casl2 contract call 0x4b28…bef6 'balanceOf(address)(uint256)' 0xd212…70f4
Give the return types after the signature to have the result decoded; without them the raw
return data is printed. Exits 1 when the call reverts or fails (with its reason).")]
pub struct CallArgs {
    /// The contract.
    pub address: String,
    /// The function signature with its return types ("balanceOf(address)(uint256)") or raw
    /// calldata (0x…), then the arguments.
    pub function: String,
    /// The function's arguments.
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    /// The caller (msg.sender) [default: the zero address].
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// CAS sent with the call (it must be in --from's balance; nothing is moved).
    #[arg(long, value_name = "CAS", default_value = "0")]
    pub value: String,
    /// The state to call on: a final block number, "latest", "anchored" or "finalized".
    #[arg(long, value_name = "BLOCK", default_value = "latest")]
    pub block: String,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Run a `casl2 contract` command.
pub fn run(cmd: ContractCommand, json_out: bool) -> Result<(), crate::Failure> {
    match cmd {
        ContractCommand::Deploy(a) => deploy(*a, json_out).map_err(crate::Failure::Error),
        ContractCommand::Send(a) => send(*a, json_out).map_err(crate::Failure::Error),
        ContractCommand::Call(a) => call(*a, json_out),
    }
}

/// A function (or constructor) signature: its name, parameter types and return types.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The name (empty for a constructor).
    pub name: String,
    /// Parameter types.
    pub inputs: Vec<DynSolType>,
    /// Return types (empty when none were given).
    pub outputs: Vec<DynSolType>,
}

/// The `(…)` group at the start of `s` and what follows it.
fn group(s: &str) -> Result<(&str, &str)> {
    if !s.starts_with('(') {
        bail!("expected '(' at {s:?}");
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Ok((&s[..=i], &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    bail!("unbalanced parentheses in {s:?}")
}

fn tuple_types(t: &str, sig: &str) -> Result<Vec<DynSolType>> {
    match DynSolType::parse(t).map_err(|e| anyhow!("signature {sig:?}: {e}"))? {
        DynSolType::Tuple(v) => Ok(v),
        other => Ok(vec![other]),
    }
}

impl Signature {
    /// Parse `name(types)` optionally followed by `(return types)`; `constructor` or no name
    /// for a constructor.
    pub fn parse(sig: &str) -> Result<Signature> {
        let s: String = sig.chars().filter(|c| !c.is_whitespace()).collect();
        let open = s.find('(').ok_or_else(|| {
            anyhow!("signature {sig:?}: expected name(types), e.g. \"transfer(address,uint256)\"")
        })?;
        let name = &s[..open];
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            bail!("signature {sig:?}: {name:?} is not a function name");
        }
        let (ins, rest) = group(&s[open..]).with_context(|| format!("signature {sig:?}"))?;
        let outputs = if rest.is_empty() {
            Vec::new()
        } else {
            let (outs, tail) = group(rest).with_context(|| format!("signature {sig:?}"))?;
            if !tail.is_empty() {
                bail!("signature {sig:?}: unexpected {tail:?} after the return types");
            }
            tuple_types(outs, sig)?
        };
        Ok(Signature {
            name: if name == "constructor" { "" } else { name }.to_string(),
            inputs: tuple_types(ins, sig)?,
            outputs,
        })
    }

    /// The canonical `name(type,…)` whose keccak-256 gives the selector.
    pub fn canonical(&self) -> String {
        let types: Vec<String> = self
            .inputs
            .iter()
            .map(DynSolType::sol_type_name)
            .map(Into::into)
            .collect();
        format!("{}({})", self.name, types.join(","))
    }

    /// The 4-byte selector.
    pub fn selector(&self) -> [u8; 4] {
        let h = keccak256(self.canonical().as_bytes());
        [h.0[0], h.0[1], h.0[2], h.0[3]]
    }

    /// The ABI encoding of `args` (text) as the parameters, without a selector.
    pub fn encode_args(&self, args: &[String]) -> Result<Vec<u8>> {
        if args.len() != self.inputs.len() {
            bail!(
                "{} takes {} argument(s), {} given",
                self.display_name(),
                self.inputs.len(),
                args.len()
            );
        }
        let values = self
            .inputs
            .iter()
            .zip(args)
            .enumerate()
            .map(|(i, (t, a))| {
                t.coerce_str(a)
                    .map_err(|e| anyhow!("argument {} ({}) {a:?}: {e}", i + 1, t.sol_type_name()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DynSolValue::Tuple(values).abi_encode_params())
    }

    /// Calldata: the selector and the encoded arguments.
    pub fn calldata(&self, args: &[String]) -> Result<Vec<u8>> {
        let mut d = self.selector().to_vec();
        d.extend(self.encode_args(args)?);
        Ok(d)
    }

    /// Decode return data with the return types.
    pub fn decode_output(&self, data: &[u8]) -> Result<Vec<DynSolValue>> {
        match DynSolType::Tuple(self.outputs.clone())
            .abi_decode_params(data)
            .map_err(|e| {
                anyhow!(
                    "the return data does not decode as {:?}: {e}",
                    self.outputs_name()
                )
            })? {
            DynSolValue::Tuple(v) => Ok(v),
            other => Ok(vec![other]),
        }
    }

    fn outputs_name(&self) -> String {
        let types: Vec<String> = self
            .outputs
            .iter()
            .map(DynSolType::sol_type_name)
            .map(Into::into)
            .collect();
        format!("({})", types.join(","))
    }

    fn display_name(&self) -> String {
        if self.name.is_empty() {
            "the constructor".into()
        } else {
            self.canonical()
        }
    }
}

/// A decoded value in text: numbers in decimal, addresses and bytes as 0x hex.
pub fn show(v: &DynSolValue) -> String {
    let list = |items: &[DynSolValue]| items.iter().map(show).collect::<Vec<_>>().join(", ");
    match v {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(w, n) => format!("0x{}", hex::encode(&w[..*n])),
        DynSolValue::Address(a) => format!("0x{}", hex::encode(a.as_slice())),
        DynSolValue::Function(f) => format!("0x{}", hex::encode(f.as_slice())),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => s.clone(),
        DynSolValue::Array(a) | DynSolValue::FixedArray(a) => format!("[{}]", list(a)),
        DynSolValue::Tuple(t) => format!("({})", list(t)),
    }
}

/// Calldata from a function signature and its arguments, or raw `0x…` calldata.
fn calldata(function: &str, args: &[String]) -> Result<(Vec<u8>, Option<Signature>)> {
    if let Some(h) = function.strip_prefix("0x") {
        if !args.is_empty() {
            bail!("raw calldata takes no arguments ({} given)", args.len());
        }
        let d = hex::decode(h).map_err(|e| anyhow!("calldata {function:?}: {e}"))?;
        return Ok((d, None));
    }
    let sig = Signature::parse(function)?;
    if sig.name.is_empty() {
        bail!("{function:?} is a constructor: name the function to call");
    }
    Ok((sig.calldata(args)?, Some(sig)))
}

/// The init code of `deploy`: hex text, or a file with hex text or raw bytes.
fn init_code(code: &str) -> Result<Vec<u8>> {
    let from_hex = |t: &str| -> Option<Vec<u8>> {
        let t = t.trim();
        hex::decode(t.strip_prefix("0x").unwrap_or(t)).ok()
    };
    let path = Path::new(code);
    let bytes = if path.is_file() {
        let raw = std::fs::read(path).map_err(|e| anyhow!("the code file {code:?}: {e}"))?;
        match std::str::from_utf8(&raw).ok().and_then(from_hex) {
            Some(b) => b,
            None => raw,
        }
    } else {
        from_hex(code)
            .ok_or_else(|| anyhow!("the code {code:?} is neither hex nor a readable file"))?
    };
    if bytes.is_empty() {
        bail!("the code {code:?} is empty");
    }
    Ok(bytes)
}

fn amount(flag: &str, s: &str) -> Result<i64> {
    let v = parse_cas(s).map_err(|e| anyhow!("{flag}: {e}"))?;
    if v < 0 {
        bail!("{flag}: must not be negative");
    }
    Ok(v)
}

fn parse_hash(flag: &str, s: &str) -> Result<H256> {
    H256::from_hex(s).map_err(|e| anyhow!("{flag}: {s:?} is not a transaction hash: {e}"))
}

/// What to send: a creation (no `to`) or a call.
struct Send {
    to: Option<Address>,
    data: Vec<u8>,
    what: &'static str,
}

fn deploy(a: DeployArgs, json_out: bool) -> Result<()> {
    let send = match &a.code {
        Some(code) if a.tx.resume.is_none() => {
            let mut data = init_code(code)?;
            if let Some((sig, args)) = a.args.split_first() {
                let s = Signature::parse(sig)?;
                if !s.name.is_empty() {
                    bail!("{sig:?}: give the constructor's types, e.g. \"constructor(uint256)\"");
                }
                data.extend(s.encode_args(args)?);
            }
            Some(Send {
                to: None,
                data,
                what: "the deployment",
            })
        }
        Some(_) => bail!("--resume takes no code"),
        None => None,
    };
    transact(a.tx, send, "deploy", json_out)
}

fn send(a: SendArgs, json_out: bool) -> Result<()> {
    let send = match (&a.address, &a.function) {
        (Some(addr), Some(f)) if a.tx.resume.is_none() => Some(Send {
            to: Some(parse_address("the contract", addr)?),
            data: calldata(f, &a.args)?.0,
            what: "the contract call",
        }),
        (Some(_), _) => bail!("--resume takes no contract or function"),
        _ => None,
    };
    transact(a.tx, send, "send", json_out)
}

/// Sign and send `send` (or, with `--resume`, find the one sent before), wait for its receipt
/// and print it.
fn transact(t: TxArgs, send: Option<Send>, cmd: &str, json_out: bool) -> Result<()> {
    let resume = match &t.resume {
        Some(r) => Some(parse_hash("--resume", r)?),
        None => None,
    };
    let value = amount("--value", &t.value)?;
    let key = t.key.private_key()?;
    crate::run::runtime()?.block_on(async move {
        let c = Conn::open(&t.net, json_out).await?;
        let (hash, what) = match (resume, send) {
            (Some(h), _) => {
                if c.node.receipt(&h).await.map_err(|e| c.ne(e))?.is_none() {
                    bail!("the L2 node at {} does not know transaction {h}", c.node.url());
                }
                (h, "the transaction")
            }
            (None, Some(s)) => (send_tx(&c, &key, &s, value, &t).await?, s.what),
            (None, None) => bail!("nothing to send: give the contract, or --resume HASH"),
        };
        let mut out = json!({ "hash": hash, "included": false });
        if t.no_wait {
            if json_out {
                println!("{out}");
            } else {
                println!("transaction {hash} waits in the node's mempool (`casl2 contract {cmd} --resume {hash} --key …` waits for its block)");
            }
            return Ok(());
        }
        let hint = format!(
            "; it was sent: `casl2 contract {cmd} --resume {hash} --key …` waits for it (do not send it twice)"
        );
        let r = wait_l2_receipt(&c, &hash, what, &hint).await?;
        let rc = &r.receipt;
        let cvm = rc.cvm.as_ref();
        let contract = cvm.and_then(|c| c.contract_address);
        out["included"] = json!(true);
        out["blockNumber"] = json!(r.block_number);
        out["success"] = json!(rc.success);
        out["gasUsed"] = json!(rc.gas_used);
        out["fee"] = json!(rc.fee);
        out["contractAddress"] = json!(contract);
        out["logs"] = json!(cvm.map(|c| &c.logs));
        out["output"] = json!(cvm.map(|c| format!("0x{}", hex::encode(&c.output))));
        out["error"] = json!(rc.error);
        if !rc.success {
            bail!(
                "{what} {hash} was included in L2 block {} but failed (fee {} CAS paid): {}",
                r.block_number,
                format_cas(rc.fee),
                rc.error
            );
        }
        if json_out {
            println!("{out}");
        } else {
            let logs = cvm.map_or(0, |c| c.logs.len());
            match contract {
                Some(addr) => println!(
                    "deployed {addr} in L2 block {} (transaction {hash}, {} gas, fee {} CAS)",
                    r.block_number,
                    rc.gas_used,
                    format_cas(rc.fee)
                ),
                None => println!(
                    "called in L2 block {} (transaction {hash}, {} gas, fee {} CAS, {logs} log(s))",
                    r.block_number,
                    rc.gas_used,
                    format_cas(rc.fee)
                ),
            }
        }
        Ok(())
    })
}

/// The call object of a call or creation from `from` sending `value`.
fn call_request(from: Address, to: Option<Address>, data: &[u8], value: i64) -> CallRequest {
    CallRequest {
        from: Some(from),
        to,
        data: Some(data.to_vec()),
        value: u64::try_from(value).ok(),
        gas: None,
    }
}

/// The node's estimate for a call or creation from `from`, plus 20 %.
async fn estimate(c: &Conn, from: &Address, s: &Send, value: i64) -> Result<u64> {
    let gas: u64 = c
        .node
        .estimate_gas(&call_request(*from, s.to, &s.data, value))
        .await
        .map_err(|e| anyhow!("{} would fail: {}", s.what, c.ne(e)))?;
    Ok(gas
        .saturating_add(gas / 5)
        .min(casl2_verifier::stf::cvm::CVM_BLOCK_GAS_LIMIT))
}

async fn send_tx(c: &Conn, key: &PrivateKey, s: &Send, value: i64, t: &TxArgs) -> Result<H256> {
    let from = key.address();
    let gas = match t.gas_limit {
        Some(g) => g,
        None => estimate(c, &from, s, value).await?,
    };
    let (price, max_fee) = gas_price(t.gas_price, gas)?;
    let nonce = funded_nonce(c, &from, value, max_fee, s.what).await?;
    let mut tx = L2Transaction {
        from,
        to: s.to.unwrap_or(Address::ZERO),
        value,
        nonce,
        gas_limit: gas,
        gas_price: price,
        data: s.data.clone(),
        tx_type: if s.to.is_some() {
            TxType::ContractCall
        } else {
            TxType::ContractDeploy
        },
        l2_chain_id: c.chain,
        ..Default::default()
    };
    tx.sign(key).map_err(|e| anyhow!("signing: {e}"))?;
    let hash = c.node.send_transaction(&tx).await.map_err(|e| c.ne(e))?;
    c.note(format!(
        "L2 transaction {hash} sent (nonce {nonce}, gas limit {gas})"
    ));
    Ok(hash)
}

fn call(a: CallArgs, json_out: bool) -> Result<(), crate::Failure> {
    let to = parse_address("the contract", &a.address)?;
    let (data, sig) = calldata(&a.function, &a.args)?;
    let from = match &a.from {
        Some(f) => parse_address("--from", f)?,
        None => Address::ZERO,
    };
    let value = amount("--value", &a.value)?;
    let block: Value = match a.block.parse::<u64>() {
        Ok(n) => json!(n),
        Err(_) => json!(a.block),
    };
    let block: BlockId =
        serde_json::from_value(block).map_err(|e| anyhow!("--block {:?}: {e}", a.block))?;
    let r = crate::run::runtime()?.block_on(async {
        let c = Conn::open(&a.net, json_out).await?;
        c.node
            .call_contract(&call_request(from, Some(to), &data, value), Some(block))
            .await
            .map_err(|e| c.ne(e))
    })?;
    let answer = serde_json::to_value(&r).map_err(|e| anyhow!("the node's answer: {e}"))?;
    if !r.success {
        if json_out {
            println!("{answer}");
        }
        return Err(crate::Failure::Invalid(r.error));
    }
    let output = format!("0x{}", hex::encode(&r.output.0));
    let bytes = r.output.0;
    let decoded = match &sig {
        Some(s) if !s.outputs.is_empty() => Some(s.decode_output(&bytes)?),
        _ => None,
    };
    if json_out {
        let mut o = answer;
        if let Some(d) = &decoded {
            o["decoded"] = json!(d.iter().map(show).collect::<Vec<_>>());
        }
        println!("{o}");
    } else {
        match decoded {
            Some(d) => {
                for v in d {
                    println!("{}", show(&v));
                }
            }
            None => println!("{output}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_give_the_known_selectors() {
        let s = Signature::parse("transfer(address,uint256)").unwrap();
        assert_eq!(hex::encode(s.selector()), "a9059cbb");
        let s = Signature::parse("balanceOf(address)(uint256)").unwrap();
        assert_eq!(hex::encode(s.selector()), "70a08231");
        assert_eq!(s.outputs, vec![DynSolType::Uint(256)]);
        let s = Signature::parse("increment()").unwrap();
        assert_eq!(hex::encode(s.selector()), "d09de08a");
        let s = Signature::parse("constructor(uint256, string)").unwrap();
        assert_eq!(s.name, "");
        assert_eq!(s.inputs.len(), 2);
    }

    #[test]
    fn arguments_are_encoded_by_the_abi() {
        let s = Signature::parse("transfer(address,uint256)").unwrap();
        let d = s
            .calldata(&[
                "0xd212302d186db2727ef9cbae6a8b718acbc570f4".into(),
                "25".into(),
            ])
            .unwrap();
        assert_eq!(d.len(), 4 + 64);
        assert_eq!(
            hex::encode(&d[4..36]),
            "000000000000000000000000d212302d186db2727ef9cbae6a8b718acbc570f4"
        );
        assert_eq!(d[67], 25);
        let f = Signature::parse("f(uint256,bool)").unwrap();
        let d = f.calldata(&["7".into(), "true".into()]).unwrap();
        let out = Signature::parse("g()(uint256,bool)")
            .unwrap()
            .decode_output(&d[4..])
            .unwrap();
        assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["7", "true"]);
    }

    #[test]
    fn bad_signatures_and_arguments_are_named() {
        for bad in [
            "transfer",
            "transfer(address",
            "tr ans(uint256)x",
            "f(uint7)",
            "1f()",
        ] {
            assert!(Signature::parse(bad).is_err(), "{bad}");
        }
        let s = Signature::parse("transfer(address,uint256)").unwrap();
        let e = s.calldata(&["0x12".into(), "1".into()]).unwrap_err();
        assert!(e.to_string().contains("argument 1 (address)"), "{e}");
        let e = s.calldata(&["1".into()]).unwrap_err();
        assert!(
            e.to_string().contains("takes 2 argument(s), 1 given"),
            "{e}"
        );
        assert!(calldata("0x1234", &["1".into()]).is_err());
        assert_eq!(calldata("0x1234", &[]).unwrap().0, vec![0x12, 0x34]);
    }
}

//! The node's JSON-RPC methods for contract users: `l2_call`, `l2_estimategas`, `l2_getcode`,
//! `l2_getstorageat`, `l2_getlogs`, and the read-only `eth_*` names Ethereum tooling calls
//! (`eth_chainId`, `eth_blockNumber`, `eth_getBalance`, `eth_getCode`, `eth_getStorageAt`,
//! `eth_call`, `eth_estimateGas`, `eth_getLogs`). Both families answer from the same final
//! state; the `l2_*` ones give plain JSON numbers, the `eth_*` ones `0x` quantities. Parameter
//! and answer types: `casl2_lightclient::api::node` (its `cvm` module).
//! Parameters, results and errors: docs/protocol.md, "Sequencer node RPC", "Contracts".

use super::engine::{params_of, Engine};
use super::l1view::L1View;
use super::Shared;
use crate::jsonrpc::{handle, RpcError};
use crate::store::RedbNodeStore;
use casl2_lightclient::api::node::{
    self as m, BlockId, CallAnswer, CallRequest, HexBytes, HexU64, LogEntry, LogFilter,
};
use casl2_verifier::smt::{empty_root, Node, SparseMerkleTree};
use casl2_verifier::stf::cvm::{self, CallResult, CVM_BLOCK_GAS_LIMIT};
use casl2_verifier::stf::rules::RentParams;
use casl2_verifier::stf::{AtRoot, BlockContext, StateView, StfError};
use casl2_verifier::{Address, H256};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The contract methods (listed with the node's other methods in `rpc::METHODS`).
pub use casl2_lightclient::api::node::CVM_METHODS as METHODS;

/// Most blocks one `l2_getlogs` / `eth_getLogs` request may span.
pub const MAX_LOG_BLOCKS: u64 = 10_000;
/// Most logs one `l2_getlogs` / `eth_getLogs` answer may hold.
pub const MAX_LOGS: usize = 10_000;

/// JSON-RPC error code of a call that reverted (the code Ethereum tooling expects); its `data`
/// is the revert data.
pub const REVERTED: i64 = 3;
/// JSON-RPC error code of a call that failed otherwise (halted, rejected by the EVM).
pub const CALL_FAILED: i64 = -32000;
/// JSON-RPC error code of a request for state or blocks the node does not hold.
pub const NOT_HELD: i64 = -32011;
/// JSON-RPC error code of a log query over too many blocks or with too many results.
pub const TOO_MUCH: i64 = -32005;

/// Answer `method` if it is one of [`METHODS`] (`None` otherwise).
pub fn call(shared: &Shared, method: &str, p: &[Value]) -> Option<Result<Value, RpcError>> {
    Some(match method {
        m::ETH_CHAIN_ID => handle::<m::EthChainId>(p, |_| Ok(HexU64(shared.cfg().chain_id))),
        m::ETH_BLOCK_NUMBER => {
            handle::<m::EthBlockNumber>(p, |_| Ok(HexU64(shared.engine().height())))
        }
        m::ETH_GET_BALANCE => handle::<m::EthGetBalance>(p, |q| {
            with_state(shared, q.block, |st| {
                let acct = casl2_verifier::stf::Overlay::new(&st.view())
                    .account(&q.address)
                    .map_err(state_err)?;
                Ok(HexU64(u64::try_from(acct.balance).unwrap_or(0)))
            })
        }),
        m::L2_GETCODE => handle::<m::GetCode>(p, |q| code(shared, q)),
        m::ETH_GET_CODE => handle::<m::EthGetCode>(p, |q| code(shared, q)),
        m::L2_GETSTORAGEAT => handle::<m::GetStorageAt>(p, |q| storage(shared, q)),
        m::ETH_GET_STORAGE_AT => handle::<m::EthGetStorageAt>(p, |q| storage(shared, q)),
        m::L2_CALL => handle::<m::Call>(p, |q| {
            let (r, number) = run_call(shared, q)?;
            Ok(CallAnswer {
                success: r.success,
                gas_used: r.gas_used,
                output: HexBytes(r.output),
                logs: r.logs,
                contract_address: r.contract_address,
                error: r.error,
                block_number: number,
            })
        }),
        m::ETH_CALL => handle::<m::EthCall>(p, |q| {
            let (r, _) = run_call(shared, q)?;
            match r.success {
                true => Ok(HexBytes(r.output)),
                false => Err(failure(&r)),
            }
        }),
        m::L2_ESTIMATEGAS => handle::<m::EstimateGas>(p, |q| estimate(shared, q)),
        m::ETH_ESTIMATE_GAS => handle::<m::EthEstimateGas>(p, |q| estimate(shared, q).map(HexU64)),
        m::L2_GETLOGS => handle::<m::GetLogs>(p, |q| get_logs(shared, q, |n| n, None)),
        m::ETH_GET_LOGS => handle::<m::EthGetLogs>(p, |q| get_logs(shared, q, HexU64, Some(false))),
        _ => return None,
    })
}

/// `*_getcode`.
fn code(shared: &Shared, q: m::AddressAtParams) -> Result<HexBytes, RpcError> {
    with_state(shared, q.block, |st| {
        let code = cvm::code_at(&st.view(), &st.ctx, &q.address).map_err(state_err)?;
        Ok(HexBytes(code))
    })
}

/// `*_getstorageat`.
fn storage(shared: &Shared, q: m::StorageParams) -> Result<H256, RpcError> {
    with_state(shared, q.block, |st| {
        let slot = q.storage_slot.0 .0;
        let v = cvm::storage_at(&st.view(), &st.ctx, &q.address, &slot).map_err(state_err)?;
        Ok(H256(v))
    })
}

/// The call of a [`CallRequest`] with the node's defaults applied.
struct Call {
    from: Address,
    to: Option<Address>,
    data: Vec<u8>,
    value: i64,
    gas: u64,
}

impl Call {
    /// Apply the defaults of [`CallRequest`]; a value above `i64::MAX` is refused.
    fn of(r: CallRequest) -> Result<Call, RpcError> {
        let value = r.value.unwrap_or(0);
        let value = i64::try_from(value).map_err(|_| {
            RpcError::params(format!(
                "call object field value: {value} is above the largest CAS amount {}",
                i64::MAX
            ))
        })?;
        Ok(Call {
            from: r.from.unwrap_or(Address::ZERO),
            to: r.to,
            data: r.data.unwrap_or_default(),
            value,
            gas: r
                .gas
                .unwrap_or(CVM_BLOCK_GAS_LIMIT)
                .min(CVM_BLOCK_GAS_LIMIT),
        })
    }
}

/// `*_call`: the result and the block whose state it ran on.
fn run_call(shared: &Shared, q: m::CallParams) -> Result<(CallResult, u64), RpcError> {
    let c = Call::of(q.call_object)?;
    with_state(shared, q.block, |st| {
        let r = cvm::call(
            &st.view(),
            &st.ctx,
            &c.from,
            c.to.as_ref(),
            &c.data,
            c.value,
            c.gas,
        )
        .map_err(state_err)?;
        Ok((r, st.number))
    })
}

/// `*_estimategas`.
fn estimate(shared: &Shared, q: m::CallParams) -> Result<u64, RpcError> {
    let c = Call::of(q.call_object)?;
    with_state(shared, q.block, |st| {
        cvm::estimate_gas(
            &st.view(),
            &st.ctx,
            &c.from,
            c.to.as_ref(),
            &c.data,
            c.value,
            c.gas,
        )
        .map_err(state_err)?
        .map_err(|r| failure(&r))
    })
}

/// The error of a failed call: code 3 with the revert data for a revert, -32000 otherwise.
fn failure(r: &CallResult) -> RpcError {
    let reverted = r.error.starts_with("execution reverted");
    let mut e = RpcError::new(
        if reverted { REVERTED } else { CALL_FAILED },
        r.error.clone(),
    );
    if reverted {
        e.data = Some(Value::String(format!("0x{}", hex::encode(&r.output))));
    }
    e
}

fn state_err(e: casl2_verifier::stf::StfError) -> RpcError {
    match e {
        casl2_verifier::stf::StfError::MissingWitness { .. } => RpcError::new(
            NOT_HELD,
            format!("the state of that block is no longer held by this node: {e}"),
        ),
        StfError::State(m) if m == over_budget() => RpcError::new(TOO_MUCH, m),
        other => RpcError::internal(other.to_string()),
    }
}

/// How long one call, estimate or log scan may run before it is stopped (ms). The engine is
/// not held meanwhile: the request reads a snapshot (see [`with_state`]).
pub const RPC_TIME_BUDGET_MS: u64 = 5_000;

/// The final state at one block, with the block context a call at it sees: an own handle on
/// the node's state store (no engine lock held while it runs) that stops every read once the
/// request's time budget is spent.
struct StateAt {
    tree: SparseMerkleTree<RedbNodeStore>,
    root: H256,
    number: u64,
    ctx: BlockContext,
    deadline: Instant,
}

impl StateAt {
    fn view(&self) -> Budgeted<'_> {
        Budgeted {
            inner: AtRoot {
                tree: &self.tree,
                root: self.root,
            },
            deadline: self.deadline,
        }
    }
}

/// A state view that fails every read after its deadline: an EVM run touches the state at
/// least at each account, storage slot and code it loads, and pure computation is bounded by
/// the call's gas, so a call, an estimate's binary search or a scan ends soon after it.
struct Budgeted<'a> {
    inner: AtRoot<'a, RedbNodeStore>,
    deadline: Instant,
}

impl Budgeted<'_> {
    fn check(&self) -> Result<(), StfError> {
        if Instant::now() > self.deadline {
            return Err(StfError::State(over_budget()));
        }
        Ok(())
    }
}

fn over_budget() -> String {
    format!("the request ran over its time budget of {RPC_TIME_BUDGET_MS} ms")
}

impl StateView for Budgeted<'_> {
    fn read(&self, key: &H256) -> Result<Option<Vec<u8>>, StfError> {
        self.check()?;
        self.inner.read(key)
    }
    fn node(&self, hash: &H256) -> Result<Option<Node>, StfError> {
        self.check()?;
        self.inner.node(hash)
    }
}

/// Run `f` on the state after the block `at` names (default: the head). The engine is held
/// only to pick the block and take a handle on the store; `f` runs without it, within
/// [`RPC_TIME_BUDGET_MS`].
fn with_state<T>(
    shared: &Shared,
    at: Option<BlockId>,
    f: impl FnOnce(&StateAt) -> Result<T, RpcError>,
) -> Result<T, RpcError> {
    let view = shared.view();
    let (number, header, store) = {
        let engine = shared.engine();
        let number = block_number(&engine, &view, at, "block")?;
        let header = if number == 0 {
            None
        } else if number == engine.height() {
            engine.head().cloned()
        } else {
            engine
                .chain()
                .block(number)
                .map_err(|e| RpcError::internal(e.to_string()))?
                .map(|b| b.header)
        };
        if number > 0 && header.is_none() {
            return Err(RpcError::new(
                NOT_HELD,
                format!("block {number} is not stored"),
            ));
        }
        (number, header, engine.tree().store().share())
    };
    let rent = params_of(&view).map(RentParams::of).unwrap_or_default();
    let ctx = BlockContext {
        chain_id: shared.cfg().chain_id,
        number,
        timestamp: header.as_ref().map_or(0, |h| h.timestamp),
        producer: header.as_ref().map_or(Address::ZERO, |h| h.sequencer),
        other_sequencers: Vec::new(),
        rent,
    };
    let root = header.map_or_else(empty_root, |h| h.state_root);
    f(&StateAt {
        tree: SparseMerkleTree::new(store),
        root,
        number,
        ctx,
        deadline: Instant::now() + Duration::from_millis(RPC_TIME_BUDGET_MS),
    })
}

/// The block a selector names: absent, `"latest"` or `"pending"` (the head: this node serves
/// final blocks only), `"earliest"` (0), `"safe"` / `"anchored"` (L1's latest anchored block),
/// `"finalized"` (L1's finalised block), a number. A block above the head is refused, and so
/// is a selection by block hash.
fn block_number(
    engine: &Engine,
    view: &L1View,
    at: Option<BlockId>,
    what: &str,
) -> Result<u64, RpcError> {
    let head = engine.height();
    let chain = || {
        view.chain
            .as_ref()
            .ok_or_else(|| RpcError::new(NOT_HELD, "the chain is not registered on L1"))
    };
    let n = match at.unwrap_or(BlockId::Latest) {
        BlockId::Latest | BlockId::Pending => head,
        BlockId::Earliest => 0,
        BlockId::Safe | BlockId::Anchored => chain()?.latest_l2_block.min(head),
        BlockId::Finalized => chain()?.finalized_l2_block.min(head),
        BlockId::Number(n) => n,
        BlockId::Hash(_) => {
            return Err(RpcError::params(format!(
                "{what}: selecting by blockHash is not supported; give a blockNumber"
            )))
        }
    };
    if n > head {
        return Err(RpcError::new(
            NOT_HELD,
            format!("{what} {n} is not final on this node yet (its head is block {head})"),
        ));
    }
    Ok(n)
}

/// The block range of a log filter, checked against the node's limits.
fn log_range(engine: &Engine, view: &L1View, f: &LogFilter) -> Result<(u64, u64), RpcError> {
    if f.block_hash.is_some() {
        return Err(RpcError::params(
            "filter: blockHash is not supported; give fromBlock and toBlock",
        ));
    }
    let from = block_number(engine, view, f.from_block, "fromBlock")?;
    let to = block_number(engine, view, f.to_block, "toBlock")?;
    if from > to {
        return Err(RpcError::params(format!(
            "filter: fromBlock {from} is above toBlock {to}"
        )));
    }
    if to - from >= MAX_LOG_BLOCKS {
        return Err(RpcError::new(
            TOO_MUCH,
            format!(
                "filter: {} blocks asked, at most {MAX_LOG_BLOCKS} per request",
                to - from + 1
            ),
        ));
    }
    Ok((from, to))
}

/// `*_getlogs`: numbers written by `num`, `removed` set to `removed`.
fn get_logs<N>(
    shared: &Shared,
    q: m::LogsParams,
    num: impl Fn(u64) -> N,
    removed: Option<bool>,
) -> Result<Vec<LogEntry<N>>, RpcError> {
    let view = shared.view();
    let filter = q.filter.unwrap_or_default();
    let (from, to, chain) = {
        let engine = shared.engine();
        let (from, to) = log_range(&engine, &view, &filter)?;
        (from, to, engine.chain().share())
    };
    // The scan reads its own snapshot, without the engine, within the time budget.
    let deadline = Instant::now() + Duration::from_millis(RPC_TIME_BUDGET_MS);
    let mut out = Vec::new();
    for n in from.max(1)..=to {
        if Instant::now() > deadline {
            return Err(RpcError::new(
                TOO_MUCH,
                format!("{} (at block {n}): narrow the range", over_budget()),
            ));
        }
        let receipts = chain
            .receipts(n)
            .map_err(|e| RpcError::internal(e.to_string()))?;
        let mut log_index = 0u64;
        for r in &receipts {
            let Some(cvm) = &r.receipt.cvm else { continue };
            for log in &cvm.logs {
                if filter.matches(log) {
                    if out.len() == MAX_LOGS {
                        return Err(RpcError::new(
                            TOO_MUCH,
                            format!("more than {MAX_LOGS} logs match: narrow the filter"),
                        ));
                    }
                    out.push(LogEntry {
                        address: log.address,
                        topics: log.topics.clone(),
                        data: HexBytes(log.data.clone()),
                        block_number: num(r.block_number),
                        block_hash: r.block_hash,
                        transaction_hash: r.hash,
                        transaction_index: num(u64::from(r.step)),
                        log_index: num(log_index),
                        removed,
                    });
                }
                log_index += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(deadline: Instant) -> (tempfile::TempDir, StateAt) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbNodeStore::open(&dir.path().join("s.redb")).unwrap();
        let st = StateAt {
            tree: SparseMerkleTree::new(store),
            root: empty_root(),
            number: 0,
            ctx: BlockContext {
                chain_id: 1,
                number: 0,
                timestamp: 0,
                producer: Address::ZERO,
                other_sequencers: Vec::new(),
                rent: RentParams::default(),
            },
            deadline,
        };
        (dir, st)
    }

    fn run(st: &StateAt) -> Result<CallResult, RpcError> {
        let to = Address([1; 20]);
        cvm::call(
            &st.view(),
            &st.ctx,
            &Address::ZERO,
            Some(&to),
            &[],
            0,
            100_000,
        )
        .map_err(state_err)
    }

    #[test]
    fn a_call_past_its_time_budget_is_stopped_with_a_named_error() {
        let past = Instant::now()
            .checked_sub(Duration::from_millis(1))
            .unwrap_or_else(Instant::now);
        let (_d, st) = state(past);
        let e = run(&st).unwrap_err();
        assert_eq!(e.code, TOO_MUCH, "{e:?}");
        assert!(e.message.contains("time budget"), "{e:?}");
        // Within its budget the same call runs.
        let (_d, st) = state(Instant::now() + Duration::from_secs(600));
        assert!(run(&st).unwrap().success);
    }
}

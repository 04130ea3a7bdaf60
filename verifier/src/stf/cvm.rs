//! The CVM: CONTRACT_DEPLOY and CONTRACT_CALL executed by revm (spec CANCUN) over the step's
//! [`Overlay`], and a read-only [`call`] / [`estimate_gas`] for node RPCs.
//!
//! State mapping (docs/protocol.md, "CVM"):
//! - an EVM account is the L2 account of the same 20 address bytes; 1 smallest CAS unit is 1
//!   wei; a result balance above `i64::MAX` fails the transaction;
//! - code lives in the account tree under [`code_key`]`(codeHash)`, `codeHash = keccak256(code)`;
//!   an account without code keeps `codeHash = 0`, which the EVM sees as `KECCAK_EMPTY`;
//! - storage is a per-contract tree of the same kind whose root is `storageRoot` (zero: empty);
//!   slot `s` is under [`slot_key`]`(s) = SHA256d(s as 32 bytes big-endian)` and its value is
//!   the 32-byte big-endian word (zero: absent).
//!
//! revm runs with gas price 0, so it moves no fee: the step charges the maximum fee up front,
//! refunds what the gas revm used does not cost, and splits the fee 70/20/10 as every other
//! transaction does.

use super::accounts::Accounts;
use super::rules::{self, sequencer_pool_address};
use super::state::{Overlay, StateView};
pub use super::types::MAX_RECEIPT_OUTPUT;
use super::types::{credit, BlockContext, CvmOutcome, Log, Receipt, TxError, TxFail};
use super::StfError;
use crate::hash::{sha256d, sha256d_parts, Address, H256};
use crate::types::{L2Transaction, TxType};
use revm::bytecode::Bytecode;
use revm::context::block::BlockEnv;
use revm::context::{CfgEnv, Context, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::result::{EVMError, ExecutionResult, Output};
use revm::database_interface::DBErrorMarker;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{
    Address as EvmAddress, Bytes, StorageKey, StorageValue, TxKind, B256, KECCAK_EMPTY, U256,
};
use revm::state::{AccountInfo, EvmState};
use revm::{Database, ExecuteEvm, MainBuilder, MainContext};

/// Tag of the code leaves of the account tree.
pub const CODE_KEY_TAG: &[u8] = b"CASL2/code";
/// Tag of the (non-random) `PREVRANDAO` value.
pub const PREVRANDAO_TAG: &[u8] = b"CASL2/prevrandao";
/// What the EVM sees as the block gas limit (`GASLIMIT`); a transaction may not ask for more.
pub const CVM_BLOCK_GAS_LIMIT: u64 = 30_000_000;

/// The account-tree key of the code whose keccak256 is `code_hash`:
/// `SHA256d("CASL2/code" ‖ codeHash)`. The leaf value is the code bytes.
pub fn code_key(code_hash: &H256) -> H256 {
    sha256d_parts(&[CODE_KEY_TAG, &code_hash.0])
}

/// The storage-tree key of EVM storage slot `slot` (32 bytes big-endian): `SHA256d(slot)`.
pub fn slot_key(slot: &[u8; 32]) -> H256 {
    sha256d(slot)
}

/// `keccak256` (the EVM's hash), as [`H256`] in EVM byte order.
pub fn keccak256(data: &[u8]) -> H256 {
    H256(revm::primitives::keccak256(data).0)
}

/// The address a CREATE by `sender` at `nonce` gives.
pub fn create_address(sender: &Address, nonce: u64) -> Address {
    l2_addr(evm_addr(sender).create(nonce))
}

/// The address a CREATE2 by `deployer` with `salt` and init code hash gives.
pub fn create2_address(deployer: &Address, salt: &H256, init_code_hash: &H256) -> Address {
    l2_addr(evm_addr(deployer).create2(B256::from(salt.0), B256::from(init_code_hash.0)))
}

fn evm_addr(a: &Address) -> EvmAddress {
    EvmAddress::from(a.0)
}

fn l2_addr(a: EvmAddress) -> Address {
    Address(a.0 .0)
}

/// A state error inside revm's database.
#[derive(Debug)]
struct DbError(StfError);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for DbError {}
impl DBErrorMarker for DbError {}

/// revm's database over a step's overlay: accounts through [`Accounts`] (so a touch settles
/// rent), code and storage through the overlay.
struct CvmDb<'o, 'v, 'c> {
    ov: &'o mut Overlay<'v>,
    accts: &'o mut Accounts<'c>,
}

fn to_u256(v: i64) -> Result<U256, StfError> {
    u64::try_from(v)
        .map(U256::from)
        .map_err(|_| StfError::State(format!("negative balance {v}")))
}

impl Database for CvmDb<'_, '_, '_> {
    type Error = DbError;

    fn basic(&mut self, address: EvmAddress) -> Result<Option<AccountInfo>, DbError> {
        let st = *self
            .accts
            .get(self.ov, &l2_addr(address))
            .map_err(DbError)?;
        if st.balance == 0 && st.nonce == 0 && st.code_hash.is_zero() {
            return Ok(None);
        }
        let code_hash = if st.code_hash.is_zero() {
            KECCAK_EMPTY
        } else {
            B256::from(st.code_hash.0)
        };
        Ok(Some(AccountInfo {
            balance: to_u256(st.balance).map_err(DbError)?,
            nonce: st.nonce,
            code_hash,
            account_id: None,
            code: None,
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, DbError> {
        if code_hash == KECCAK_EMPTY || code_hash == B256::ZERO {
            return Ok(Bytecode::default());
        }
        let h = H256(code_hash.0);
        match self.ov.get(&code_key(&h)).map_err(DbError)? {
            Some(code) => Ok(Bytecode::new_raw(Bytes::from(code))),
            None => Err(DbError(StfError::State(format!("no code for hash {h}")))),
        }
    }

    fn storage(&mut self, address: EvmAddress, index: StorageKey) -> Result<StorageValue, DbError> {
        let a = l2_addr(address);
        let root = self.accts.get(self.ov, &a).map_err(DbError)?.storage_root;
        let key = slot_key(&index.to_be_bytes::<32>());
        match self.ov.storage_get(&a, &root, &key).map_err(DbError)? {
            None => Ok(U256::ZERO),
            Some(v) if v.len() == 32 => Ok(U256::from_be_slice(&v)),
            Some(v) => Err(DbError(StfError::State(format!(
                "storage slot of {a} holds {} bytes, expected 32",
                v.len()
            )))),
        }
    }

    fn block_hash(&mut self, _number: u64) -> Result<B256, DbError> {
        // The state transition sees no block history: BLOCKHASH is zero (docs/protocol.md).
        Ok(B256::ZERO)
    }
}

/// What revm is told about the block.
fn block_env(ctx: &BlockContext) -> BlockEnv {
    BlockEnv {
        number: U256::from(ctx.number),
        beneficiary: evm_addr(&ctx.producer),
        timestamp: U256::from(ctx.timestamp / 1000),
        gas_limit: CVM_BLOCK_GAS_LIMIT,
        basefee: 0,
        difficulty: U256::ZERO,
        prevrandao: Some(B256::from(
            sha256d_parts(&[
                PREVRANDAO_TAG,
                &ctx.chain_id.to_le_bytes(),
                &ctx.number.to_le_bytes(),
            ])
            .0,
        )),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, 3_338_477)),
        ..Default::default()
    }
}

fn cfg_env(ctx: &BlockContext, check_nonce: bool) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(SpecId::CANCUN);
    cfg.chain_id = ctx.chain_id;
    cfg.disable_nonce_check = !check_nonce;
    cfg
}

/// One EVM execution's result before it is committed.
struct Run {
    result: ExecutionResult,
    state: EvmState,
}

/// Run revm. `Ok(Err(reason))`: revm refused the transaction (its own validity rules), nothing
/// changed.
#[allow(clippy::too_many_arguments)]
fn run_evm(
    ov: &mut Overlay<'_>,
    accts: &mut Accounts<'_>,
    ctx: &BlockContext,
    from: &Address,
    to: Option<&Address>,
    data: &[u8],
    value: i64,
    gas_limit: u64,
    nonce: Option<u64>,
) -> Result<Result<Run, String>, StfError> {
    let db = CvmDb { ov, accts };
    let tx = TxEnv {
        tx_type: 0,
        caller: evm_addr(from),
        gas_limit,
        gas_price: 0,
        kind: match to {
            Some(a) => TxKind::Call(evm_addr(a)),
            None => TxKind::Create,
        },
        value: to_u256(value)?,
        data: Bytes::copy_from_slice(data),
        nonce: nonce.unwrap_or(0),
        chain_id: Some(ctx.chain_id),
        ..Default::default()
    };
    let mut evm = Context::mainnet()
        .with_db(db)
        .with_cfg(cfg_env(ctx, nonce.is_some()))
        .with_block(block_env(ctx))
        .build_mainnet();
    match evm.transact(tx) {
        Ok(r) => Ok(Ok(Run {
            result: r.result,
            state: r.state,
        })),
        Err(EVMError::Database(e)) => Err(e.0),
        Err(e) => Ok(Err(e.to_string())),
    }
}

fn cut(mut s: String) -> String {
    if s.len() > 200 {
        let mut n = 200;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

/// The receipt part of an execution result, and its error string (empty on success).
fn outcome(result: &ExecutionResult) -> (bool, u64, CvmOutcome, String) {
    let gas = result.gas().tx_gas_used();
    let logs_of = |logs: &[revm::primitives::Log]| {
        logs.iter()
            .map(|l| Log {
                address: l2_addr(l.address),
                topics: l.data.topics().iter().map(|t| H256(t.0)).collect(),
                data: l.data.data.to_vec(),
            })
            .collect::<Vec<_>>()
    };
    let short = |b: &Bytes| b[..b.len().min(MAX_RECEIPT_OUTPUT)].to_vec();
    match result {
        ExecutionResult::Success { logs, output, .. } => {
            let (out, created) = match output {
                Output::Call(b) => (short(b), None),
                Output::Create(b, a) => (short(b), a.map(l2_addr)),
            };
            (
                true,
                gas,
                CvmOutcome {
                    output: out,
                    logs: logs_of(logs),
                    contract_address: created,
                },
                String::new(),
            )
        }
        ExecutionResult::Revert { output, .. } => {
            let reason = revert_reason(output)
                .map(|r| format!("execution reverted: {r}"))
                .unwrap_or_else(|| "execution reverted".into());
            (
                false,
                gas,
                CvmOutcome {
                    output: short(output),
                    ..Default::default()
                },
                cut(reason),
            )
        }
        ExecutionResult::Halt { reason, .. } => (
            false,
            gas,
            CvmOutcome::default(),
            cut(format!("execution halted: {reason:?}")),
        ),
    }
}

/// The reason string of revert data `Error(string)`, if it is one.
pub fn revert_reason(data: &[u8]) -> Option<String> {
    if data.len() < 68 || data[..4] != [0x08, 0xc3, 0x79, 0xa0] {
        return None;
    }
    let len = U256::from_be_slice(&data[36..68]);
    let len = usize::try_from(len).ok()?;
    let end = 68usize.checked_add(len)?;
    let s = data.get(68..end)?;
    String::from_utf8(s.to_vec()).ok()
}

fn from_u256(v: &U256, what: &'static str) -> Result<i64, TxError> {
    i64::try_from(*v).map_err(|_| TxError::Overflow(what))
}

/// Write revm's state changes into `accts` and `ov`. Nothing is written when a balance does not
/// fit an i64 (the caller then fails the transaction with everything undone).
fn commit(
    ov: &mut Overlay<'_>,
    accts: &mut Accounts<'_>,
    state: EvmState,
) -> Result<Result<(), TxError>, StfError> {
    let mut changed: Vec<_> = state.into_iter().filter(|(_, a)| a.is_touched()).collect();
    changed.sort_by_key(|x| x.0);
    // Convert first, so that an unrepresentable balance writes nothing.
    for (_, acc) in &changed {
        if !acc.is_selfdestructed() {
            if let Err(e) = from_u256(&acc.info.balance, "contract balance") {
                return Ok(Err(e));
            }
        }
    }
    for (addr, acc) in changed {
        let a = l2_addr(addr);
        let mut st = *accts.get(ov, &a)?;
        if acc.is_selfdestructed() {
            // EIP-6780: only an account created in this transaction is destroyed.
            st.balance = 0;
            st.nonce = 0;
            st.code_hash = H256::ZERO;
            st.storage_root = H256::ZERO;
            *accts.get(ov, &a)? = st;
            continue;
        }
        st.balance = i64::try_from(acc.info.balance).unwrap_or(i64::MAX);
        st.nonce = acc.info.nonce;
        let code_hash = if acc.info.code_hash == KECCAK_EMPTY {
            H256::ZERO
        } else {
            H256(acc.info.code_hash.0)
        };
        if code_hash != st.code_hash {
            if let Some(code) = &acc.info.code {
                let bytes = code.original_byte_slice();
                if !bytes.is_empty() {
                    ov.put(code_key(&code_hash), Some(bytes.to_vec()));
                }
            }
            st.code_hash = code_hash;
        }
        let mut updates: Vec<_> = acc
            .changed_storage_slots()
            .map(|(k, v)| {
                let key = slot_key(&k.to_be_bytes::<32>());
                let val = (!v.present_value.is_zero())
                    .then(|| v.present_value.to_be_bytes::<32>().to_vec());
                (key, val)
            })
            .collect();
        if !updates.is_empty() {
            updates.sort_by_key(|x| x.0);
            st.storage_root = ov.storage_update(&a, &st.storage_root, updates)?;
        }
        *accts.get(ov, &a)? = st;
    }
    Ok(Ok(()))
}

/// CONTRACT_DEPLOY (`to` ignored, `data` is the init code) or CONTRACT_CALL: the part of
/// `apply_tx` after the signature, chain id, amount, intrinsic gas, rent and nonce checks.
pub(super) fn apply_contract_tx(
    ov: &mut Overlay<'_>,
    tx: &L2Transaction,
    hash: H256,
    ctx: &BlockContext,
    from: Address,
    mut accts: Accounts<'_>,
) -> Result<Receipt, TxFail> {
    let intrinsic = rules::intrinsic_gas(tx.tx_type, &tx.data);
    let s = accts.get(ov, &from)?;
    let hat = s.hat_score;
    let max_fee = rules::fee(tx.gas_limit, tx.gas_price, hat).ok_or(TxError::Overflow("fee"))?;
    let needed = tx
        .value
        .checked_add(max_fee)
        .ok_or(TxError::Overflow("value plus fee"))?;
    if s.balance < needed {
        return Err(TxFail::Rule(TxError::InsufficientBalance {
            balance: s.balance,
            needed,
        }));
    }
    // The maximum fee is held while the EVM runs; what the gas used does not cost comes back.
    s.balance -= max_fee;
    let next_nonce = tx.nonce.checked_add(1).ok_or(TxError::Overflow("nonce"))?;
    let to = (tx.tx_type == TxType::ContractCall).then_some(&tx.to);
    let run = run_evm(
        ov,
        &mut accts,
        ctx,
        &from,
        to,
        &tx.data,
        tx.value,
        tx.gas_limit,
        Some(tx.nonce),
    )?;
    let (success, gas_used, cvm, error) = match run {
        Ok(Run { result, state }) => {
            let (ok, gas, cvm, err) = outcome(&result);
            match commit(ov, &mut accts, state)? {
                Ok(()) => (ok, gas, cvm, err),
                Err(e) => (false, gas, CvmOutcome::default(), e.to_string()),
            }
        }
        Err(reason) => (
            false,
            intrinsic,
            CvmOutcome::default(),
            cut(format!("rejected by the EVM: {reason}")),
        ),
    };
    let gas_used = gas_used.min(tx.gas_limit);
    let fee = rules::fee(gas_used, tx.gas_price, hat).ok_or(TxError::Overflow("fee"))?;
    let s = accts.get(ov, &from)?;
    s.nonce = next_nonce;
    s.last_activity = ctx.number;
    credit(&mut s.balance, max_fee - fee, "sender refund")?;
    let (to_producer, to_pool, _burned) = rules::split_fee(fee);
    let p = accts.get(ov, &ctx.producer)?;
    credit(&mut p.balance, to_producer, "producer balance")?;
    let pool = accts.get(ov, &sequencer_pool_address())?;
    credit(&mut pool.balance, to_pool, "sequencer pool")?;
    let rent = accts.write(ov);
    let mut r = if success {
        Receipt::ok(hash, gas_used, fee)
    } else {
        Receipt::failed(hash, gas_used, fee, error)
    };
    r.cvm = Some(cvm);
    Ok(r.with_rent(rent))
}

/// The runtime code of `address` in `view` as the EVM sees it in block context `ctx` (rent
/// settled, an archived contract restored): the node's `eth_getCode` / `l2_getcode`. Empty for
/// an account without code.
pub fn code_at(
    view: &dyn StateView,
    ctx: &BlockContext,
    address: &Address,
) -> Result<Vec<u8>, StfError> {
    let mut ov = Overlay::untracked(view);
    let mut accts = Accounts::new(ctx);
    let mut db = CvmDb {
        ov: &mut ov,
        accts: &mut accts,
    };
    let hash = match db.basic(evm_addr(address)).map_err(|e| e.0)? {
        Some(info) => info.code_hash,
        None => return Ok(Vec::new()),
    };
    let code = db.code_by_hash(hash).map_err(|e| e.0)?;
    Ok(code.original_bytes().to_vec())
}

/// The 32-byte word in storage slot `slot` of `address` in `view`, as the EVM's `SLOAD` sees
/// it in block context `ctx`: the node's `eth_getStorageAt` / `l2_getstorageat`.
pub fn storage_at(
    view: &dyn StateView,
    ctx: &BlockContext,
    address: &Address,
    slot: &[u8; 32],
) -> Result<[u8; 32], StfError> {
    let mut ov = Overlay::untracked(view);
    let mut accts = Accounts::new(ctx);
    let mut db = CvmDb {
        ov: &mut ov,
        accts: &mut accts,
    };
    let v = db
        .storage(evm_addr(address), U256::from_be_bytes(*slot))
        .map_err(|e| e.0)?;
    Ok(v.to_be_bytes::<32>())
}

/// The result of a read-only [`call`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    /// The call (or creation) succeeded.
    pub success: bool,
    /// Gas used, the intrinsic gas included.
    pub gas_used: u64,
    /// Return data on success, revert data on a revert.
    pub output: Vec<u8>,
    /// Logs it would emit.
    pub logs: Vec<Log>,
    /// The contract a creation would make.
    pub contract_address: Option<Address>,
    /// Why it failed (empty on success).
    pub error: String,
}

/// Execute a call (or, with `to = None`, a creation with `data` as init code) on `view` in
/// block context `ctx` and throw the state changes away: the node's `eth_call` / `l2_call`.
/// No signature, nonce or fee: the sender's nonce is not checked and gas costs nothing;
/// `value` must be covered by `from`'s balance.
pub fn call(
    view: &dyn StateView,
    ctx: &BlockContext,
    from: &Address,
    to: Option<&Address>,
    data: &[u8],
    value: i64,
    gas: u64,
) -> Result<CallResult, StfError> {
    if value < 0 {
        return Err(StfError::State("negative value".into()));
    }
    let mut ov = Overlay::untracked(view);
    let mut accts = Accounts::new(ctx);
    let run = run_evm(
        &mut ov,
        &mut accts,
        ctx,
        from,
        to,
        data,
        value,
        gas.min(CVM_BLOCK_GAS_LIMIT),
        None,
    )?;
    Ok(match run {
        Ok(Run { result, .. }) => {
            let (success, gas_used, cvm, error) = outcome(&result);
            CallResult {
                success,
                gas_used,
                output: cvm.output,
                logs: cvm.logs,
                contract_address: cvm.contract_address,
                error,
            }
        }
        Err(reason) => CallResult {
            success: false,
            gas_used: 0,
            output: Vec::new(),
            logs: Vec::new(),
            contract_address: None,
            error: cut(format!("rejected by the EVM: {reason}")),
        },
    })
}

/// The least gas limit with which [`call`] succeeds (binary search between the intrinsic gas
/// and `cap`): the node's `eth_estimateGas`. `Ok(Err(result))` when it fails even with `cap`.
pub fn estimate_gas(
    view: &dyn StateView,
    ctx: &BlockContext,
    from: &Address,
    to: Option<&Address>,
    data: &[u8],
    value: i64,
    cap: u64,
) -> Result<Result<u64, CallResult>, StfError> {
    let cap = cap.min(CVM_BLOCK_GAS_LIMIT);
    let top = call(view, ctx, from, to, data, value, cap)?;
    if !top.success {
        return Ok(Err(top));
    }
    let kind = if to.is_some() {
        TxType::ContractCall
    } else {
        TxType::ContractDeploy
    };
    let mut lo = rules::intrinsic_gas(kind, data)
        .max(top.gas_used)
        .saturating_sub(1);
    let mut hi = cap;
    // Invariant: `hi` succeeds, `lo` fails (or is below what can succeed).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if call(view, ctx, from, to, data, value, mid)?.success {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Ok(hi))
}

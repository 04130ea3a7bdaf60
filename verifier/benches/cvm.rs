//! CVM benchmarks: a block of ERC-20 transfers applied to the state (signature recovery, revm,
//! storage and account tree updates), the same transfers in revm alone over its in-memory
//! database (revm's share), and stateless verification of one ERC-20 transfer step.
//!
//! `cargo bench -p casl2-verifier --bench cvm` (`CVM_BENCH_TXS=1000` by default).

#[path = "../tests/common_cvm/mod.rs"]
mod common_cvm;

use casl2_verifier::smt::SparseMerkleTree;
use casl2_verifier::stf::{build_step_witness, execute_block_steps, execute_step_stateless, Step};
use casl2_verifier::types::{L2Block, TxType};
use casl2_verifier::Encode;
use common_cvm::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::primitives::{Address as EvmAddress, Bytes, TxKind, U256};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

fn n_txs() -> usize {
    std::env::var("CVM_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

fn bench(c: &mut Criterion) {
    let n = n_txs();
    // n users holding tokens; each sends one ERC-20 transfer to another in the block.
    let mut chain = Chain::new(n as u64 + 1, 1_000_000_000_000);
    chain.check_stateless = false;
    let (_, token) = chain.deploy(0, "Token", &[word_u(1_000_000_000)]);
    for i in 1..=n {
        let to = chain.addr(i);
        let r = chain.call(
            0,
            token,
            calldata("transfer(address,uint256)", &[word_a(&to), word_u(1_000)]),
            0,
        );
        assert!(r.success);
    }
    let mut block = L2Block::default();
    block.header.gas_limit = u64::MAX;
    block.header.l2_chain_id = CHAIN;
    block.header.block_number = chain.ctx.number;
    block.header.sequencer = chain.ctx.producer;
    let mut datas = Vec::new();
    for i in 1..=n {
        let to = chain.addr(1 + (i % n));
        let data = calldata("transfer(address,uint256)", &[word_a(&to), word_u(7)]);
        datas.push((chain.addr(i), data.clone()));
        let t = chain.tx(i, TxType::ContractCall, token, data, 0, 100_000);
        block.transactions.push(t);
    }
    let root = chain.tree.root();
    let store = chain.tree.store().clone();
    let ctx = chain.ctx.clone();

    let mut g = c.benchmark_group(format!("cvm_block_{n}_erc20_transfers"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(
        "execute_block_steps (recovery + revm + storage/account trees)",
        |b| {
            b.iter_batched(
                || SparseMerkleTree::with_root(store.clone(), root).expect("root"),
                |mut tree| {
                    let out = execute_block_steps(&mut tree, &block, &ctx, &[]).expect("block");
                    assert!(out.receipts[..n].iter().all(|r| r.success));
                    out.state_root
                },
                BatchSize::LargeInput,
            )
        },
    );

    // revm alone: the same transfers over revm's in-memory database, no trees, no signatures.
    let deployer = EvmAddress::from(chain.addr(0).0);
    let mut db = InMemoryDB::default();
    for a in datas.iter().map(|d| d.0).chain([chain.addr(0)]) {
        db.insert_account_info(
            EvmAddress::from(a.0),
            revm::state::AccountInfo {
                balance: U256::from(1_000_000_000_000u64),
                ..Default::default()
            },
        );
    }
    {
        let mut evm = Context::mainnet().with_db(&mut db).build_mainnet();
        let (code, _) = contract("Token");
        let mut init = code.clone();
        init.extend_from_slice(&word_u(1_000_000_000));
        let r = evm
            .transact_commit(TxEnv {
                caller: deployer,
                gas_limit: 3_000_000,
                kind: TxKind::Create,
                data: Bytes::from(init),
                nonce: 0,
                ..Default::default()
            })
            .expect("deploy");
        let t_addr = r.created_address().expect("created");
        for (i, (a, _)) in datas.iter().enumerate() {
            evm.transact_commit(TxEnv {
                caller: deployer,
                gas_limit: 100_000,
                kind: TxKind::Call(t_addr),
                data: Bytes::from(calldata(
                    "transfer(address,uint256)",
                    &[word_a(a), word_u(1_000)],
                )),
                nonce: 1 + i as u64,
                ..Default::default()
            })
            .expect("fund tokens");
        }
        assert_eq!(t_addr.0 .0, token.0);
    }
    g.bench_function("revm only (in-memory DB, no trees, no signatures)", |b| {
        b.iter_batched(
            || db.clone(),
            |mut db| {
                let mut evm = Context::mainnet().with_db(&mut db).build_mainnet();
                for (i, (a, data)) in datas.iter().enumerate() {
                    let r = evm
                        .transact_commit(TxEnv {
                            caller: EvmAddress::from(a.0),
                            gas_limit: 100_000,
                            kind: TxKind::Call(EvmAddress::from(token.0)),
                            data: Bytes::from(data.clone()),
                            nonce: 0,
                            ..Default::default()
                        })
                        .expect("transfer");
                    assert!(r.is_success(), "{i}");
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    // Stateless verification of one ERC-20 transfer step.
    let step = Step::Tx {
        tx: Box::new(block.transactions[0].clone()),
    };
    let (w, _) = build_step_witness(&chain.tree, root, &step, &ctx).expect("witness");
    let size = w.encode().len();
    eprintln!("cvm: witness of one ERC-20 transfer step: {size} bytes");
    let mut g = c.benchmark_group("cvm_stateless_erc20_transfer");
    g.bench_function(format!("execute_step_stateless (witness {size} B)"), |b| {
        b.iter(|| execute_step_stateless(&root, &w, &step, &ctx).expect("stateless"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The devnet L1 as a library: mining, reorgs (`property_20_l1_reorg_recovery` at the L1) and
//! restarts from the redb file.

use casl2_fullnode::devnet::{authority_key, dev_key, Devnet, DevnetConfig};
use casl2_verifier::l1::{L1Op, L1Tx};
use casl2_verifier::params::{ChainParams, Network, COIN};
use casl2_verifier::{PrivateKey, H256};

const CHAIN: u64 = 7;
const NOW: u64 = 1_800_000_000;

fn send(d: &mut Devnet, k: &PrivateKey, op: L1Op) -> H256 {
    let tx = L1Tx::signed(k, d.next_nonce(&k.address()), op).unwrap();
    d.submit(tx).unwrap()
}

/// A devnet with chain `CHAIN` ACTIVE (deployer key 0, sequencer key 1).
fn with_chain(d: &mut Devnet) {
    let deployer = dev_key(0).unwrap();
    let seq = dev_key(1).unwrap();
    send(
        d,
        &deployer,
        L1Op::RegisterChain {
            chain_id: CHAIN,
            name: "devnet".into(),
            params: ChainParams::for_network(Network::Regtest),
            genesis_root: H256::ZERO,
            deployer_stake: 10 * COIN,
        },
    );
    send(
        d,
        &authority_key().unwrap(),
        L1Op::SetHatScore {
            address: seq.address(),
            score: 90,
        },
    );
    d.generate(1, NOW).unwrap();
    send(
        d,
        &seq,
        L1Op::AnnounceSequencer {
            chain: CHAIN,
            stake: 10 * COIN,
            endpoint: "127.0.0.1:7000".into(),
        },
    );
    d.generate(1, NOW).unwrap();
    let outcome = d.outcome_at(d.height()).unwrap();
    assert!(
        outcome.receipts.iter().all(|r| r.outcome.is_ok()),
        "{outcome:?}"
    );
}

fn deposits(d: &Devnet) -> usize {
    d.state().chain(CHAIN).map(|c| c.queue.len()).unwrap_or(0)
}

#[test]
fn property_20_l1_reorg_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Devnet::open(&dir.path().join("l1.redb"), &DevnetConfig::default()).unwrap();
    with_chain(&mut d);
    let user = dev_key(2).unwrap();
    let deposit_tx = send(
        &mut d,
        &user,
        L1Op::Deposit {
            chain: CHAIN,
            recipient: user.address(),
            amount: 5 * COIN,
        },
    );
    let before = d.state().clone();
    let b = d.generate(1, NOW).unwrap()[0];
    d.generate(2, NOW).unwrap();
    let after = d.state().clone();
    assert_eq!(deposits(&d), 1);
    assert_eq!(d.state().chain(CHAIN).unwrap().escrow, 5 * COIN);

    // Invalidate the deposit's block: the deposit leaves the queue, its transaction waits again.
    d.invalidate_block(&b).unwrap();
    assert_eq!(d.height(), before.height());
    assert_eq!(d.state(), &before);
    assert_eq!(deposits(&d), 0);
    assert_eq!(d.state().chain(CHAIN).unwrap().escrow, 0);
    assert_eq!(
        d.mempool().iter().map(L1Tx::hash).collect::<Vec<_>>(),
        vec![deposit_tx]
    );

    // Reconsider: exactly the old chain comes back, the mempool empties.
    d.reconsider_block(&b).unwrap();
    assert_eq!(d.state(), &after);
    assert_eq!(deposits(&d), 1);
    assert!(d.mempool().is_empty());

    // A fork: invalidate, mine a longer other branch (the deposit is mined again there), then
    // reconsider the shorter old branch: the longer one stays and the deposit appears once.
    d.invalidate_block(&b).unwrap();
    let fork = d.generate(4, NOW).unwrap();
    assert_ne!(fork[0], b);
    assert_eq!(deposits(&d), 1);
    d.reconsider_block(&b).unwrap();
    assert_eq!(d.state().tip_hash(), fork[3]);
    assert_eq!(deposits(&d), 1);
    assert_eq!(d.state().total_supply(), Some(d.state().genesis_supply()));

    // Invalidating the fork brings the old branch back (it is now the best valid one).
    d.invalidate_block(&fork[0]).unwrap();
    assert_eq!(d.state(), &after);
    assert!(d.mempool().is_empty());

    // The reorg is persisted.
    drop(d);
    let d = Devnet::open(&dir.path().join("l1.redb"), &DevnetConfig::default()).unwrap();
    assert_eq!(d.state(), &after);
}

#[test]
fn restart_keeps_every_mined_block_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l1.redb");
    let config = DevnetConfig {
        accounts: 3,
        ..DevnetConfig::default()
    };
    let mut d = Devnet::open(&path, &config).unwrap();
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());
    // A burst: transactions and blocks interleaved; stop in the middle with a full mempool.
    for round in 0..20u64 {
        for _ in 0..5 {
            send(
                &mut d,
                &a,
                L1Op::Transfer {
                    to: b.address(),
                    amount: COIN,
                },
            );
        }
        if round < 19 {
            d.generate(1, NOW + round).unwrap();
        }
    }
    let state = d.state().clone();
    let hashes: Vec<H256> = (0..=d.height())
        .map(|h| d.state().block_hash(h).unwrap())
        .collect();
    drop(d); // the "kill": mempool lost, every mined block kept.

    // A different --accounts on restart does not change the stored genesis.
    let d = Devnet::open(&path, &DevnetConfig::default()).unwrap();
    assert_eq!(d.state(), &state);
    assert_eq!(d.height(), 19);
    assert_eq!(d.state().nonce_of(&a.address()), 95);
    assert_eq!(d.state().balance(&b.address()), config.balance + 95 * COIN);
    for (h, hash) in hashes.iter().enumerate() {
        assert_eq!(d.block_at(h as u64).unwrap().hash(), *hash);
    }
    assert!(d.mempool().is_empty());
    assert_eq!(d.genesis().accounts.len(), 4);
}

#[test]
fn mempool_refuses_bad_signatures_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = Devnet::open(&dir.path().join("l1.redb"), &DevnetConfig::default()).unwrap();
    let (a, b) = (dev_key(0).unwrap(), dev_key(1).unwrap());
    let op = L1Op::Transfer {
        to: b.address(),
        amount: COIN,
    };
    let tx = L1Tx::signed(&a, 0, op.clone()).unwrap();
    d.submit(tx.clone()).unwrap();
    let e = d.submit(tx.clone()).unwrap_err().to_string();
    assert!(e.starts_with("L1_BAD_NONCE"), "{e}");
    d.generate(1, NOW).unwrap();
    let e = d.submit(tx).unwrap_err().to_string();
    assert!(e.starts_with("L1_BAD_NONCE"), "{e}");
    let mut forged = L1Tx::signed(&b, 1, op).unwrap();
    forged.from = a.address();
    let e = d.submit(forged).unwrap_err().to_string();
    assert!(e.starts_with("L1_BAD_SIGNATURE"), "{e}");
    assert!(d.generate(10_001, NOW).is_err());
    assert!(d.invalidate_block(&H256([9; 32])).is_err());
    let genesis = d.state().block_hash(0).unwrap();
    assert!(d.invalidate_block(&genesis).is_err());
}

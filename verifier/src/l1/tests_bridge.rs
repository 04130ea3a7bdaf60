//! Unit tests of the bridge rules: deposits and their limits, burns, forced transactions,
//! missed inclusion deadlines and the emergency timer.

use super::tests::{announce_op, deposit_op, key, name, register_op, Net, CHAIN, FUND};
use super::*;
use crate::keys::PrivateKey;
use crate::params::COIN;
use crate::types::{BurnData, L1MessageBody, L2Transaction, TxType};

#[test]
fn deposits_queue_and_limits() {
    let mut n = Net::with_chain();
    let u = key(5);
    let p = n.chain().info.params.clone();
    assert_eq!(
        name(n.send(&u, deposit_op(u.address(), 0))),
        "L1_INVALID_AMOUNT"
    );
    assert_eq!(
        name(n.send(&u, deposit_op(u.address(), p.max_deposit_per_tx + 1))),
        "BRIDGE_DEPOSIT_LIMIT"
    );
    let ops = (0..10)
        .map(|_| (5, deposit_op(u.address(), p.max_deposit_per_tx)))
        .collect();
    assert!(n.send_many(ops).iter().all(Result::is_ok));
    assert_eq!(n.chain().daily.total, p.max_daily_deposit);
    let r = n.send(&key(6), deposit_op(u.address(), 1));
    assert_eq!(r.unwrap_err().code(), 1201);
    let mut n = Net::with_chain();
    n.send(&u, deposit_op(u.address(), 5)).unwrap();
    let before = n.state.clone();
    assert_eq!(
        name(n.send(&key(9), deposit_op(u.address(), 1))),
        "L1_INSUFFICIENT_FUNDS"
    );
    assert_eq!(n.chain().queue, before.chain(CHAIN).unwrap().queue);
    let c = n.chain();
    assert_eq!(c.escrow, 5);
    assert_eq!(c.queue.len(), 1);
    let m = &c.queue[0];
    assert_eq!(
        m.message.body,
        L1MessageBody::Deposit {
            recipient: u.address(),
            amount: 5
        }
    );
    assert_eq!(m.chain_after, crate::hash::hash_pair(&H256::ZERO, &m.hash));
    assert_eq!(c.queue_head, m.chain_after);
}

#[test]
fn daily_limit_resets_each_l1_day() {
    let mut n = Net::new();
    let mut op = register_op(CHAIN);
    if let L1Op::RegisterChain { params, .. } = &mut op {
        params.l1_blocks_per_day = 4;
        params.max_daily_deposit = 10;
        params.max_deposit_per_tx = 10;
    }
    n.send(&key(2), op).unwrap();
    n.send(&key(3), announce_op(CHAIN, 10 * COIN)).unwrap(); // height 2
    n.mine_empty(1); // 3
    let u = key(5);
    n.send(&u, deposit_op(u.address(), 10)).unwrap(); // height 4: day 1
    assert_eq!(
        name(n.send(&u, deposit_op(u.address(), 1))),
        "BRIDGE_DEPOSIT_LIMIT"
    ); // 5
    n.mine_empty(2); // 6, 7
    n.send(&u, deposit_op(u.address(), 10)).unwrap(); // 8: day 2
    assert_eq!(n.chain().daily, DailyDeposits { day: 2, total: 10 });
}

#[test]
fn burn_deposits_use_the_real_node_script() {
    let mut n = Net::with_chain();
    let u = key(5);
    let script = hex::decode("6a334c324255524e01000000028330767adc8ad2a1f3b0fa1c0b16d206dd81529ff1d5d5ed52455d28e02f81be00e1f50500000000").unwrap();
    let burn = BurnData::parse_script(&script).unwrap();
    n.send(
        &u,
        L1Op::BurnDeposit {
            script: script.clone(),
        },
    )
    .unwrap();
    assert_eq!(n.state.balance(&u.address()), FUND - 10 * COIN);
    let c = n.chain();
    assert_eq!(c.escrow, 10 * COIN);
    assert_eq!(
        c.queue[0].message.body,
        L1MessageBody::Deposit {
            recipient: burn.recipient_address(),
            amount: 10 * COIN
        }
    );
    assert_eq!(c.queue[0].message.l1_sender, u.address());
    let mut bad = script.clone();
    bad[2] = b'X';
    assert_eq!(
        name(n.send(&u, L1Op::BurnDeposit { script: bad })),
        "BRIDGE_BURN_INVALID"
    );
    let other = BurnData::new(7, burn.recipient, COIN)
        .unwrap()
        .to_script()
        .to_vec();
    assert_eq!(
        name(n.send(&u, L1Op::BurnDeposit { script: other })),
        "CHAIN_UNKNOWN"
    );
}

pub(crate) fn l2_tx(k: &PrivateKey, chain: u64) -> L2Transaction {
    let mut t = L2Transaction {
        from: k.address(),
        to: Address([7; 20]),
        value: 1,
        gas_limit: 21_000,
        tx_type: TxType::ForcedInclusion,
        l2_chain_id: chain,
        ..Default::default()
    };
    t.sign(k).unwrap();
    t
}

#[test]
fn forced_transactions_are_queued_and_checked() {
    let mut n = Net::with_chain();
    let u = key(5);
    let force = |tx| L1Op::ForceTransaction {
        chain: CHAIN,
        tx: Box::new(tx),
    };
    assert_eq!(
        name(n.send(&u, force(l2_tx(&u, 2)))),
        "BRIDGE_FORCED_TX_INVALID"
    );
    let mut t = l2_tx(&u, CHAIN);
    t.value = 2;
    assert_eq!(name(n.send(&u, force(t))), "BRIDGE_FORCED_TX_INVALID");
    // anyone may queue someone else's signed transaction
    n.send(&key(6), force(l2_tx(&u, CHAIN))).unwrap();
    assert_eq!(n.chain().pending_forced().count(), 1);
    assert!(n.chain().queue[0].is_forced());
}

#[test]
fn missed_forced_inclusion_slashes_then_emergency() {
    let mut n = Net::with_chain();
    let u = key(5);
    let p = n.chain().info.params.clone();
    n.send(&u, deposit_op(u.address(), 3 * COIN)).unwrap();
    let queued = n.state.height();
    n.send(
        &u,
        L1Op::ForceTransaction {
            chain: CHAIN,
            tx: Box::new(l2_tx(&u, CHAIN)),
        },
    )
    .unwrap();
    n.send(&u, deposit_op(u.address(), 2 * COIN)).unwrap();
    let h = n.state.height();
    let ev = n.mine_empty(queued + p.forced_inclusion_deadline - 1 - h);
    assert!(ev.is_empty(), "{ev:?}");
    let ev = n.mine(vec![]).events;
    assert_eq!(
        ev[0],
        L1Event::MessageMissed {
            chain: CHAIN,
            index: 0
        }
    );
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, L1Event::SequencerSlashed { .. }))
            .count(),
        2
    );
    assert_eq!(n.chain().sequencers[0].stake, 10 * COIN - p.min_slash);
    assert_eq!(n.state.burned(), 2 * p.min_slash);
    // the sequencers fell below the minimum stake: both unbond, nobody is slashed again
    let ev = n.mine_empty(2);
    assert!(ev.contains(&L1Event::MessageMissed {
        chain: CHAIN,
        index: 2
    }));
    assert_eq!(n.chain().missed, vec![0, 1, 2]);
    assert_eq!(n.chain().info.status, L2Status::Emergency);
    // deposits nothing consumed are refunded to the depositor
    assert!(ev.contains(&L1Event::DepositRefunded {
        chain: CHAIN,
        index: 2,
        recipient: u.address(),
        amount: 2 * COIN
    }));
    assert_eq!(n.chain().escrow, 0);
    assert_eq!(n.state.balance(&u.address()), FUND);
    assert_eq!(n.chain().total_refunded, 5 * COIN);
    assert_eq!(
        name(n.send(&u, deposit_op(u.address(), 1))),
        "CHAIN_WRONG_STATUS"
    );
}

#[test]
fn no_anchor_for_too_long_is_an_emergency() {
    let mut n = Net::with_chain();
    let p = n.chain().info.params.clone();
    let since = n.chain().info.latest_l1_anchor;
    let ev = n.mine_empty(since + p.emergency_after - 1 - n.state.height());
    assert!(ev.is_empty());
    assert_eq!(n.chain().info.status, L2Status::Active);
    let ev = n.mine(vec![]).events;
    assert!(matches!(
        ev[0],
        L1Event::ChainStatusChanged {
            to: L2Status::Emergency,
            ..
        }
    ));
    assert_eq!(n.chain().info.emergency_since, Some(n.state.height()));
    // a bootstrapping chain has no timer
    let mut n = Net::new();
    n.send(&key(2), register_op(CHAIN)).unwrap();
    n.mine_empty(p.emergency_after + 1);
    assert_eq!(n.chain().info.status, L2Status::Bootstrapping);
}

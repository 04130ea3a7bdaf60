//! Unit tests of the L1 formats (round trips, truncations, JSON persistence) and error codes.

use super::tests::{announce_op, deposit_op, key, register_op, Net};
use super::tests_bridge::l2_tx;
use super::*;
use crate::codec::{Decode, Encode};

#[test]
fn encodings_round_trip_and_never_panic() {
    let n = Net::with_chain();
    let u = key(5);
    let ops = vec![
        L1Op::Transfer {
            to: u.address(),
            amount: 1,
        },
        L1Op::SetHatScore {
            address: u.address(),
            score: 3,
        },
        register_op(4),
        L1Op::SetChainStatus {
            chain: 1,
            status: L2Status::Paused,
        },
        announce_op(1, 5),
        L1Op::Unbond { chain: 1 },
        L1Op::WithdrawStake { chain: 1 },
        deposit_op(u.address(), 9),
        L1Op::BurnDeposit {
            script: vec![1, 2, 3],
        },
        L1Op::ForceTransaction {
            chain: 1,
            tx: Box::new(l2_tx(&u, 1)),
        },
        super::tests_batch::sample_post_batch(),
        L1Op::ReportOffline {
            chain: 1,
            sequencer: u.address(),
        },
        super::tests_batch::sample_withdrawal_op(),
        L1Op::EmergencyWithdraw {
            chain: 1,
            address: u.address(),
            account: crate::AccountState {
                balance: 5,
                ..Default::default()
            },
            proof: crate::smt::CompactProof {
                key: u.address().tree_key(),
                value: None,
                bitmap: H256::ZERO,
                siblings: vec![],
            },
        },
    ];
    let txs: Vec<L1Tx> = ops.into_iter().map(|op| n.tx(&u, op)).collect();
    for t in &txs {
        let b = t.encode();
        assert_eq!(&L1Tx::decode(&b).unwrap(), t);
        let j: L1Tx = serde_json::from_str(&serde_json::to_string(t).unwrap()).unwrap();
        assert_eq!(&j, t);
        assert!(t.recover_signer().is_ok());
        for cut in [0, 1, 29, b.len() / 2, b.len() - 1] {
            assert!(L1Tx::decode(&b[..cut]).is_err());
        }
        let mut flipped = b.clone();
        flipped[28] = 200;
        assert!(L1Tx::decode(&flipped).is_err());
    }
    let block = n.next_block(txs);
    assert_eq!(L1Block::decode(&block.encode()).unwrap(), block);
    for i in 0..block.encode().len().min(400) {
        let _ = L1Block::decode(&block.encode()[..i]);
    }
    // the state persists as JSON
    let s = serde_json::to_string(&n.state).unwrap();
    assert_eq!(serde_json::from_str::<L1State>(&s).unwrap(), n.state);
}

#[test]
fn error_codes_are_unique() {
    let a = Address::ZERO;
    let all = [
        L1Error::InvalidBlock(String::new()),
        L1Error::BadSignature(String::new()),
        L1Error::BadNonce {
            expected: 0,
            got: 0,
        },
        L1Error::InsufficientFunds {
            address: a,
            balance: 0,
            needed: 0,
        },
        L1Error::NotAuthorized(String::new()),
        L1Error::InvalidAmount(String::new()),
        L1Error::Overflow(String::new()),
        L1Error::InvalidArgument(String::new()),
        L1Error::NotSupported(String::new()),
        L1Error::UnknownChain(0),
        L1Error::ChainExists(0),
        L1Error::WrongStatus {
            chain: 0,
            status: String::new(),
            detail: String::new(),
        },
        L1Error::SeqNotEligible(String::new()),
        L1Error::SeqUnknown {
            chain: 0,
            address: a,
            detail: String::new(),
        },
        L1Error::SeqAlreadyRegistered {
            chain: 0,
            address: a,
        },
        L1Error::SeqStillBonded {
            address: a,
            release_at: 0,
        },
        L1Error::DepositLimit(String::new()),
        L1Error::WithdrawalLimit(String::new()),
        L1Error::BridgeInsufficientBalance {
            chain: 0,
            escrow: 0,
            needed: 0,
        },
        L1Error::ChallengeFailed(String::new()),
        L1Error::ProofInvalid(String::new()),
        L1Error::AlreadyPaid(String::new()),
        L1Error::NotFinal(String::new()),
        L1Error::BurnInvalid(String::new()),
        L1Error::ForcedTxInvalid(String::new()),
        L1Error::NoQuorum {
            signed: 0,
            total: 0,
            threshold_pct: 0,
        },
        L1Error::InvalidVote(String::new()),
        L1Error::StateRootMismatch {
            what: String::new(),
            got: H256::ZERO,
            expected: H256::ZERO,
        },
        L1Error::BatchInvalid(String::new()),
        L1Error::DaMismatch(String::new()),
        L1Error::MessagesMismatch(String::new()),
        L1Error::UnknownAnchor { chain: 0, index: 0 },
    ];
    let codes: std::collections::BTreeSet<i32> = all.iter().map(L1Error::code).collect();
    let names: std::collections::BTreeSet<&str> = all.iter().map(L1Error::name).collect();
    assert_eq!(codes.len(), all.len());
    assert_eq!(names.len(), all.len());
    for e in &all {
        assert!(e.to_string().starts_with(e.name()), "{e}");
    }
}

/// The vectors in `docs/protocol.md` ("L1 rules").
#[test]
fn protocol_vectors() {
    let k = key(0x11);
    let tx = L1Tx::signed(
        &k,
        0,
        L1Op::Transfer {
            to: crate::Address([0x22; 20]),
            amount: 10_000_000,
        },
    )
    .unwrap();
    assert_eq!(tx.unsigned_bytes().len(), 20 + 8 + 1 + 20 + 8);
    let g = L1Genesis {
        time: 1_700_000_000,
        authority: k.address(),
        accounts: vec![],
        hat_scores: vec![],
    };
    let got = (
        tx.signing_hash().to_hex(),
        tx.hash().to_hex(),
        g.block().hash().to_hex(),
    );
    assert_eq!(
        got,
        (
            "0x5879d23eb24e1f389818dd0e221775199d5a2de64bc99ce99dc1dfd3f9161b81".to_string(),
            "0x0c7134d871cd1bec3fa5b9ebdffbe31890ffc32651485a2fa841e5ae73bbef3e".to_string(),
            "0xa56177a35d7e81af1181bbd1c69b9280f9ddebd4a443d355ec10099a5a3c37ed".to_string()
        )
    );
}

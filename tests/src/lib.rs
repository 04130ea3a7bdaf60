//! Shared helpers for casl2's end-to-end tests and property tests (in `tests/tests/`).

use casl2_verifier::l1::{L1Block, L1Error, L1Event, L1State, L1Tx};

/// Mine one L1 block holding `txs` on top of `state` (150 s after the tip), check that the
/// total supply is unchanged, and return each transaction's outcome.
pub fn mine_l1_block(state: &mut L1State, txs: Vec<L1Tx>) -> Vec<Result<Vec<L1Event>, L1Error>> {
    let b = L1Block {
        height: state.height() + 1,
        time: state.tip_time() + 150,
        prev_hash: state.tip_hash(),
        txs,
    };
    let out = state
        .apply_block(&b)
        .expect("a well-formed L1 block applies");
    assert_eq!(state.total_supply(), Some(state.genesis_supply()));
    out.receipts.into_iter().map(|r| r.outcome).collect()
}

pub mod fuzz;
pub mod fuzz_seeds;
pub mod layout;

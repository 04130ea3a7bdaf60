//! The numbers of the state transition: gas, fees, discounts, fee split and rate limits.

use crate::hash::{hash160, sha256d_parts, Address, H256};
use crate::params::ChainParams;
use crate::types::TxType;
use serde::{Deserialize, Serialize};

/// Gas of any transaction before its data.
pub const BASE_GAS: u64 = 21_000;
/// Extra gas of a WITHDRAWAL (it writes a withdrawal record).
pub const WITHDRAWAL_EXTRA_GAS: u64 = 20_000;
/// Gas per non-zero data byte.
pub const GAS_PER_NONZERO_BYTE: u64 = 16;
/// Gas per zero data byte.
pub const GAS_PER_ZERO_BYTE: u64 = 4;

/// Producer's share of every fee, percent.
pub const PRODUCER_SHARE_PCT: i64 = 70;
/// Share of every fee that goes to the other active sequencers (through the pool), percent.
pub const SEQUENCERS_SHARE_PCT: i64 = 20;
/// Share burned, percent (the remainder of the other two, so rounding is burned too).
pub const BURN_SHARE_PCT: i64 = 10;

/// The account that collects the 20 % share until the block end pays it out.
pub fn sequencer_pool_address() -> Address {
    hash160(b"CASL2/sequencer-pool")
}

/// Gas a transaction uses: [`BASE_GAS`], plus data bytes, plus the withdrawal record.
pub fn intrinsic_gas(tx_type: TxType, data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let nonzero = data.len() as u64 - zeros;
    let extra = if tx_type == TxType::Withdrawal {
        WITHDRAWAL_EXTRA_GAS
    } else {
        0
    };
    BASE_GAS + extra + zeros * GAS_PER_ZERO_BYTE + nonzero * GAS_PER_NONZERO_BYTE
}

/// Gas discount by reputation, percent: 0 below 70, then rising linearly to 50 at 100
/// (`(hat − 70) × 50 / 30`, rounded down; scores above 100 count as 100).
pub fn gas_discount_pct(hat_score: u32) -> i64 {
    if hat_score < 70 {
        return 0;
    }
    let h = hat_score.min(100) as i64;
    (h - 70) * 50 / 30
}

/// The fee of `gas_used` at `gas_price` with the sender's discount:
/// `⌊gas_used × gas_price × (100 − discount) / 100⌋`; `None` on overflow or a negative price.
pub fn fee(gas_used: u64, gas_price: i64, hat_score: u32) -> Option<i64> {
    if gas_price < 0 {
        return None;
    }
    let full = (gas_used as i128).checked_mul(gas_price as i128)?;
    let discounted = full.checked_mul((100 - gas_discount_pct(hat_score)) as i128)? / 100;
    i64::try_from(discounted).ok()
}

/// The most a transaction can pay in fees: its whole `gas_limit` at `gas_price`, without a
/// discount (what a sender's balance must cover beside the value). `None` on overflow or a
/// negative price.
pub fn max_fee(gas_limit: u64, gas_price: i64) -> Option<i64> {
    fee(gas_limit, gas_price, 0)
}

/// Split a fee: (producer, sequencer pool, burned), 70/20/10 with each of the first two rounded
/// down and the rounding burned. The three always add up to the fee.
pub fn split_fee(fee: i64) -> (i64, i64, i64) {
    let producer = fee / 100 * PRODUCER_SHARE_PCT + (fee % 100) * PRODUCER_SHARE_PCT / 100;
    let pool = fee / 100 * SEQUENCERS_SHARE_PCT + (fee % 100) * SEQUENCERS_SHARE_PCT / 100;
    (producer, pool, fee - producer - pool)
}

/// Bytes an account occupies in the state tree for rent: its 32-byte key and its 92-byte
/// `AccountState`.
pub const ACCOUNT_RENT_BYTES: u64 = 32 + 92;
/// A year of L2 block time for rent: 365 days in milliseconds.
pub const RENT_YEAR_MS: u64 = 365 * 24 * 60 * 60 * 1000;
/// Tag of the archive records of accounts that could not pay their rent.
pub const ARCHIVE_KEY_TAG: &[u8] = b"CASL2/archive";

/// The state rent parameters a step needs (from `ChainParams`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RentParams {
    /// Smallest units per byte per year (`ChainParams::state_rent_rate`).
    pub rate: u64,
    /// Milliseconds of L2 block time per block (`ChainParams::block_time_ms`).
    pub block_time_ms: u64,
}

impl RentParams {
    /// The rent parameters of a chain.
    pub fn of(p: &ChainParams) -> Self {
        RentParams {
            rate: p.state_rent_rate,
            block_time_ms: p.block_time_ms,
        }
    }

    /// Rent an account owes at block `now` when its `lastActivity` is block `last_activity`:
    /// `⌊rate × ACCOUNT_RENT_BYTES × (now − lastActivity) × blockTimeMs / RENT_YEAR_MS⌋`
    /// (0 when `now ≤ lastActivity`), computed exactly in 128 bits and capped at `i64::MAX`.
    pub fn owed(&self, last_activity: u64, now: u64) -> i64 {
        let blocks = now.saturating_sub(last_activity) as u128;
        let owed = (self.rate as u128)
            .saturating_mul(ACCOUNT_RENT_BYTES as u128)
            .saturating_mul(blocks)
            .saturating_mul(self.block_time_ms as u128)
            / RENT_YEAR_MS as u128;
        i64::try_from(owed).unwrap_or(i64::MAX)
    }
}

/// The state key of `address`'s archive record: `SHA256d("CASL2/archive" ‖ address)`.
pub fn archive_key(address: &Address) -> H256 {
    sha256d_parts(&[ARCHIVE_KEY_TAG, &address.0])
}

/// Transactions one sender may have in one block, by reputation (Property 14):
/// 10 below 50, 20 from 50, 50 from 70, 100 from 90.
pub fn tx_limit_per_block(hat_score: u32) -> u32 {
    match hat_score {
        0..=49 => 10,
        50..=69 => 20,
        70..=89 => 50,
        _ => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounts_and_splits() {
        assert_eq!(gas_discount_pct(0), 0);
        assert_eq!(gas_discount_pct(69), 0);
        assert_eq!(gas_discount_pct(70), 0);
        assert_eq!(gas_discount_pct(85), 25);
        assert_eq!(gas_discount_pct(100), 50);
        assert_eq!(gas_discount_pct(250), 50);
        assert_eq!(fee(21_000, 10, 0), Some(210_000));
        assert_eq!(fee(21_000, 10, 100), Some(105_000));
        assert_eq!(fee(21_000, -1, 0), None);
        assert_eq!(fee(u64::MAX, i64::MAX, 0), None);
        assert_eq!(split_fee(100), (70, 20, 10));
        assert_eq!(split_fee(9), (6, 1, 2));
        assert_eq!(split_fee(0), (0, 0, 0));
        let (a, b, c) = split_fee(i64::MAX);
        assert_eq!(a as i128 + b as i128 + c as i128, i64::MAX as i128);
        assert_eq!(intrinsic_gas(TxType::Transfer, &[0, 1]), 21_000 + 4 + 16);
        assert_eq!(intrinsic_gas(TxType::Withdrawal, &[]), 41_000);
    }

    #[test]
    fn rent_vectors() {
        // The design's rate: 1 unit per byte per year, 124 bytes, 500 ms blocks (mainnet).
        let r = RentParams {
            rate: 1,
            block_time_ms: 500,
        };
        let year_blocks = RENT_YEAR_MS / 500;
        assert_eq!(r.owed(0, year_blocks), 124);
        assert_eq!(r.owed(10, 10 + year_blocks), 124);
        assert_eq!(r.owed(0, year_blocks / 2), 62);
        // 1 unit is owed from ⌈63 072 000 / 124⌉ = 508 646 blocks on.
        assert_eq!(r.owed(0, 508_645), 0);
        assert_eq!(r.owed(0, 508_646), 1);
        assert_eq!(r.owed(100, 50), 0);
        assert_eq!(r.owed(7, 7), 0);
        let huge = RentParams {
            rate: u64::MAX,
            block_time_ms: u64::MAX,
        };
        assert_eq!(huge.owed(0, u64::MAX), i64::MAX);
        assert_eq!(RentParams::default().owed(0, u64::MAX), 0);
        assert_ne!(
            archive_key(&Address([1; 20])),
            archive_key(&Address([2; 20]))
        );
    }
}

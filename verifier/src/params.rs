//! Chain parameters per network. Time on L1 is counted in L1 blocks; L2 block times in
//! milliseconds. Regtest uses the design's own test values (stake 10 CAS, reputation 50,
//! challenge period 10 blocks, a batch every 5 blocks, 100 ms blocks); testnet and mainnet use
//! the real node's `l2_chainparams`, converted to L1 blocks of 2.5 minutes.

use crate::codec::{CodecError, Decode, Encode, Reader};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Smallest units per CAS (the node's `COIN`).
pub const COIN: i64 = 10_000_000;

/// Which parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Local testing: fast blocks, short periods, low stakes.
    Regtest,
    /// The public test network.
    Testnet,
    /// The main network.
    Mainnet,
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::Regtest => "regtest",
            Network::Testnet => "testnet",
            Network::Mainnet => "mainnet",
        })
    }
}

impl FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "regtest" => Ok(Network::Regtest),
            "testnet" => Ok(Network::Testnet),
            "mainnet" => Ok(Network::Mainnet),
            o => Err(format!(
                "unknown network {o:?} (regtest, testnet or mainnet)"
            )),
        }
    }
}

impl Network {
    /// The version byte of a Cascoin P2PKH address on this network (the real node's
    /// `base58Prefixes[PUBKEY_ADDRESS]`, `chainparams.cpp`): 40 on mainnet (addresses start with
    /// `H`), 111 on testnet and regtest (`m…`/`n…`).
    pub fn p2pkh_version(self) -> u8 {
        match self {
            Network::Mainnet => 40,
            Network::Testnet | Network::Regtest => 111,
        }
    }

    /// The name the real node gives this network (`getblockchaininfo`'s `chain`).
    pub fn node_chain_name(self) -> &'static str {
        match self {
            Network::Mainnet => "main",
            Network::Testnet => "test",
            Network::Regtest => "regtest",
        }
    }

    /// The network the real node names `chain` (`"main"`, `"test"` or `"regtest"`).
    pub fn from_node_chain(chain: &str) -> Result<Network, String> {
        match chain {
            "main" => Ok(Network::Mainnet),
            "test" => Ok(Network::Testnet),
            "regtest" => Ok(Network::Regtest),
            o => Err(format!(
                "the node runs network {o:?}, not one of main, test, regtest"
            )),
        }
    }
}

/// Every parameter the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainParams {
    /// The parameter set.
    pub network: Network,
    /// Target L2 block time (ms).
    pub block_time_ms: u64,
    /// L2 blocks per batch posted to L1.
    pub batch_interval: u64,
    /// Gas limit of one L2 block.
    pub block_gas_limit: u64,
    /// Standard challenge period (L1 blocks).
    pub challenge_period: u64,
    /// Challenge period for withdrawals of accounts with reputation ≥ `fast_withdrawal_hat`.
    pub fast_challenge_period: u64,
    /// HAT score from which the fast challenge period applies.
    pub fast_withdrawal_hat: u32,
    /// Bond a challenger locks (smallest units).
    pub challenge_bond: i64,
    /// Minimum sequencer stake (smallest units).
    pub min_sequencer_stake: i64,
    /// Minimum sequencer HAT score.
    pub min_sequencer_hat: u32,
    /// L1 blocks before an unbonding sequencer's stake is released.
    pub unbonding_delay: u64,
    /// L2 blocks a leader produces per slot.
    pub blocks_per_leader: u64,
    /// Time without a block after which the next backup takes over (ms).
    pub leader_timeout_ms: u64,
    /// Share of the total weight needed for a quorum, in percent.
    pub consensus_threshold_pct: u32,
    /// Largest deposit in one L1 transaction (smallest units).
    pub max_deposit_per_tx: i64,
    /// Largest sum of deposits per chain per L1 day (smallest units).
    pub max_daily_deposit: i64,
    /// L1 blocks in a day (for the daily deposit limit).
    pub l1_blocks_per_day: u64,
    /// L1 blocks within which a forced-inclusion transaction must appear in an L2 block.
    pub forced_inclusion_deadline: u64,
    /// L1 blocks without a new anchor after which the chain may be put in EMERGENCY.
    pub emergency_after: u64,
    /// How far an L2 block's timestamp may run ahead of its L1 anchor block's time (seconds).
    pub max_timestamp_drift: u64,
    /// Minimum stake slashed for a proven fraud (smallest units).
    pub min_slash: i64,
    /// State rent: smallest units per byte per year, a year being 365 days of L2 block time
    /// (`blockTimeMs` per block). The design's `STATE_RENT_RATE` is 1 (docs/protocol.md,
    /// "State rent").
    pub state_rent_rate: u64,
    /// `SEQ_OFFLINE`: an active sequencer whose signature is missing from each of the chain's
    /// last `offline_after` anchors may be reported by anyone and leaves the active set (0:
    /// never; the JSON default, for chains registered before the parameter existed).
    #[serde(default)]
    pub offline_after: u64,
}

impl ChainParams {
    /// The parameters of `network`.
    pub fn for_network(network: Network) -> ChainParams {
        match network {
            Network::Regtest => ChainParams {
                network,
                block_time_ms: 100,
                batch_interval: 5,
                block_gas_limit: 30_000_000,
                challenge_period: 10,
                fast_challenge_period: 2,
                fast_withdrawal_hat: 80,
                challenge_bond: COIN / 100,
                min_sequencer_stake: 10 * COIN,
                min_sequencer_hat: 50,
                unbonding_delay: 10,
                blocks_per_leader: 5,
                leader_timeout_ms: 10_000,
                consensus_threshold_pct: 67,
                max_deposit_per_tx: 10_000 * COIN,
                max_daily_deposit: 100_000 * COIN,
                l1_blocks_per_day: 576,
                forced_inclusion_deadline: 5,
                emergency_after: 50,
                max_timestamp_drift: 7_200,
                min_slash: COIN,
                state_rent_rate: 1,
                offline_after: 20,
            },
            Network::Testnet => ChainParams {
                network,
                block_time_ms: 1_000,
                batch_interval: 50,
                block_gas_limit: 30_000_000,
                challenge_period: 576,
                fast_challenge_period: 24,
                fast_withdrawal_hat: 80,
                challenge_bond: COIN,
                min_sequencer_stake: 10 * COIN,
                min_sequencer_hat: 50,
                unbonding_delay: 576,
                blocks_per_leader: 10,
                leader_timeout_ms: 5_000,
                consensus_threshold_pct: 67,
                max_deposit_per_tx: 10_000 * COIN,
                max_daily_deposit: 100_000 * COIN,
                l1_blocks_per_day: 576,
                forced_inclusion_deadline: 576,
                emergency_after: 2 * 576,
                max_timestamp_drift: 7_200,
                min_slash: COIN,
                state_rent_rate: 1,
                offline_after: 100,
            },
            Network::Mainnet => ChainParams {
                network,
                block_time_ms: 500,
                batch_interval: 100,
                block_gas_limit: 30_000_000,
                challenge_period: 7 * 576,
                fast_challenge_period: 576,
                fast_withdrawal_hat: 80,
                challenge_bond: 10 * COIN,
                min_sequencer_stake: 100 * COIN,
                min_sequencer_hat: 70,
                unbonding_delay: 7 * 576,
                blocks_per_leader: 10,
                leader_timeout_ms: 3_000,
                consensus_threshold_pct: 67,
                max_deposit_per_tx: 10_000 * COIN,
                max_daily_deposit: 100_000 * COIN,
                l1_blocks_per_day: 576,
                forced_inclusion_deadline: 576,
                emergency_after: 7 * 576,
                max_timestamp_drift: 7_200,
                min_slash: 10 * COIN,
                state_rent_rate: 1,
                offline_after: 100,
            },
        }
    }

    /// The challenge period for a withdrawal by an account with this HAT score.
    pub fn challenge_period_for(&self, hat_score: u32) -> u64 {
        if hat_score >= self.fast_withdrawal_hat {
            self.fast_challenge_period
        } else {
            self.challenge_period
        }
    }
}

fn network_tag(n: Network) -> u8 {
    match n {
        Network::Regtest => 0,
        Network::Testnet => 1,
        Network::Mainnet => 2,
    }
}

/// `ChainParams` in field order: `network u8` then every field at its fixed width (LE).
impl Encode for ChainParams {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let p = self;
        out.push(network_tag(p.network));
        for v in [p.block_time_ms, p.batch_interval, p.block_gas_limit] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [p.challenge_period, p.fast_challenge_period] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&p.fast_withdrawal_hat.to_le_bytes());
        out.extend_from_slice(&p.challenge_bond.to_le_bytes());
        out.extend_from_slice(&p.min_sequencer_stake.to_le_bytes());
        out.extend_from_slice(&p.min_sequencer_hat.to_le_bytes());
        for v in [p.unbonding_delay, p.blocks_per_leader, p.leader_timeout_ms] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&p.consensus_threshold_pct.to_le_bytes());
        out.extend_from_slice(&p.max_deposit_per_tx.to_le_bytes());
        out.extend_from_slice(&p.max_daily_deposit.to_le_bytes());
        for v in [
            p.l1_blocks_per_day,
            p.forced_inclusion_deadline,
            p.emergency_after,
            p.max_timestamp_drift,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&p.min_slash.to_le_bytes());
        out.extend_from_slice(&p.state_rent_rate.to_le_bytes());
        out.extend_from_slice(&p.offline_after.to_le_bytes());
    }
}

impl Decode for ChainParams {
    const MIN_SIZE: usize = 1 + 8 * 19 + 4 * 3;
    fn decode_from(r: &mut Reader<'_>) -> Result<ChainParams, CodecError> {
        let network = match r.u8("network")? {
            0 => Network::Regtest,
            1 => Network::Testnet,
            2 => Network::Mainnet,
            n => {
                return Err(CodecError::Invalid {
                    what: "network",
                    detail: format!("unknown network {n}"),
                })
            }
        };
        Ok(ChainParams {
            network,
            block_time_ms: r.u64("blockTimeMs")?,
            batch_interval: r.u64("batchInterval")?,
            block_gas_limit: r.u64("blockGasLimit")?,
            challenge_period: r.u64("challengePeriod")?,
            fast_challenge_period: r.u64("fastChallengePeriod")?,
            fast_withdrawal_hat: r.u32("fastWithdrawalHat")?,
            challenge_bond: r.i64("challengeBond")?,
            min_sequencer_stake: r.i64("minSequencerStake")?,
            min_sequencer_hat: r.u32("minSequencerHat")?,
            unbonding_delay: r.u64("unbondingDelay")?,
            blocks_per_leader: r.u64("blocksPerLeader")?,
            leader_timeout_ms: r.u64("leaderTimeoutMs")?,
            consensus_threshold_pct: r.u32("consensusThresholdPct")?,
            max_deposit_per_tx: r.i64("maxDepositPerTx")?,
            max_daily_deposit: r.i64("maxDailyDeposit")?,
            l1_blocks_per_day: r.u64("l1BlocksPerDay")?,
            forced_inclusion_deadline: r.u64("forcedInclusionDeadline")?,
            emergency_after: r.u64("emergencyAfter")?,
            max_timestamp_drift: r.u64("maxTimestampDrift")?,
            min_slash: r.i64("minSlash")?,
            state_rent_rate: r.u64("stateRentRate")?,
            offline_after: r.u64("offlineAfter")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtest_uses_the_design_values() {
        let p = ChainParams::for_network(Network::Regtest);
        assert_eq!(p.min_sequencer_stake, 10 * COIN);
        assert_eq!(p.min_sequencer_hat, 50);
        assert_eq!(p.challenge_period, 10);
        assert_eq!(p.batch_interval, 5);
        assert_eq!(p.block_time_ms, 100);
        assert_eq!(p.challenge_period_for(80), p.fast_challenge_period);
        assert_eq!(p.challenge_period_for(79), p.challenge_period);
        assert_eq!("mainnet".parse::<Network>(), Ok(Network::Mainnet));
        assert!("main".parse::<Network>().is_err());
    }

    #[test]
    fn params_encode_at_their_fixed_size_and_round_trip() {
        for n in [Network::Regtest, Network::Testnet, Network::Mainnet] {
            let p = ChainParams::for_network(n);
            let bytes = p.encode();
            assert_eq!(bytes.len(), ChainParams::MIN_SIZE);
            assert_eq!(ChainParams::decode(&bytes), Ok(p));
            // Truncated: an error naming the field, never a panic.
            let e = ChainParams::decode(&bytes[..bytes.len() - 1]).unwrap_err();
            assert!(e.to_string().contains("offlineAfter"), "{e}");
        }
    }
}

//! The real node's L2 registry: `l2_registerchain` and `l2_updatechainstatus`, with the limits
//! the node applies (`src/l2/l2_registry.h` of Casraw/Cascoin, branch `cvm`) checked before the
//! call so that a refusal names the limit and what to change.
//!
//! The node assigns a chain's id itself (from the name, the deployer key and the time): the id
//! comes back in the answer, and that id is the chain from then on.

use super::rpc::{amount_param, param};
use super::{methods, types, CascoindClient, Submitted, L1_BLOCK_SECONDS};
use crate::l1::L1ClientError;
use casl2_verifier::l1::L2Status;
use casl2_verifier::params::{ChainParams, COIN};

/// Smallest deployer stake the node accepts (`MIN_DEPLOYER_STAKE`, 1000 CAS).
pub const MIN_DEPLOYER_STAKE: i64 = 1000 * COIN;
/// Longest chain name (`MAX_CHAIN_NAME_LENGTH`).
pub const MAX_CHAIN_NAME: usize = 64;
/// L2 block time range, ms (`MIN_BLOCK_TIME_MS`, `MAX_BLOCK_TIME_MS`).
pub const BLOCK_TIME_MS: (u64, u64) = (100, 60_000);
/// Block gas limit range (`MIN_GAS_LIMIT`, `MAX_GAS_LIMIT`).
pub const GAS_LIMIT: (u64, u64) = (1_000_000, 100_000_000);
/// Challenge period range, seconds (`MIN_CHALLENGE_PERIOD`, `MAX_CHALLENGE_PERIOD`).
pub const CHALLENGE_SECONDS: (u64, u64) = (3_600, 2_592_000);
/// Smallest minimum sequencer stake (`MIN_SEQUENCER_STAKE`, 10 CAS).
pub const MIN_SEQUENCER_STAKE: i64 = 10 * COIN;
/// Minimum sequencer HAT score range (`MIN_SEQUENCER_HAT_SCORE`, `MAX_SEQUENCER_HAT_SCORE`).
pub const SEQUENCER_HAT: (u32, u32) = (50, 100);

/// What `l2_registerchain` is sent: casl2's parameters in the node's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    /// The chain name.
    pub name: String,
    /// Deployer stake (smallest units).
    pub stake: i64,
    /// L2 block time (ms).
    pub block_time_ms: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Challenge period in seconds (casl2's L1 blocks × 150 s).
    pub challenge_seconds: u64,
    /// Minimum sequencer stake (smallest units).
    pub min_sequencer_stake: i64,
    /// Minimum sequencer HAT score.
    pub min_sequencer_hat: u32,
}

fn out_of(what: &str, got: impl std::fmt::Display, range: String, fix: &str) -> String {
    format!("the real node refuses {what} {got}: it wants {range}; {fix}")
}

/// Check a registration against the node's limits and convert it to the node's units; the
/// error names the limit that is broken and what to change.
pub fn node_registration(
    name: &str,
    params: &ChainParams,
    deployer_stake: i64,
) -> Result<NodeRegistration, String> {
    let mut chars = name.chars();
    let name_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok || name.len() > MAX_CHAIN_NAME {
        return Err(format!(
            "the real node refuses the chain name {name:?}: it wants 1..={MAX_CHAIN_NAME} \
             characters, a letter first, then letters, digits, '_' or '-'"
        ));
    }
    if deployer_stake < MIN_DEPLOYER_STAKE {
        return Err(out_of(
            "a deployer stake of",
            format!("{} CAS", deployer_stake / COIN),
            format!("at least {} CAS", MIN_DEPLOYER_STAKE / COIN),
            "raise the deployer stake",
        ));
    }
    let (lo, hi) = BLOCK_TIME_MS;
    if !(lo..=hi).contains(&params.block_time_ms) {
        return Err(out_of(
            "a block time of",
            format!("{} ms", params.block_time_ms),
            format!("{lo}..={hi} ms"),
            "change the block time",
        ));
    }
    let (lo, hi) = GAS_LIMIT;
    if !(lo..=hi).contains(&params.block_gas_limit) {
        return Err(out_of(
            "a block gas limit of",
            params.block_gas_limit,
            format!("{lo}..={hi}"),
            "change the block gas limit",
        ));
    }
    let challenge_seconds = params.challenge_period.saturating_mul(L1_BLOCK_SECONDS);
    let (lo, hi) = CHALLENGE_SECONDS;
    if !(lo..=hi).contains(&challenge_seconds) {
        return Err(out_of(
            "a challenge period of",
            format!(
                "{} L1 blocks ({challenge_seconds} s)",
                params.challenge_period
            ),
            format!(
                "{lo}..={hi} s, that is {}..={} L1 blocks of {L1_BLOCK_SECONDS} s",
                lo.div_ceil(L1_BLOCK_SECONDS),
                hi / L1_BLOCK_SECONDS
            ),
            "change the challenge period (casl2's regtest preset has 10 blocks: too short for \
             the real node)",
        ));
    }
    if params.min_sequencer_stake < MIN_SEQUENCER_STAKE {
        return Err(out_of(
            "a minimum sequencer stake of",
            format!("{} CAS", params.min_sequencer_stake as f64 / COIN as f64),
            format!("at least {} CAS", MIN_SEQUENCER_STAKE / COIN),
            "raise the minimum sequencer stake",
        ));
    }
    let (lo, hi) = SEQUENCER_HAT;
    if !(lo..=hi).contains(&params.min_sequencer_hat) {
        return Err(out_of(
            "a minimum sequencer HAT score of",
            params.min_sequencer_hat,
            format!("{lo}..={hi}"),
            "change the minimum sequencer HAT score",
        ));
    }
    Ok(NodeRegistration {
        name: name.to_string(),
        stake: deployer_stake,
        block_time_ms: params.block_time_ms,
        gas_limit: params.block_gas_limit,
        challenge_seconds,
        min_sequencer_stake: params.min_sequencer_stake,
        min_sequencer_hat: params.min_sequencer_hat,
    })
}

/// The node's name of a chain status (`L2ChainStatusToString`).
pub fn node_status_name(status: L2Status) -> &'static str {
    match status {
        L2Status::Bootstrapping => "BOOTSTRAPPING",
        L2Status::Active => "ACTIVE",
        L2Status::Paused => "PAUSED",
        L2Status::Emergency => "EMERGENCY",
        L2Status::Deprecated => "DEPRECATED",
    }
}

fn misc(method: &str, message: &str) -> L1ClientError {
    L1ClientError::Rpc {
        code: -1,
        message: format!("{method} failed: {message}"),
        name: Some("RPC_MISC_ERROR".into()),
    }
}

impl CascoindClient {
    /// `l2_registerchain`: register `name` with `params` in the node's registry, checked first
    /// against the node's limits ([`node_registration`]). The node assigns the chain id; it is
    /// in the result ([`Submitted::ChainRegistered`]).
    pub async fn register_chain(
        &self,
        name: &str,
        params: &ChainParams,
        deployer_stake: i64,
    ) -> Result<Submitted, L1ClientError> {
        let r = node_registration(name, params, deployer_stake)
            .map_err(|e| L1ClientError::InvalidTransaction(format!("RegisterChain: {e}")))?;
        let answer: types::Registered = self
            .rpc
            .call(
                methods::L2_REGISTERCHAIN,
                &[
                    param(&r.name),
                    amount_param(r.stake),
                    param(&r.block_time_ms),
                    param(&r.gas_limit),
                    param(&r.challenge_seconds),
                    amount_param(r.min_sequencer_stake),
                    param(&r.min_sequencer_hat),
                ],
            )
            .await?;
        if !answer.success {
            return Err(misc(methods::L2_REGISTERCHAIN, &answer.message));
        }
        Ok(Submitted::ChainRegistered {
            chain_id: answer.chain_id,
            deployer: answer.deployer,
        })
    }

    /// `l2_updatechainstatus`: set `chain`'s status in the node's registry; returns the status
    /// it had (the node's name). An unknown chain is the node's `-8 "Chain not found"`.
    pub async fn set_chain_status(
        &self,
        chain: u64,
        status: L2Status,
    ) -> Result<String, L1ClientError> {
        let answer: types::StatusUpdated = self
            .rpc
            .call(
                methods::L2_UPDATECHAINSTATUS,
                &[param(&chain), param(node_status_name(status))],
            )
            .await?;
        if !answer.success {
            return Err(misc(methods::L2_UPDATECHAINSTATUS, &answer.message));
        }
        Ok(answer.old_status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casl2_verifier::params::Network;

    #[test]
    fn limits_name_what_to_change() {
        let mut p = ChainParams::for_network(Network::Regtest);
        let e = node_registration("casl2-a", &p, 1000 * COIN).unwrap_err();
        assert!(
            e.contains("challenge period of 10 L1 blocks (1500 s)"),
            "{e}"
        );
        assert!(e.contains("24..=17280 L1 blocks"), "{e}");
        p.challenge_period = 24;
        let r = node_registration("casl2-a", &p, 1000 * COIN).unwrap();
        assert_eq!(r.challenge_seconds, 3600);
        let e = node_registration("casl2-a", &p, 999 * COIN).unwrap_err();
        assert!(e.contains("at least 1000 CAS"), "{e}");
        for bad in ["", "1abc", "a b", &"a".repeat(65)] {
            let e = node_registration(bad, &p, 1000 * COIN).unwrap_err();
            assert!(e.contains("chain name"), "{e}");
        }
        p.min_sequencer_hat = 101;
        let e = node_registration("x", &p, 1000 * COIN).unwrap_err();
        assert!(e.contains("HAT score of 101"), "{e}");
    }
}

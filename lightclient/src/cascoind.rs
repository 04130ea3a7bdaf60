//! The cascoind backend: [`CascoindClient`], JSON-RPC over HTTP to a real Cascoin node
//! (`shared/cascoin-compat.md`, "RPCs the real node answers"; `docs/protocol.md`, "cascoind
//! backend").
//!
//! What it converts: hashes and addresses between the node's reversed `GetHex()` text and
//! casl2's raw byte order (both ways); booleans printed as `0`/`1`; CAS amounts printed as
//! decimal numbers, parsed digit by digit into smallest units (10^7 per CAS) and sent back as
//! exact decimal numbers. What the real node cannot do (casl2 blocks and accounts, state
//! anchors, the L1→L2 queue, escrowed and emergency withdrawals, fraud games and proofs, …) is
//! an [`L1ClientError::Unsupported`] naming what is missing.
//!
//! Operations the node performs with its own wallet (burns, batch commitments, transfers,
//! chain registrations, sequencer announcements) are paid and signed by that wallet: the
//! [`L1Tx`]'s `from`, `nonce` and casl2 signature select nothing on the real L1.

pub mod amount;
pub mod base58;
pub mod methods;
pub mod registry;
pub mod rpc;
pub mod types;

use crate::l1::{L1AccountInfo, L1BlockHeader, L1Client, L1ClientError};
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Op, L1Tx, L2ChainInfo, QueuedMessage, Sequencer,
};
use casl2_verifier::params::Network;
use casl2_verifier::types::BurnData;
use casl2_verifier::{Address, H256};
use rpc::{amount_param, param, Auth, Transport, METHOD_NOT_FOUND};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::OnceLock;
pub use types::{
    BurnStatus, NodeBlock, NodeChain, NodeChainInfo, NodeChainParams, NodeChainSummary, NodeLeader,
    NodeSequencer,
};

/// Marker at the start of a batch commitment's `OP_RETURN` data.
pub const BATCH_COMMITMENT_MARKER: &[u8; 6] = b"CASL2B";
/// Length of a batch commitment: marker, chain id u64, batch header hash, DA data root.
pub const BATCH_COMMITMENT_LEN: usize = 6 + 8 + 32 + 32;
/// Seconds per Cascoin L1 block (`nPowTargetSpacing` = 2.5 min), to turn casl2's challenge
/// periods (in L1 blocks) into the node's seconds.
pub const L1_BLOCK_SECONDS: u64 = 150;

/// The `OP_RETURN` data that commits a batch to the real L1: `"CASL2B" ‖ chain u64 LE ‖ batch
/// header hash ‖ DA data root (erasure-coding root)`, 78 bytes (under the node's 80-byte
/// data-carrier limit).
pub fn batch_commitment(chain: u64, batch_hash: &H256, data_root: &H256) -> Vec<u8> {
    let mut out = Vec::with_capacity(BATCH_COMMITMENT_LEN);
    out.extend_from_slice(BATCH_COMMITMENT_MARKER);
    out.extend_from_slice(&chain.to_le_bytes());
    out.extend_from_slice(&batch_hash.0);
    out.extend_from_slice(&data_root.0);
    out
}

/// How to reach a node.
#[derive(Debug, Clone)]
pub struct CascoindConfig {
    /// The RPC URL, e.g. `http://127.0.0.1:22222/` (a wallet path like `/wallet/w1` works too).
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// The network the caller expects (`?network=` in an `--l1` URL). `None`: whatever the node
    /// says in `getblockchaininfo`. The network picks the address version
    /// ([`Network::p2pkh_version`]); a node on another network is an error at the first call
    /// that needs it ([`CascoindClient::network`]).
    pub network: Option<Network>,
}

impl CascoindConfig {
    /// A config for `url` with `auth`, the network read from the node.
    pub fn new(url: impl Into<String>, auth: Auth) -> CascoindConfig {
        CascoindConfig {
            url: url.into(),
            auth,
            network: None,
        }
    }
}

/// What the node did with a submitted [`L1Tx`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// An L1 transaction was broadcast (burn, batch commitment, transfer); its id, raw order.
    Transaction {
        /// The L1 transaction id.
        txid: H256,
    },
    /// `l2_registerchain` registered the chain in the node's registry (no L1 transaction).
    ChainRegistered {
        /// The chain id the node assigned (the requested one is not used).
        chain_id: u64,
        /// The deployer: a fresh key of the node's wallet.
        deployer: Address,
    },
    /// `l2_updatechainstatus` changed a chain's status in the node's registry (no L1
    /// transaction).
    ChainStatusSet {
        /// The chain.
        chain: u64,
        /// Its status before, as the node names it.
        old_status: String,
    },
    /// `l2_announcesequencer` announced a fresh key of the node's wallet (no L1 transaction).
    SequencerAnnounced {
        /// The announced sequencer address.
        address: Address,
        /// Whether the node considers it eligible.
        eligible: Option<bool>,
    },
}

/// The cascoind backend.
#[derive(Debug)]
pub struct CascoindClient {
    rpc: Transport,
    expected: Option<Network>,
    network: OnceLock<Network>,
}

fn unsupported(what: &'static str, why: &'static str) -> L1ClientError {
    L1ClientError::Unsupported { what, why }
}

const NO_FRAUD: &str = "the real node has no RPC to run fraud games or verify fraud proofs on L1";

impl CascoindClient {
    /// A client of the node described by `config`.
    pub fn new(config: CascoindConfig) -> CascoindClient {
        CascoindClient {
            rpc: Transport::new(config.url, config.auth),
            expected: config.network,
            network: OnceLock::new(),
        }
    }

    /// Call any node method with positional JSON `params` (amounts in `params` go through
    /// `serde_json::Value` and so lose exactness: use the typed methods for amounts).
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
    ) -> Result<T, L1ClientError> {
        let p: Vec<Box<RawValue>> = params.iter().map(param).collect();
        self.rpc.call(method, &p).await
    }

    /// The network the node runs (`getblockchaininfo`'s `chain`, asked once); an error when it
    /// is not the one the config expects.
    pub async fn network(&self) -> Result<Network, L1ClientError> {
        if let Some(n) = self.network.get() {
            return Ok(*n);
        }
        let info: types::BlockchainInfo = self.rpc.call(methods::GETBLOCKCHAININFO, &[]).await?;
        let n = Network::from_node_chain(&info.chain).map_err(L1ClientError::Decode)?;
        if let Some(want) = self.expected.filter(|w| *w != n) {
            return Err(L1ClientError::Mismatch(format!(
                "the L1 URL says network {want}, the node runs {n} ({:?}); fix ?network= in --l1",
                info.chain
            )));
        }
        Ok(*self.network.get_or_init(|| n))
    }

    /// The node's P2PKH address for a casl2 address, with the version byte of the node's
    /// network (40 on mainnet, 111 on testnet and regtest).
    pub async fn node_address(&self, address: &Address) -> Result<String, L1ClientError> {
        let version = self.network().await?.p2pkh_version();
        Ok(base58::p2pkh_address(address, version))
    }

    /// `getblock <hash> 1`, the hash sent reversed and checked on the way back.
    pub async fn node_block(&self, hash: &H256) -> Result<NodeBlock, L1ClientError> {
        let b: NodeBlock = self
            .rpc
            .call(methods::GETBLOCK, &[param(&hash.to_node_hex()), param(&1)])
            .await?;
        if b.hash != *hash {
            return Err(L1ClientError::Decode(format!(
                "getblock: asked block {hash}, got {}",
                b.hash
            )));
        }
        Ok(b)
    }

    /// `l2_getchaininfo`: the L2 chain this node runs.
    pub async fn chain_info(&self) -> Result<NodeChainInfo, L1ClientError> {
        self.rpc.call(methods::L2_GETCHAININFO, &[]).await
    }

    /// `l2_getregisteredchain <id>`: `None` when the registry does not know it.
    pub async fn registered_chain(&self, chain: u64) -> Result<Option<NodeChain>, L1ClientError> {
        let raw = self
            .rpc
            .call_raw(methods::L2_GETREGISTEREDCHAIN, &[param(&chain)])
            .await?;
        let found: types::FoundFlag = serde_json::from_str(raw.get())
            .map_err(|e| L1ClientError::Decode(format!("l2_getregisteredchain: {e}")))?;
        if !found.found {
            return Ok(None);
        }
        serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| L1ClientError::Decode(format!("l2_getregisteredchain: {e}")))
    }

    /// `l2_listregisteredchains`.
    pub async fn registered_chains(&self) -> Result<Vec<NodeChainSummary>, L1ClientError> {
        self.rpc.call(methods::L2_LISTREGISTEREDCHAINS, &[]).await
    }

    /// `l2_getsequencers`: the node's own chain's sequencers (`eligible_only` as the node's
    /// flag).
    pub async fn node_sequencers(
        &self,
        eligible_only: bool,
    ) -> Result<Vec<NodeSequencer>, L1ClientError> {
        self.rpc
            .call(methods::L2_GETSEQUENCERS, &[param(&eligible_only)])
            .await
    }

    /// `l2_getleader`.
    pub async fn leader(&self) -> Result<NodeLeader, L1ClientError> {
        self.rpc.call(methods::L2_GETLEADER, &[]).await
    }

    /// `l2_getburnstatus <txid>` (sent reversed).
    pub async fn burn_status(&self, txid: &H256) -> Result<BurnStatus, L1ClientError> {
        self.rpc
            .call(methods::L2_GETBURNSTATUS, &[param(&txid.to_node_hex())])
            .await
    }

    /// Sign `hex` with the node's wallet: `signrawtransactionwithwallet`, or the older
    /// `signrawtransaction` when the node has no such method. Fails unless every input is signed.
    pub async fn sign_with_wallet(&self, hex: &str) -> Result<String, L1ClientError> {
        let p = [param(hex)];
        let signed: types::Signed = match self
            .rpc
            .call(methods::SIGNRAWTRANSACTIONWITHWALLET, &p)
            .await
        {
            Err(L1ClientError::Rpc {
                code: METHOD_NOT_FOUND,
                ..
            }) => self.rpc.call(methods::SIGNRAWTRANSACTION, &p).await?,
            r => r?,
        };
        if !signed.complete {
            return Err(L1ClientError::Rpc {
                code: -4,
                message: format!(
                    "the node's wallet could not sign every input (locked wallet or foreign \
                     inputs): {}",
                    signed.errors.unwrap_or(Value::Null)
                ),
                name: Some("RPC_WALLET_ERROR".into()),
            });
        }
        Ok(signed.hex)
    }

    /// Build, fund (`fundrawtransaction`), sign and broadcast a transaction with `outputs`
    /// (the `createrawtransaction` output object); returns the txid in raw order.
    async fn wallet_send(&self, outputs: Box<RawValue>) -> Result<H256, L1ClientError> {
        let raw: String = self
            .rpc
            .call(methods::CREATERAWTRANSACTION, &[param(&json!([])), outputs])
            .await?;
        let funded: types::Funded = self
            .rpc
            .call(methods::FUNDRAWTRANSACTION, &[param(&raw)])
            .await?;
        let signed = self.sign_with_wallet(&funded.hex).await?;
        let txid: String = self
            .rpc
            .call(methods::SENDRAWTRANSACTION, &[param(&signed)])
            .await?;
        H256::from_node_hex(&txid)
            .map_err(|e| L1ClientError::Decode(format!("sendrawtransaction: txid {txid:?}: {e}")))
    }

    async fn burn(&self, script: &[u8]) -> Result<H256, L1ClientError> {
        let burn = BurnData::parse_script(script)
            .map_err(|e| L1ClientError::InvalidTransaction(format!("BurnDeposit: {e}")))?;
        let created: types::CreatedBurn = self
            .rpc
            .call(
                methods::L2_CREATEBURNTX,
                &[amount_param(burn.amount), param(&burn.recipient.to_hex())],
            )
            .await?;
        let node_script = created
            .burn_script
            .trim_start_matches("0x")
            .to_ascii_lowercase();
        if node_script != hex::encode(script) || created.burn_amount != burn.amount {
            return Err(L1ClientError::Mismatch(format!(
                "l2_createburntx built script {node_script} (chain {}, amount {}) for the burn \
                 {} (chain {}, amount {}); nothing was sent",
                created.chain_id,
                created.burn_amount,
                hex::encode(script),
                burn.chain_id,
                burn.amount
            )));
        }
        let signed = self.sign_with_wallet(&created.hex).await?;
        let sent: types::SentBurn = self
            .rpc
            .call(methods::L2_SENDBURNTX, &[param(&signed)])
            .await?;
        Ok(sent.txid)
    }

    /// Submit `tx` and say what the node did; [`L1Client::send_transaction`] is this with the
    /// result reduced to an id.
    pub async fn submit(&self, tx: &L1Tx) -> Result<Submitted, L1ClientError> {
        let txid = |txid| Ok(Submitted::Transaction { txid });
        match &tx.op {
            L1Op::BurnDeposit { script } => txid(self.burn(script).await?),
            L1Op::Transfer { to, amount } => {
                if *amount <= 0 {
                    return Err(L1ClientError::InvalidTransaction(format!(
                        "Transfer: amount must be positive, got {amount}"
                    )));
                }
                let out = format!(
                    "{{{}:{}}}",
                    param(&self.node_address(to).await?).get(),
                    amount_param(*amount).get()
                );
                let out = RawValue::from_string(out)
                    .map_err(|e| L1ClientError::InvalidTransaction(format!("Transfer: {e}")))?;
                txid(self.wallet_send(out).await?)
            }
            L1Op::PostBatch {
                chain,
                header,
                commitment,
                ..
            } => {
                if header.l2_chain_id != *chain {
                    return Err(L1ClientError::InvalidTransaction(format!(
                        "PostBatch: header is for chain {}, posted to chain {chain}",
                        header.l2_chain_id
                    )));
                }
                let data =
                    batch_commitment(*chain, &header.hash(), &commitment.erasure_coding_root);
                let out = param(&json!({ "data": hex::encode(data) }));
                txid(self.wallet_send(out).await?)
            }
            L1Op::AnnounceSequencer {
                chain,
                stake,
                endpoint,
            } => {
                let info = self.chain_info().await?;
                if info.chain_id != *chain {
                    return Err(L1ClientError::InvalidTransaction(format!(
                        "AnnounceSequencer: the node runs L2 chain {}, not {chain}; \
                         l2_announcesequencer announces only for the node's own chain",
                        info.chain_id
                    )));
                }
                let hat = self.hat_score(&tx.from).await?;
                let a: types::Announced = self
                    .rpc
                    .call(
                        methods::L2_ANNOUNCESEQUENCER,
                        &[amount_param(*stake), param(&hat), param(endpoint)],
                    )
                    .await?;
                if !a.success {
                    return Err(L1ClientError::Rpc {
                        code: -1,
                        message: format!("l2_announcesequencer failed: {}", a.message),
                        name: Some("RPC_MISC_ERROR".into()),
                    });
                }
                Ok(Submitted::SequencerAnnounced {
                    address: a.address,
                    eligible: a.eligible,
                })
            }
            // The node assigns the id itself: the requested `chain_id` is not sent, and the
            // answer carries the node's.
            L1Op::RegisterChain {
                name,
                params,
                deployer_stake,
                ..
            } => self.register_chain(name, params, *deployer_stake).await,
            L1Op::SetHatScore { .. } => Err(unsupported(
                "L1Op::SetHatScore",
                "the real node computes HAT v2 scores from its trust graph; there is no authority \
                 that sets them",
            )),
            L1Op::SetChainStatus { chain, status } => {
                let old = self.set_chain_status(*chain, *status).await?;
                Ok(Submitted::ChainStatusSet {
                    chain: *chain,
                    old_status: old,
                })
            }
            L1Op::Unbond { .. } | L1Op::WithdrawStake { .. } => Err(unsupported(
                "L1Op::Unbond/WithdrawStake",
                "the real node does not lock sequencer stakes on L1, so there is nothing to \
                 unbond or withdraw",
            )),
            L1Op::Deposit { .. } => Err(unsupported(
                "L1Op::Deposit",
                "the real node has no bridge escrow; deposit with L1Op::BurnDeposit (L2BURN)",
            )),
            L1Op::ForceTransaction { .. } => Err(unsupported(
                "L1Op::ForceTransaction",
                "the real node has no RPC for the forced-inclusion queue",
            )),
            L1Op::FinalizeWithdrawal { .. } => Err(unsupported(
                "L1Op::FinalizeWithdrawal",
                "the real node has no escrow, no state anchors and no RPC that pays a withdrawal \
                 against a proof",
            )),
            L1Op::EmergencyWithdraw { .. } => Err(unsupported(
                "L1Op::EmergencyWithdraw",
                "the real node has no emergency mode and no RPC for emergency exits",
            )),
            L1Op::OpenChallenge { .. } => Err(unsupported("L1Op::OpenChallenge", NO_FRAUD)),
            L1Op::BisectReveal { .. } => Err(unsupported("L1Op::BisectReveal", NO_FRAUD)),
            L1Op::BisectAnswer { .. } => Err(unsupported("L1Op::BisectAnswer", NO_FRAUD)),
            L1Op::SubmitOneStepProof { .. } => {
                Err(unsupported("L1Op::SubmitOneStepProof", NO_FRAUD))
            }
            L1Op::SubmitFraudProof { .. } => Err(unsupported("L1Op::SubmitFraudProof", NO_FRAUD)),
            L1Op::Timeout { .. } => Err(unsupported("L1Op::Timeout", NO_FRAUD)),
            L1Op::ChallengeAvailability { .. }
            | L1Op::AnswerAvailability { .. }
            | L1Op::TimeoutAvailability { .. } => Err(unsupported(
                "L1Op::ChallengeAvailability/AnswerAvailability/TimeoutAvailability",
                NO_FRAUD,
            )),
            L1Op::ReportDoubleSign { .. } => Err(unsupported(
                "L1Op::ReportDoubleSign",
                "the node has no RPC that takes double-sign evidence or slashes a sequencer's stake",
            )),
            L1Op::ReportOffline { .. } => Err(unsupported(
                "L1Op::ReportOffline",
                "the node keeps no anchors with their signers and has no RPC that removes a \
                 sequencer from its active set",
            )),
        }
    }
}

impl L1Client for CascoindClient {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        self.rpc.call(methods::GETBLOCKCOUNT, &[]).await
    }

    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        let s: String = self
            .rpc
            .call(methods::GETBLOCKHASH, &[param(&height)])
            .await?;
        H256::from_node_hex(&s)
            .map_err(|e| L1ClientError::Decode(format!("getblockhash: {s:?}: {e}")))
    }

    async fn block_header(&self, hash: &H256) -> Result<L1BlockHeader, L1ClientError> {
        let b = self.node_block(hash).await?;
        Ok(L1BlockHeader {
            hash: b.hash,
            height: b.height,
            time: b.time,
            prev_hash: b.previousblockhash.unwrap_or(H256::ZERO),
        })
    }

    async fn block(&self, _hash: &H256) -> Result<L1Block, L1ClientError> {
        Err(unsupported(
            "block",
            "the real node's blocks are Bitcoin-style blocks of UTXO transactions, not casl2 \
             L1Blocks; use block_header",
        ))
    }

    async fn account(&self, _address: &Address) -> Result<L1AccountInfo, L1ClientError> {
        Err(unsupported(
            "account",
            "the real node keeps UTXOs, not account balances and nonces; use hat_score for the \
             reputation",
        ))
    }

    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError> {
        let t: types::SecureTrust = self
            .rpc
            .call(
                methods::GETSECURETRUST,
                &[param(&self.node_address(address).await?)],
            )
            .await?;
        let text = t.trust_score.get();
        let score = match text.split_once('.') {
            Some((i, f)) if f.bytes().all(|b| b == b'0') => i.parse::<u32>(),
            Some(_) => "x".parse::<u32>(),
            None => text.parse::<u32>(),
        }
        .ok()
        .filter(|s| *s <= 100)
        .ok_or_else(|| {
            L1ClientError::Decode(format!(
                "getsecuretrust: trust_score {text} is not an integer 0..=100"
            ))
        })?;
        Ok(score)
    }

    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        Ok(match self.submit(tx).await? {
            Submitted::Transaction { txid } => txid,
            Submitted::ChainRegistered { .. }
            | Submitted::ChainStatusSet { .. }
            | Submitted::SequencerAnnounced { .. } => tx.hash(),
        })
    }

    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        Err(unsupported(
            "chains",
            "the real node's registry has no casl2 ChainParams, genesis or finalized roots; use \
             CascoindClient::registered_chains / registered_chain for what it has",
        ))
    }

    async fn sequencers(&self, _chain: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        Err(unsupported(
            "sequencers",
            "l2_getsequencers gives no public keys (needed to check batch signatures) and no \
             bonding state; use CascoindClient::node_sequencers for what it has",
        ))
    }

    async fn anchors(&self, _chain: u64, _from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        Err(unsupported(
            "anchors",
            "the real node has no RPC for state anchors (batch commitments are OP_RETURN data it \
             does not index)",
        ))
    }

    async fn queue(&self, _chain: u64, _from: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        Err(unsupported(
            "queue",
            "the real node has no RPC for the L1→L2 message queue; follow deposits with \
             CascoindClient::burn_status",
        ))
    }

    async fn forced_queue(&self, _chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        Err(unsupported(
            "forced_queue",
            "the real node has no RPC for the forced-inclusion queue",
        ))
    }

    async fn games(&self, _chain: u64, _open_only: bool) -> Result<Vec<Game>, L1ClientError> {
        Err(unsupported(
            "games",
            "the real node has no RPC for fraud-proof games",
        ))
    }

    async fn availability_challenges(
        &self,
        _chain: u64,
        _open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        Err(unsupported(
            "availability challenges",
            "the real node has no RPC for data-availability challenges",
        ))
    }
}

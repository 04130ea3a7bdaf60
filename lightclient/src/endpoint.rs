//! Either L1 backend from one URL: [`L1Endpoint::parse`] and [`AnyL1`].
//!
//! URL forms (`--l1` everywhere, `docs/protocol.md` "L1 endpoints"):
//! - `http://host:port/` or `https://…`: the devnet L1 (`casl2 l1 devnet`);
//! - `cascoind+http://user:pass@host:port/` (or `cascoind+https://…`): a real Cascoin node,
//!   HTTP basic auth with that user and password;
//! - `cascoind+http://host:port/?cookie=/path/.cookie`: a real node, credentials read from its
//!   cookie file at every request.
//!
//! A `cascoind+` URL may add `network=mainnet|testnet|regtest` to its query (`?network=regtest`,
//! or `?cookie=…&network=…`): the node must then run that network, checked at start
//! ([`AnyL1::check_network`]). Without it the node's own `getblockchaininfo` decides, which
//! picks the address version (40 on mainnet, 111 on testnet and regtest).

use crate::api::devnet_types::{ChainState, VerboseBlock};
use crate::cascoind::{CascoindClient, CascoindConfig};
use crate::l1::{DevnetClient, L1AccountInfo, L1BlockHeader, L1Client, L1ClientError};
use crate::rpc::Auth;
use casl2_verifier::fraud::Game;
use casl2_verifier::l1::{
    Anchor, AvailabilityChallenge, L1Block, L1Tx, L2ChainInfo, QueuedMessage, Sequencer,
};
use casl2_verifier::params::Network;
use casl2_verifier::{Address, H256};
use std::path::PathBuf;

/// Where an L1 is and which backend speaks to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L1Endpoint {
    /// The devnet L1 at this URL.
    Devnet(String),
    /// A real Cascoin node at this URL (credentials removed) with these credentials.
    Cascoind {
        /// The node's URL without credentials or query.
        url: String,
        /// How to authenticate.
        auth: Auth,
        /// The network the node must run (`?network=`), or `None`: the node's.
        network: Option<Network>,
    },
}

impl L1Endpoint {
    /// Parse an L1 URL (see the module docs); the error says which forms are accepted.
    pub fn parse(text: &str) -> Result<L1Endpoint, String> {
        const FORMS: &str = "want http://host:port/ (devnet), \
             cascoind+http://user:pass@host:port/ or cascoind+http://host:port/?cookie=PATH";
        if let Some(rest) = text.strip_prefix("cascoind+") {
            let (scheme, after) = rest
                .split_once("://")
                .filter(|(s, _)| *s == "http" || *s == "https")
                .ok_or_else(|| format!("L1 URL {text:?} is not an http:// URL: {FORMS}"))?;
            let (main, query) = match after.split_once('?') {
                Some((m, q)) => (m, Some(q)),
                None => (after, None),
            };
            let (authority, path) = match main.split_once('/') {
                Some((a, p)) => (a, p),
                None => (main, ""),
            };
            let (userinfo, host) = match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            };
            if host.is_empty() {
                return Err(format!("L1 URL {text:?}: no host; {FORMS}"));
            }
            let pairs = || query.into_iter().flat_map(|q| q.split('&'));
            let cookie = pairs().find_map(|kv| kv.strip_prefix("cookie="));
            if let Some(other) =
                pairs().find(|kv| !kv.starts_with("cookie=") && !kv.starts_with("network="))
            {
                return Err(format!(
                    "L1 URL {text:?}: unknown query {other:?} (cookie= and network= are known)"
                ));
            }
            let network = match pairs().find_map(|kv| kv.strip_prefix("network=")) {
                Some(n) => Some(
                    n.parse::<Network>()
                        .map_err(|e| format!("L1 URL {text:?}: {e}"))?,
                ),
                None => None,
            };
            let auth = match (userinfo, cookie) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "L1 URL {text:?}: give user:pass@ or ?cookie=, not both"
                    ))
                }
                (Some(u), None) => {
                    let (user, password) = u.split_once(':').unwrap_or((u, ""));
                    Auth::UserPass {
                        user: user.to_string(),
                        password: password.to_string(),
                    }
                }
                (None, Some(c)) if !c.is_empty() => Auth::Cookie(PathBuf::from(c)),
                (None, Some(_)) => return Err(format!("L1 URL {text:?}: empty cookie path")),
                (None, None) => Auth::None,
            };
            return Ok(L1Endpoint::Cascoind {
                url: format!("{scheme}://{host}/{path}"),
                auth,
                network,
            });
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(L1Endpoint::Devnet(text.to_string()));
        }
        Err(format!("L1 URL {text:?} is not an http:// URL: {FORMS}"))
    }

    /// A client of this endpoint.
    pub fn connect(&self) -> AnyL1 {
        match self {
            L1Endpoint::Devnet(url) => AnyL1::Devnet(DevnetClient::new(url.clone())),
            L1Endpoint::Cascoind { url, auth, network } => {
                AnyL1::Cascoind(CascoindClient::new(CascoindConfig {
                    url: url.clone(),
                    auth: auth.clone(),
                    network: *network,
                }))
            }
        }
    }
}

/// What a role needs of the L1 beyond what every backend has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A sequencer / full node (`casl2 node`).
    Node,
    /// The watcher (`casl2 challenger`).
    Challenger,
    /// `casl2 exit`.
    Exit,
    /// `casl2 withdraw`.
    Withdraw,
    /// `casl2 light` and the light client.
    Light,
    /// `casl2 force` (forced inclusion through the L1 queue).
    Force,
}

impl Role {
    /// The RPC a real Cascoin node lacks for this role, and what it is for.
    fn needs_of_real_node(self) -> &'static str {
        match self {
            Role::Node => "l2_getanchors (state anchors) and l2_getsequencers with public keys",
            Role::Challenger => "l2_getgames (fraud-proof games) and l2_getanchors",
            Role::Exit => "l2_getexits and an emergency-exit RPC",
            Role::Withdraw => "l2_getwithdrawals and a FinalizeWithdrawal RPC (bridge escrow)",
            Role::Light => "l2_getanchors (state anchors)",
            Role::Force => {
                "a ForceTransaction RPC (the forced-inclusion queue) and l2_getchain (the queue's \
                 consumed and missed messages)"
            }
        }
    }
}

/// Either L1 backend, chosen by the URL ([`L1Endpoint`]).
#[derive(Debug)]
pub enum AnyL1 {
    /// The devnet L1.
    Devnet(DevnetClient),
    /// A real Cascoin node.
    Cascoind(CascoindClient),
}

impl AnyL1 {
    /// A client of the L1 at `url` (any form of [`L1Endpoint::parse`]).
    pub fn from_url(url: &str) -> Result<AnyL1, String> {
        Ok(L1Endpoint::parse(url)?.connect())
    }

    /// `Err(one line)` naming the RPC this L1 lacks for `role`; call it when a role opens the
    /// L1, before doing anything.
    pub fn check_role(&self, role: Role) -> Result<(), String> {
        match self {
            AnyL1::Devnet(_) => Ok(()),
            AnyL1::Cascoind(_) => Err(format!(
                "this L1 is a real Cascoin node, which lacks the RPC {:?} needs: {}",
                role,
                role.needs_of_real_node()
            )),
        }
    }

    /// For a real node: ask which network it runs (that picks the address version) and fail,
    /// in one line, when the URL's `?network=` says otherwise or the node cannot be reached.
    /// Call it when a command opens the L1. The devnet has one address form: always `Ok`.
    pub async fn check_network(&self) -> Result<(), String> {
        match self {
            AnyL1::Devnet(_) => Ok(()),
            AnyL1::Cascoind(c) => c.network().await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    /// The devnet client, if this is the devnet.
    pub fn devnet(&self) -> Option<&DevnetClient> {
        match self {
            AnyL1::Devnet(d) => Some(d),
            AnyL1::Cascoind(_) => None,
        }
    }
}

macro_rules! delegate {
    ($self:ident, $c:ident => $e:expr) => {
        match $self {
            AnyL1::Devnet($c) => $e,
            AnyL1::Cascoind($c) => $e,
        }
    };
}

impl L1Client for AnyL1 {
    async fn tip_height(&self) -> Result<u64, L1ClientError> {
        delegate!(self, c => c.tip_height().await)
    }
    async fn block_hash(&self, height: u64) -> Result<H256, L1ClientError> {
        delegate!(self, c => c.block_hash(height).await)
    }
    async fn block_header(&self, hash: &H256) -> Result<L1BlockHeader, L1ClientError> {
        delegate!(self, c => c.block_header(hash).await)
    }
    async fn block(&self, hash: &H256) -> Result<L1Block, L1ClientError> {
        delegate!(self, c => c.block(hash).await)
    }
    async fn account(&self, address: &Address) -> Result<L1AccountInfo, L1ClientError> {
        delegate!(self, c => c.account(address).await)
    }
    async fn hat_score(&self, address: &Address) -> Result<u32, L1ClientError> {
        delegate!(self, c => c.hat_score(address).await)
    }
    async fn send_transaction(&self, tx: &L1Tx) -> Result<H256, L1ClientError> {
        delegate!(self, c => c.send_transaction(tx).await)
    }
    async fn chains(&self) -> Result<Vec<L2ChainInfo>, L1ClientError> {
        delegate!(self, c => c.chains().await)
    }
    async fn sequencers(&self, chain: u64) -> Result<Vec<Sequencer>, L1ClientError> {
        delegate!(self, c => c.sequencers(chain).await)
    }
    async fn anchors(&self, chain: u64, from: u64) -> Result<Vec<Anchor>, L1ClientError> {
        delegate!(self, c => c.anchors(chain, from).await)
    }
    async fn queue(&self, chain: u64, from: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        delegate!(self, c => c.queue(chain, from).await)
    }
    async fn forced_queue(&self, chain: u64) -> Result<Vec<QueuedMessage>, L1ClientError> {
        delegate!(self, c => c.forced_queue(chain).await)
    }
    async fn games(&self, chain: u64, open_only: bool) -> Result<Vec<Game>, L1ClientError> {
        delegate!(self, c => c.games(chain, open_only).await)
    }
    async fn availability_challenges(
        &self,
        chain: u64,
        open_only: bool,
    ) -> Result<Vec<AvailabilityChallenge>, L1ClientError> {
        delegate!(self, c => c.availability_challenges(chain, open_only).await)
    }
    async fn anchors_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<Anchor>, L1ClientError> {
        delegate!(self, c => c.anchors_window(chain, from, count).await)
    }
    async fn anchor_count(&self, chain: u64) -> Result<u64, L1ClientError> {
        delegate!(self, c => c.anchor_count(chain).await)
    }
    async fn sequencers_with_hat(
        &self,
        chain: u64,
    ) -> Result<Vec<(Sequencer, u32)>, L1ClientError> {
        delegate!(self, c => c.sequencers_with_hat(chain).await)
    }
    async fn paid_withdrawals(&self, chain: u64) -> Result<Vec<(H256, i64)>, L1ClientError> {
        delegate!(self, c => c.paid_withdrawals(chain).await)
    }
    async fn chain_state(&self, chain: u64) -> Result<ChainState, L1ClientError> {
        delegate!(self, c => c.chain_state(chain).await)
    }
    async fn exits(&self, chain: u64) -> Result<Vec<Address>, L1ClientError> {
        delegate!(self, c => c.exits(chain).await)
    }
    async fn queue_window(
        &self,
        chain: u64,
        from: u64,
        count: u64,
    ) -> Result<Vec<QueuedMessage>, L1ClientError> {
        delegate!(self, c => c.queue_window(chain, from, count).await)
    }
    async fn mempool(&self) -> Result<Vec<H256>, L1ClientError> {
        delegate!(self, c => c.mempool().await)
    }
    async fn game(&self, id: u64) -> Result<Game, L1ClientError> {
        delegate!(self, c => c.game(id).await)
    }
    async fn block_verbose(&self, hash: &H256) -> Result<VerboseBlock, L1ClientError> {
        delegate!(self, c => c.block_verbose(hash).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            L1Endpoint::parse("http://127.0.0.1:18545/"),
            Ok(L1Endpoint::Devnet("http://127.0.0.1:18545/".into()))
        );
        assert_eq!(
            L1Endpoint::parse("cascoind+http://u:p@10.0.0.1:22222/wallet/w"),
            Ok(L1Endpoint::Cascoind {
                url: "http://10.0.0.1:22222/wallet/w".into(),
                auth: Auth::UserPass {
                    user: "u".into(),
                    password: "p".into()
                },
                network: None,
            })
        );
        assert_eq!(
            L1Endpoint::parse("cascoind+http://h:1/?cookie=/d/.cookie"),
            Ok(L1Endpoint::Cascoind {
                url: "http://h:1/".into(),
                auth: Auth::Cookie("/d/.cookie".into()),
                network: None,
            })
        );
        assert_eq!(
            L1Endpoint::parse("cascoind+http://h:1/?cookie=/c&network=regtest"),
            Ok(L1Endpoint::Cascoind {
                url: "http://h:1/".into(),
                auth: Auth::Cookie("/c".into()),
                network: Some(Network::Regtest),
            })
        );
        let e = L1Endpoint::parse("cascoind+http://h:1/?network=moon").unwrap_err();
        assert!(e.contains("unknown network \"moon\""), "{e}");
        let e = L1Endpoint::parse("cascoind+http://h:1/?netwrk=main").unwrap_err();
        assert!(e.contains("unknown query \"netwrk=main\""), "{e}");
        assert!(L1Endpoint::parse("ftp://x").is_err());
        assert!(L1Endpoint::parse("cascoind+ftp://x").is_err());
        assert!(L1Endpoint::parse("cascoind+http://u:p@h/?cookie=x").is_err());
    }
}

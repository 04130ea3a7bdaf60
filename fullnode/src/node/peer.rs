//! How sequencers reach each other: [`PeerTransport`] (send a consensus message, ask a peer's
//! height, fetch a final block, ask for a batch signature) and its HTTP implementation
//! [`HttpPeers`] (`POST /p2p/message`, `l2_blocknumber`, `GET /p2p/block/{n}`,
//! `POST /p2p/batch-sign`). The tests' [`PeerFilter`] applies here: a peer it cuts off is
//! never contacted.

use casl2_verifier::{BatchHeader, BlockSignature, L2Block, H256};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Decides whether a peer message from this node to `to_url` is delivered (tests use it to cut
/// the network; `None` delivers everything).
pub type PeerFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A batch-signing request between sequencers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchSignRequest {
    /// The header to sign.
    pub header: BatchHeader,
    /// L1's latest anchored root the batch continues.
    pub pre_state_root: H256,
    /// The poster's own signature over the header hash (the one it counts in the quorum): a
    /// peer answers only a poster that is a sequencer of the L1 set.
    pub poster_signature: BlockSignature,
}

/// A boxed future of a peer call.
pub type PeerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PeerError>> + Send + 'a>>;

/// Why a peer call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The peer filter cuts this peer off.
    #[error("peer {0} is cut off")]
    Cut(String),
    /// The peer did not answer, or not with what was asked.
    #[error("peer {peer}: {reason}")]
    Failed {
        /// The peer's URL.
        peer: String,
        /// What went wrong.
        reason: String,
    },
}

/// How this node talks to its peers (each given by its URL, with a trailing slash).
pub trait PeerTransport: std::fmt::Debug + Send + Sync {
    /// Whether messages to `peer` are delivered at all.
    fn reaches(&self, peer: &str) -> bool;

    /// Send the serialized consensus message `body` to `peer`, fire and forget; `false` when
    /// the peer is cut off (nothing is sent).
    fn send_message(&self, peer: &str, body: Vec<u8>) -> bool;

    /// The number of `peer`'s newest final block.
    fn height<'a>(&'a self, peer: &'a str) -> PeerFuture<'a, u64>;

    /// `peer`'s final block `n`.
    fn block<'a>(&'a self, peer: &'a str, n: u64) -> PeerFuture<'a, L2Block>;

    /// Ask `peer` to sign a batch header.
    fn sign_batch<'a>(
        &'a self,
        peer: &'a str,
        req: &'a BatchSignRequest,
    ) -> PeerFuture<'a, BlockSignature>;
}

/// [`PeerTransport`] over HTTP.
pub struct HttpPeers {
    http: reqwest::Client,
    filter: Option<PeerFilter>,
}

impl std::fmt::Debug for HttpPeers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPeers")
            .field("filtered", &self.filter.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpPeers {
    /// An HTTP transport (5 s timeout per call) delivering what `filter` lets through.
    pub fn new(filter: Option<PeerFilter>) -> Result<HttpPeers, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(4)
            .build()?;
        Ok(HttpPeers { http, filter })
    }

    fn check(&self, peer: &str) -> Result<(), PeerError> {
        if self.reaches(peer) {
            Ok(())
        } else {
            Err(PeerError::Cut(peer.to_string()))
        }
    }
}

/// Largest answer to a batch-signing request (a signature entry as JSON).
const MAX_SIGNATURE_ANSWER: usize = 4 * 1024;

/// A successful answer's JSON body as `T`, read up to `cap` bytes (a hostile peer cannot make
/// this node buffer more); an error status is a failure with the peer's text.
async fn read_json<T: serde::de::DeserializeOwned>(
    peer: &str,
    resp: reqwest::Response,
    cap: usize,
) -> Result<T, PeerError> {
    let status = resp.status();
    let body = casl2_lightclient::rpc::read_capped(resp, cap)
        .await
        .map_err(|e| failed(peer, e))?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(failed(peer, format!("HTTP {status}: {text}")));
    }
    serde_json::from_slice(&body).map_err(|e| failed(peer, e))
}

fn failed(peer: &str, e: impl std::fmt::Display) -> PeerError {
    PeerError::Failed {
        peer: peer.to_string(),
        reason: e.to_string(),
    }
}

impl PeerTransport for HttpPeers {
    fn reaches(&self, peer: &str) -> bool {
        self.filter.as_ref().is_none_or(|f| f(peer))
    }

    fn send_message(&self, peer: &str, body: Vec<u8>) -> bool {
        if !self.reaches(peer) {
            return false;
        }
        let http = self.http.clone();
        let url = format!("{peer}p2p/message");
        tokio::spawn(async move {
            let _ = http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
        });
        true
    }

    fn height<'a>(&'a self, peer: &'a str) -> PeerFuture<'a, u64> {
        Box::pin(async move {
            self.check(peer)?;
            casl2_lightclient::l2::NodeClient::with_rpc(
                casl2_lightclient::rpc::RpcClient::new(peer).with_http(self.http.clone()),
            )
            .block_number()
            .await
            .map_err(|e| failed(peer, e))
        })
    }

    fn block<'a>(&'a self, peer: &'a str, n: u64) -> PeerFuture<'a, L2Block> {
        Box::pin(async move {
            self.check(peer)?;
            let resp = self
                .http
                .get(format!("{peer}p2p/block/{n}"))
                .send()
                .await
                .map_err(|e| failed(peer, e))?;
            read_json::<L2Block>(peer, resp, super::rpc::MAX_P2P_BODY).await
        })
    }

    fn sign_batch<'a>(
        &'a self,
        peer: &'a str,
        req: &'a BatchSignRequest,
    ) -> PeerFuture<'a, BlockSignature> {
        Box::pin(async move {
            self.check(peer)?;
            let resp = self
                .http
                .post(format!("{peer}p2p/batch-sign"))
                .json(req)
                .send()
                .await
                .map_err(|e| failed(peer, e))?;
            read_json::<BlockSignature>(peer, resp, MAX_SIGNATURE_ANSWER).await
        })
    }
}

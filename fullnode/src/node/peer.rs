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

    /// Send the serialized consensus message `body` to `peer` with its [`PEER_AUTH_HEADER`]
    /// value `auth` (`None`: unsigned, a follower's relayed transactions), fire and forget;
    /// `false` when the peer is cut off (nothing is sent).
    fn send_message(&self, peer: &str, body: Vec<u8>, auth: Option<String>) -> bool;

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

    fn send_message(&self, peer: &str, body: Vec<u8>, auth: Option<String>) -> bool {
        if !self.reaches(peer) {
            return false;
        }
        let http = self.http.clone();
        let url = format!("{peer}p2p/message");
        tokio::spawn(async move {
            let mut req = http
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(a) = auth {
                req = req.header(PEER_AUTH_HEADER, a);
            }
            let _ = req.send().await;
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

/// HTTP header of a peer message's signature: `ADDRESS:TIME_MS:DER_HEX` (the signer's L1
/// address, its clock in Unix ms, and its strict-DER signature over [`peer_message_hash`]).
pub const PEER_AUTH_HEADER: &str = "x-casl2-peer";
/// How far a signed message's time may be from the receiver's clock (ms).
pub const PEER_AUTH_SKEW_MS: u64 = 60_000;

/// The hash a peer message's signature covers: SHA256d(`"casl2 peer message v1"` ‖ chain id
/// u64 LE ‖ time ms u64 LE ‖ SHA256d(body)). The chain id keeps a message of one chain from
/// being replayed to another; the time bounds a replay to [`PEER_AUTH_SKEW_MS`] (a replayed
/// consensus message is harmless anyway: each is handled once per content).
pub fn peer_message_hash(chain_id: u64, time_ms: u64, body: &[u8]) -> H256 {
    let body_hash = casl2_verifier::hash::sha256d(body);
    casl2_verifier::hash::sha256d_parts(&[
        b"casl2 peer message v1",
        &chain_id.to_le_bytes(),
        &time_ms.to_le_bytes(),
        &body_hash.0,
    ])
}

/// The [`PEER_AUTH_HEADER`] value for `body`, signed by `key` at `time_ms`.
pub fn sign_peer_message(
    key: &casl2_verifier::PrivateKey,
    chain_id: u64,
    time_ms: u64,
    body: &[u8],
) -> Result<String, String> {
    let der = key
        .sign_der(&peer_message_hash(chain_id, time_ms, body))
        .map_err(|e| e.to_string())?;
    Ok(format!("{}:{time_ms}:{}", key.address(), hex::encode(der)))
}

/// Check a [`PEER_AUTH_HEADER`] value for `body`: well formed, dated within
/// [`PEER_AUTH_SKEW_MS`] of `now_ms`, by a member of `set`, and a valid signature. Returns the
/// signer, or why not.
pub fn check_peer_message(
    header: &str,
    chain_id: u64,
    now_ms: u64,
    body: &[u8],
    set: &casl2_verifier::consensus::SequencerSet,
) -> Result<casl2_verifier::Address, String> {
    let mut parts = header.splitn(3, ':');
    let (Some(addr), Some(time), Some(der)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "{PEER_AUTH_HEADER} is not ADDRESS:TIME_MS:SIGNATURE"
        ));
    };
    let addr: casl2_verifier::Address = addr
        .parse()
        .map_err(|e| format!("{PEER_AUTH_HEADER} address: {e}"))?;
    let time: u64 = time
        .parse()
        .map_err(|e| format!("{PEER_AUTH_HEADER} time: {e}"))?;
    if time.abs_diff(now_ms) > PEER_AUTH_SKEW_MS {
        return Err(format!(
            "{PEER_AUTH_HEADER} time {time} is more than {PEER_AUTH_SKEW_MS} ms from this node's clock {now_ms}"
        ));
    }
    let der = hex::decode(der).map_err(|e| format!("{PEER_AUTH_HEADER} signature: {e}"))?;
    let member = set
        .get(&addr)
        .ok_or_else(|| format!("signer {addr} is not a sequencer of the L1 registry"))?;
    member
        .public_key
        .verify_der(&peer_message_hash(chain_id, time, body), &der)
        .map_err(|e| format!("signature of {addr} does not verify: {e}"))?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use casl2_verifier::consensus::{RegisteredSequencer, SequencerSet};
    use casl2_verifier::PrivateKey;

    fn set(keys: &[&PrivateKey]) -> SequencerSet {
        SequencerSet::new(
            keys.iter()
                .map(|k| RegisteredSequencer::new(k.public_key(), 100, 80))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_peer_message_checks_and_every_alteration_fails() {
        let a = PrivateKey::from_bytes(&[1; 32]).unwrap();
        let stranger = PrivateKey::from_bytes(&[2; 32]).unwrap();
        let s = set(&[&a]);
        let body = br#"{"type":"transactions","txs":[]}"#;
        let h = sign_peer_message(&a, 7, 1_000_000, body).unwrap();
        assert_eq!(
            check_peer_message(&h, 7, 1_000_500, body, &s),
            Ok(a.address())
        );
        // Another body, chain, time far off, a stranger, garbage.
        assert!(check_peer_message(&h, 7, 1_000_000, b"{}", &s).is_err());
        assert!(check_peer_message(&h, 8, 1_000_000, body, &s).is_err());
        assert!(
            check_peer_message(&h, 7, 1_000_000 + PEER_AUTH_SKEW_MS + 1, body, &s)
                .unwrap_err()
                .contains("clock")
        );
        let hs = sign_peer_message(&stranger, 7, 1_000_000, body).unwrap();
        assert!(check_peer_message(&hs, 7, 1_000_000, body, &s)
            .unwrap_err()
            .contains("not a sequencer"));
        // A stranger's signature under a member's address.
        let forged = format!("{}:{}", a.address(), hs.split_once(':').unwrap().1);
        assert!(check_peer_message(&forged, 7, 1_000_000, body, &s)
            .unwrap_err()
            .contains("does not verify"));
        for junk in [
            "",
            "x",
            "0x12:1:ab",
            "::",
            &format!("{}:abc:00", a.address()),
        ] {
            assert!(
                check_peer_message(junk, 7, 1_000_000, body, &s).is_err(),
                "{junk}"
            );
        }
    }
}

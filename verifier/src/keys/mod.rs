//! secp256k1 keys and signatures, as the real Cascoin node makes and checks them.
//!
//! - [`PrivateKey`] / [`PublicKey`]: a 32-byte secret and its 33-byte compressed public key; the
//!   [`Address`] is the HASH160 of the compressed key.
//! - Compact recoverable signatures (transactions): 65 bytes `header ‖ r ‖ s`, `header = 27 +
//!   recid + 4` (compressed key), low-S, RFC 6979 nonces. [`recover_compact`] returns the signer.
//! - DER signatures (blocks, votes, announcements): strict DER (BIP 66 rules), low-S, RFC 6979
//!   nonces, checked against a known [`PublicKey`].
//!
//! Every signature here signs a 32-byte hash (the object's SHA256d) in raw byte order, exactly as
//! libsecp256k1 is called by the node; no further hashing happens.

use crate::hash::{hash160, Address, H256};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::scalar::IsHigh;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Length of a compact recoverable signature.
pub const COMPACT_SIGNATURE_LEN: usize = 65;
/// Length of a compressed public key.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Longest strict DER encoding of a secp256k1 ECDSA signature.
pub const MAX_DER_SIGNATURE_LEN: usize = 72;
/// Shortest DER encoding accepted (as BIP 66).
pub const MIN_DER_SIGNATURE_LEN: usize = 8;
/// Smallest valid compact header (27 + 0 + 4).
const COMPACT_HEADER_MIN: u8 = 31;
/// Largest valid compact header (27 + 3 + 4).
const COMPACT_HEADER_MAX: u8 = 34;

/// Why a key or a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// A private key that is zero or not below the curve order.
    #[error("invalid private key: must be 32 bytes, non-zero and below the curve order")]
    InvalidPrivateKey,
    /// A hex string that could not be parsed.
    #[error("invalid hex for {what}: {detail}")]
    Hex {
        /// What was being parsed.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A public key of the wrong length.
    #[error("public key must be {PUBLIC_KEY_LEN} bytes (compressed), got {0}")]
    PublicKeyLength(usize),
    /// A public key whose first byte is not 0x02/0x03.
    #[error("public key prefix 0x{0:02x} is not a compressed key (0x02 or 0x03)")]
    PublicKeyNotCompressed(u8),
    /// A compressed public key whose x coordinate is not on the curve.
    #[error("public key is not a point on secp256k1")]
    InvalidPublicKey,
    /// A compact signature of the wrong length.
    #[error("compact signature must be {COMPACT_SIGNATURE_LEN} bytes, got {0}")]
    CompactSignatureLength(usize),
    /// A compact header outside 31..=34 (27 + recid + 4, compressed key).
    #[error(
        "compact signature header {0} is not 31..=34 (27 + recovery id + 4 for a compressed key)"
    )]
    CompactHeader(u8),
    /// A signature whose s is in the upper half of the order.
    #[error("signature has a high S value (only low-S signatures are accepted)")]
    HighS,
    /// r or s is zero or not below the curve order.
    #[error("signature r or s is zero or not below the curve order")]
    InvalidScalars,
    /// No public key can be recovered from the signature and hash.
    #[error("no public key can be recovered from this signature")]
    RecoveryFailed,
    /// A DER signature that is malformed or not in canonical (strict) form.
    #[error("non-canonical or malformed DER signature: {0}")]
    Der(&'static str),
    /// The signature does not verify against the public key.
    #[error("signature does not verify against the public key")]
    VerifyFailed,
    /// Signing failed (practically impossible for a valid key).
    #[error("signing failed")]
    SigningFailed,
}

/// Why a signed object (transaction, block, vote, announcement) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The signature or key itself is malformed or does not verify.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A transaction's recovered signer is not its `from` address.
    #[error(
        "SENDER_MISMATCH: the signature recovers {recovered}, but the transaction is from {from}"
    )]
    SenderMismatch {
        /// The transaction's `from`.
        from: Address,
        /// HASH160 of the recovered public key.
        recovered: Address,
    },
    /// A transaction's `recoveryId` field differs from the recovery id in its signature header.
    #[error("recoveryId field {field} does not match the signature header's recovery id {header}")]
    RecoveryIdMismatch {
        /// The `recoveryId` field.
        field: u8,
        /// `header - 31` of the compact signature.
        header: u8,
    },
    /// The key given to sign or verify an object is not the one the object names.
    #[error("SIGNER_MISMATCH: the {role} is {claimed}, but the key's address is {key_address}")]
    SignerMismatch {
        /// Which field names the signer (`voterAddress`, `sequencer`, `address`).
        role: &'static str,
        /// The address the object names.
        claimed: Address,
        /// The address of the key used.
        key_address: Address,
    },
}

impl SignatureError {
    /// Check that `key` belongs to `claimed` (the object's `role` field).
    pub fn check_signer(
        role: &'static str,
        claimed: &Address,
        key: &PublicKey,
    ) -> Result<(), SignatureError> {
        let key_address = key.address();
        if &key_address != claimed {
            return Err(SignatureError::SignerMismatch {
                role,
                claimed: *claimed,
                key_address,
            });
        }
        Ok(())
    }
}

/// A secp256k1 private key. Its `Debug` output shows only the address, never the secret.
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

impl PrivateKey {
    /// A fresh random key from the caller's cryptographic random number generator.
    pub fn generate(rng: &mut impl rand_core::CryptoRngCore) -> Self {
        PrivateKey(SigningKey::random(rng))
    }

    /// The key with secret scalar `bytes` (big-endian); fails for zero or ≥ the curve order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_slice(bytes)
            .map(PrivateKey)
            .map_err(|_| KeyError::InvalidPrivateKey)
    }

    /// Parse 64 hex digits (optionally after `0x`).
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let b = parse_hex_array::<32>(s, "private key")?;
        Self::from_bytes(&b)
    }

    /// The 32-byte secret (big-endian). Handle with care.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The secret as 64 lowercase hex digits without prefix. Handle with care.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The address (HASH160 of the compressed public key).
    pub fn address(&self) -> Address {
        self.public_key().address()
    }

    /// Sign `hash` with a 65-byte compact recoverable signature (`27 + recid + 4 ‖ r ‖ s`),
    /// low-S, RFC 6979 nonce: the same bytes libsecp256k1's `SignCompact` gives.
    pub fn sign_compact(&self, hash: &H256) -> Result<[u8; COMPACT_SIGNATURE_LEN], KeyError> {
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(&hash.0)
            .map_err(|_| KeyError::SigningFailed)?;
        // k256 already normalizes to low-S (adjusting the recovery id); keep it explicit.
        if bool::from(sig.s().is_high()) {
            return Err(KeyError::SigningFailed);
        }
        let mut out = [0u8; COMPACT_SIGNATURE_LEN];
        out[0] = 27 + recid.to_byte() + 4;
        out[1..].copy_from_slice(&sig.to_bytes());
        Ok(out)
    }

    /// Sign `hash` with a strict-DER, low-S ECDSA signature (RFC 6979 nonce).
    pub fn sign_der(&self, hash: &H256) -> Result<Vec<u8>, KeyError> {
        let (sig, _) = self
            .0
            .sign_prehash_recoverable(&hash.0)
            .map_err(|_| KeyError::SigningFailed)?;
        let sig = sig.normalize_s().unwrap_or(sig);
        Ok(der_encode(&sig))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(<secret>, address {})", self.address())
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for PrivateKey {}

impl FromStr for PrivateKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_hex(s)
    }
}

/// A secp256k1 public key, always handled in its 33-byte compressed form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parse a 33-byte compressed key; rejects other lengths, other prefixes and points not on
    /// the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(KeyError::PublicKeyLength(bytes.len()));
        }
        if bytes[0] != 0x02 && bytes[0] != 0x03 {
            return Err(KeyError::PublicKeyNotCompressed(bytes[0]));
        }
        VerifyingKey::from_sec1_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Parse 66 hex digits (optionally after `0x`) of a compressed key.
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let b = parse_hex_array::<PUBLIC_KEY_LEN>(s, "public key")?;
        Self::from_bytes(&b)
    }

    /// The 33-byte compressed encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let p = self.0.to_encoded_point(true);
        let mut out = [0u8; PUBLIC_KEY_LEN];
        // A compressed SEC1 point of a valid key is always 33 bytes.
        let b = p.as_bytes();
        if b.len() == PUBLIC_KEY_LEN {
            out.copy_from_slice(b);
        }
        out
    }

    /// The compressed key as 66 lowercase hex digits without prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// The address: HASH160 of the compressed key.
    pub fn address(&self) -> Address {
        hash160(&self.to_bytes())
    }

    /// Check a strict-DER, low-S signature over `hash` by this key.
    pub fn verify_der(&self, hash: &H256, der: &[u8]) -> Result<(), KeyError> {
        let sig = der_decode(der)?;
        if bool::from(sig.s().is_high()) {
            return Err(KeyError::HighS);
        }
        use k256::ecdsa::signature::hazmat::PrehashVerifier;
        self.0
            .verify_prehash(&hash.0, &sig)
            .map_err(|_| KeyError::VerifyFailed)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_hex(s)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// secp256k1 group order n, big-endian.
const CURVE_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];
/// ⌊n / 2⌋, big-endian: the largest low-S value.
const HALF_CURVE_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// A big-endian 32-byte scalar in 1..n.
fn scalar_in_range(v: &[u8]) -> bool {
    v.iter().any(|b| *b != 0) && v < &CURVE_ORDER[..]
}

/// The rules every compact signature must pass before recovery, whichever backend recovers:
/// length 65, header 31..=34 (27 + recid + 4, compressed key), r and s in 1..n, s ≤ n/2 (low S).
/// Returns the recovery id and `r ‖ s`.
fn check_compact(sig: &[u8]) -> Result<(u8, &[u8; 64]), KeyError> {
    let sig: &[u8; COMPACT_SIGNATURE_LEN] = sig
        .try_into()
        .map_err(|_| KeyError::CompactSignatureLength(sig.len()))?;
    let header = sig[0];
    if !(COMPACT_HEADER_MIN..=COMPACT_HEADER_MAX).contains(&header) {
        return Err(KeyError::CompactHeader(header));
    }
    let rs: &[u8; 64] = sig[1..]
        .try_into()
        .map_err(|_| KeyError::CompactSignatureLength(sig.len()))?;
    let (r, s) = rs.split_at(32);
    if !scalar_in_range(r) || !scalar_in_range(s) {
        return Err(KeyError::InvalidScalars);
    }
    if s > &HALF_CURVE_ORDER[..] {
        return Err(KeyError::HighS);
    }
    Ok((header - COMPACT_HEADER_MIN, rs))
}

/// Split a compact signature into its recovery id and low-S signature, checking the length,
/// the header (31..=34, compressed form), r and s ranges and low-S.
pub fn parse_compact(sig: &[u8]) -> Result<(u8, [u8; 64]), KeyError> {
    let (recid, rs) = check_compact(sig)?;
    Ok((recid, *rs))
}

/// Recovery with k256 (pure Rust): the backend of wasm32 builds, and the reference the native
/// backend is tested against.
mod backend_k256 {
    use super::{KeyError, PublicKey, Signature, H256};
    use k256::ecdsa::{RecoveryId, VerifyingKey};

    pub(super) fn recover(hash: &H256, recid: u8, rs: &[u8; 64]) -> Result<PublicKey, KeyError> {
        let recid = RecoveryId::from_byte(recid).ok_or(KeyError::RecoveryFailed)?;
        let sig = Signature::from_slice(rs).map_err(|_| KeyError::InvalidScalars)?;
        VerifyingKey::recover_from_prehash(&hash.0, &sig, recid)
            .map(PublicKey)
            .map_err(|_| KeyError::RecoveryFailed)
    }
}

/// Recovery with libsecp256k1 (the C library the real node uses), through the `secp256k1`
/// crate: native builds only. [`check_compact`] has already enforced every acceptance rule; this
/// only recovers (and fails exactly where k256 fails: no point for r (+ n), or the point at
/// infinity).
#[cfg(not(target_arch = "wasm32"))]
mod backend_secp {
    use super::{KeyError, PUBLIC_KEY_LEN};
    use crate::hash::H256;
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    use secp256k1::Message;

    pub(super) fn recover(
        hash: &H256,
        recid: u8,
        rs: &[u8; 64],
    ) -> Result<[u8; PUBLIC_KEY_LEN], KeyError> {
        let recid = RecoveryId::try_from(i32::from(recid)).map_err(|_| KeyError::RecoveryFailed)?;
        let sig =
            RecoverableSignature::from_compact(rs, recid).map_err(|_| KeyError::InvalidScalars)?;
        sig.recover_ecdsa(Message::from_digest(hash.0))
            .map(|pk| pk.serialize())
            .map_err(|_| KeyError::RecoveryFailed)
    }
}

/// Recover the public key that made the compact signature `sig` over `hash`.
///
/// Rejects a wrong length, a header outside 31..=34 (only the compressed form is accepted), a
/// high S, r or s zero or out of range, and signatures from which no key can be recovered.
/// Native builds recover with libsecp256k1, wasm32 with k256; both accept exactly the same
/// signatures (a property test checks it).
pub fn recover_compact(hash: &H256, sig: &[u8]) -> Result<PublicKey, KeyError> {
    let (recid, rs) = check_compact(sig)?;
    #[cfg(not(target_arch = "wasm32"))]
    {
        let b = backend_secp::recover(hash, recid, rs)?;
        PublicKey::from_bytes(&b).map_err(|_| KeyError::RecoveryFailed)
    }
    #[cfg(target_arch = "wasm32")]
    {
        backend_k256::recover(hash, recid, rs)
    }
}

/// The address (HASH160 of the compressed key) of the signer of `sig` over `hash`: the same
/// rules as [`recover_compact`], without building a [`PublicKey`] (the fast path of sender
/// recovery).
pub fn recover_compact_address(hash: &H256, sig: &[u8]) -> Result<Address, KeyError> {
    let (recid, rs) = check_compact(sig)?;
    #[cfg(not(target_arch = "wasm32"))]
    {
        Ok(hash160(&backend_secp::recover(hash, recid, rs)?))
    }
    #[cfg(target_arch = "wasm32")]
    {
        Ok(backend_k256::recover(hash, recid, rs)?.address())
    }
}

/// [`recover_compact`] with the pure-Rust k256 backend, whatever the target (for comparing the
/// two backends).
pub fn recover_compact_k256(hash: &H256, sig: &[u8]) -> Result<PublicKey, KeyError> {
    let (recid, rs) = check_compact(sig)?;
    backend_k256::recover(hash, recid, rs)
}

/// Check a strict-DER, low-S signature over `hash` by `key` (same as [`PublicKey::verify_der`]).
pub fn verify_der(key: &PublicKey, hash: &H256, der: &[u8]) -> Result<(), KeyError> {
    key.verify_der(hash, der)
}

fn parse_hex_array<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], KeyError> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.len() != 2 * N {
        return Err(KeyError::Hex {
            what,
            detail: format!("expected {} hex digits, got {}", 2 * N, t.len()),
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(t, &mut out).map_err(|e| KeyError::Hex {
        what,
        detail: e.to_string(),
    })?;
    Ok(out)
}

/// Minimal DER INTEGER body of a 32-byte big-endian unsigned value.
fn der_integer(v: &[u8]) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len() - 1);
    let body = &v[first..];
    let mut out = Vec::with_capacity(body.len() + 1);
    if body[0] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(body);
    out
}

/// Encode a signature as strict DER: `30 len 02 lenR R 02 lenS S`.
fn der_encode(sig: &Signature) -> Vec<u8> {
    let bytes = sig.to_bytes();
    let r = der_integer(&bytes[..32]);
    let s = der_integer(&bytes[32..]);
    let mut out = Vec::with_capacity(6 + r.len() + s.len());
    out.push(0x30);
    out.push((4 + r.len() + s.len()) as u8);
    out.push(0x02);
    out.push(r.len() as u8);
    out.extend_from_slice(&r);
    out.push(0x02);
    out.push(s.len() as u8);
    out.extend_from_slice(&s);
    out
}

/// Read one strict DER INTEGER value (as BIP 66) into 32 big-endian bytes.
fn der_read_integer(v: &[u8]) -> Result<[u8; 32], KeyError> {
    if v.is_empty() {
        return Err(KeyError::Der("zero-length integer"));
    }
    if v[0] & 0x80 != 0 {
        return Err(KeyError::Der("negative integer"));
    }
    if v.len() > 1 && v[0] == 0 && v[1] & 0x80 == 0 {
        return Err(KeyError::Der("integer has a needless leading zero"));
    }
    let v = if v[0] == 0 && v.len() > 1 { &v[1..] } else { v };
    if v.len() > 32 {
        return Err(KeyError::Der("integer longer than 32 bytes"));
    }
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(v);
    Ok(out)
}

/// Decode a strict DER ECDSA signature (BIP 66 structure, no sighash byte); r and s must be in
/// 1..n. High S is reported by the caller.
fn der_decode(sig: &[u8]) -> Result<Signature, KeyError> {
    let len = sig.len();
    if !(MIN_DER_SIGNATURE_LEN..=MAX_DER_SIGNATURE_LEN).contains(&len) {
        return Err(KeyError::Der("length outside 8..=72 bytes"));
    }
    if sig[0] != 0x30 {
        return Err(KeyError::Der("not a SEQUENCE"));
    }
    if sig[1] as usize != len - 2 {
        return Err(KeyError::Der("SEQUENCE length does not match"));
    }
    let len_r = sig[3] as usize;
    if 5 + len_r >= len {
        return Err(KeyError::Der("r length overruns the signature"));
    }
    let len_s = sig[5 + len_r] as usize;
    if len_r + len_s + 6 != len {
        return Err(KeyError::Der("r and s lengths do not add up"));
    }
    if sig[2] != 0x02 {
        return Err(KeyError::Der("r is not an INTEGER"));
    }
    if sig[4 + len_r] != 0x02 {
        return Err(KeyError::Der("s is not an INTEGER"));
    }
    let r = der_read_integer(&sig[4..4 + len_r])?;
    let s = der_read_integer(&sig[6 + len_r..])?;
    Signature::from_scalars(r, s).map_err(|_| KeyError::InvalidScalars)
}

/// Helpers shared by the tests of this crate.
#[cfg(test)]
pub(crate) mod test_util {
    /// secp256k1 group order n.
    pub(crate) const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];

    /// n − s, big-endian (turns a low-S value into the high-S one and back).
    pub(crate) fn negate_s(s: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = N[i] as i16 - s[i] as i16 - borrow;
            borrow = 0;
            if d < 0 {
                d += 256;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        out
    }

    /// Replace a compact signature's s by n − s and flip the recovery id's parity: the same
    /// signature in its high-S form.
    pub(crate) fn to_high_s(sig: &[u8; 65]) -> [u8; 65] {
        let mut out = *sig;
        out[33..].copy_from_slice(&negate_s(&sig[33..]));
        out[0] = 31 + ((sig[0] - 31) ^ 1);
        out
    }
}

#[cfg(test)]
mod tests;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod backend_agreement;

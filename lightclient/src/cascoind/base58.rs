//! Base58Check P2PKH addresses, the form the real node's wallet and `getsecuretrust` take
//! (`DecodeDestination`). A casl2 [`Address`] is the same HASH160 key id the node's P2PKH
//! address encodes.

use casl2_verifier::{sha256d, Address};

/// Cascoin's `PUBKEY_ADDRESS` version byte (40, addresses start with `H`), the same on
/// mainnet, testnet and regtest (`chainparams.cpp`).
pub const CASCOIN_PUBKEY_VERSION: u8 = 40;

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58Check of `version ‖ payload ‖ first 4 bytes of SHA256d`.
pub fn encode_check(version: u8, payload: &[u8]) -> String {
    let mut data = Vec::with_capacity(payload.len() + 5);
    data.push(version);
    data.extend_from_slice(payload);
    let check = sha256d(&data);
    data.extend_from_slice(&check.0[..4]);
    let zeros = data.iter().take_while(|b| **b == 0).count();
    // Base-256 to base-58, little-endian digits.
    let mut digits: Vec<u8> = Vec::with_capacity(data.len() * 138 / 100 + 1);
    for &byte in &data {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = u8::try_from(carry % 58).unwrap_or(0);
            carry /= 58;
        }
        while carry > 0 {
            digits.push(u8::try_from(carry % 58).unwrap_or(0));
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| char::from(ALPHABET[usize::from(*d)])),
    );
    out
}

/// Decode Base58Check into `(version, payload)`; the error names the bad character or a
/// checksum mismatch.
pub fn decode_check(s: &str) -> Result<(u8, Vec<u8>), String> {
    let zeros = s.bytes().take_while(|b| *b == b'1').count();
    let mut bytes: Vec<u8> = Vec::with_capacity(s.len());
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .ok_or_else(|| format!("{s:?}: {:?} is not a base58 character", char::from(c)))?;
        let mut carry = u32::try_from(v).unwrap_or(0);
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = u8::try_from(carry & 0xff).unwrap_or(0);
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push(u8::try_from(carry & 0xff).unwrap_or(0));
            carry >>= 8;
        }
    }
    let mut data = vec![0u8; zeros];
    data.extend(bytes.iter().rev());
    if data.len() < 5 {
        return Err(format!("{s:?}: too short for Base58Check"));
    }
    let (body, check) = data.split_at(data.len() - 4);
    if sha256d(body).0[..4] != *check {
        return Err(format!("{s:?}: Base58Check checksum mismatch"));
    }
    Ok((body[0], body[1..].to_vec()))
}

/// The node's P2PKH address of a casl2 address (its HASH160 key id).
pub fn p2pkh_address(address: &Address, version: u8) -> String {
    encode_check(version, &address.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_vector() {
        // HASH160 of the generator point's compressed key, version 0 (Bitcoin mainnet).
        let a = Address::from_hex("751e76e8199196d454941c45d1b3a323f1433bd6").unwrap();
        assert_eq!(p2pkh_address(&a, 0), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
        assert_eq!(
            decode_check("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH").unwrap(),
            (0, a.0.to_vec())
        );
    }

    #[test]
    fn cascoin_address_round_trip() {
        // The community fund address in the node's chainparams.cpp.
        let (v, payload) = decode_check("HF2sgFXX5NgDojHhTPCTFknc6bqh3xCd8u").unwrap();
        assert_eq!(v, CASCOIN_PUBKEY_VERSION);
        assert_eq!(payload.len(), 20);
        let mut a = Address::ZERO;
        a.0.copy_from_slice(&payload);
        assert_eq!(
            p2pkh_address(&a, CASCOIN_PUBKEY_VERSION),
            "HF2sgFXX5NgDojHhTPCTFknc6bqh3xCd8u"
        );
        assert!(decode_check("HF2sgFXX5NgDojHhTPCTFknc6bqh3xCd8v")
            .unwrap_err()
            .contains("checksum"));
        assert!(decode_check("HF2sgFXX5NgDojHhTPCTFknc6bqh3xCd80")
            .unwrap_err()
            .contains("not a base58"));
    }
}

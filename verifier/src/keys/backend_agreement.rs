//! The native backend (libsecp256k1) and the wasm32 backend (k256) accept and reject exactly
//! the same compact signatures, and recover the same keys.

use super::test_util::*;
use super::*;
use crate::hash::sha256d;
use proptest::prelude::*;

fn both(hash: &H256, sig: &[u8]) -> Result<[u8; PUBLIC_KEY_LEN], KeyError> {
    let native = recover_compact(hash, sig).map(|k| k.to_bytes());
    let reference = recover_compact_k256(hash, sig).map(|k| k.to_bytes());
    assert_eq!(
        native,
        reference,
        "backends disagree on {}",
        hex::encode(sig)
    );
    let addr = recover_compact_address(hash, sig);
    assert_eq!(addr, native.clone().map(|b| hash160(&b)));
    native
}

fn key(seed: [u8; 32]) -> PrivateKey {
    PrivateKey::from_bytes(&seed).unwrap_or_else(|_| {
        let mut b = [0u8; 32];
        b[31] = 7;
        PrivateKey::from_bytes(&b).expect("7 is a valid key")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_signatures_recover_the_signer_on_both(seed in any::<[u8; 32]>(), msg in any::<[u8; 32]>()) {
        let k = key(seed);
        let h = H256(msg);
        let sig = k.sign_compact(&h).unwrap();
        prop_assert_eq!(both(&h, &sig), Ok(k.public_key().to_bytes()));
        // The same signature in high-S form is rejected by both.
        prop_assert_eq!(both(&h, &to_high_s(&sig)), Err(KeyError::HighS));
        // Another recovery id recovers another key or nothing, the same on both.
        for other in 31u8..=34 {
            let mut s = sig;
            s[0] = other;
            let r = both(&h, &s);
            if other != sig[0] {
                prop_assert_ne!(r, Ok(k.public_key().to_bytes()));
            }
        }
    }

    #[test]
    fn mutated_signatures_get_the_same_verdict(
        seed in any::<[u8; 32]>(),
        msg in any::<[u8; 32]>(),
        pos in 0usize..65,
        byte in any::<u8>(),
        cut in 0usize..70,
    ) {
        let k = key(seed);
        let h = H256(msg);
        let sig = k.sign_compact(&h).unwrap();
        let mut m = sig;
        m[pos] = byte;
        let _ = both(&h, &m);
        // Other lengths.
        let mut v = sig.to_vec();
        v.resize(cut, 0);
        let r = both(&h, &v);
        if cut != COMPACT_SIGNATURE_LEN {
            prop_assert_eq!(r, Err(KeyError::CompactSignatureLength(cut)));
        }
    }

    #[test]
    fn garbage_gets_the_same_verdict(
        header in 31u8..=34,
        r in any::<[u8; 32]>(),
        s in any::<[u8; 32]>(),
        small_r in any::<bool>(),
        low_s in any::<bool>(),
        msg in any::<[u8; 32]>(),
    ) {
        let mut sig = [0u8; 65];
        sig[0] = header;
        sig[1..33].copy_from_slice(&r);
        // A small r lets recovery ids 2 and 3 (x = r + n) reach a point.
        if small_r {
            sig[1..17].fill(0);
        }
        sig[33..].copy_from_slice(&s);
        if low_s {
            sig[33] &= 0x7f;
        }
        let _ = both(&H256(msg), &sig);
        let mut any_header = sig;
        any_header[0] = msg[0];
        let _ = both(&H256(msg), &any_header);
    }
}

#[test]
fn edge_scalars_get_the_same_verdict() {
    let h = sha256d(b"edges");
    let mut one = [0u8; 32];
    one[31] = 1;
    let mut n_minus_1 = N;
    n_minus_1[31] -= 1;
    for r in [[0u8; 32], one, N, n_minus_1, HALF_CURVE_ORDER, [0xff; 32]] {
        for s in [[0u8; 32], one, N, n_minus_1, HALF_CURVE_ORDER, [0xff; 32]] {
            for header in 31u8..=34 {
                let mut sig = [0u8; 65];
                sig[0] = header;
                sig[1..33].copy_from_slice(&r);
                sig[33..].copy_from_slice(&s);
                let v = both(&h, &sig);
                let bad = |x: &[u8; 32]| *x == [0u8; 32] || x >= &N;
                if bad(&r) || bad(&s) {
                    assert_eq!(v, Err(KeyError::InvalidScalars));
                } else if s > HALF_CURVE_ORDER {
                    assert_eq!(v, Err(KeyError::HighS));
                }
            }
        }
    }
    // s = n/2 is the largest low S; n/2 + 1 is high.
    let mut half_plus = HALF_CURVE_ORDER;
    half_plus[31] += 1;
    let mut sig = [0u8; 65];
    sig[0] = 31;
    sig[1..33].copy_from_slice(&one);
    sig[33..].copy_from_slice(&half_plus);
    assert_eq!(both(&h, &sig), Err(KeyError::HighS));
}

#[test]
fn known_vector_recovers_on_both() {
    // Key 1 (the generator), hash SHA256d("x"): the signature bytes are fixed by RFC 6979.
    let mut b = [0u8; 32];
    b[31] = 1;
    let k = PrivateKey::from_bytes(&b).unwrap();
    let h = sha256d(b"x");
    let sig = k.sign_compact(&h).unwrap();
    assert_eq!(
        both(&h, &sig),
        Ok(k.public_key().to_bytes()),
        "{}",
        hex::encode(sig)
    );
}

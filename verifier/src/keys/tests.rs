//! Unit tests of the keys and signatures.

use super::test_util::*;
use super::*;
use crate::hash::sha256d;
use rand_chacha::rand_core::SeedableRng;

fn key1() -> PrivateKey {
    let mut b = [0u8; 32];
    b[31] = 1;
    PrivateKey::from_bytes(&b).unwrap()
}

#[test]
fn private_key_one_has_the_known_address() {
    let k = key1();
    assert_eq!(
        k.public_key().to_hex(),
        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
    assert_eq!(
        k.address().to_hex(),
        "0x751e76e8199196d454941c45d1b3a323f1433bd6"
    );
    assert!(PrivateKey::from_bytes(&[0u8; 32]).is_err());
    assert!(PrivateKey::from_bytes(&N).is_err());
    assert_eq!(PrivateKey::from_hex(&k.to_hex()).unwrap(), k);
}

#[test]
fn debug_does_not_print_the_secret() {
    let k =
        PrivateKey::from_hex("c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00")
            .unwrap();
    let d = format!("{k:?}");
    assert!(!d.contains("c0ffee"), "{d}");
    assert!(!d.contains(&k.to_hex()));
}

#[test]
fn generate_uses_the_given_rng() {
    let mut a = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let mut b = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    assert_eq!(PrivateKey::generate(&mut a), PrivateKey::generate(&mut b));
    assert_ne!(PrivateKey::generate(&mut a), key1());
}

#[test]
fn public_keys_are_strict() {
    let pk = key1().public_key();
    let b = pk.to_bytes();
    assert_eq!(PublicKey::from_bytes(&b).unwrap(), pk);
    assert_eq!(
        PublicKey::from_bytes(&b[..32]),
        Err(KeyError::PublicKeyLength(32))
    );
    let mut bad = b;
    bad[0] = 0x04;
    assert_eq!(
        PublicKey::from_bytes(&bad),
        Err(KeyError::PublicKeyNotCompressed(4))
    );
    // x = 5 is not on the curve (5^3 + 7 = 132 is not a square mod p).
    let mut off = [0u8; 33];
    off[0] = 2;
    off[32] = 5;
    assert_eq!(PublicKey::from_bytes(&off), Err(KeyError::InvalidPublicKey));
    let mut big = [0xffu8; 33];
    big[0] = 2;
    assert_eq!(PublicKey::from_bytes(&big), Err(KeyError::InvalidPublicKey));
}

#[test]
fn compact_sign_and_recover() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for i in 0u32..32 {
        let k = PrivateKey::generate(&mut rng);
        let h = sha256d(&i.to_le_bytes());
        let sig = k.sign_compact(&h).unwrap();
        assert!((31..=34).contains(&sig[0]));
        assert_eq!(recover_compact(&h, &sig).unwrap(), k.public_key());
        // Deterministic (RFC 6979).
        assert_eq!(k.sign_compact(&h).unwrap(), sig);
    }
}

#[test]
fn compact_rejections() {
    let k = key1();
    let h = sha256d(b"x");
    let sig = k.sign_compact(&h).unwrap();
    assert_eq!(
        recover_compact(&h, &sig[..64]),
        Err(KeyError::CompactSignatureLength(64))
    );
    for hdr in [0u8, 27, 28, 29, 30, 35, 255] {
        let mut s = sig;
        s[0] = hdr;
        assert_eq!(recover_compact(&h, &s), Err(KeyError::CompactHeader(hdr)));
    }
    assert_eq!(recover_compact(&h, &to_high_s(&sig)), Err(KeyError::HighS));
    let mut zero = sig;
    zero[1..33].fill(0);
    assert_eq!(recover_compact(&h, &zero), Err(KeyError::InvalidScalars));
    let mut over = sig;
    over[1..33].copy_from_slice(&N);
    assert_eq!(recover_compact(&h, &over), Err(KeyError::InvalidScalars));
}

#[test]
fn der_round_trip_and_strictness() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
    for i in 0u32..64 {
        let k = PrivateKey::generate(&mut rng);
        let h = sha256d(&i.to_be_bytes());
        let der = k.sign_der(&h).unwrap();
        assert!(der.len() <= MAX_DER_SIGNATURE_LEN);
        k.public_key().verify_der(&h, &der).unwrap();
        let sig = der_decode(&der).unwrap();
        assert_eq!(der_encode(&sig), der);
        assert_eq!(
            k.public_key().verify_der(&sha256d(b"other"), &der),
            Err(KeyError::VerifyFailed)
        );
        // High S: same r, s' = n - s.
        let rs = sig.to_bytes();
        let hs = Signature::from_scalars(
            <[u8; 32]>::try_from(&rs[..32]).unwrap(),
            negate_s(&rs[32..]),
        )
        .unwrap();
        assert_eq!(
            k.public_key().verify_der(&h, &der_encode(&hs)),
            Err(KeyError::HighS)
        );
    }
}

#[test]
fn der_non_canonical_forms_are_rejected() {
    let k = key1();
    let h = sha256d(b"der");
    let der = k.sign_der(&h).unwrap();
    let pk = k.public_key();
    // Trailing byte.
    let mut t = der.clone();
    t.push(0);
    assert!(matches!(pk.verify_der(&h, &t), Err(KeyError::Der(_))));
    // Needless leading zero in r.
    let len_r = der[3] as usize;
    let mut padded = vec![0x30, der[1] + 1, 0x02, der[3] + 1, 0x00];
    padded.extend_from_slice(&der[4..]);
    assert!(matches!(pk.verify_der(&h, &padded), Err(KeyError::Der(_))));
    // Wrong tags.
    let mut w = der.clone();
    w[0] = 0x31;
    assert!(matches!(pk.verify_der(&h, &w), Err(KeyError::Der(_))));
    let mut w = der.clone();
    w[4 + len_r] = 0x03;
    assert!(matches!(pk.verify_der(&h, &w), Err(KeyError::Der(_))));
    // Long-form length.
    let mut lf = vec![0x30, 0x81, der[1]];
    lf.extend_from_slice(&der[2..]);
    assert!(pk.verify_der(&h, &lf).is_err());
    assert!(pk.verify_der(&h, &[]).is_err());
}

#[test]
fn der_and_compact_parsers_never_panic() {
    use rand::{Rng, SeedableRng as _};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let k = key1();
    let h = sha256d(b"fuzz");
    let der = k.sign_der(&h).unwrap();
    let compact = k.sign_compact(&h).unwrap();
    for _ in 0..4000 {
        let n = rng.gen_range(0..80);
        let b: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
        let _ = der_decode(&b);
        let _ = recover_compact(&h, &b);
        let _ = PublicKey::from_bytes(&b);
        let mut d = der.clone();
        let i = rng.gen_range(0..d.len());
        d[i] = rng.gen();
        let _ = k.public_key().verify_der(&h, &d);
        let mut c = compact;
        let i = rng.gen_range(0..c.len());
        c[i] = rng.gen();
        let _ = recover_compact(&h, &c);
    }
}

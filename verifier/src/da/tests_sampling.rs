//! Tests of sampling, confidence and the protocol test vectors.

use super::*;
use crate::hash::{sha256d, H256};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[test]
fn sampling_plans_are_deterministic_distinct_and_prefix_closed() {
    let seed = [42u8; 32];
    let a = sampling_plan(&seed, 32, 200).unwrap();
    assert_eq!(a, sampling_plan(&seed, 32, 200).unwrap());
    assert_eq!(a[..50], sampling_plan(&seed, 32, 50).unwrap()[..]);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 200);
    assert!(a.iter().all(|&(r, c)| r < 32 && c < 32));
    assert_ne!(a, sampling_plan(&[43u8; 32], 32, 200).unwrap());
    let full = sampling_plan(&seed, 4, 16).unwrap();
    let mut f = full.clone();
    f.sort_unstable();
    assert_eq!(
        f,
        (0..4u32)
            .flat_map(|r| (0..4u32).map(move |c| (r, c)))
            .collect::<Vec<_>>()
    );
    assert!(matches!(
        sampling_plan(&seed, 4, 17),
        Err(DaError::TooManySamples { .. })
    ));
    assert!(sampling_plan(&seed, 0, 0).is_err());
}

#[test]
fn confidence_formula_and_its_inverse() {
    assert_eq!(availability_confidence(4, 0), 0.0);
    assert_eq!(availability_confidence(1, 1), 1.0);
    let mut last = 0.0;
    for s in 1..40 {
        let c = availability_confidence(16, s);
        assert!(c > last);
        last = c;
    }
    for k in [1usize, 2, 4, 8, 16, 64] {
        for conf in [0.5, 0.9, 0.99, 0.9999, 1.0] {
            let s = samples_needed(k, conf).unwrap();
            assert!(availability_confidence(k, s) >= conf, "k={k} conf={conf}");
            if s > 0 {
                assert!(
                    availability_confidence(k, s - 1) < conf,
                    "k={k} conf={conf}"
                );
            }
        }
    }
    // 128 KiB batches (k = 16): 0.9999 takes a few dozen samples.
    let s = samples_needed(16, 0.9999).unwrap();
    assert!((20..=30).contains(&s), "{s}");
    assert!(samples_needed(16, 1.5).is_err());
    assert!(samples_needed(16, f64::NAN).is_err());
}

#[test]
fn confidence_matches_a_monte_carlo_simulation() {
    // An adversary withholds a (k+1)×(k+1) block, the least that makes the square unrecoverable;
    // a light client takes s distinct samples from its plan and is fooled if all are served.
    let mut r = rng(9);
    let k = 4usize;
    let w = 2 * k as u32;
    let trials = 20_000;
    for s in [1usize, 3, 6, 10] {
        let mut fooled = 0;
        for _ in 0..trials {
            let mut seed = [0u8; 32];
            r.fill_bytes(&mut seed);
            let plan = sampling_plan(&seed, w as usize, s).unwrap();
            if plan.iter().all(|&(a, b)| a > k as u32 || b > k as u32) {
                fooled += 1;
            }
        }
        let p = 1.0 - availability_confidence(k, s);
        let observed = fooled as f64 / trials as f64;
        let sigma = (p * (1.0 - p) / trials as f64).sqrt().max(1e-4);
        assert!(
            (observed - p).abs() < 5.0 * sigma,
            "s={s}: simulated {observed}, formula {p}"
        );
    }
}

#[test]
fn protocol_test_vectors() {
    // docs/protocol.md, section "Data availability".
    let hex = |h: H256| h.to_hex();
    assert_eq!(
        hex(share_leaf(&[0u8; SHARE_SIZE])),
        "0x6040ebf80e1b41bff1570d4a3d6a985cdc00c26f0df71bc696b64876bc5e95c3"
    );
    let sq = ExtendedSquare::extend(b"casl2").unwrap();
    let c = sq.commitment(sha256d(b"casl2"));
    assert_eq!(
        hex(c.row_roots[0]),
        "0xeb31f06d84007d7dd20f56c0d557f77ff54a12e4bf722577a509a61c5223656b"
    );
    assert_eq!(
        hex(c.erasure_coding_root),
        "0xe5352cd34eea6fcf5fed9fe2a7f14e4738eaf75daefa826db60456d83865cd4b"
    );
    assert_eq!(
        hex(c.data_root()),
        "0xf00c7c2b81e59aa45720181276b6d629d16e78bac4b014fc1b0a898780c45748"
    );
    let payload: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let c2 = ExtendedSquare::extend(&payload)
        .unwrap()
        .commitment(sha256d(&payload));
    assert_eq!(
        hex(c2.data_root()),
        "0xd80c233a7fbedb4eba37ea6681fb81f6abc23d4bdf037c649d75aed7186cfbb5"
    );
    assert_eq!(
        sampling_plan(&[0u8; 32], 32, 4).unwrap(),
        vec![(1, 22), (15, 11), (13, 11), (14, 20)]
    );
    assert_eq!(samples_needed(16, 0.9999).unwrap(), 28);
}

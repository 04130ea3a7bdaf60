//! Data availability benchmarks: extension and roots of a 128 KiB payload, the raw
//! Reed-Solomon codecs (reed-solomon-simd and reed-solomon-erasure) on the same shape,
//! reconstruction after 50% random loss, sample verification, and zstd on synthetic records.
//!
//! `cargo bench -p casl2-verifier --bench da -- --warm-up-time 1 --measurement-time 3`

use casl2_verifier::da::{
    compress_batch, decompress_batch, encode_payload, reconstruct_payload, sampling_plan,
    verify_sample, Axis, DaParams, ExtendedSquare, Sample, SHARE_SIZE,
};
use casl2_verifier::hash::H256;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use reed_solomon_erasure::galois_8::ReedSolomon;

const PAYLOAD: usize = 128 * 1024;

fn random_bytes(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// Transfer-like records: sender and recipient (20 bytes each, from 1000 active addresses),
/// amount (u64, round-ish), nonce (u64, small), fee (u64), 65-byte compact signature.
fn records(rng: &mut ChaCha20Rng, n: usize) -> Vec<u8> {
    let addrs: Vec<Vec<u8>> = (0..1000).map(|_| random_bytes(rng, 20)).collect();
    let mut out = Vec::with_capacity(n + 200);
    while out.len() < n {
        out.extend_from_slice(&addrs[rng.gen_range(0..addrs.len())]);
        out.extend_from_slice(&addrs[rng.gen_range(0..addrs.len())]);
        let amount: u64 = rng.gen_range(1..100_000u64) * [1, 100, 10_000][rng.gen_range(0..3)];
        out.extend_from_slice(&amount.to_le_bytes());
        out.extend_from_slice(&rng.gen_range(0..2000u64).to_le_bytes());
        out.extend_from_slice(&1000u64.to_le_bytes());
        out.push(31 + rng.gen_range(0..2u8));
        out.extend_from_slice(&random_bytes(rng, 64));
    }
    out.truncate(n);
    out
}

fn bench_encode(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let payload = random_bytes(&mut rng, PAYLOAD);
    let mut g = c.benchmark_group("da/encode");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    g.bench_function("extend+roots 128KiB (k=16)", |b| {
        b.iter(|| ExtendedSquare::extend(&payload).expect("extend"))
    });
    g.bench_function("extend+roots+commitment 128KiB", |b| {
        b.iter(|| encode_payload(&payload, H256::ZERO, &DaParams::DEFAULT).expect("encode"))
    });
    g.finish();
}

/// The raw codecs on the row extension's shape: 16 original shards of 16 shares (8 KiB each),
/// 16 parity shards.
fn bench_codecs(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let k = 16;
    let shard = 16 * SHARE_SIZE;
    let originals: Vec<Vec<u8>> = (0..k).map(|_| random_bytes(&mut rng, shard)).collect();
    let mut g = c.benchmark_group("da/rs-codec 16+16 x 8KiB");
    g.throughput(Throughput::Bytes((k * shard) as u64));
    g.bench_function("reed-solomon-simd", |b| {
        b.iter(|| reed_solomon_simd::encode(k, k, &originals).expect("encode"))
    });
    let rse = ReedSolomon::new(k, k).expect("codec");
    let mut shards: Vec<Vec<u8>> = originals.clone();
    shards.extend((0..k).map(|_| vec![0u8; shard]));
    g.bench_function("reed-solomon-erasure", |b| {
        b.iter(|| rse.encode(&mut shards).expect("encode"))
    });
    g.finish();
}

fn bench_reconstruct(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let payload = random_bytes(&mut rng, PAYLOAD);
    let enc = encode_payload(&payload, H256::ZERO, &DaParams::DEFAULT).expect("encode");
    let w = enc.square.width();
    let mut cells: Vec<(usize, usize)> = (0..w).flat_map(|r| (0..w).map(move |c| (r, c))).collect();
    cells.shuffle(&mut rng);
    let kept: Vec<Sample> = cells[..w * w / 2]
        .iter()
        .enumerate()
        .map(|(i, &(r, c))| {
            let axis = if i % 2 == 0 { Axis::Row } else { Axis::Column };
            enc.square.sample(r, c, axis).expect("sample")
        })
        .collect();
    let params = DaParams::DEFAULT;
    assert_eq!(
        reconstruct_payload(&enc.commitment, &kept, &params).expect("reconstruct"),
        payload
    );
    let mut g = c.benchmark_group("da/reconstruct");
    g.throughput(Throughput::Bytes(PAYLOAD as u64));
    g.bench_function(
        "128KiB from 50% random shares (verify 512 samples + decode)",
        |b| b.iter(|| reconstruct_payload(&enc.commitment, &kept, &params).expect("reconstruct")),
    );
    g.finish();
}

fn bench_samples(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let payload = random_bytes(&mut rng, PAYLOAD);
    let enc = encode_payload(&payload, H256::ZERO, &DaParams::DEFAULT).expect("encode");
    let s = enc.square.sample(21, 5, Axis::Row).expect("sample");
    let mut g = c.benchmark_group("da/sample");
    g.bench_function("verify_sample k=16", |b| {
        b.iter(|| verify_sample(&enc.commitment, &s).expect("valid"))
    });
    g.bench_function("sampling_plan 28 of 32x32", |b| {
        b.iter(|| sampling_plan(&[7u8; 32], 32, 28).expect("plan"))
    });
    g.finish();
}

fn bench_compression(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let batch = records(&mut rng, 200 * 1024);
    let mut g = c.benchmark_group("da/zstd 200KiB records");
    g.throughput(Throughput::Bytes(batch.len() as u64));
    for level in [1, 3, 9, 19] {
        let params = DaParams {
            zstd_level: level,
            max_compressed_size: 1 << 20,
            ..DaParams::DEFAULT
        };
        let payload = compress_batch(&batch, &params).expect("compress");
        eprintln!(
            "zstd level {level}: {} -> {} bytes, ratio {:.3}",
            batch.len(),
            payload.len(),
            payload.len() as f64 / batch.len() as f64
        );
        g.bench_with_input(BenchmarkId::new("compress", level), &params, |b, p| {
            b.iter(|| compress_batch(&batch, p).expect("compress"))
        });
        if level == 3 {
            g.bench_function("decompress level 3", |b| {
                b.iter(|| decompress_batch(&payload, &params).expect("decompress"))
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_encode,
    bench_codecs,
    bench_reconstruct,
    bench_samples,
    bench_compression
);
criterion_main!(benches);

//! Memory of the in-memory account tree: builds N random accounts (default 1,000,000) in
//! batches and prints the process's resident set size before and after, read from
//! /proc/self/status (Linux).
//!
//! `cargo run --release -p casl2-verifier --example smt_memory -- 1000000 100000`

use casl2_verifier::smt::{AccountTree, MemoryStore};
use casl2_verifier::{AccountState, Address};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::time::Instant;

fn status(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let batch: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let before = status("VmRSS:").unwrap_or(0);
    let mut tree = AccountTree::new(MemoryStore::new());
    let t0 = Instant::now();
    let mut done = 0;
    while done < n {
        let m = batch.min(n - done);
        let accts: Vec<(Address, AccountState)> = (0..m)
            .map(|_| {
                let mut a = [0u8; 20];
                rng.fill(&mut a);
                let st = AccountState {
                    balance: rng.gen_range(1..1_000_000_000),
                    nonce: rng.gen_range(0..1000),
                    ..Default::default()
                };
                (Address(a), st)
            })
            .collect();
        tree.set_many(&accts).expect("update");
        done += m;
    }
    let secs = t0.elapsed().as_secs_f64();
    let (inner, leaves) = tree.tree().store().len();
    let after = status("VmRSS:").unwrap_or(0);
    let peak = status("VmHWM:").unwrap_or(0);
    println!(
        "{n} accounts in batches of {batch}: built in {secs:.1} s; stored {inner} inner nodes and {leaves} leaves"
    );
    println!(
        "store heap {:.1} MiB ({:.0} bytes per account)",
        tree.tree().store().heap_bytes() as f64 / 1048576.0,
        tree.tree().store().heap_bytes() as f64 / n as f64
    );
    println!(
        "RSS before {:.1} MiB, after {:.1} MiB (tree: {:.1} MiB), peak {:.1} MiB; root {}",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after - before) as f64 / 1024.0,
        peak as f64 / 1024.0,
        tree.root()
    );
}

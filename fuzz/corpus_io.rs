//! The fuzz corpus on disk (`fuzz/corpus/<target>/`), shared by the stable-toolchain replay
//! tests (`tests/tests/fuzz_corpus.rs`, `fullnode/tests/fuzz_corpus.rs`), which include this
//! file by path: reading a target's inputs, and writing the seeds.

use std::path::{Path, PathBuf};

/// `fuzz/corpus/<target>` of this repository.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Every input of `target`'s corpus, with its path; a missing or empty corpus fails the test.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()));
    let inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            (path, data)
        })
        .collect();
    assert!(!inputs.is_empty(), "{target}: the corpus is empty");
    inputs
}

/// Write `seeds` into the corpus as `seed-<n>` per target, when `CASL2_WRITE_SEEDS` is set.
pub fn write_seeds(seeds: Vec<(&'static str, Vec<u8>)>) {
    if std::env::var_os("CASL2_WRITE_SEEDS").is_none() {
        return;
    }
    let mut counts = std::collections::HashMap::new();
    for (target, data) in seeds {
        let n = counts.entry(target).or_insert(0);
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("creating the corpus directory");
        std::fs::write(dir.join(format!("seed-{n}")), data).expect("writing a seed");
        *n += 1;
    }
}

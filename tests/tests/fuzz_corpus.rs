//! Replays the fuzz corpus of the verifier's decoders (`fuzz/corpus/<target>/`, seeds and
//! every crash input found) through the fuzz targets' own bodies ([`casl2_tests::fuzz`]) on
//! the stable toolchain, so a regression shows without nightly or cargo-fuzz.

use casl2_tests::fuzz::TARGETS;
use casl2_tests::fuzz_seeds::seeds;
use std::path::PathBuf;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn body(target: &str) -> fn(&[u8]) {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target {target}"))
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (target, run) in TARGETS {
        let dir = corpus_dir(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()));
        let mut n = 0;
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "{target}: the corpus is empty");
    }
}

#[test]
fn every_seed_passes_its_target() {
    let all = seeds();
    for (target, _) in TARGETS {
        assert!(all.iter().any(|(t, _)| t == target), "{target} has no seed");
    }
    for (target, data) in &all {
        body(target)(data);
    }
}

/// Writes the seeds into the corpus (`CASL2_WRITE_SEEDS=1 cargo test -p casl2-tests --test
/// fuzz_corpus write_seeds -- --ignored`), named `seed-<n>`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand after changing the seeds"]
fn write_seeds() {
    if std::env::var_os("CASL2_WRITE_SEEDS").is_none() {
        return;
    }
    let mut counts = std::collections::HashMap::new();
    for (target, data) in seeds() {
        let n = counts.entry(target).or_insert(0);
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).expect("creating the corpus directory");
        std::fs::write(dir.join(format!("seed-{n}")), data).expect("writing a seed");
        *n += 1;
    }
}

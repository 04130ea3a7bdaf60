//! Replays the fuzz corpus of the verifier's decoders (`fuzz/corpus/<target>/`, seeds and
//! every crash input found) through the fuzz targets' own bodies ([`casl2_tests::fuzz`]) on
//! the stable toolchain, so a regression shows without nightly or cargo-fuzz.

use casl2_tests::fuzz::TARGETS;
use casl2_tests::fuzz_seeds::seeds;
#[path = "../../fuzz/corpus_io.rs"]
mod corpus_io;

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
        for (path, data) in corpus_io::corpus(target) {
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        }
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
    corpus_io::write_seeds(seeds());
}

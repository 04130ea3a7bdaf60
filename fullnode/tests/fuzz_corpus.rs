//! Replays the fuzz corpus of the node's remote inputs (`fuzz/corpus/rpc_body/` and
//! `fuzz/corpus/peer_message/`: seeds and every crash input found) through the fuzz targets'
//! own bodies ([`casl2_fullnode::fuzzing`]) against one real node on 127.0.0.1, on the stable
//! toolchain. A panic on any of the node's threads fails the test, as it would crash the
//! fuzzer.

use casl2_fullnode::fuzzing::{seeds, FuzzNode, TARGETS};
#[path = "../../fuzz/corpus_io.rs"]
mod corpus_io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Note every panic on any thread (the node's handlers run on its runtime's threads).
fn watch_panics() -> Arc<AtomicBool> {
    let seen = Arc::new(AtomicBool::new(false));
    let flag = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        flag.store(true, Ordering::SeqCst);
        previous(info);
    }));
    seen
}

#[test]
fn every_corpus_input_and_seed_passes_its_target() {
    let panicked = watch_panics();
    let node = FuzzNode::start().expect("starting the node");
    let all = seeds();
    for (target, run) in TARGETS {
        for (path, data) in corpus_io::corpus(target) {
            run(&node, &data);
            assert!(
                !panicked.load(Ordering::SeqCst),
                "{target}: {} panicked the node",
                path.display()
            );
        }
        let mine = all.iter().filter(|(t, _)| t == target).count();
        assert!(mine > 0, "{target} has no seed");
        for (_, data) in all.iter().filter(|(t, _)| t == target) {
            run(&node, data);
        }
        assert!(
            !panicked.load(Ordering::SeqCst),
            "{target}: a seed panicked the node"
        );
    }
}

/// Writes the seeds into the corpus (`CASL2_WRITE_SEEDS=1 cargo test -p casl2-fullnode --test
/// fuzz_corpus write_seeds -- --ignored`), named `seed-<n>`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand after changing the seeds"]
fn write_seeds() {
    corpus_io::write_seeds(seeds());
}

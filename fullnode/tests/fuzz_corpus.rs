//! Replays the fuzz corpus of the node's remote inputs (`fuzz/corpus/rpc_body/` and
//! `fuzz/corpus/peer_message/`: seeds and every crash input found) through the fuzz targets'
//! own bodies ([`casl2_fullnode::fuzzing`]) against one real node on 127.0.0.1, on the stable
//! toolchain. A panic on any of the node's threads fails the test, as it would crash the
//! fuzzer.

use casl2_fullnode::fuzzing::{seeds, FuzzNode, TARGETS};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

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
        let dir = corpus_dir(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()));
        let mut n = 0;
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            run(&node, &data);
            assert!(
                !panicked.load(Ordering::SeqCst),
                "{target}: {} panicked the node",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0, "{target}: the corpus is empty");
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

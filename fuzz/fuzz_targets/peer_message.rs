//! Fuzz target `peer_message`: the body is `casl2_fullnode::fuzzing::peer_message`, against one real node
//! started for the whole run (docs/security.md).
#![no_main]

use casl2_fullnode::fuzzing::{peer_message, FuzzNode};
use std::sync::OnceLock;

static NODE: OnceLock<FuzzNode> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let node = NODE.get_or_init(|| FuzzNode::start().expect("starting the fuzzed node"));
    peer_message(node, data)
});

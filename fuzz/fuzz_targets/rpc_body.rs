//! Fuzz target `rpc_body`: the body is `casl2_fullnode::fuzzing::rpc_body`, against one real node
//! started for the whole run (docs/security.md).
#![no_main]

use casl2_fullnode::fuzzing::{rpc_body, FuzzNode};
use std::sync::OnceLock;

static NODE: OnceLock<FuzzNode> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let node = NODE.get_or_init(|| FuzzNode::start().expect("starting the fuzzed node"));
    rpc_body(node, data)
});

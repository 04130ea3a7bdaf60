//! Fuzz target `keystore`: the body is `fuzz_file` of cli/src/keystore.rs, compiled here
//! from the CLI's own source (the CLI is a binary crate) (docs/security.md).
#![no_main]

#[allow(dead_code)]
#[path = "../../cli/src/files.rs"]
mod files;
#[allow(dead_code)]
#[path = "../../cli/src/keystore.rs"]
mod keystore;

libfuzzer_sys::fuzz_target!(|data: &[u8]| keystore::fuzz_file(data));

//! Fuzz target `l1_tx`: the body is `casl2_tests::fuzz::l1_tx` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::l1_tx(data));

//! Fuzz target `vote`: the body is `casl2_tests::fuzz::vote` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::vote(data));

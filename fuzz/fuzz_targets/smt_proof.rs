//! Fuzz target `smt_proof`: the body is `casl2_tests::fuzz::smt_proof` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::smt_proof(data));

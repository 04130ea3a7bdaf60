//! Fuzz target `fraud_witness`: the body is `casl2_tests::fuzz::fraud_witness` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::fraud_witness(data));

//! Fuzz target `batch_payload`: the body is `casl2_tests::fuzz::batch_payload` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::batch_payload(data));

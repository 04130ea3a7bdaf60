//! Fuzz target `da_sample`: the body is `casl2_tests::fuzz::da_sample` (docs/security.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casl2_tests::fuzz::da_sample(data));

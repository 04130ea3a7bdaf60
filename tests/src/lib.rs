//! Shared helpers for casl2's end-to-end tests and property tests (in `tests/tests/`).

//! The browser face of casl2's light client.
//!
//! The wasm-bindgen bindings, the npm package and the page come with the "Light client" issue.
//! Until then this crate only checks that the verifier and light client compile into it.

pub use casl2_lightclient as lightclient;

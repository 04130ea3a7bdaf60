//! The browser face of casl2's light client (bindings come next).

pub use casl2_lightclient as lightclient;

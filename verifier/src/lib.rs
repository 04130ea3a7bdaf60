#![doc = include_str!("../README.md")]
// No unsafe code, but for the SHA-NI hashing of `smt::shani` (one call per entry point, after a
// run-time feature check).
#![deny(unsafe_code)]

pub mod codec;
pub mod consensus;
pub mod da;
pub mod fraud;
pub mod hash;
pub mod keys;
pub mod l1;
pub mod params;
pub mod settlement;
pub mod smt;
pub mod stf;
pub mod types;

pub use codec::{CodecError, Decode, Encode};
pub use hash::{hash160, sha256d, Address, H256};
pub use keys::{recover_compact, KeyError, PrivateKey, PublicKey, SignatureError};
pub use types::AccountState;
pub use types::{
    BatchHeader, BlockSignature, BurnData, L2Block, L2BlockHeader, L2Transaction,
    SequencerAnnouncement, TxType, Vote, VoteType,
};

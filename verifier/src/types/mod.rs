//! The protocol's data types, with the real node's exact layouts and hashes.

mod account;
pub mod batch;
pub mod block;
pub mod burn;
pub mod consensus;
pub mod message;
pub mod tx;
pub mod withdrawal;

pub use account::AccountState;
pub use batch::BatchHeader;
pub use block::{BlockSignature, L2Block, L2BlockHeader};
pub use burn::{BurnData, BurnError};
pub use consensus::{SequencerAnnouncement, Vote, VoteType};
pub use message::{queue_chain_next, L1Message, L1MessageBody};
pub use tx::{AccessListEntry, EncryptedPayload, L2Transaction, TxType};
pub use withdrawal::WithdrawalRecord;

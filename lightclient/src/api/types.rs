//! Parameter and result types of the RPC methods that have a shape of their own (the others
//! carry verifier types such as [`casl2_verifier::l1::Anchor`] directly; the devnet's are in
//! [`super::devnet_types`]). Field names are the wire names of `docs/protocol.md`.

use casl2_verifier::da::Sample;
use casl2_verifier::H256;
use serde::{Deserialize, Serialize};

/// The axis of an `l2_getshare` sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// Along a row.
    Row,
    /// Along a column.
    Column,
}

/// `l2_getshare`: one share of a batch's extended square with its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareAnswer {
    /// The data root the share belongs to.
    pub data_root: H256,
    /// The share and its proof against its row (or column) root.
    pub sample: Sample,
}

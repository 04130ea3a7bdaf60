//! The accounts one step touches: loaded once (settling their state rent), written together.

use super::rules::archive_key;
use super::state::Overlay;
use super::types::{BlockContext, RentTally};
use super::StfError;
use crate::codec::Decode;
use crate::hash::{Address, H256};
use crate::types::AccountState;
use std::collections::BTreeMap;

/// One account as a step sees it.
struct Touched {
    st: AccountState,
    /// Present in the tree (or restored from its archive record) before the step.
    existed: bool,
    /// Rent owed at the touch exceeded the balance (`STATE_RENT_UNPAID`).
    unpaid: Option<i64>,
}

/// Accounts touched by one step, loaded once, written together at the end (so aliasing of
/// sender, recipient, producer and pool is handled and a failure writes nothing).
///
/// Loading an account is a **touch**: the state rent it owes since its `lastActivity` is
/// settled at once (docs/protocol.md, "State rent"). An absent account with an archive record is
/// restored from it first.
pub(super) struct Accounts<'c> {
    map: BTreeMap<Address, Touched>,
    ctx: &'c BlockContext,
    rent: RentTally,
    /// Archive records read and to be deleted (restored accounts).
    restored: Vec<Address>,
}

/// All-default apart from `lastActivity`: such an account holds nothing and is not kept.
fn holds_nothing(st: &AccountState) -> bool {
    st.balance == 0
        && st.nonce == 0
        && st.hat_score == 0
        && st.code_hash == H256::ZERO
        && st.storage_root == H256::ZERO
}

impl<'c> Accounts<'c> {
    pub(super) fn new(ctx: &'c BlockContext) -> Self {
        Accounts {
            map: BTreeMap::new(),
            ctx,
            rent: RentTally::default(),
            restored: Vec::new(),
        }
    }

    pub(super) fn get<'s>(
        &'s mut self,
        ov: &mut Overlay<'_>,
        a: &Address,
    ) -> Result<&'s mut AccountState, StfError> {
        if !self.map.contains_key(a) {
            let t = self.load(ov, a)?;
            self.map.insert(*a, t);
        }
        self.map
            .get_mut(a)
            .map(|t| &mut t.st)
            .ok_or_else(|| StfError::State("account cache".into()))
    }

    /// Load `a` and settle its rent.
    fn load(&mut self, ov: &mut Overlay<'_>, a: &Address) -> Result<Touched, StfError> {
        let now = self.ctx.number;
        let key = a.tree_key();
        if let Some(b) = ov.get(&key)? {
            let mut st = AccountState::decode(&b)
                .map_err(|e| StfError::State(format!("account {a}: {e}")))?;
            let owed = self.ctx.rent.owed(st.last_activity, now);
            let mut unpaid = None;
            if owed > 0 {
                if owed <= st.balance {
                    st.balance -= owed;
                    self.rent.collected = self.rent.collected.saturating_add(owed);
                } else {
                    // STATE_RENT_UNPAID: everything it has is burned, the rest is forgiven.
                    self.rent.collected = self.rent.collected.saturating_add(st.balance.max(0));
                    st.balance = 0;
                    self.rent.unpaid.push(*a);
                    unpaid = Some(owed);
                }
                st.last_activity = now;
            }
            return Ok(Touched {
                st,
                existed: true,
                unpaid,
            });
        }
        if let Some(b) = ov.get(&archive_key(a))? {
            // Restoration: the archived state comes back with no balance and no rent for the
            // archived time.
            let mut st = AccountState::decode(&b)
                .map_err(|e| StfError::State(format!("archive record of {a}: {e}")))?;
            st.balance = 0;
            st.last_activity = now;
            self.restored.push(*a);
            return Ok(Touched {
                st,
                existed: true,
                unpaid: None,
            });
        }
        Ok(Touched {
            st: AccountState::default(),
            existed: false,
            unpaid: None,
        })
    }

    /// The rent `a` owed at its touch if it could not pay it.
    pub(super) fn unpaid(&self, a: &Address) -> Option<i64> {
        self.map.get(a).and_then(|t| t.unpaid)
    }

    /// Write every touched account: an account that could not pay its rent and is left without
    /// balance is archived; a new account starts its rent clock now; an account that holds
    /// nothing is deleted.
    pub(super) fn write(self, ov: &mut Overlay<'_>) -> RentTally {
        let now = self.ctx.number;
        for a in &self.restored {
            ov.put(archive_key(a), None);
        }
        for (a, mut t) in self.map {
            if t.unpaid.is_some() && t.st.balance == 0 {
                ov.put(a.tree_key(), None);
                if !holds_nothing(&t.st) {
                    t.st.last_activity = now;
                    ov.put(archive_key(&a), Some(t.st.to_bytes().to_vec()));
                }
                continue;
            }
            if !t.existed {
                t.st.last_activity = now;
            }
            if holds_nothing(&t.st) {
                ov.put(a.tree_key(), None);
            } else {
                ov.set_account(&a, &t.st);
            }
        }
        self.rent
    }
}

//! Shared by `tests/cvm_tests.rs` and `benches/cvm.rs`: the committed contract build and hand
//! ABI encoding (`tests/contracts/mod.rs`, re-exported), and a small chain that runs every
//! step statefully and statelessly.
#![allow(dead_code)]

#[path = "../contracts/mod.rs"]
mod contracts;
pub use contracts::*;

use casl2_verifier::keys::PrivateKey;
use casl2_verifier::smt::{MemoryStore, NodeStore, SparseMerkleTree};
use casl2_verifier::stf::{
    build_step_witness, execute_step, execute_step_stateless, BlockContext, Overlay, Receipt, Step,
    StepWitness,
};
use casl2_verifier::types::{L2Transaction, TxType};
use casl2_verifier::{AccountState, Address, H256};
use std::collections::HashMap;

pub const CHAIN: u64 = 1;

pub fn key(i: u64) -> PrivateKey {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&(i + 1).to_le_bytes());
    b[31] = 7;
    PrivateKey::from_bytes(&b).expect("key")
}

pub fn ctx() -> BlockContext {
    BlockContext {
        chain_id: CHAIN,
        number: 5,
        timestamp: 1_700_000_000_123,
        producer: Address([0xa0; 20]),
        other_sequencers: vec![Address([0xa1; 20])],
        rent: Default::default(),
    }
}

/// A tree with funded users, and their nonces.
pub struct Chain {
    pub tree: SparseMerkleTree<MemoryStore>,
    pub ctx: BlockContext,
    pub keys: Vec<PrivateKey>,
    pub nonces: HashMap<Address, u64>,
    /// Check every step statelessly too (witness built from the tree).
    pub check_stateless: bool,
}

impl Chain {
    pub fn new(users: u64, balance: i64) -> Self {
        let mut tree = SparseMerkleTree::new(MemoryStore::new());
        let keys: Vec<PrivateKey> = (0..users).map(key).collect();
        let ups = keys
            .iter()
            .map(|k| {
                let st = AccountState {
                    balance,
                    ..Default::default()
                };
                (k.address().tree_key(), Some(st.to_bytes().to_vec()))
            })
            .collect();
        tree.update_batch(ups).expect("fund");
        Chain {
            tree,
            ctx: ctx(),
            keys,
            nonces: HashMap::new(),
            check_stateless: true,
        }
    }

    pub fn addr(&self, i: usize) -> Address {
        self.keys[i].address()
    }

    pub fn account(&self, a: &Address) -> AccountState {
        match self.tree.get(&a.tree_key()).expect("read") {
            None => AccountState::default(),
            Some(b) => <AccountState as casl2_verifier::Decode>::decode(&b).expect("account"),
        }
    }

    /// A signed transaction of user `i` with its next nonce.
    pub fn tx(
        &mut self,
        i: usize,
        tx_type: TxType,
        to: Address,
        data: Vec<u8>,
        value: i64,
        gas: u64,
    ) -> L2Transaction {
        let from = self.addr(i);
        let n = self.nonces.entry(from).or_insert(0);
        let mut t = L2Transaction {
            from,
            to,
            value,
            nonce: *n,
            gas_limit: gas,
            gas_price: 1,
            tx_type,
            l2_chain_id: CHAIN,
            data,
            ..Default::default()
        };
        *n += 1;
        t.sign(&self.keys[i]).expect("sign");
        t
    }

    /// Run one transaction: statefully on the tree, and (if enabled) statelessly from the
    /// witness built at the pre-state; both must agree. Returns the receipt and the witness.
    pub fn run(&mut self, t: L2Transaction) -> (Receipt, Option<StepWitness>) {
        let step = Step::Tx { tx: Box::new(t) };
        let pre = self.tree.root();
        let witness = if self.check_stateless {
            let (w, r0) = build_step_witness(&self.tree, pre, &step, &self.ctx).expect("witness");
            let (root1, r1) =
                execute_step_stateless(&pre, &w, &step, &self.ctx).expect("stateless");
            Some((w, r0, root1, r1))
        } else {
            None
        };
        let (r, writes, nodes) = {
            let mut ov = Overlay::untracked(&self.tree);
            let r = execute_step(&mut ov, &step, &self.ctx, None).expect("step");
            let (w, n) = ov.into_parts();
            (r, w, n)
        };
        self.tree.store_mut().put_batch(nodes).expect("nodes");
        let root = self.tree.update_batch(writes).expect("commit");
        match witness {
            Some((w, r0, root1, r1)) => {
                assert_eq!(root1, root, "stateless post-root");
                assert_eq!(r0, r, "witness builder receipt");
                assert_eq!(r1, r, "stateless receipt");
                (r, Some(w))
            }
            None => (r, None),
        }
    }

    pub fn deploy(&mut self, i: usize, name: &str, args: &[[u8; 32]]) -> (Receipt, Address) {
        let (mut code, _) = contract(name);
        for a in args {
            code.extend_from_slice(a);
        }
        let t = self.tx(
            i,
            TxType::ContractDeploy,
            Address::default(),
            code,
            0,
            3_000_000,
        );
        let (r, _) = self.run(t);
        assert!(r.success, "deploy {name}: {}", r.error);
        let a = r
            .cvm
            .as_ref()
            .and_then(|c| c.contract_address)
            .expect("created address");
        (r, a)
    }

    pub fn call(&mut self, i: usize, to: Address, data: Vec<u8>, value: i64) -> Receipt {
        let t = self.tx(i, TxType::ContractCall, to, data, value, 1_000_000);
        self.run(t).0
    }

    /// A read-only call's return data.
    pub fn view(&self, to: &Address, data: &[u8]) -> Vec<u8> {
        let r = casl2_verifier::stf::cvm::call(
            &self.tree,
            &self.ctx,
            &self.addr(0),
            Some(to),
            data,
            0,
            1_000_000,
        )
        .expect("call");
        assert!(r.success, "view: {}", r.error);
        r.output
    }

    pub fn view_u(&self, to: &Address, data: &[u8]) -> u128 {
        let o = self.view(to, data);
        assert_eq!(o.len(), 32);
        assert!(o[..16].iter().all(|b| *b == 0));
        u128::from_be_bytes(o[16..].try_into().expect("16"))
    }
}

pub fn h256(w: [u8; 32]) -> H256 {
    H256(w)
}

//! `casl2 l1 hat get|set`: an L1 address's HAT v2 reputation score. On the devnet the authority
//! key sets scores (`SetHatScore`, the devnet's stand-in for the trust graph; `casl2 l1 devnet`
//! prints that key); a real Cascoin node computes scores from its trust graph and answers
//! `getsecuretrust`, so `set` is refused there with the reason.

use crate::chain::{open, send_and_mine, L1Args};
use crate::net::parse_address;
use crate::wallet::{resolve_key, WalletArgs};
use anyhow::{bail, Result};
use casl2_lightclient::endpoint::AnyL1;
use casl2_lightclient::l1::L1Client;
use casl2_verifier::l1::L1Op;
use clap::Subcommand;
use serde_json::json;

/// `casl2 l1 hat …`.
#[derive(Debug, Subcommand)]
pub enum HatCommand {
    /// An address's score (0..=100).
    Get {
        /// The L1 address (0x + 40 hex).
        address: String,
        #[command(flatten)]
        l1: L1Args,
    },
    /// Set an address's score on the devnet (the authority key signs).
    Set {
        /// The L1 address (0x + 40 hex).
        address: String,
        /// The score, 0..=100.
        score: u32,
        /// The devnet authority's key (`casl2 l1 devnet` prints it).
        #[arg(
            long,
            value_name = "NAME|ADDRESS|HEX",
            env = "CASL2_KEY",
            hide_env_values = true
        )]
        key: String,
        #[command(flatten)]
        wallet: WalletArgs,
        #[command(flatten)]
        l1: L1Args,
    },
}

/// Run `casl2 l1 hat …`.
pub fn run(cmd: HatCommand, json_out: bool) -> Result<()> {
    let rt = crate::run::runtime()?;
    rt.block_on(async move {
        match cmd {
            HatCommand::Get { address, l1 } => {
                let a = parse_address("ADDRESS", &address)?;
                let c = open(&l1, json_out).await?;
                let score = c.l1q("the HAT score", c.l1.hat_score(&a)).await?;
                if json_out {
                    println!("{}", json!({ "address": a, "hatScore": score }));
                } else {
                    println!("{a}: HAT {score}");
                }
                Ok(())
            }
            HatCommand::Set {
                address,
                score,
                key,
                wallet,
                l1,
            } => {
                let a = parse_address("ADDRESS", &address)?;
                if score > 100 {
                    bail!("SCORE: a HAT score is 0..=100, got {score}");
                }
                let c = open(&l1, json_out).await?;
                if let AnyL1::Cascoind(_) = c.l1 {
                    bail!(
                        "--l1 {}: a real Cascoin node computes HAT v2 scores from its trust graph; \
                         no key sets them (casl2 l1 hat get reads them)",
                        l1.l1
                    );
                }
                let key = resolve_key(&key, &wallet)?;
                let op = L1Op::SetHatScore { address: a, score };
                let block = send_and_mine(&c, &key, op).await?;
                if json_out {
                    println!(
                        "{}",
                        json!({ "address": a, "hatScore": score, "l1Block": block })
                    );
                } else {
                    println!("{a}: HAT set to {score} (L1 block {block})");
                }
                Ok(())
            }
        }
    })
}

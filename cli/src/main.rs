//! `casl2`: tools for the Cascoin Layer-2 optimistic rollup.
//!
//! Commands parse arguments, call the libraries and print: human text by default, JSON with
//! `--json`. Exit codes: 0 success, 1 a check that ran and failed (an invalid proof; a forced
//! transaction the chain was punished for instead of including it), 2 bad input or any other
//! error.

mod accounts;
mod amount;
mod chain;
mod challenger;
mod contract;
mod devnet;
mod exit;
mod hat;
mod l1;
mod light;
mod load;
mod node;
mod run;
mod sequencer;
mod tree;
// The user's flows: wallet, deposit, transfer, withdraw (docs/user.md).
mod files;
mod flows;
mod force;
mod insync;
mod keystore;
mod net;
mod wallet;
mod withdraw;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Tools for the Cascoin Layer-2 optimistic rollup.
#[derive(Debug, Parser)]
#[command(name = "casl2", version, about, long_about = None)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The account tree: compute roots, build and check account proofs offline.
    #[command(subcommand)]
    Tree(tree::TreeCommand),
    /// The L1 registry of L2 chains: register, info, list, status (either L1 backend).
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// The L1 side: run the embedded devnet L1; HAT scores.
    #[command(subcommand)]
    L1(l1::L1Command),
    /// A sequencer's L1 registry entry: announce, status, leave, withdraw-stake.
    #[command(subcommand)]
    Sequencer(sequencer::SequencerCommand),
    /// Run an L2 node: a sequencer (with --key) or a follower, until Ctrl-C.
    Node(Box<node::NodeArgs>),
    /// Watch a chain's anchors on L1 and dispute the bad ones: run, status, games, game.
    #[command(subcommand)]
    Challenger(challenger::ChallengerCommand),
    /// Run a whole network on 127.0.0.1: the devnet L1, a chain and its sequencers, until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Keys in an encrypted keystore: new, import, list, address.
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// Deposit CAS from L1 to L2 and wait until the L2 credits it.
    Deposit(Box<flows::DepositArgs>),
    /// Send CAS to another L2 account and wait until it is in a final block.
    Transfer(Box<flows::TransferArgs>),
    /// Send an L2 transfer through L1's forced-inclusion queue (when sequencers censor it) and
    /// wait until it is included, or its deadline passes and the L1 punishes the chain.
    Force(Box<force::ForceArgs>),
    /// Withdraw CAS from L2 to L1: initiate, wait out the challenge period, finalise on L1.
    Withdraw(Box<withdraw::WithdrawArgs>),
    /// The status of this key's withdrawals (kept in the wallet), with proofs.
    Withdrawals(Box<withdraw::WithdrawalsArgs>),
    /// In EMERGENCY, take the key's whole L2 balance back to L1 with a proof built from L1 data
    /// alone (no L2 node needed).
    Exit(Box<exit::ExitArgs>),
    /// EVM contracts on L2: deploy, call (read-only), send.
    #[command(subcommand)]
    Contract(contract::ContractCommand),
    /// The light client: balances, withdrawals and batch availability, checked against L1.
    Light(light::LightArgs),
}

/// How a command ended when it did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// A check ran and said no (exit 1).
    Invalid(String),
    /// Bad input or an error (exit 2).
    Error(anyhow::Error),
    /// The command printed its answer, and the answer is no (exit 1, nothing more printed).
    Answered,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

/// Install the log subscriber: `tracing` events to stderr, filtered by `RUST_LOG` (default:
/// warnings only); `CASL2_LOG` (any value) turns the node's debug log on, as it always did.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let base = std::env::var("RUST_LOG").unwrap_or_default();
    let mut filter = EnvFilter::try_new(if base.trim().is_empty() {
        "warn"
    } else {
        &base
    })
    .unwrap_or_else(|_| EnvFilter::new("warn"));
    if std::env::var_os("CASL2_LOG").is_some() {
        if let Ok(d) = "casl2_fullnode::node=debug".parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Tree(cmd) => tree::run(cmd, cli.json),
        Command::Chain(cmd) => chain::run(cmd, cli.json).map_err(Failure::Error),
        Command::L1(cmd) => l1::run(cmd, cli.json),
        Command::Sequencer(cmd) => sequencer::run(cmd, cli.json).map_err(Failure::Error),
        Command::Force(a) => force::force(*a, cli.json),
        Command::Node(args) => node::run(*args, cli.json).map_err(Failure::Error),
        Command::Challenger(cmd) => challenger::run(cmd, cli.json).map_err(Failure::Error),
        Command::Devnet(args) => devnet::run(args, cli.json).map_err(Failure::Error),
        Command::Wallet(cmd) => wallet::run(cmd, cli.json).map_err(Failure::Error),
        Command::Deposit(a) => flows::deposit(*a, cli.json).map_err(Failure::Error),
        Command::Transfer(a) => flows::transfer(*a, cli.json).map_err(Failure::Error),
        Command::Withdraw(a) => withdraw::withdraw(*a, cli.json).map_err(Failure::Error),
        Command::Withdrawals(a) => withdraw::withdrawals(*a, cli.json).map_err(Failure::Error),
        Command::Exit(a) => exit::exit(*a, cli.json).map_err(Failure::Error),
        Command::Contract(cmd) => contract::run(cmd, cli.json),
        Command::Light(args) => light::run(args, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(reason)) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "reason": reason })
                );
            } else {
                eprintln!("invalid: {reason}");
            }
            ExitCode::from(1)
        }
        Err(Failure::Answered) => ExitCode::from(1),
        Err(Failure::Error(e)) => {
            // One line: the chain of causes joined, line breaks folded.
            let msg = format!("{e:#}");
            let one_line: Vec<&str> = msg.split_whitespace().collect();
            eprintln!("error: {}", one_line.join(" "));
            ExitCode::from(2)
        }
    }
}

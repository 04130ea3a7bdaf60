//! `casl2 wallet new | import | list | address`, and the `--key` every command takes: a
//! keystore name or address (decrypted with the passphrase from `--passphrase-file`,
//! `CASL2_PASSPHRASE` or a prompt), or a raw 64-hex private key as the devnet prints them.

use crate::files::default_wallet_dir;
use crate::keystore::{check_name, default_path, generate_key, Entry, Keystore};
use anyhow::{anyhow, bail, Context, Result};
use casl2_verifier::{Address, PrivateKey};
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Where the wallet keeps its files, and where the passphrase comes from.
#[derive(Debug, Clone, Args)]
pub struct WalletArgs {
    /// Directory of the wallet's files (keystore, withdrawals)
    /// [default: $XDG_DATA_HOME/casl2 or ~/.local/share/casl2].
    #[arg(long, value_name = "DIR", env = "CASL2_WALLET_DIR")]
    pub wallet_dir: Option<PathBuf>,
    /// The keystore file [default: <wallet dir>/keystore.json].
    #[arg(long, value_name = "FILE", env = "CASL2_KEYSTORE")]
    pub keystore: Option<PathBuf>,
    /// File whose first line is the keystore passphrase (else $CASL2_PASSPHRASE, else a prompt
    /// on the terminal).
    #[arg(long, value_name = "FILE", env = "CASL2_PASSPHRASE_FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl WalletArgs {
    /// The wallet directory.
    pub fn dir(&self) -> Result<PathBuf> {
        match &self.wallet_dir {
            Some(d) => Ok(d.clone()),
            None => default_wallet_dir(),
        }
    }

    /// The keystore.
    pub fn keystore(&self) -> Result<Keystore> {
        Ok(Keystore::new(match &self.keystore {
            Some(p) => p.clone(),
            None => default_path(&self.dir()?),
        }))
    }

    /// The passphrase: `--passphrase-file`, then `CASL2_PASSPHRASE`, then a prompt (twice when
    /// `confirm`, for a new key).
    pub fn passphrase(&self, what: &str, confirm: bool) -> Result<Zeroizing<String>> {
        if let Some(f) = &self.passphrase_file {
            let text = Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| format!("reading the passphrase file {}", f.display()))?,
            );
            let line = text.lines().next().unwrap_or("").to_string();
            return non_empty(line, &format!("the passphrase file {}", f.display()));
        }
        if let Ok(p) = std::env::var("CASL2_PASSPHRASE") {
            return non_empty(p, "CASL2_PASSPHRASE");
        }
        if !std::io::stdin().is_terminal() {
            bail!("no passphrase for {what}: give --passphrase-file FILE or set CASL2_PASSPHRASE (there is no terminal to ask on)");
        }
        let p = rpassword::prompt_password(format!("Passphrase for {what}: "))
            .context("reading the passphrase")?;
        let p = non_empty(p, "the passphrase")?;
        if confirm {
            let again = Zeroizing::new(
                rpassword::prompt_password("Repeat the passphrase: ")
                    .context("reading the passphrase")?,
            );
            if *again != *p {
                bail!("the two passphrases differ; nothing was saved");
            }
        }
        Ok(p)
    }
}

fn non_empty(p: String, from: &str) -> Result<Zeroizing<String>> {
    let p = Zeroizing::new(p);
    if p.is_empty() {
        bail!("{from} is empty: a key needs a passphrase");
    }
    Ok(p)
}

/// Which key a command acts with.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// The key: a keystore name, a keystore address (0x + 40 hex), or a raw private key
    /// (64 hex digits, as `casl2 devnet` prints its funded keys).
    #[arg(
        long,
        value_name = "NAME|ADDRESS|HEX",
        env = "CASL2_KEY",
        hide_env_values = true
    )]
    pub key: String,
    #[command(flatten)]
    pub wallet: WalletArgs,
}

/// True when `s` is a raw private key's form (64 hex digits, `0x` optional).
pub fn is_raw_key(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit())
}

/// Resolve a `--key` value to a private key: a raw key as is, else the keystore entry it names,
/// decrypted.
pub fn resolve_key(spec: &str, wallet: &WalletArgs) -> Result<PrivateKey> {
    if is_raw_key(spec) {
        return PrivateKey::from_hex(spec.trim()).map_err(|e| anyhow!("--key: {e}"));
    }
    let ks = wallet.keystore()?;
    let entry = ks.find(spec).context("--key")?;
    let pass = wallet.passphrase(&format!("key {:?}", entry.name), false)?;
    entry.decrypt(&pass)
}

impl KeyArgs {
    /// The private key (decrypting a keystore entry).
    pub fn private_key(&self) -> Result<PrivateKey> {
        resolve_key(&self.key, &self.wallet)
    }

    /// The key's address, without the passphrase.
    pub fn address(&self) -> Result<Address> {
        if is_raw_key(&self.key) {
            return Ok(self.private_key()?.address());
        }
        Ok(self
            .wallet
            .keystore()?
            .find(&self.key)
            .context("--key")?
            .address)
    }
}

/// `casl2 wallet …`.
#[derive(Debug, Subcommand)]
#[command(after_help = "\
Each key is encrypted on its own (Argon2id + XChaCha20-Poly1305, docs/protocol.md \"Keystore\").
The keystore file has mode 0600 and is replaced atomically under a lock: adding a key never
loses another. Passphrase: --passphrase-file FILE, else $CASL2_PASSPHRASE, else a prompt.
Other commands use a key with --key NAME|ADDRESS (or a raw 64-hex key).")]
pub enum WalletCommand {
    /// Create a new random key and keep it, encrypted, in the keystore.
    New {
        /// Its name in the keystore.
        name: String,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Keep an existing private key (64 hex digits) in the keystore, encrypted.
    Import {
        /// Its name in the keystore.
        name: String,
        /// File holding the private key in hex (else it is read from standard input, hidden on
        /// a terminal). Never pass a key on the command line.
        #[arg(long, value_name = "FILE")]
        private_key_file: Option<PathBuf>,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// List the keystore's keys (names and addresses; no passphrase needed).
    List {
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Print the address of a key (a keystore name, or a raw key).
    Address {
        /// The key name (or a raw 64-hex key).
        key: String,
        #[command(flatten)]
        wallet: WalletArgs,
    },
}

fn read_private_key(file: Option<&PathBuf>) -> Result<PrivateKey> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f)
            .with_context(|| format!("reading the key file {}", f.display()))?,
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Private key (64 hex digits): ")
                .context("reading the private key")?
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the private key from standard input")?;
            line
        }
    };
    let t = text.trim();
    if t.is_empty() {
        bail!("no private key given (use --private-key-file FILE or pipe it to standard input)");
    }
    PrivateKey::from_hex(t).map_err(|e| anyhow!("the private key: {e}"))
}

/// Run `casl2 wallet …`.
pub fn run(cmd: WalletCommand, json_out: bool) -> Result<()> {
    match cmd {
        WalletCommand::New { name, wallet } => {
            check_name(&name)?;
            let ks = wallet.keystore()?;
            if ks.find(&name).is_ok() {
                bail!("the keystore already has a key named {name:?}; choose another name");
            }
            let key = generate_key()?;
            let pass = wallet.passphrase(&format!("the new key {name:?}"), true)?;
            let entry = Entry::new(&name, &key, &pass)?;
            ks.add(entry)?;
            print_added("created", &name, &key.address(), &ks.path, json_out);
            Ok(())
        }
        WalletCommand::Import {
            name,
            private_key_file,
            wallet,
        } => {
            check_name(&name)?;
            let ks = wallet.keystore()?;
            let key = read_private_key(private_key_file.as_ref())?;
            let pass = wallet.passphrase(&format!("the imported key {name:?}"), true)?;
            ks.add(Entry::new(&name, &key, &pass)?)?;
            print_added("imported", &name, &key.address(), &ks.path, json_out);
            Ok(())
        }
        WalletCommand::List { wallet } => {
            let ks = wallet.keystore()?;
            let f = ks.load()?;
            if json_out {
                let keys: Vec<_> = f
                    .keys
                    .iter()
                    .map(|e| json!({ "name": e.name, "address": e.address, "created": e.created }))
                    .collect();
                println!(
                    "{}",
                    json!({ "keystore": ks.path.display().to_string(), "keys": keys })
                );
            } else if f.keys.is_empty() {
                println!(
                    "no keys in {} (`casl2 wallet new NAME` makes one)",
                    ks.path.display()
                );
            } else {
                for e in &f.keys {
                    println!("{:<20} {}", e.name, e.address);
                }
            }
            Ok(())
        }
        WalletCommand::Address { key, wallet } => {
            let address = if is_raw_key(&key) {
                PrivateKey::from_hex(key.trim())
                    .map_err(|e| anyhow!("the key: {e}"))?
                    .address()
            } else {
                wallet.keystore()?.find(&key)?.address
            };
            if json_out {
                println!("{}", json!({ "address": address }));
            } else {
                println!("{address}");
            }
            Ok(())
        }
    }
}

fn print_added(what: &str, name: &str, address: &Address, path: &std::path::Path, json_out: bool) {
    if json_out {
        println!(
            "{}",
            json!({ "name": name, "address": address, "keystore": path.display().to_string() })
        );
    } else {
        println!("{what} key {name:?}: {address}");
        println!("kept encrypted in {}", path.display());
    }
}

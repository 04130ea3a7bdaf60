//! The keystore file: named secp256k1 keys, each encrypted under a passphrase
//! (`docs/protocol.md` "Keystore"). Argon2id derives a 32-byte key from the passphrase and a
//! random salt; XChaCha20-Poly1305 encrypts the 32-byte private key with a random nonce and the
//! entry's address as associated data. The file is JSON, written atomically with mode 0600
//! under a lock, so adding a key never loses another.

use crate::files::{read_optional, write_atomic, FileLock};
use anyhow::{anyhow, bail, Context, Result};
use argon2::{Algorithm, Argon2, Params, Version};
use casl2_verifier::{Address, PrivateKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The file format version.
pub const KEYSTORE_VERSION: u32 = 1;
/// Domain tag in front of the address in the associated data.
pub const AAD_TAG: &[u8] = b"casl2-keystore-v1";
/// Argon2id parameters of new entries: 19 MiB, 2 passes, 1 lane (the OWASP recommendation).
pub const DEFAULT_KDF: KdfParams = KdfParams {
    memory_kib: 19_456,
    iterations: 2,
    parallelism: 1,
};
/// Largest memory cost accepted from a file (1 GiB), so a hostile file cannot exhaust memory.
pub const MAX_MEMORY_KIB: u32 = 1 << 20;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// The key-derivation record of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Kdf {
    /// Always `"argon2id"`.
    pub name: String,
    /// Argon2 version, always 19 (0x13).
    pub version: u32,
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// 16 random bytes, hex.
    pub salt: String,
}

/// The cipher record of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cipher {
    /// Always `"xchacha20poly1305"`.
    pub name: String,
    /// 24 random bytes, hex.
    pub nonce: String,
}

/// One key in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Entry {
    /// The name the user gave it.
    pub name: String,
    /// Its address (`0x` + 40 hex, raw order), readable without the passphrase.
    pub address: Address,
    /// Key derivation.
    pub kdf: Kdf,
    /// Encryption.
    pub cipher: Cipher,
    /// The encrypted 32-byte private key followed by the 16-byte tag, hex (96 digits).
    pub ciphertext: String,
    /// Unix seconds when it was added.
    pub created: u64,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeystoreFile {
    /// [`KEYSTORE_VERSION`].
    pub version: u32,
    /// The keys, in the order they were added.
    pub keys: Vec<Entry>,
}

impl KeystoreFile {
    /// Parse a keystore file's text (JSON of [`KEYSTORE_VERSION`]).
    pub fn parse(text: &str) -> Result<KeystoreFile> {
        let f: KeystoreFile =
            serde_json::from_str(text).map_err(|e| anyhow!("not a casl2 keystore: {e}"))?;
        if f.version != KEYSTORE_VERSION {
            bail!(
                "keystore version {}, this casl2 reads version {KEYSTORE_VERSION}",
                f.version
            );
        }
        Ok(f)
    }
}

/// The body of the `keystore` fuzz target and of its corpus replay test
/// (`docs/security.md`): parse `data` as a keystore file the way [`Keystore::load`] does; a
/// file that parses must survive a JSON round trip, and each entry's name check and
/// decryption (with a wrong passphrase, when its Argon2 cost is small enough to run at fuzzing
/// speed) must return an error or a key, never panic.
#[cfg(any(test, fuzzing))]
pub fn fuzz_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(f) = KeystoreFile::parse(text) else {
        return;
    };
    let again = serde_json::to_string(&f).expect("a keystore file serializes");
    assert_eq!(
        KeystoreFile::parse(&again).expect("a keystore file reads back its JSON"),
        f
    );
    for e in &f.keys {
        let _ = check_name(&e.name);
        if e.kdf.memory_kib <= 64 && e.kdf.iterations <= 2 {
            let _ = e.decrypt("fuzz");
        }
    }
}

fn hex_bytes<const N: usize>(s: &str, what: &str) -> Result<[u8; N]> {
    let v = hex::decode(s).map_err(|e| anyhow!("{what} is not hex: {e}"))?;
    v.try_into()
        .map_err(|v: Vec<u8>| anyhow!("{what} has {} bytes, expected {N}", v.len()))
}

fn derive(passphrase: &str, salt: &[u8], p: KdfParams) -> Result<Zeroizing<[u8; 32]>> {
    if p.memory_kib > MAX_MEMORY_KIB || p.iterations == 0 || p.iterations > 64 {
        bail!(
            "Argon2 parameters out of range (memory {} KiB, {} passes)",
            p.memory_kib,
            p.iterations
        );
    }
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32))
        .map_err(|e| anyhow!("Argon2 parameters: {e}"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut *out)
        .map_err(|e| anyhow!("Argon2: {e}"))?;
    Ok(out)
}

fn aad(address: &Address) -> Vec<u8> {
    let mut a = AAD_TAG.to_vec();
    a.extend_from_slice(&address.0);
    a
}

/// Encrypt `key` under `passphrase` with the given salt and nonce (random ones in
/// [`Entry::new`]; fixed ones for the test vector).
pub fn encrypt_with(
    name: &str,
    key: &PrivateKey,
    passphrase: &str,
    kdf: KdfParams,
    salt: [u8; 16],
    nonce: [u8; 24],
    created: u64,
) -> Result<Entry> {
    let address = key.address();
    let k = derive(passphrase, &salt, kdf)?;
    let cipher = XChaCha20Poly1305::new((&*k).into());
    let secret = Zeroizing::new(key.to_bytes());
    let ct = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &*secret,
                aad: &aad(&address),
            },
        )
        .map_err(|_| anyhow!("encryption failed"))?;
    Ok(Entry {
        name: name.to_string(),
        address,
        kdf: Kdf {
            name: "argon2id".into(),
            version: 19,
            memory_kib: kdf.memory_kib,
            iterations: kdf.iterations,
            parallelism: kdf.parallelism,
            salt: hex::encode(salt),
        },
        cipher: Cipher {
            name: "xchacha20poly1305".into(),
            nonce: hex::encode(nonce),
        },
        ciphertext: hex::encode(ct),
        created,
    })
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| anyhow!("no randomness from the system: {e}"))?;
    Ok(b)
}

/// A new random private key from the system's randomness.
pub fn generate_key() -> Result<PrivateKey> {
    loop {
        // A 32-byte string outside 1..n−1 has probability ~2^-128; draw again if so.
        if let Ok(k) = PrivateKey::from_bytes(&Zeroizing::new(random::<32>()?)) {
            return Ok(k);
        }
    }
}

impl Entry {
    /// Encrypt `key` under `passphrase` with a fresh salt and nonce.
    pub fn new(name: &str, key: &PrivateKey, passphrase: &str) -> Result<Entry> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        encrypt_with(
            name,
            key,
            passphrase,
            DEFAULT_KDF,
            random()?,
            random()?,
            now,
        )
    }

    /// Decrypt the key. A wrong passphrase (or an altered entry) fails the authentication tag:
    /// "wrong passphrase for key …".
    pub fn decrypt(&self, passphrase: &str) -> Result<PrivateKey> {
        let who = format!("key {:?} ({})", self.name, self.address);
        if self.kdf.name != "argon2id" || self.kdf.version != 19 {
            bail!(
                "{who}: unknown key derivation {:?} v{}",
                self.kdf.name,
                self.kdf.version
            );
        }
        if self.cipher.name != "xchacha20poly1305" {
            bail!("{who}: unknown cipher {:?}", self.cipher.name);
        }
        let salt: [u8; 16] = hex_bytes(&self.kdf.salt, "salt").with_context(|| who.clone())?;
        let nonce: [u8; 24] =
            hex_bytes(&self.cipher.nonce, "nonce").with_context(|| who.clone())?;
        let ct: [u8; 48] =
            hex_bytes(&self.ciphertext, "ciphertext").with_context(|| who.clone())?;
        let k = derive(
            passphrase,
            &salt,
            KdfParams {
                memory_kib: self.kdf.memory_kib,
                iterations: self.kdf.iterations,
                parallelism: self.kdf.parallelism,
            },
        )
        .with_context(|| who.clone())?;
        let secret = XChaCha20Poly1305::new((&*k).into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: &aad(&self.address),
                },
            )
            .map_err(|_| anyhow!("wrong passphrase for {who}"))?;
        let secret = Zeroizing::new(secret);
        let bytes: Zeroizing<[u8; 32]> = Zeroizing::new(
            secret
                .as_slice()
                .try_into()
                .map_err(|_| anyhow!("{who}: the decrypted key is not 32 bytes"))?,
        );
        let key = PrivateKey::from_bytes(&bytes).map_err(|e| anyhow!("{who}: {e}"))?;
        if key.address() != self.address {
            bail!("{who}: the decrypted key is for {}", key.address());
        }
        Ok(key)
    }
}

/// Check a key name: 1..=64 of `A-Z a-z 0-9 _ . -`, not starting with `0x` (that is an
/// address) and not 64 hex digits (that is a raw key).
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 {
        bail!("key name must be 1 to 64 characters, got {}", name.len());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        bail!("key name {name:?} may hold only letters, digits, '_', '.' and '-'");
    }
    if name.starts_with("0x") || name.starts_with("0X") {
        bail!("key name {name:?} may not start with 0x (that reads as an address)");
    }
    if name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("key name {name:?} reads as a raw private key; choose another");
    }
    Ok(())
}

/// A keystore at a path.
#[derive(Debug, Clone)]
pub struct Keystore {
    /// The file.
    pub path: PathBuf,
}

impl Keystore {
    /// The keystore at `path`.
    pub fn new(path: PathBuf) -> Keystore {
        Keystore { path }
    }

    /// Read the file; a missing file is an empty keystore.
    pub fn load(&self) -> Result<KeystoreFile> {
        let Some(text) = read_optional(&self.path)? else {
            return Ok(KeystoreFile {
                version: KEYSTORE_VERSION,
                keys: Vec::new(),
            });
        };
        KeystoreFile::parse(&text).map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }

    /// Add an entry; refuses a name or address already present. The file is replaced
    /// atomically under the lock, so concurrent additions are all kept.
    pub fn add(&self, entry: Entry) -> Result<()> {
        check_name(&entry.name)?;
        let _lock = FileLock::acquire(&self.path)?;
        let mut f = self.load()?;
        if let Some(e) = f.keys.iter().find(|e| e.name == entry.name) {
            bail!(
                "the keystore already has a key named {:?} ({}); choose another name",
                e.name,
                e.address
            );
        }
        if let Some(e) = f.keys.iter().find(|e| e.address == entry.address) {
            bail!("the keystore already holds {} as {:?}", e.address, e.name);
        }
        f.keys.push(entry);
        let text = serde_json::to_string_pretty(&f).context("encoding the keystore")?;
        write_atomic(&self.path, format!("{text}\n").as_bytes())
    }

    /// The entry named `name_or_address` (a name, or `0x` + 40 hex).
    pub fn find(&self, name_or_address: &str) -> Result<Entry> {
        let f = self.load()?;
        let by_addr = Address::from_hex(name_or_address).ok();
        let hit = f.keys.into_iter().find(|e| match by_addr {
            Some(a) if name_or_address.starts_with("0x") => e.address == a,
            _ => e.name == name_or_address,
        });
        hit.ok_or_else(|| {
            anyhow!(
                "no key {name_or_address:?} in the keystore {} (`casl2 wallet list` shows its keys)",
                self.path.display()
            )
        })
    }
}

/// Where the keystore is by default: `<wallet dir>/keystore.json`.
pub fn default_path(wallet_dir: &Path) -> PathBuf {
    wallet_dir.join("keystore.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_a() -> PrivateKey {
        PrivateKey::from_bytes(&[0x11; 32]).unwrap()
    }

    /// The test vector of `docs/protocol.md` "Keystore".
    #[test]
    fn keystore_test_vector() {
        let e = encrypt_with(
            "alice",
            &key_a(),
            "correct horse",
            DEFAULT_KDF,
            [0x5a; 16],
            [0x0b; 24],
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(
            e.address.to_hex(),
            "0xfc7250a211deddc70ee5a2738de5f07817351cef"
        );
        assert_eq!(
            e.ciphertext,
            "67ea46910bb3894966c7d19c888b9a4edffedb22776334c595f5625031c3663f83477922858c84cc2a289c2196050c45"
        );
        assert_eq!(e.decrypt("correct horse").unwrap(), key_a());
        let k = derive("correct horse", &[0x5a; 16], DEFAULT_KDF).unwrap();
        assert_eq!(
            hex::encode(*k),
            "073c47b82e76d1d29acda643d648f96634db0e2833d2fb0fac066f6b1b132190"
        );
    }

    #[test]
    fn wrong_passphrase_and_tampering_fail() {
        let e = Entry::new("a", &key_a(), "pw").unwrap();
        let err = e.decrypt("not pw").unwrap_err().to_string();
        assert!(err.contains("wrong passphrase"), "{err}");
        // The address is bound by the tag: moving the ciphertext to another address fails.
        let mut moved = e.clone();
        moved.address = Address([2; 20]);
        assert!(moved.decrypt("pw").is_err());
        let mut bad = e.clone();
        bad.ciphertext.replace_range(0..2, "00");
        assert!(bad.decrypt("pw").is_err());
        let mut huge = e.clone();
        huge.kdf.memory_kib = u32::MAX;
        assert!(format!("{:#}", huge.decrypt("pw").unwrap_err()).contains("range"));
        let mut short = e;
        short.ciphertext.truncate(10);
        assert!(short.decrypt("pw").is_err());
    }

    #[test]
    fn concurrent_additions_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ks.json");
        // Encrypt first (slow), then add from 8 threads at once.
        let entries: Vec<Entry> = (1..=8u8)
            .map(|i| {
                let k = PrivateKey::from_bytes(&[i; 32]).unwrap();
                Entry::new(&format!("k{i}"), &k, "pw").unwrap()
            })
            .collect();
        let threads: Vec<_> = entries
            .into_iter()
            .map(|e| {
                let ks = Keystore::new(path.clone());
                std::thread::spawn(move || ks.add(e).unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let f = Keystore::new(path).load().unwrap();
        let mut names: Vec<_> = f.keys.iter().map(|e| e.name.clone()).collect();
        names.sort();
        assert_eq!(names, (1..=8).map(|i| format!("k{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn add_keeps_every_key_and_refuses_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(dir.path().join("ks.json"));
        assert!(ks.load().unwrap().keys.is_empty());
        ks.add(Entry::new("a", &key_a(), "pw").unwrap()).unwrap();
        let b = PrivateKey::from_bytes(&[0x22; 32]).unwrap();
        ks.add(Entry::new("b", &b, "pw2").unwrap()).unwrap();
        assert!(ks.add(Entry::new("a", &b, "pw").unwrap()).is_err());
        assert!(ks.add(Entry::new("c", &key_a(), "pw").unwrap()).is_err());
        let f = ks.load().unwrap();
        assert_eq!(f.keys.len(), 2);
        assert_eq!(ks.find("b").unwrap().decrypt("pw2").unwrap(), b);
        assert_eq!(ks.find(&b.address().to_hex()).unwrap().name, "b");
        assert!(ks.find("zz").is_err());
        for bad in ["", "0xabc", "a b", &"a".repeat(65), &"ab".repeat(32)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        std::fs::write(&ks.path, "{").unwrap();
        assert!(ks
            .load()
            .unwrap_err()
            .to_string()
            .contains("not a casl2 keystore"));
    }

    /// Replays `fuzz/corpus/keystore/` through the fuzz target's body (stable toolchain).
    #[test]
    fn fuzz_corpus_replays() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/keystore");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            assert!(
                std::panic::catch_unwind(|| fuzz_file(&data)).is_ok(),
                "{} fails",
                path.display()
            );
            n += 1;
        }
        assert!(n > 0, "the keystore corpus is empty");
    }

    /// Writes the keystore seeds (`CASL2_WRITE_SEEDS=1 cargo test -p casl2 --bin casl2
    /// write_keystore_seeds -- --ignored`): one file with two keys of cheap Argon2 cost, one
    /// with the default cost.
    #[test]
    #[ignore = "writes fuzz/corpus; run by hand after changing the seeds"]
    fn write_keystore_seeds() {
        if std::env::var_os("CASL2_WRITE_SEEDS").is_none() {
            return;
        }
        let cheap = KdfParams {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        };
        let b = PrivateKey::from_bytes(&[0x22; 32]).unwrap();
        let keys = vec![
            encrypt_with("alice", &key_a(), "fuzz", cheap, [1; 16], [2; 24], 1).unwrap(),
            encrypt_with("bob", &b, "other", cheap, [3; 16], [4; 24], 2).unwrap(),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/keystore");
        std::fs::create_dir_all(&dir).unwrap();
        let two = KeystoreFile {
            version: KEYSTORE_VERSION,
            keys,
        };
        std::fs::write(
            dir.join("seed-0"),
            serde_json::to_string_pretty(&two).unwrap(),
        )
        .unwrap();
        let one = KeystoreFile {
            version: KEYSTORE_VERSION,
            keys: vec![
                encrypt_with("c", &key_a(), "pw", DEFAULT_KDF, [5; 16], [6; 24], 3).unwrap(),
            ],
        };
        std::fs::write(dir.join("seed-1"), serde_json::to_string(&one).unwrap()).unwrap();
    }
}

//! The wallet's files: where they live, how they are written (atomically, mode 0600) and how
//! two `casl2` processes keep from overwriting each other's changes (a lock file).

use anyhow::{bail, Context, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The wallet directory when neither `--wallet-dir` nor `CASL2_WALLET_DIR` names one:
/// `$XDG_DATA_HOME/casl2`, else `$HOME/.local/share/casl2` (`$HOME/Library/Application
/// Support/casl2` on macOS, `%APPDATA%\casl2` on Windows).
pub fn default_wallet_dir() -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if cfg!(windows) {
        if let Some(d) = env("APPDATA") {
            return Ok(d.join("casl2"));
        }
    } else if cfg!(target_os = "macos") {
        if let Some(h) = env("HOME") {
            return Ok(h.join("Library/Application Support/casl2"));
        }
    } else {
        if let Some(d) = env("XDG_DATA_HOME") {
            return Ok(d.join("casl2"));
        }
        if let Some(h) = env("HOME") {
            return Ok(h.join(".local/share/casl2"));
        }
    }
    bail!("no home directory to keep the wallet in: give --wallet-dir or set CASL2_WALLET_DIR")
}

/// Create `dir` (and its parents), mode 0700 for the ones created here.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("creating the directory {}", dir.display()))
}

/// Replace `path` with `bytes` atomically: a new file (mode 0600) beside it is written and
/// synced, then renamed over `path`, then the directory is synced. A crash at any moment leaves
/// either the old file or the new one, never a mix or nothing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced (not possible on Windows).
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("writing {}: {e}", path.display())
    })
}

/// An exclusive lock on `<path>.lock`, held until dropped: a read-modify-write of `path` under
/// it cannot lose another process's change. A lock older than [`STALE_LOCK`] is from a process
/// that died and is taken over.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
}

/// Age after which a lock file is considered left behind by a dead process.
pub const STALE_LOCK: Duration = Duration::from_secs(30);

impl FileLock {
    /// Take the lock of `path`, waiting at most 10 s for another process to release it.
    pub fn acquire(path: &Path) -> Result<FileLock> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        if let Some(dir) = lock.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        let start = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(FileLock { path: lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    if stale {
                        let _ = std::fs::remove_file(&lock);
                        continue;
                    }
                    if start.elapsed() > Duration::from_secs(10) {
                        bail!(
                            "{} is locked by another casl2 process (remove {} if none runs)",
                            path.display(),
                            lock.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => bail!("locking {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read `path`, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => bail!("reading {}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_with_mode_0600_and_lock_excludes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let l = FileLock::acquire(&p).unwrap();
        let lock_file = dir.path().join("sub").join("f.json.lock");
        assert!(lock_file.exists());
        drop(l);
        assert!(!lock_file.exists());
        assert_eq!(read_optional(&dir.path().join("none")).unwrap(), None);
    }
}

//! A local keyring: member secret keys stored as hex files in `DATA_DIR/keys/NAME.key`.
//!
//! This is a convenience for one operator (the demo, a test trust, a member's own machine);
//! a member's secret never needs to be anywhere but with the member.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cltd_runtime::Keypair;

/// The keyring in a data directory.
#[derive(Debug, Clone)]
pub struct Keyring {
    dir: PathBuf,
}

impl Keyring {
    /// The keyring of data directory `data_dir`.
    pub fn new(data_dir: &Path) -> Keyring {
        Keyring {
            dir: data_dir.join("keys"),
        }
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("key name `{name}` must be letters, digits, `-` or `_`");
        }
        Ok(self.dir.join(format!("{name}.key")))
    }

    /// Make and store a new key named `name`; refuses to overwrite one.
    pub fn create(&self, name: &str) -> Result<Keypair> {
        let kp = Keypair::generate()?;
        self.store(name, &kp)?;
        Ok(kp)
    }

    /// Store `kp` under `name`: a new file readable only by its owner from the first byte
    /// ([`cltd_runtime::write_secret_key`]); refuses to overwrite a key already stored, even
    /// one another process writes at the same moment.
    pub fn store(&self, name: &str, kp: &Keypair) -> Result<()> {
        let path = self.path(name)?;
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("create {}", self.dir.display()))?;
        match cltd_runtime::write_secret_key(&path, kp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("a key named `{name}` already exists at {}", path.display())
            }
            Err(e) => Err(e).with_context(|| format!("write {}", path.display())),
        }
    }

    /// Load the key named `name`.
    pub fn load(&self, name: &str) -> Result<Keypair> {
        let path = self.path(name)?;
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("no key named `{name}` (create it with `cltd keys new {name}`)")
        })?;
        Keypair::from_secret_hex(&text)
            .with_context(|| format!("{} is not a 32-byte hex secret", path.display()))
    }

    /// All stored keys, by name.
    pub fn list(&self) -> Result<Vec<(String, Keypair)>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(out);
        };
        for e in entries {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "key") {
                let name = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default()
                    .to_string();
                out.push((name.clone(), self.load(&name)?));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// The name of the stored key with public key `public`, if any.
    pub fn name_of(&self, public: &[u8]) -> Option<String> {
        self.list()
            .ok()?
            .into_iter()
            .find(|(_, kp)| kp.public().as_slice() == public)
            .map(|(n, _)| n)
    }

    /// Resolve `who` as a key name in the keyring or a 64-digit hex public key.
    pub fn resolve_public(&self, who: &str) -> Result<Vec<u8>> {
        if who.len() == 64
            && let Ok(bytes) = hex::decode(who)
        {
            return Ok(bytes);
        }
        Ok(self.load(who)?.public().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_loads_and_resolves_keys() {
        let dir = tempfile::TempDir::new().unwrap();
        let ring = Keyring::new(dir.path());
        let kp = ring.create("amara").unwrap();
        assert_eq!(ring.load("amara").unwrap().public(), kp.public());
        assert_eq!(ring.resolve_public("amara").unwrap(), kp.public().to_vec());
        assert_eq!(
            ring.resolve_public(&hex::encode([7u8; 32])).unwrap(),
            vec![7u8; 32]
        );
        assert_eq!(ring.name_of(&kp.public()).as_deref(), Some("amara"));
        assert_eq!(ring.list().unwrap().len(), 1);
    }

    #[test]
    fn refuses_overwrites_bad_names_and_missing_keys() {
        let dir = tempfile::TempDir::new().unwrap();
        let ring = Keyring::new(dir.path());
        ring.create("bo").unwrap();
        assert!(
            ring.create("bo")
                .unwrap_err()
                .to_string()
                .contains("already exists")
        );
        assert!(ring.create("../escape").is_err());
        assert!(
            ring.load("nobody")
                .unwrap_err()
                .to_string()
                .contains("cltd keys new nobody")
        );
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        Keyring::new(dir.path()).create("chen").unwrap();
        let mode = std::fs::metadata(dir.path().join("keys/chen.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! Secret key files: the hex secret on one line, readable only by its owner from the first
//! byte. The one writer of secrets for the runtime (host keys, witness keys) and the CLI's
//! keyring.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::transition::Keypair;

/// Create a new, empty file at `path` that only its owner may read or write (mode 0600 on
/// Unix, set by the `open` call itself, so no byte is ever written to a file others can
/// read). Fails with [`std::io::ErrorKind::AlreadyExists`] if anything is at `path`: it
/// never replaces a file, and two writers racing for one path cannot both succeed.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Write `key`'s secret (hex) to a new private file at `path` (see [`create_private`]) and
/// flush it to disk.
pub fn write_secret_key(path: &Path, key: &Keypair) -> std::io::Result<()> {
    let mut file = create_private(path)?;
    file.write_all(format!("{}\n", key.secret_hex()).as_bytes())?;
    file.sync_all()
}

/// Read a secret key file written by [`write_secret_key`] (`None` if it is missing or does
/// not hold a 32-byte hex secret).
pub fn read_secret_key(path: &Path) -> Option<Keypair> {
    let text = std::fs::read_to_string(path).ok()?;
    Keypair::from_secret_hex(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_key_file_is_private_before_any_secret_is_in_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("k.key");
        let file = create_private(&path).unwrap();
        let meta = file.metadata().unwrap();
        assert_eq!(meta.len(), 0, "nothing written yet");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        drop(file);
        // Never replaces what is there.
        let err = write_secret_key(&path, &Keypair::from_secret([1; 32])).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }

    #[test]
    fn writes_and_reads_back() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("k.key");
        let key = Keypair::from_secret([9; 32]);
        write_secret_key(&path, &key).unwrap();
        assert_eq!(read_secret_key(&path).unwrap().public(), key.public());
        assert!(read_secret_key(&dir.path().join("missing")).is_none());
    }
}

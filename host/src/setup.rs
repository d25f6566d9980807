//! Where things live: the data directory, the built bylaws, and opening a trust.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use cltd_runtime::{Clock, Runtime, Trust};

/// The default data directory: `$XDG_DATA_HOME/cltd`, or `~/.local/share/cltd`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("cltd");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/cltd")
}

/// The default directory of built bylaws: `target/bylaws` of this source tree, where
/// `scripts/build-bylaws.sh` puts them.
pub fn default_bylaws_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bylaws"))
}

/// Read a bylaw given by name (looked up in `bylaws_dir`) or by path to a `.wasm` file.
pub fn read_bylaw(bylaw: &str, bylaws_dir: &Path) -> Result<Vec<u8>> {
    let as_path = Path::new(bylaw);
    let path = if bylaw.ends_with(".wasm") || as_path.components().count() > 1 {
        as_path.to_path_buf()
    } else {
        bylaws_dir.join(format!("{bylaw}.wasm"))
    };
    if !path.exists() {
        bail!(
            "bylaw `{bylaw}` not found at {}: build the bylaws with `scripts/build-bylaws.sh`, or pass --bylaws-dir",
            path.display()
        );
    }
    std::fs::read(&path).with_context(|| format!("read {}", path.display()))
}

/// The engine (default profile) every command of this process shares, so a component is
/// compiled once per process however many commands run in it (the tests and the demo run
/// many in one process; the binary runs one).
pub fn runtime() -> Result<Arc<Runtime>> {
    static SHARED: OnceLock<Arc<Runtime>> = OnceLock::new();
    if let Some(rt) = SHARED.get() {
        return Ok(Arc::clone(rt));
    }
    let rt = fresh_runtime()?;
    Ok(Arc::clone(SHARED.get_or_init(|| rt)))
}

/// An engine of its own (default profile), for what must not touch the shared one: a runtime
/// that answers a module's calls natively.
pub fn fresh_runtime() -> Result<Arc<Runtime>> {
    Ok(Arc::new(Runtime::new(Default::default())?))
}

/// Open the trust in `data_dir`.
pub fn open(data_dir: &Path, clock: Box<dyn Clock>) -> Result<Trust> {
    Trust::open(data_dir, runtime()?, clock)
        .with_context(|| format!("open the trust in {}", data_dir.display()))
}

/// Open the trust in `data_dir` for commands that only read it (`show`, `log`,
/// `checkpoint`, `prove`, `export`): its bylaw modules are not compiled.
pub fn open_for_reading(data_dir: &Path) -> Result<Trust> {
    Trust::open_for_reading(data_dir, runtime()?, Box::new(cltd_runtime::SystemClock))
        .with_context(|| format!("open the trust in {}", data_dir.display()))
}

//! What every command is handed: the directories it works in, whether to print JSON, and
//! where to write.

use std::io::Write;
use std::path::PathBuf;

use std::io::IsTerminal;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::setup;

/// One command's context: `--data-dir`, `--bylaws-dir`, `--json` and the writers.
pub(crate) struct Ctx<'a> {
    /// Where built bylaws are looked up (`--bylaws-dir`, else the source tree's).
    pub(crate) bylaws_dir: PathBuf,
    /// `--bylaws-dir` as given (passed on to `cltd-bench`).
    pub(crate) bylaws_dir_given: Option<PathBuf>,
    /// `--data-dir` as given.
    pub(crate) data_dir_given: Option<PathBuf>,
    /// `--json`.
    pub(crate) json: bool,
    /// The program name, as invoked (the demo prints commands with it).
    pub(crate) program: String,
    /// `--server` (and `--trust`): the member verbs go to this server instead of the store.
    pub(crate) remote: Option<super::remote::Remote>,
    /// Results.
    pub(crate) out: &'a mut dyn Write,
    /// Diagnostics and progress.
    pub(crate) err: &'a mut dyn Write,
}

impl Ctx<'_> {
    /// The trust's data directory: `--data-dir`, else the default.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir_given
            .clone()
            .unwrap_or_else(setup::default_data_dir)
    }

    /// The key `signer` names: a path to a secret key file (as the dashboard's key file, or
    /// a keyring's), else a name in the keyring of the data directory.
    pub(crate) fn signing_key(&self, signer: &str) -> Result<cltd_runtime::Keypair> {
        let path = std::path::Path::new(signer);
        if path.is_file() {
            return cltd_runtime::read_secret_key(path).with_context(|| {
                format!(
                    "{} is not a secret key file (64 hex digits)",
                    path.display()
                )
            });
        }
        crate::keyring::Keyring::new(&self.data_dir()).load(signer)
    }

    /// Print a result: `value` as pretty JSON under `--json`, else `text` and a newline
    /// (nothing for empty text).
    pub(crate) fn print(
        &mut self,
        value: &impl Serialize,
        text: impl FnOnce() -> String,
    ) -> Result<()> {
        if self.json {
            writeln!(self.out, "{}", serde_json::to_string_pretty(value)?)?;
        } else {
            let text = text();
            if !text.is_empty() {
                writeln!(self.out, "{text}")?;
            }
        }
        Ok(())
    }
}

/// A progress bar on stderr for a long pass over the log (`message`, then entries done of
/// the total and the rate), hidden when stderr is not a terminal so scripts and logs get
/// none of it. Feed it with [`advance`].
pub(crate) fn progress(message: &'static str) -> Result<ProgressBar> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} entries ({per_sec})")
            .context("progress template")?
            .progress_chars("=> "),
    );
    bar.set_message(message);
    Ok(bar)
}

/// Show `done` of `total` on `bar` (the runtime's progress callbacks call this).
pub(crate) fn advance(bar: &ProgressBar, done: u64, total: u64) {
    if bar.length() != Some(total) {
        bar.set_length(total);
    }
    bar.set_position(done);
}

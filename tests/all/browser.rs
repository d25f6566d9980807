//! The dashboard end to end in real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `tests/e2e`): a member loads their key file, votes with a signature
//! made in the browser, and sees the tally, the quorum bar and the log update. Screenshots
//! are saved under `target/e2e-screenshots/`. `scripts/browser-setup.sh` (run by
//! `scripts/test.sh`) installs Chromium and playwright-core.

use std::path::PathBuf;
use std::process::Command;

use cltd_runtime::{Action, Choice, ProposalBody, ProposalDraft, Vote};

use crate::api::Server;
use crate::support::{DAY, Harness};

fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e")
}

#[test]
fn a_member_votes_in_the_browser_and_sees_the_tally_and_log_update() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists()
            && e2e_dir().join("node_modules/playwright-core").exists(),
        "the browser test needs Debian's chromium and playwright-core: run scripts/browser-setup.sh (scripts/test.sh does)"
    );
    let mut h = Harness::classic();
    h.allowed(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "Publish the repair data as open data".into(),
            text: "The tenants' repair records, anonymised, for the city's housing study.".into(),
            window: 7 * DAY,
        }),
    );
    for (who, choice) in [("r1", Choice::Yes), ("c1", Choice::No)] {
        h.allowed(
            who,
            Action::Vote(Vote {
                proposal: 1,
                choice,
            }),
        );
    }
    let key_file = h.dir.path().join("r2.key");
    std::fs::write(&key_file, format!("{}\n", h.key("r2").secret_hex())).unwrap();
    let id = h.trust.id_hex();
    let Harness { dir, trust, .. } = h;
    drop(trust);
    let server = Server::start(dir.path());
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    let out = Command::new("node")
        .arg(e2e_dir().join("vote.mjs"))
        .args([server.base.as_str(), id.as_str(), "1"])
        .arg(&key_file)
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node (Debian's or the machine's Node.js)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

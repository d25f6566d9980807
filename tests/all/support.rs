//! Shared fixtures: bylaws built once per run, one engine, and a trust harness with a
//! manual clock and named member keys.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use cltd_runtime::{
    Action, Applicant, AssetDraft, AssetKind, Charter, Clause, Error, Keypair, LockStatus,
    ManualClock, Parameter, Receipt, RefusalError, Runtime, SignedTransition, StakeholderClass,
    Trust,
};
use tempfile::TempDir;

/// One day in seconds.
pub const DAY: u64 = 86_400;

fn bylaws_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Ok(dir) = std::env::var("CLTD_BYLAWS_DIR") {
                return PathBuf::from(dir);
            }
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let status = Command::new("bash")
                .arg(root.join("scripts/build-bylaws.sh"))
                .status()
                .expect("run scripts/build-bylaws.sh");
            assert!(status.success(), "building the bylaws to Wasm failed");
            root.join("target/bylaws")
        })
        .clone()
}

/// The directory holding the built bylaws.
pub fn bylaws_path() -> PathBuf {
    bylaws_dir()
}

/// The Wasm of a bylaw crate built by `scripts/build-bylaws.sh`.
pub fn bylaw(name: &str) -> Vec<u8> {
    let path = bylaws_dir().join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The classic-clt bylaw.
pub fn classic() -> Vec<u8> {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| bylaw("classic-clt")).clone()
}

/// One engine for the whole run, so each module compiles once.
pub fn runtime() -> Arc<Runtime> {
    static RT: OnceLock<Arc<Runtime>> = OnceLock::new();
    RT.get_or_init(|| Arc::new(Runtime::new(Default::default()).expect("engine")))
        .clone()
}

/// A trust in a temporary directory with named members.
pub struct Harness {
    /// Keeps the directory alive.
    pub dir: TempDir,
    /// The trust.
    pub trust: Trust,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// Member (and non-member) keys by name.
    pub keys: BTreeMap<String, Keypair>,
}

/// Founders: three of each class (`r1..r3`, `c1..c3`, `p1..p3`).
pub fn founders() -> Vec<(&'static str, StakeholderClass)> {
    use StakeholderClass::*;
    vec![
        ("r1", Resident),
        ("r2", Resident),
        ("r3", Resident),
        ("c1", Community),
        ("c2", Community),
        ("c3", Community),
        ("p1", Public),
        ("p2", Public),
        ("p3", Public),
    ]
}

/// A deterministic key for `name`.
pub fn key_for(name: &str) -> Keypair {
    Keypair::from_secret(*blake3::hash(name.as_bytes()).as_bytes())
}

impl Harness {
    /// A classic-clt trust founded by [`founders`], holding a perpetual dataset
    /// `tenancy-data` and an unlocked domain `old-site`.
    pub fn classic() -> Harness {
        Harness::with(&classic(), vec![])
    }

    /// A trust governed by `wasm` with extra charter `params`, entrenching every clause.
    pub fn with(wasm: &[u8], params: Vec<Parameter>) -> Harness {
        Harness::try_with(wasm, params, Clause::ALL.to_vec()).expect("create trust")
    }

    /// A trust governed by `wasm` with charter `params`, entrenching `entrenched`; `Err` if
    /// the founding is refused.
    pub fn try_with(
        wasm: &[u8],
        params: Vec<Parameter>,
        entrenched: Vec<Clause>,
    ) -> Result<Harness, Error> {
        Harness::try_on(runtime(), wasm, params, entrenched)
    }

    /// [`Harness::try_with`] on the engine `runtime`.
    pub fn try_on(
        runtime: Arc<Runtime>,
        wasm: &[u8],
        params: Vec<Parameter>,
        entrenched: Vec<Clause>,
    ) -> Result<Harness, Error> {
        let dir = TempDir::new().expect("temp dir");
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let mut keys = BTreeMap::new();
        let mut applicants = Vec::new();
        for (name, class) in founders() {
            let kp = key_for(name);
            applicants.push(Applicant {
                key: kp.public().to_vec(),
                name: name.to_string(),
                class,
            });
            keys.insert(name.to_string(), kp);
        }
        let charter = Charter {
            treasury: Some(cltd_runtime::TreasuryCharter::new("EUR")),
            name: "Test Trust".into(),
            params,
            founders: applicants,
            assets: vec![
                AssetDraft {
                    id: "tenancy-data".into(),
                    kind: AssetKind::Dataset,
                    lock: LockStatus::Perpetual,
                    description: "tenancy records".into(),
                    fields: vec![],
                },
                AssetDraft {
                    id: "old-site".into(),
                    kind: AssetKind::Domain,
                    lock: LockStatus::Unlocked,
                    description: "old domain".into(),
                    fields: vec![],
                },
            ],
            entrenched,
        };
        let trust = Trust::create(dir.path(), runtime, charter, wasm, Box::new(clock.clone()))?;
        Ok(Harness {
            dir,
            trust,
            clock,
            keys,
        })
    }

    /// The key named `name`, made on first use.
    pub fn key(&mut self, name: &str) -> Keypair {
        self.keys
            .entry(name.to_string())
            .or_insert_with(|| key_for(name))
            .clone()
    }

    /// Sign `action` as `name` with their next sequence number.
    pub fn sign(&mut self, name: &str, action: Action) -> Vec<u8> {
        let kp = self.key(name);
        let seq = self.trust.state().next_seq(&kp.member_key());
        SignedTransition::sign(&kp, self.trust.id(), seq, action).to_bytes()
    }

    /// Submit `action` as `name`.
    pub fn act(&mut self, name: &str, action: Action) -> Result<Receipt, Error> {
        let bytes = self.sign(name, action);
        self.trust.submit(&bytes)
    }

    /// Submit `action` as `name`; it must be allowed.
    pub fn allowed(&mut self, name: &str, action: Action) -> Receipt {
        let r = self.act(name, action).expect("transition accepted");
        assert!(
            r.verdict.is_allowed(),
            "expected allow, got {:?}",
            r.verdict
        );
        r
    }

    /// Submit `action` as `name`; it must be denied by the bylaw; returns the reason code.
    pub fn denied(&mut self, name: &str, action: Action) -> String {
        let r = self.act(name, action).expect("transition accepted");
        r.verdict.denial().expect("expected a denial").code.clone()
    }

    /// Submit signed `bytes`; they must be refused by the host and leave no trace.
    pub fn refused_bytes(&mut self, bytes: &[u8]) -> RefusalError {
        let before = self.trust.dump().expect("dump");
        let state = self.trust.state().clone();
        let err = match self.trust.submit(bytes) {
            Err(Error::Refused(r)) => r,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            self.trust.dump().expect("dump"),
            before,
            "a refusal changed the store"
        );
        assert_eq!(self.trust.state(), &state, "a refusal changed the state");
        err
    }

    /// Submit `action` as `name`; it must be refused by the host and leave no trace.
    pub fn refused(&mut self, name: &str, action: Action) -> RefusalError {
        let bytes = self.sign(name, action);
        self.refused_bytes(&bytes)
    }

    /// Advance the clock.
    pub fn wait_days(&self, days: u64) {
        self.clock.advance(days * DAY);
    }

    /// The public key of `name`, as the WIT `member-key`.
    pub fn pk(&mut self, name: &str) -> Vec<u8> {
        self.key(name).public().to_vec()
    }
}

//! Amendments: uploading candidate bylaw modules, checking them, and putting them in force.
//!
//! A candidate is stored content-addressed by blake3 before anyone may propose it. Proposing
//! an `amend-bylaws` proposal and executing it both re-read the candidate by hash, re-hash
//! its bytes, run its `migrate` (if exported) and the entrenched clauses' conformance suite;
//! any failure is a refusal that leaves no trace.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use crate::conformance::{Setting, first_failure};
use crate::engine::{MAX_COMPONENT_BYTES, Runtime, to_component};
use crate::error::{
    CharterError, CharterProblems, Error, EvalError, LoadError, RefusalError, Result,
};
use crate::host_rules::{amendment_module, check_params, released};
use crate::id::{MemberKey, ModuleHash};
use crate::model::Constitution;
use crate::model::{Amendment, BylawInfo, CharterProblem, Clause, Parameter};
use crate::state::TrustState;
use crate::store::read_intact_module;

/// Longest a candidate may take to compile at upload.
pub const COMPILE_TIMEOUT_SECS: u64 = 60;

/// What an upload stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// The component's blake3 hash, under which it is stored.
    pub hash: ModuleHash,
    /// The component's size in bytes.
    pub size: usize,
    /// False when the store already held it.
    pub new: bool,
    /// The member who uploaded it.
    pub uploader: MemberKey,
    /// What the component says about itself under the trust's current charter.
    pub info: BylawInfo,
}

/// The component an upload carries: size first (before any parsing), then a core module
/// built with wit-bindgen is turned into a component, whose size is checked again.
pub(crate) fn upload_component(wasm: &[u8]) -> Result<Vec<u8>> {
    if wasm.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge {
            size: wasm.len(),
            limit: MAX_COMPONENT_BYTES,
        }
        .into());
    }
    let component = to_component(wasm)?;
    if component.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge {
            size: component.len(),
            limit: MAX_COMPONENT_BYTES,
        }
        .into());
    }
    Ok(component)
}

/// Check that `component` is a component of the contract's world importing nothing else,
/// compiling it in a worker thread bounded by [`COMPILE_TIMEOUT_SECS`].
pub(crate) fn compile_bounded(runtime: &Arc<Runtime>, component: &[u8]) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let worker = Arc::clone(runtime);
    let bytes = component.to_vec();
    std::thread::Builder::new()
        .name("cltd-compile".into())
        .spawn(move || {
            // The receiver may have given up; the compiled module then just stays cached.
            let _ = tx.send(worker.prepare(&bytes));
        })
        .map_err(|e| LoadError::Compile(format!("could not start the compiler thread: {e}")))?;
    match rx.recv_timeout(Duration::from_secs(COMPILE_TIMEOUT_SECS)) {
        Ok(result) => {
            result?;
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(LoadError::CompileTimeout(COMPILE_TIMEOUT_SECS).into());
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(LoadError::Compile("the compiler thread failed".into()).into());
        }
    }
    Ok(())
}

/// Read the stored module `hash`, check its bytes still hash to it, and make sure the
/// engine has it compiled.
pub(crate) fn load_stored(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    hash: &ModuleHash,
) -> Result<()> {
    let bytes = read_intact_module(db, hash)?.ok_or_else(|| {
        RefusalError::Amendment(format!(
            "no bylaw module {} has been uploaded to this trust (upload it with `cltd bylaws upload`)",
            hex::encode(hash)
        ))
    })?;
    runtime.prepare(&bytes)?;
    Ok(())
}

/// Refuse `charter` unless the candidate `module` runs with it (see [`charter_problems`]).
pub(crate) fn check_charter(
    runtime: &Runtime,
    module: &ModuleHash,
    charter: &[Parameter],
) -> Result<()> {
    match charter_problems(runtime, module, charter) {
        Ok(None) => Ok(()),
        Ok(Some(problems)) => Err(RefusalError::Charter(problems).into()),
        Err(e) => Err(RefusalError::Amendment(format!(
            "the candidate failed to describe itself with this charter: {e}"
        ))
        .into()),
    }
}

/// The charter the candidate `module` will run with: its `migrate(previous, proposed)`, or
/// `proposed` when it exports none.
pub(crate) fn migrated_charter(
    runtime: &Runtime,
    module: &ModuleHash,
    previous: &[Parameter],
    proposed: &[Parameter],
) -> Result<Vec<Parameter>> {
    let abandon = |why: String| {
        Error::from(RefusalError::Amendment(format!(
            "the candidate's migrate {why}; activation abandoned, the rules in force stay in force"
        )))
    };
    let charter = match runtime.migrate(module, previous, proposed) {
        Ok(None) => proposed.to_vec(),
        Ok(Some(Ok(charter))) => charter,
        Ok(Some(Err(reason))) => return Err(abandon(format!("refused: {reason}"))),
        Err(e) => return Err(abandon(format!("failed: {e}"))),
    };
    check_params(&charter).map_err(|e| abandon(format!("returned an invalid charter: {e}")))?;
    Ok(charter)
}

/// What the bylaw `module` cannot run with in `charter`: the problems its `describe`
/// reports, and every key it does not list among its parameters (unless it reported that key
/// already). `Ok(None)` when it runs with the charter; `Err` if it failed to describe itself.
pub(crate) fn charter_problems(
    runtime: &Runtime,
    module: &ModuleHash,
    charter: &[Parameter],
) -> Result<Option<CharterProblems>, EvalError> {
    let info = runtime.describe(module, charter)?;
    let mut problems = info.problems;
    let known: Vec<&str> = info.parameters.iter().map(|p| p.key.as_str()).collect();
    for p in charter {
        if !known.contains(&p.key.as_str()) && !problems.iter().any(|q| q.key == p.key) {
            let reads = if known.is_empty() {
                "no charter parameters".to_string()
            } else {
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            problems.push(CharterProblem {
                key: p.key.clone(),
                problem: format!("unknown parameter: {} reads {reads}", info.name),
            });
        }
    }
    Ok((!problems.is_empty()).then_some(CharterProblems {
        bylaw: info.name,
        problems,
    }))
}

/// Check the amendment `a` against `state` at host time `now` and return the constitution it
/// would put in force: the candidate is stored and intact, its `migrate` succeeds, it can run
/// with the charter `migrate` gives (every key known, every value valid), and it passes the
/// conformance vectors of every entrenched clause it does not release.
pub(crate) fn candidate(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    a: &Amendment,
    now: u64,
) -> Result<Constitution> {
    let module = amendment_module(a)?;
    let releases = released(state, a)?;
    load_stored(runtime, db, &module)?;
    let charter = migrated_charter(runtime, &module, &state.charter, &a.charter)?;
    check_charter(runtime, &module, &charter)?;
    let entrenched: Vec<Clause> = state
        .entrenched
        .iter()
        .copied()
        .filter(|c| !releases.contains(c))
        .collect();
    let setting = Setting::of(state, now);
    if let Some(failed) = first_failure(runtime, &module, &charter, &entrenched, &setting) {
        return Err(RefusalError::Entrenched {
            clause: failed.clause.name().to_string(),
            vector: failed.vector,
            detail: failed.detail,
        }
        .into());
    }
    Ok(Constitution {
        module,
        charter,
        entrenched,
    })
}

/// The charter an amendment proposes: `current` with the `unset` keys removed and each
/// `set` pair applied (replacing a parameter's value, or adding the parameter). Refused when
/// a key to unset is not in `current`.
pub fn amended_charter(
    current: &[Parameter],
    set: &[(String, String)],
    unset: &[String],
) -> std::result::Result<Vec<Parameter>, CharterError> {
    let mut charter = current.to_vec();
    for key in unset {
        let before = charter.len();
        charter.retain(|p| &p.key != key);
        if charter.len() == before {
            return Err(CharterError::Invalid(format!(
                "the charter in force has no parameter `{key}` to unset"
            )));
        }
    }
    for (key, value) in set {
        match charter.iter_mut().find(|p| &p.key == key) {
            Some(p) => p.value.clone_from(value),
            None => charter.push(Parameter {
                key: key.clone(),
                value: value.clone(),
            }),
        }
    }
    Ok(charter)
}

//! The bylaws cltd is built with, compiled natively: `cltd bylaws test` runs each scenario
//! through the component and, for these crates, through the same logic compiled into cltd,
//! and the two must agree.
//!
//! The SDK's types and the runtime's are generated from the same WIT contract, so a value
//! crosses from one to the other through its postcard encoding.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use cltd_runtime::{Action, BylawInfo, NativeBylaw, Parameter, Verdict, View};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A bylaw crate compiled into cltd.
pub struct Builtin {
    /// The crate's package name.
    pub name: &'static str,
    /// Its `src/lib.rs` as cltd was built with it.
    pub source: &'static str,
    /// Its logic, callable natively.
    pub bylaw: fn() -> Arc<dyn NativeBylaw>,
    /// Every reason it declares it denies with: `(code, clause)`, in declaration order.
    pub reasons: fn() -> Vec<(&'static str, &'static str)>,
}

/// The bylaw crates in this repository, compiled into cltd.
pub const BUILTINS: [Builtin; 4] = [
    Builtin {
        name: "classic-clt",
        source: include_str!("../../bylaws/classic-clt/src/lib.rs"),
        bylaw: native::<classic_clt::ClassicClt>,
        reasons: bylaws_sdk::reason::table::<classic_clt::Why>,
    },
    Builtin {
        name: "minimal",
        source: include_str!("../../bylaws/minimal/src/lib.rs"),
        bylaw: native::<minimal::Minimal>,
        reasons: bylaws_sdk::reason::table::<minimal::Why>,
    },
    Builtin {
        name: "civic-data-trust",
        source: include_str!("../../bylaws/civic-data-trust/src/lib.rs"),
        bylaw: native::<civic_data_trust::CivicDataTrust>,
        reasons: bylaws_sdk::reason::table::<civic_data_trust::Why>,
    },
    Builtin {
        name: "platform-coop",
        source: include_str!("../../bylaws/platform-coop/src/lib.rs"),
        bylaw: native::<platform_coop::PlatformCoop>,
        reasons: bylaws_sdk::reason::table::<platform_coop::Why>,
    },
];

/// Why a crate cannot be run natively.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// cltd was not built with this crate.
    #[error(
        "cltd has no native build of `{0}` (only of the bylaws in its repository); the crate's own `cargo test` runs its logic natively"
    )]
    NotBuiltIn(String),
    /// The crate's source differs from the one cltd was built with.
    #[error(
        "`{0}`'s src/lib.rs differs from the one cltd was built with; rebuild cltd to run it natively"
    )]
    Stale(String),
    /// The crate's source could not be read.
    #[error("cannot read {0}: {1}")]
    Unreadable(String, String),
}

/// The native build of the crate at `dir` named `name`, if cltd was built with exactly its
/// current `src/lib.rs`.
pub fn for_crate(name: &str, dir: &Path) -> Result<Arc<dyn NativeBylaw>, Unavailable> {
    let builtin = BUILTINS
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| Unavailable::NotBuiltIn(name.to_string()))?;
    let path = dir.join("src/lib.rs");
    let source = std::fs::read_to_string(&path)
        .map_err(|e| Unavailable::Unreadable(path.display().to_string(), e.to_string()))?;
    if source != builtin.source {
        return Err(Unavailable::Stale(name.to_string()));
    }
    Ok((builtin.bylaw)())
}

fn native<B: bylaws_sdk::Bylaw + 'static>() -> Arc<dyn NativeBylaw> {
    Arc::new(Native::<B>(PhantomData))
}

/// A bylaw written against the SDK, called with the runtime's types.
struct Native<B>(PhantomData<fn() -> B>);

/// The same value in the other side's generated type (runtime to SDK or back).
pub fn cross<T: Serialize, U: DeserializeOwned>(value: &T) -> U {
    let bytes = postcard::to_stdvec(value).expect("in-memory encoding cannot fail");
    postcard::from_bytes(&bytes)
        .expect("the SDK's and the runtime's types are generated from the same contract")
}

impl<B: bylaws_sdk::Bylaw> NativeBylaw for Native<B> {
    fn evaluate(&self, view: &View, action: &Action) -> Verdict {
        let verdict = B::evaluate(&cross(view), &cross(action));
        cross(&verdict)
    }

    fn describe(&self, charter: &[Parameter]) -> BylawInfo {
        let charter: Vec<bylaws_sdk::Parameter> = cross(&charter);
        cross(&B::describe(&charter))
    }

    fn migrate(
        &self,
        previous: &[Parameter],
        proposed: &[Parameter],
    ) -> Option<Result<Vec<Parameter>, String>> {
        let previous: Vec<bylaws_sdk::Parameter> = cross(&previous);
        let proposed: Vec<bylaws_sdk::Parameter> = cross(&proposed);
        Some(B::migrate(&previous, &proposed).map(|c| cross(&c)))
    }
}

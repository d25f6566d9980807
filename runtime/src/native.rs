//! Bylaws compiled into the host program: the same logic as a component, run without the
//! sandbox, so a scenario can be run both ways and the answers compared.
//!
//! A native bylaw is registered on a [`crate::Runtime`] under the hash of the component built
//! from the same source ([`crate::Runtime::run_natively`]); from then on that runtime calls the
//! native code instead of the component. It is for testing only: native code has no fuel,
//! memory or time limit, so a live trust never runs one.

use crate::model::{Action, BylawInfo, Parameter, Verdict, View};

/// A bylaw's three entry points, called natively.
pub trait NativeBylaw: Send + Sync {
    /// As the component's `evaluate`.
    fn evaluate(&self, view: &View, action: &Action) -> Verdict;

    /// As the component's `describe`.
    fn describe(&self, charter: &[Parameter]) -> BylawInfo;

    /// As the component's `migrate`: `None` when the bylaw does not migrate.
    fn migrate(
        &self,
        previous: &[Parameter],
        proposed: &[Parameter],
    ) -> Option<Result<Vec<Parameter>, String>>;
}

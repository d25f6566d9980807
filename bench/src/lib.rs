//! # cltd-bench
//!
//! What cltd measures about itself, outside the `cltd` binary: the benchmark behind
//! `cltd-bench bench` (bylaw calls, durable transitions, group commit, natively compiled
//! bylaws, amendments, audits, the HTTP server) and the crash harness behind
//! `cltd-bench crash-test`. Every measurement runs on one [`fixture::Fixture`]. `cltd bench`
//! and `cltd crash-test` forward to this binary.

pub mod amendment;
pub mod audit;
pub mod cluster;
pub mod crash;
pub mod fixture;
pub mod http;
pub mod load;
pub mod process;
pub mod transitions;

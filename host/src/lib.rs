//! # cltd
//!
//! The `cltd` command: found, run, inspect and verify a digital community land trust.
//! The binary is a thin clap front end over these modules, so the demo and the benchmark
//! can also be driven from tests.

pub mod cli;
pub mod cluster;

pub mod demo;
pub mod guest;

pub mod keyring;
pub mod native;
pub mod render;
pub mod scaffold;
pub mod scenario;
pub mod server;
pub mod setup;
pub mod wire;
pub mod witness;

/// Exit code: success, or the bylaws allowed the action.
pub const EXIT_OK: i32 = 0;
/// Exit code: an error (bad input, refused by the host, bylaw failure, storage).
pub const EXIT_ERROR: i32 = 1;
/// Exit code: the bylaws denied the action (the denial is logged).
pub const EXIT_DENIED: i32 = 2;
/// Exit code: verification failed.
pub const EXIT_VERIFY_FAILED: i32 = 3;

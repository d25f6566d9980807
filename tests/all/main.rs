//! cltd's integration tests: one binary, a module per topic. Each drives real bylaw
//! components (built to Wasm once per run) through the real runtime and redb store.

// Integration tests unwrap freely: a panic is how a test fails, with its message.
#![allow(clippy::unwrap_used)]

mod amendments;
mod api;
mod audit;
mod authoring;
mod browser;
mod bundles;
mod cli;
mod cluster;
mod crash;
mod demo;
mod economy;
mod formats;
mod guarantees;
mod hostile;
mod jetstream;
mod lifecycle;
mod store;
mod support;
mod views;
mod workflow;

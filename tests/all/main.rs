//! cltd's integration tests: one binary, a module per topic. Each drives real bylaw
//! components (built to Wasm once per run) through the real runtime and redb store.

mod audit;
mod hostile;
mod lifecycle;
mod support;
mod workflow;

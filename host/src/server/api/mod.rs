//! The JSON API under `/v1`, one module per kind of request: reads (trusts, members,
//! proposals, the log, proofs, modules) and writes (signed transitions, uploads, previews).

pub mod commons;
pub mod reads;
pub mod writes;

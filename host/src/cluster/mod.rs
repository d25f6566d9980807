//! `cltd serve --cluster`: trusts replicated through NATS JetStream (issue 18). The runtime
//! knows only its [`cltd_runtime::Replicator`] trait; this module is the JetStream side of
//! it ([`log`]), the connection ([`engine`]), and what makes a server a node ([`node`]).
//! docs/design.md "Clustering" says what an acknowledgement means and which faults are
//! survived.

pub mod engine;
pub mod log;
pub mod node;

pub use engine::{Engine, EngineError};
pub use log::JetStreamLog;
pub use node::Node;

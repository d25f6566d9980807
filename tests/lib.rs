//! Support crate for the integration tests in `all/`.

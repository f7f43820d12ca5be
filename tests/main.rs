//! End-to-end tests: the real `ferry` binary against real PostgreSQL and
//! MariaDB servers started by ferry-testkit. One test binary (one link).

mod cli;
mod copy_verify;
mod errors;
mod fidelity;
mod plan;
mod schema;
mod snapshot;
mod util;
mod verify;

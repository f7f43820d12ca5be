//! End-to-end tests: the real `ferry` binary against real PostgreSQL and
//! MariaDB servers started by ferry-testkit. One test binary (one link).

mod bad_input;
mod cli;
mod copy_verify;
mod corpus;
mod cutover;
mod cutover_faults;
mod cutover_pgbouncer;
mod defaults;
mod errors;
mod faults;
mod fidelity;
mod inherit;
mod job;
mod mssql;
mod plan;
mod rejects;
mod report;
mod restart;
mod resume;
mod scale;
mod schema;
mod security;
mod snapshot;
mod spatial;
mod sqlite;
mod sync;
mod transform;
mod types;
mod util;
mod values;
mod verify;

//! TLS for PostgreSQL connections: shared with the checkpoint store, so it
//! lives in `ferry-pgconn` (see there for how `sslmode` is read).

pub(crate) use ferry_pgconn::tls::{connector, is_tls_failure};

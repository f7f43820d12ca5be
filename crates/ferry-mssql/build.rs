//! Compiles the live SQL Server tests as ignored unless
//! `FERRY_TEST_MSSQL_URL` names a server: no SQL Server can run on the
//! machines ferry is built on, and an ignored test is one the run counts
//! and names (`… ignored, needs FERRY_TEST_MSSQL_URL`) rather than one that
//! passes without testing anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mssql_live)");
    println!("cargo::rerun-if-env-changed=FERRY_TEST_MSSQL_URL");
    if std::env::var_os("FERRY_TEST_MSSQL_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=mssql_live");
    }
}

//! SQL Server's side of `ferry cutover` (see [`ferry_core::cutover`]): not
//! built yet. Every step refuses with one line, before anything is fenced,
//! so a cutover plan naming a SQL Server side stops at its first check. A
//! fence would be `ALTER DATABASE … SET READ_ONLY WITH ROLLBACK AFTER n`
//! (or denying the application logins), and the way back needs the CDC
//! change stream the capabilities declare missing.

use std::time::Duration;

use ferry_core::cutover::{Bypass, FenceOutcome, FencePlan, FenceSpec, Generator, OpenTxn};
use ferry_core::{Error, Result, TableRef};

use crate::MssqlAdapter;

fn not_yet() -> Error {
    Error::Invalid("ferry cutover does not drive SQL Server yet".into())
}

impl ferry_core::cutover::CutoverSupport for MssqlAdapter {
    async fn fence_bypasses(&self, _spec: &FenceSpec) -> Result<Vec<Bypass>> {
        Err(not_yet())
    }

    async fn plan_fence(&self, _spec: &FenceSpec) -> Result<FencePlan> {
        Err(not_yet())
    }

    async fn apply_fence(&self, _spec: &FenceSpec, _plan: &FencePlan) -> Result<FenceOutcome> {
        Err(not_yet())
    }

    async fn lift_fence(&self, _plan: &FencePlan) -> Result<()> {
        Err(not_yet())
    }

    async fn fence_holds(&self, _spec: &FenceSpec) -> Result<bool> {
        Err(not_yet())
    }

    async fn open_transactions(&self, _older_than: Duration) -> Result<Vec<OpenTxn>> {
        Err(not_yet())
    }

    async fn prepared_transactions(&self) -> Result<Vec<String>> {
        Err(not_yet())
    }

    async fn own_write_problem(&self, _spec: &FenceSpec) -> Result<Option<String>> {
        Err(not_yet())
    }

    async fn create_marker_table(&self, _table: &TableRef) -> Result<()> {
        Err(not_yet())
    }

    async fn write_marker(&self, _table: &TableRef, _run: &str, _attempt: u32) -> Result<()> {
        Err(not_yet())
    }

    async fn wait_for_marker(
        &self,
        _table: &TableRef,
        _run: &str,
        _attempt: u32,
        _within: Duration,
    ) -> Result<bool> {
        Err(not_yet())
    }

    async fn generators(&self, _tables: &[TableRef]) -> Result<Vec<Generator>> {
        Err(not_yet())
    }

    /// Never reached: every earlier step refuses.
    fn raise_generator_sql(&self, _generator: &Generator, _next: i64) -> Vec<String> {
        Vec::new()
    }

    async fn change_stream_problem(&self) -> Result<Option<String>> {
        Ok(Some(
            "SQL Server has no change stream in ferry yet (cdc.fn_cdc_get_all_changes_* \
             polling is planned)"
                .into(),
        ))
    }

    async fn arm_change_stream(&self, _slot: &str, _tables: &[TableRef]) -> Result<String> {
        Err(not_yet())
    }

    async fn stream_table(&self, _slot: &str, _table: &TableRef) -> Result<()> {
        Err(not_yet())
    }

    async fn first_commit_after(
        &self,
        _slot: &str,
        _position: &str,
        _tables: &[TableRef],
    ) -> Result<Option<i64>> {
        Err(not_yet())
    }
}

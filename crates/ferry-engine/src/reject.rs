//! The reject file: rows the target refused, one JSON object per line.
//!
//! A line names the table, the row's key, the column and the reason — never
//! the value (`{"table":…,"key":…,"column":…,"reason":…}`), and the check's
//! name for a row a check of the job refused (`"check":…`). Lines of a range
//! are appended and synced only after the range commits, so a line stands
//! for a row that is really missing from the target. A crash between that
//! sync and the range's checkpoint makes the redone range write its lines
//! again: a reader deduplicates by (table, key).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use ferry_core::{Error, ErrorKind, Result};

/// One refused row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Reject {
    pub table: String,
    pub key: String,
    pub column: String,
    pub reason: String,
    /// The job's check the row failed, when a check refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
}

/// Appends rejects to a file shared by every worker.
pub struct RejectWriter {
    path: PathBuf,
    file: Mutex<File>,
}

impl RejectWriter {
    /// Opens `path` for appending (creating it and its directory).
    pub fn open(path: &Path) -> Result<RejectWriter> {
        let io = |e: std::io::Error| {
            Error::query(
                format!("opening reject file {}", path.display()),
                ErrorKind::Definite,
                e,
            )
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(RejectWriter {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends the rejects of one committed range and syncs the file.
    pub fn append(&self, rejects: &[Reject]) -> Result<()> {
        if rejects.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for r in rejects {
            let line =
                serde_json::to_string(r).map_err(|e| Error::Bug(format!("reject line: {e}")))?;
            text.push_str(&line);
            text.push('\n');
        }
        let mut file = self
            .file
            .lock()
            .map_err(|_| Error::Bug("reject file lock poisoned".into()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| {
                Error::query(
                    format!("writing reject file {}", self.path.display()),
                    ErrorKind::Definite,
                    e,
                )
            })
    }
}

//! Timestamps events as they happen, for the report's timeline.

use std::sync::Mutex;
use std::time::Instant;

use crate::Timed;

/// Collects events with the milliseconds since it was made. Cheap to call
/// from any thread; events arrive at most a few hundred per second.
pub struct Recorder {
    start: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    events: Mutex<Vec<Timed>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            started_at: chrono::Utc::now(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// Records anything serializable as its JSON (the `--format json` form).
    pub fn record(&self, event: &impl serde::Serialize) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Ok(event) = serde_json::to_value(event) else {
            return;
        };
        if let Ok(mut events) = self.events.lock() {
            events.push(Timed { ms, event });
        }
    }

    /// When the recorder was made, RFC 3339 UTC.
    pub fn started_at(&self) -> String {
        self.started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The events so far, in arrival order.
    pub fn timeline(&self) -> Vec<Timed> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// Now, RFC 3339 UTC, as the report's times are written.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

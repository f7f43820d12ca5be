//! Renders the engine's progress events: indicatif bars on a terminal,
//! periodic plain lines when stderr is a pipe or a file, nothing with --quiet.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use ferry_core::event::{Event, EventSink};

/// Seconds between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    mode: Mode,
}

enum Mode {
    Quiet,
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        tables: Arc<Mutex<BTreeMap<String, ProgressBar>>>,
    },
    Lines {
        state: Arc<Mutex<LineState>>,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

#[derive(Default)]
struct LineState {
    started: Option<Instant>,
    /// table → (rows, estimate, start)
    active: BTreeMap<String, (u64, Option<u64>, Instant)>,
    total_rows: u64,
}

impl Progress {
    /// Starts rendering; the overall bar learns its size from
    /// [`Event::Planned`].
    pub fn new(quiet: bool) -> Self {
        if quiet {
            return Progress { mode: Mode::Quiet };
        }
        if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(1));
            overall.set_style(
                ProgressStyle::with_template(
                    "{prefix:>32} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows {rate} eta {eta}",
                )
                .map(with_rate)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Progress {
                mode: Mode::Bars {
                    multi,
                    overall,
                    tables: Arc::default(),
                },
            }
        } else {
            let state = Arc::new(Mutex::new(LineState {
                started: Some(Instant::now()),
                ..LineState::default()
            }));
            let stop = Arc::new(AtomicBool::new(false));
            let thread = {
                let (state, stop) = (state.clone(), stop.clone());
                std::thread::spawn(move || print_lines(&state, &stop))
            };
            Progress {
                mode: Mode::Lines {
                    state,
                    stop,
                    thread: Some(thread),
                },
            }
        }
    }

    pub fn sink(&self) -> EventSink {
        match &self.mode {
            Mode::Quiet => EventSink::none(),
            Mode::Bars {
                multi,
                overall,
                tables,
            } => {
                let (multi, overall, tables) = (multi.clone(), overall.clone(), tables.clone());
                EventSink::new(move |e| on_bar_event(&multi, &overall, &tables, e))
            }
            Mode::Lines { state, .. } => {
                let state = state.clone();
                EventSink::new(move |e| on_line_event(&state, e))
            }
        }
    }

    pub fn finish(mut self) {
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bars { overall, .. } => overall.finish_and_clear(),
            Mode::Lines { stop, thread, .. } => {
                stop.store(true, Ordering::Relaxed);
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// Rows per second as a whole number (indicatif's own `{per_sec}` shows four decimals).
fn with_rate(style: ProgressStyle) -> ProgressStyle {
    style.with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} rows/s", state.per_sec());
        },
    )
}

fn on_bar_event(
    multi: &MultiProgress,
    overall: &ProgressBar,
    tables: &Mutex<BTreeMap<String, ProgressBar>>,
    event: Event,
) {
    let Ok(mut tables) = tables.lock() else {
        return;
    };
    match event {
        Event::Planned { tables: planned } => {
            let estimate: u64 = planned.iter().filter_map(|t| t.estimated_rows).sum();
            overall.set_length(estimate.max(1));
            overall.set_prefix(format!("all {} tables", planned.len()));
        }
        // Printed above the bars, so they do not tear.
        Event::Warning { line } => {
            let _ = multi.println(format!("warning: {line}"));
        }
        Event::Note { line } => {
            let _ = multi.println(format!("note: {line}"));
        }
        Event::TableStarted {
            table,
            estimated_rows,
        } => {
            let bar = multi.add(ProgressBar::new(estimated_rows.unwrap_or(0).max(1)));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>32} {bar:30} {human_pos}/{human_len} rows {rate} eta {eta}",
                )
                .map(with_rate)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_prefix(table.to_string());
            tables.insert(table.to_string(), bar);
        }
        Event::RowsWritten { table, rows, .. } => {
            if let Some(bar) = tables.get(&table.to_string()) {
                if bar.position() + rows > bar.length().unwrap_or(0) {
                    bar.set_length(bar.position() + rows);
                }
                bar.inc(rows);
            }
            if overall.position() + rows > overall.length().unwrap_or(0) {
                overall.set_length(overall.position() + rows);
            }
            overall.inc(rows);
        }
        Event::TableFinished { summary } => {
            if let Some(bar) = tables.remove(&summary.table.to_string()) {
                bar.finish_and_clear();
            }
            let _ = multi.println(format!(
                "copied {} → {}: {} rows in {:.1}s",
                summary.table, summary.target, summary.rows_written, summary.seconds
            ));
        }
        Event::TableFailed { table, .. } => {
            if let Some(bar) = tables.remove(&table.to_string()) {
                bar.abandon_with_message("failed");
            }
        }
        Event::RangeFinished { .. } => {}
    }
}

fn on_line_event(state: &Mutex<LineState>, event: Event) {
    let Ok(mut s) = state.lock() else { return };
    match event {
        Event::Planned { .. } => {}
        Event::Warning { line } => eprintln!("warning: {line}"),
        Event::Note { line } => eprintln!("note: {line}"),
        Event::TableStarted {
            table,
            estimated_rows,
        } => {
            s.active
                .insert(table.to_string(), (0, estimated_rows, Instant::now()));
        }
        Event::RowsWritten { table, rows, .. } => {
            if let Some(e) = s.active.get_mut(&table.to_string()) {
                e.0 += rows;
            }
            s.total_rows += rows;
        }
        Event::TableFinished { summary } => {
            s.active.remove(&summary.table.to_string());
            eprintln!(
                "ferry: copied {} → {}: {} rows in {:.1}s ({:.0} rows/s)",
                summary.table,
                summary.target,
                summary.rows_written,
                summary.seconds,
                summary.rows_per_second
            );
        }
        Event::TableFailed { table, .. } => {
            s.active.remove(&table.to_string());
            eprintln!("ferry: table {table} failed");
        }
        Event::RangeFinished { .. } => {}
    }
}

fn print_lines(state: &Mutex<LineState>, stop: &AtomicBool) {
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() < LINE_EVERY {
            continue;
        }
        last = Instant::now();
        let Ok(s) = state.lock() else { return };
        let elapsed = s.started.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        for (table, (rows, estimate, since)) in &s.active {
            let rate = *rows as f64 / since.elapsed().as_secs_f64().max(0.001);
            let of = estimate.map(|e| format!("/~{e}")).unwrap_or_default();
            eprintln!("ferry: {table}: {rows}{of} rows, {rate:.0} rows/s");
        }
        eprintln!("ferry: total {} rows in {elapsed:.0}s", s.total_rows);
    }
}

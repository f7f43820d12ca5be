//! Charts as inline SVG, written through maud so every label is escaped.
//!
//! Hand-drawn rather than through a plotting crate: the four shapes needed
//! (bars, lines, a Gantt, a grid) are a few rectangles and polylines each,
//! and plotting crates lay out text with a font backend that would either
//! pull in font files or guess widths; the browser lays out SVG text itself.

use maud::{html, Markup};

pub const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A short number: 1234567 → "1.23M".
pub fn short(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.2}G", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", n / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", n / 1e3)
    } else if a >= 100.0 || a == a.trunc() {
        format!("{n:.0}")
    } else {
        format!("{n:.2}")
    }
}

/// A round step for about `parts` ticks up to `max`: 1, 2 or 5 × 10^k.
pub fn nice_step(max: f64, parts: f64) -> f64 {
    let raw = (max / parts).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    mag * if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Horizontal bars: (label, colour, value, text shown after the bar).
pub fn bars(items: &[(String, &str, f64, String)]) -> Markup {
    let row = 20.0;
    let label_w = 260.0;
    let bar_w = 380.0;
    let width = label_w + bar_w + 140.0;
    let height = row * items.len() as f64 + 4.0;
    let max = items
        .iter()
        .map(|i| i.2)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) role="img" aria-label="share of the run per table" {
            @for (i, (label, colour, value, text)) in items.iter().enumerate() {
                @let y = row * i as f64 + 2.0;
                @let w = (value / max * bar_w).max(1.0);
                text x=(label_w - 6.0) y=(y + 14.0) text-anchor="end" class="lbl" { (clip(label, 38)) }
                rect x=(label_w) y=(y + 2.0) width=(w) height=(row - 6.0) fill=(colour) {
                    title { (label) ": " (text) }
                }
                text x=(label_w + w + 6.0) y=(y + 14.0) class="val" { (text) }
            }
        }
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n - 1).collect();
        out.push('…');
        out
    }
}

/// A line: name, colour, points (seconds, value).
pub type Series<'a> = (String, &'a str, Vec<(f64, f64)>);

/// Lines over time: each series is (name, colour, points of (seconds,
/// value)); the time axis runs to `x_end` seconds (the whole run, so charts
/// of one run line up).
pub fn lines(series: &[Series<'_>], x_end: f64, y_label: &str) -> Markup {
    let (w, h) = (760.0, 240.0);
    let (left, right, top, bottom) = (64.0, 150.0, 12.0, 30.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let xmax = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(x_end, f64::max)
        .max(1e-9);
    let ystep = nice_step(
        series
            .iter()
            .flat_map(|s| s.2.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            .max(1e-9),
        4.0,
    );
    let ymax = (series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        / ystep)
        .ceil()
        .max(1.0)
        * ystep;
    // At most a handful of ticks: ymax is a whole number of steps, about 4.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let yticks = (ymax / ystep).round().min(20.0) as u32;
    let x = |v: f64| left + v / xmax * pw;
    let y = |v: f64| top + ph - v / ymax * ph;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" width=(w) height=(h)
            viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(y_label) {
            line x1=(left) y1=(top + ph) x2=(left + pw) y2=(top + ph) class="axis" {}
            line x1=(left) y1=(top) x2=(left) y2=(top + ph) class="axis" {}
            @for i in 0..=yticks {
                @let fy = ystep * f64::from(i);
                line x1=(left) y1=(y(fy)) x2=(left + pw) y2=(y(fy)) class="grid" {}
                text x=(left - 6.0) y=(y(fy) + 4.0) text-anchor="end" class="tick" { (short(fy)) }
            }
            @for i in 0..=4 {
                @let fx = xmax * f64::from(i) / 4.0;
                text x=(x(fx)) y=(top + ph + 16.0) text-anchor="middle" class="tick" { (format!("{fx:.1} s")) }
            }
            text x=(12) y=(top + ph / 2.0) class="tick" transform=(format!("rotate(-90 12 {})", top + ph / 2.0)) text-anchor="middle" { (y_label) }
            @for (i, (name, colour, points)) in series.iter().enumerate() {
                @let pts: Vec<String> = points.iter().map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b))).collect();
                polyline points=(pts.join(" ")) fill="none" stroke=(colour) stroke-width="2" {
                    title { (name) }
                }
                rect x=(w - right + 10.0) y=(top + 16.0 * i as f64) width="10" height="10" fill=(colour) {}
                text x=(w - right + 24.0) y=(top + 9.0 + 16.0 * i as f64) class="lbl" { (clip(name, 18)) }
            }
        }
    }
}

/// One bar per range on its worker's row, coloured by its table; the time
/// axis runs to `end_ms` (or the last range, if later).
pub fn gantt(
    ranges: &[crate::view::RangeBar],
    colour: &dyn Fn(&str) -> &'static str,
    end_ms: f64,
) -> Markup {
    let workers = ranges.iter().map(|r| r.worker + 1).max().unwrap_or(1);
    let (w, row) = (760.0, 22.0);
    let (left, top) = (80.0, 6.0);
    let pw = w - left - 30.0;
    let h = top + row * workers as f64 + 26.0;
    let end = ranges
        .iter()
        .map(|r| r.end_ms)
        .fold(end_ms, f64::max)
        .max(1.0);
    let x = |ms: f64| left + ms / end * pw;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" width=(w) height=(h)
            viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="ranges per worker" {
            @for k in 0..workers {
                text x=(left - 6.0) y=(top + row * k as f64 + 15.0) text-anchor="end" class="lbl" { "worker " (k) }
            }
            @for r in ranges {
                @let y0 = top + row * r.worker as f64 + 2.0;
                rect x=(x(r.start_ms)) y=(y0) width=((x(r.end_ms) - x(r.start_ms)).max(1.5)) height=(row - 6.0)
                    fill=(colour(&r.table)) class=(if r.retried { "retried" } else { "range" }) {
                    title {
                        (r.table) " range " (r.index) ": " (r.rows) " rows, "
                        (format!("{:.2}", (r.end_ms - r.start_ms) / 1000.0)) " s"
                        @if r.retried { " (retried)" }
                    }
                }
            }
            @for i in 0..=4 {
                @let t = end * f64::from(i) / 4.0;
                text x=(x(t)) y=(h - 8.0) text-anchor="middle" class="tick" { (format!("{:.1} s", t / 1000.0)) }
            }
        }
    }
}

/// Most cells a chunk map draws; longer maps merge neighbouring chunks
/// into one cell, which shows the worst of them.
pub const MAX_CELLS: usize = 4000;

/// The chunk map: one cell per chunk (or per group of chunks) in key order.
pub fn chunk_map(map: &str) -> Markup {
    let chunks: Vec<char> = map.chars().collect();
    let per = chunks.len().div_ceil(MAX_CELLS).max(1);
    let cells: Vec<char> = chunks
        .chunks(per)
        .map(|g| {
            for c in ['x', 'm', 'e'] {
                if g.contains(&c) {
                    return c;
                }
            }
            '.'
        })
        .collect();
    let cols = 100usize;
    let size = 7.0;
    let rows = cells.len().div_ceil(cols).max(1);
    let (w, h) = (cols as f64 * size, rows as f64 * size);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chunks" width=(w) height=(h)
            viewBox=(format!("0 0 {w} {h}")) role="img" aria-label="chunk map" {
            @for (i, c) in cells.iter().enumerate() {
                @let class = match c { 'x' => "c-diff", 'm' => "c-miss", 'e' => "c-extra", _ => "c-eq" };
                rect x=((i % cols) as f64 * size) y=((i / cols) as f64 * size) width=(size - 1.0) height=(size - 1.0) class=(class) {
                    title {
                        @if per == 1 { "chunk " (i) } @else { "chunks " (i * per) "–" ((i + 1) * per - 1) }
                        ": " (match c { 'x' => "values differ", 'm' => "rows missing in target", 'e' => "extra rows in target", _ => "equal" })
                    }
                }
            }
        }
    }
}

//! A small hand-written SVG line plot: log-scale x, linear y, one labelled line per series.

use std::fmt::Write;

use crate::scenarios::si;

/// A tick label: 100, 2.5k, 10k, 1.2M.
fn short(v: f64) -> String {
    let (x, unit) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn color(name: &str, i: usize) -> &'static str {
    match name {
        "ours" => "#d62728",
        "socketioxide" => "#1f77b4",
        "node" => "#2ca02c",
        "raw" => "#555555",
        _ => ["#9467bd", "#8c564b", "#e377c2", "#bcbd22"][i % 4],
    }
}

/// A step of 1, 2, 2.5 or 5 × 10^k giving about five intervals up to `max`.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// Renders the plot. `series` holds (name, [(x, y)]) with x > 0.
pub fn line_plot(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> String {
    let (w, h) = (780.0, 470.0);
    let (left, right, top, bottom) = (90.0, 110.0, 80.0, 70.0);
    let (pw, ph) = (w - left - right, h - top - bottom);

    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0));
    let (xmin, xmax) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (xmin, xmax) = if xmin > xmax {
        (1.0, 10.0)
    } else {
        (xmin.max(1e-9), xmax.max(1e-9))
    };
    let lo = xmin.log10().floor();
    let mut hi = xmax.log10().ceil();
    if hi <= lo {
        hi = lo + 1.0;
    }
    let ymax_data = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold(0.0f64, f64::max)
        * 1.05; // headroom above the highest point
    let step = nice_step(if ymax_data > 0.0 { ymax_data } else { 1.0 });
    let ymax = ((ymax_data / step).ceil() * step).max(step);

    let px = |x: f64| left + (x.max(1e-9).log10() - lo) / (hi - lo) * pw;
    let py = |y: f64| top + ph - y / ymax * ph;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="26" text-anchor="middle" font-size="16" font-weight="bold">{}</text>
"#,
        left + pw / 2.0,
        esc(title)
    );
    // Grid and y ticks.
    let mut y = 0.0;
    while y <= ymax + step / 2.0 {
        let yy = py(y);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + pw,
            left - 8.0,
            yy + 4.0,
            short(y)
        );
        y += step;
    }
    // x ticks: decades labelled, 2..9 minor.
    let mut k = lo as i32;
    while k as f64 <= hi {
        let base = 10f64.powi(k);
        let xx = px(base);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#e4e4e4"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            top + ph,
            top + ph + 18.0,
            short(base)
        );
        if (k as f64) < hi {
            for m in 2..10 {
                let xm = px(base * m as f64);
                let _ = writeln!(
                    s,
                    r##"<line x1="{xm:.1}" y1="{:.1}" x2="{xm:.1}" y2="{:.1}" stroke="#999"/>"##,
                    top + ph,
                    top + ph + 4.0
                );
            }
        }
        k += 1;
    }
    // The measured x values that are not decades get a labelled tick too.
    let mut data_x: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .collect();
    data_x.sort_by(|a, b| a.total_cmp(b));
    data_x.dedup();
    for x in data_x {
        if (x.log10() - x.log10().round()).abs() > 1e-9 {
            let xx = px(x);
            let _ = writeln!(
                s,
                r##"<line x1="{xx:.1}" y1="{top}" x2="{xx:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                top + ph,
                top + ph + 18.0,
                short(x)
            );
        }
    }
    // Axes and labels.
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="black"/><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"##,
        top + ph,
        top + ph,
        left + pw,
        top + ph
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        h - 22.0,
        esc(xlabel)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + ph / 2.0,
        esc(ylabel)
    );
    // Lines, points, end labels, legend.
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = color(name, i);
        let mut pts = pts.clone();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2.5" points="{}"/>"#,
            path.join(" ")
        );
        for &(x, y) in &pts {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{c}"><title>{}: {} receivers, {} deliveries/s</title></circle>"#,
                px(x),
                py(y),
                esc(name),
                x,
                si(y)
            );
        }
        if let Some(&(x, y)) = pts.last() {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" fill="{c}" font-weight="bold">{}</text>"#,
                px(x) + 8.0,
                py(y) + 4.0,
                esc(name)
            );
        }
        // Legend: one row under the title.
        let ly = 52.0;
        let lx = left + i as f64 * 150.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{c}" stroke-width="2.5"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            esc(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_renders() {
        let s = line_plot(
            "t",
            "x",
            "y",
            &[
                (
                    "ours".into(),
                    vec![(100.0, 1e5), (1000.0, 3e5), (10000.0, 2.5e5)],
                ),
                ("raw".into(), vec![(100.0, 2e5), (1000.0, 6e5)]),
            ],
        );
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert!(s.contains("polyline") && s.contains(">ours<"));
        assert_eq!(nice_step(1000.0), 200.0);
        assert_eq!(nice_step(6e5), 2e5);
    }
}

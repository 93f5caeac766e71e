//! The PNG chart of `docs/benchmarks.md`: ClawNode's figures as a fraction of the TS host's.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

fn register_font() -> Result<(), String> {
    for p in FONT_PATHS {
        if let Ok(bytes) = std::fs::read(p) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| format!("cannot load font {p}"));
        }
    }
    Err("no DejaVuSans.ttf found (apt-get install fonts-dejavu-core)".into())
}

/// Renders bars of clawnode/TS ratios (log scale) to `out`.
pub fn render(report: &Value, out: &Path) -> Result<(), String> {
    register_font()?;
    let f = |p: &str| report.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let ratio = |p: &str| f(&format!("/sideBySide/clawnode{p}")) / f(&format!("/sideBySide/ts{p}"));
    let bars: Vec<(&str, f64)> = vec![
        ("idle RSS", ratio("/idleRssBytes")),
        ("peak RSS", ratio("/peakRssBytes")),
        ("CPU / invoke", ratio("/cpuMsPer1000Invokes")),
        ("spawn→connected", ratio("/spawnToConnectedMs")),
        ("latency p50", ratio("/latencyMs/p50")),
    ];
    let bars: Vec<(&str, f64)> = bars.into_iter().filter(|(_, v)| v.is_finite() && *v > 0.0).collect();
    let root = BitMapBackend::new(out, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let min = bars.iter().map(|b| b.1).fold(1.0, f64::min).min(0.001) / 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption("ClawNode as a fraction of `openclaw node run` (lower is better, log scale)", ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(140)
        .build_cartesian_2d((min..4.0f64).log_scale(), (0..bars.len().saturating_sub(1)).into_segmented())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len())
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                bars.get(*i).map(|b| b.0.to_string()).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .x_desc("clawnode / TS host")
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let mut r = Rectangle::new(
                [(min, SegmentValue::Exact(i)), (*v, SegmentValue::Exact(i + 1))],
                RGBColor(0x2b, 0x6c, 0xb0).filled(),
            );
            r.set_margin(8, 8, 0, 0);
            r
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let label = if *v < 1.0 { format!("{:.3}× (1/{:.0})", v, 1.0 / v) } else { format!("{v:.2}×") };
            Text::new(label, (*v * 1.1, SegmentValue::CenterOf(i)), ("sans-serif", 14).into_font())
        }))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

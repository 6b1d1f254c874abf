//! Short human durations: `45s`, `12m`, `3h 05m`, `2d 4h`.

/// Formats seconds as a short duration with at most two units.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match () {
        _ if d >= 10 => format!("{d}d"),
        _ if d > 0 => format!("{d}d {h}h"),
        _ if h > 0 => format!("{h}h {m:02}m"),
        _ if m > 0 => format!("{m}m"),
        _ => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_duration(45.0), "45s");
        assert_eq!(human_duration(720.0), "12m");
        assert_eq!(human_duration(3.0 * 3600.0 + 300.0), "3h 05m");
        assert_eq!(human_duration(2.0 * 86_400.0 + 4.0 * 3600.0), "2d 4h");
        assert_eq!(human_duration(40.0 * 86_400.0), "40d");
    }
}

//! The spec's statistics on small in-memory lists (the level bands and the
//! audit trail; the figures themselves are computed by polars).

/// Linear interpolation between closest ranks (numpy's default, R type 7).
pub(crate) fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = q * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// The interpolated median.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_type_7() {
        assert_eq!(median(&[3.0, 1.0, 2.0, 4.0]), Some(2.5));
        assert_eq!(quantile(&[1800.0, 7200.0, 176_400.0], 0.9), Some(142_560.0));
        assert_eq!(quantile(&[5.0], 0.9), Some(5.0));
        assert_eq!(median(&[]), None);
    }
}

//! The fuzz targets' bodies, shared by the `cargo fuzz` binaries under
//! `fuzz_targets/` and by the stable corpus test
//! (`dora-serve/tests/fuzz_corpus.rs`, which includes this file). Each
//! takes any bytes and must return without panicking; each checks what
//! must hold of every answer (errors are one line).

use dora_core::{EventSet, ReadOptions};
use dora_sources::cdevents;

/// `dora.events/v1` JSON Lines, as `POST /events` and `dora import` read
/// them: strict, then skipping bad lines. The two agree on the good lines.
/// Returns whether the strict read accepted the input.
pub fn events_jsonl(data: &[u8]) -> bool {
    let mut strict = EventSet::new();
    let strict_result = dora_core::read_jsonl(data, None, &mut strict, &ReadOptions::default());
    if let Err(e) = &strict_result {
        one_line(&e.to_string());
    }
    let mut skipping = EventSet::new();
    let opts = ReadOptions { skip_bad_lines: true, ..ReadOptions::default() };
    if let Ok(summary) = dora_core::read_jsonl(data, None, &mut skipping, &opts) {
        for skipped in &summary.skipped {
            one_line(&skipped.to_string());
        }
        if strict_result.is_ok() {
            assert_eq!(
                strict.len(),
                skipping.len(),
                "a strict read and a skipping read of good lines differ"
            );
        }
    }
    strict_result.is_ok()
}

/// CDEvents as `POST /cdevents` receives them: the first byte picks the
/// form (0 a bare CDEvent, 1 a structured CloudEvent, 2 a batch, 3 binary
/// mode: `name: value` header lines, a blank line, then the body).
/// Returns whether the input was accepted.
pub fn cdevents(data: &[u8]) -> bool {
    let Some((&mode, rest)) = data.split_first() else { return false };
    let text = String::from_utf8_lossy(rest);
    let error = match mode % 4 {
        0 => cdevents::from_cdevent_str(&text).err(),
        1 => cdevents::from_structured_str(&text).err(),
        2 => cdevents::from_batch(&text).err(),
        _ => {
            let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
            let headers: Vec<(&str, &str)> =
                head.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect();
            cdevents::from_binary(&headers, body.as_bytes()).err()
        }
    };
    match error {
        Some(e) => {
            one_line(&e.to_string());
            false
        }
        None => true,
    }
}

/// A webhook delivery as `POST /webhooks/github` and `/webhooks/gitlab`
/// read it: the first byte picks the forge (even GitHub, odd GitLab), the
/// rest is the body. The signature check is run on it too (with a fixed
/// secret and a signature cut from the body's start), and must refuse it:
/// a forged body cannot carry its own valid HMAC. Returns whether the body
/// was read as a payload.
pub fn webhook(data: &[u8]) -> bool {
    use dora_serve::Forge;
    let Some((&which, body)) = data.split_first() else { return false };
    let forge = if which % 2 == 0 { Forge::Github } else { Forge::Gitlab };
    let claimed = String::from_utf8_lossy(&body[..body.len().min(71)]);
    assert!(
        !dora_serve::webhooks::github_signature_ok(b"fuzz-secret", body, &claimed),
        "a body accepted with a signature it carries itself"
    );
    match dora_serve::webhooks::repository_of(forge, body) {
        Ok(_) => true,
        Err(e) => {
            one_line(&e);
            false
        }
    }
}

/// An error message is one line: it goes into a JSON answer and a log line.
fn one_line(message: &str) {
    assert!(!message.contains('\n') && !message.contains('\r'), "an error over several lines: {message:?}");
}

/// FOCUS cost exports (CSV) as `dora costs import` reads them: every row,
/// or the first error, which is one line. Each accepted row ends no
/// earlier than it starts and has a finite amount. Returns whether the
/// whole input was accepted.
pub fn focus_csv(data: &[u8]) -> bool {
    use dora_core::cost::{CostColumn, focus::FocusReader};
    let reader = match FocusReader::new(data, None, CostColumn::EffectiveCost) {
        Ok(reader) => reader,
        Err(e) => {
            one_line(&e.to_string());
            return false;
        }
    };
    for row in reader {
        match row {
            Ok(row) => {
                assert!(row.end >= row.start, "a row ends before it starts: {row:?}");
                assert!(row.amount.is_finite(), "an amount is not finite: {row:?}");
            }
            Err(e) => {
                one_line(&e.to_string());
                return false;
            }
        }
    }
    true
}

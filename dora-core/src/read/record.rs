//! A compact binary encoding of one event: how the store keeps events.
//!
//! Decoding it is several times cheaper than parsing JSON, which is what
//! lets a read from the store keep up with a read from a JSON Lines file
//! (SQLite copies every value it returns). The encoding is canonical: equal
//! events encode to equal bytes, so the store compares versions by bytes.
//!
//! Layout (integers little-endian; `str` is a LEB128 length then UTF-8
//! bytes; `opt X` is a byte 0 or 1, then X when 1; `time` is i64
//! microseconds since the Unix epoch):
//!
//! - version byte, kind byte (0 deployment, 1 change, 2 incident). The
//!   version is 1, or 2 for a deployment with a `note`: records of events
//!   without one stay byte for byte what they were before notes existed.
//! - `id: str`, `service: str`, `team: opt str`, `source: opt str`
//! - deployment: `environment: str`, `finished_at: time`,
//!   `started_at: opt time`, `status: u8`, `commit: opt str`,
//!   `changes: LEB128 count, str...`, `type: u8`, `remediates: count, str...`,
//!   and in version 2 `note: str`
//! - change: `committed_at: time`, `authored_at: opt time`, `pull_request:
//!   opt (number: opt u64, opened_at: opt time, merged_at: opt time,
//!   first_commit_at: opt time)`
//! - incident: `opened_at: time`, `resolved_at: opt time`, `caused_by: opt
//!   str`, `caused_by_change: opt str`, `severity: opt str`

use std::borrow::Cow;

use crate::event::raw::{RawBody, RawDeployment, RawEvent, RawPullRequest};
use crate::event::time::{Micros, to_micros};
use crate::event::{DeploymentStatus, DeploymentType, Event};

const VERSION: u8 = 1;
/// A deployment record that ends with its note.
const VERSION_WITH_NOTE: u8 = 2;

fn uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    uleb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt<T>(out: &mut Vec<u8>, v: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put(out, v);
        }
    }
}

fn put_time(out: &mut Vec<u8>, t: Micros) {
    out.extend_from_slice(&t.to_le_bytes());
}

fn put_list(out: &mut Vec<u8>, items: &[String]) {
    uleb(out, items.len() as u64);
    for s in items {
        put_str(out, s);
    }
}

/// Appends the encoding of `event` to `out`.
pub(crate) fn encode(event: &Event, out: &mut Vec<u8>) {
    let note = match event {
        Event::Deployment(d) => d.note.as_deref(),
        _ => None,
    };
    out.push(if note.is_some() { VERSION_WITH_NOTE } else { VERSION });
    let (id, service, team, source) = match event {
        Event::Deployment(d) => (&d.id, &d.service, &d.team, &d.source),
        Event::Change(c) => (&c.id, &c.service, &c.team, &c.source),
        Event::Incident(i) => (&i.id, &i.service, &i.team, &i.source),
    };
    out.push(event.kind() as u8);
    put_str(out, id);
    put_str(out, service);
    put_opt(out, team.as_deref(), put_str);
    put_opt(out, source.as_deref(), put_str);
    match event {
        Event::Deployment(d) => {
            put_str(out, &d.environment);
            put_time(out, to_micros(&d.finished_at));
            put_opt(out, d.started_at.as_ref().map(to_micros), put_time);
            out.push(match d.status {
                DeploymentStatus::Success => 0,
                DeploymentStatus::Failure => 1,
            });
            put_opt(out, d.commit.as_deref(), put_str);
            put_list(out, &d.changes);
            out.push(match d.deployment_type {
                DeploymentType::Regular => 0,
                DeploymentType::Rollback => 1,
                DeploymentType::Hotfix => 2,
            });
            put_list(out, &d.remediates);
            if let Some(note) = note {
                put_str(out, note);
            }
        }
        Event::Change(c) => {
            put_time(out, to_micros(&c.committed_at));
            put_opt(out, c.authored_at.as_ref().map(to_micros), put_time);
            put_opt(out, c.pull_request.as_ref(), |out, pr| {
                put_opt(out, pr.number, |out, n| out.extend_from_slice(&n.to_le_bytes()));
                put_opt(out, pr.opened_at.as_ref().map(to_micros), put_time);
                put_opt(out, pr.merged_at.as_ref().map(to_micros), put_time);
                put_opt(out, pr.first_commit_at.as_ref().map(to_micros), put_time);
            });
        }
        Event::Incident(i) => {
            put_time(out, to_micros(&i.opened_at));
            put_opt(out, i.resolved_at.as_ref().map(to_micros), put_time);
            put_opt(out, i.caused_by.as_deref(), put_str);
            put_opt(out, i.caused_by_change.as_deref(), put_str);
            put_opt(out, i.severity.as_deref(), put_str);
        }
    }
}

/// A reader over one record; every method fails (with `None`) on a
/// truncated or malformed record rather than panicking. `text` turns a
/// string's bytes into the caller's string type.
struct Reader<'a, F> {
    b: &'a [u8],
    i: usize,
    text: F,
}

impl<'a, S, F: FnMut(&'a [u8]) -> Option<S>> Reader<'a, F> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }

    fn uleb(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.i.checked_add(n)?;
        let s = self.b.get(self.i..end)?;
        self.i = end;
        Some(s)
    }

    fn str(&mut self) -> Option<S> {
        let n = usize::try_from(self.uleb()?).ok()?;
        let bytes = self.take(n)?;
        (self.text)(bytes)
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.byte()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }

    fn time(&mut self) -> Option<Micros> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn list<C: FromIterator<S>>(&mut self) -> Option<C> {
        let n = usize::try_from(self.uleb()?).ok()?;
        // Each string takes at least one byte: a count past that is corrupt.
        if n > self.b.len() - self.i {
            return None;
        }
        (0..n).map(|_| self.str()).collect()
    }
}

/// The kind byte and the id bytes of a record, read without decoding the
/// rest (the store's identity check); `None` for a record too short to
/// hold them.
pub(crate) fn identity(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let mut r = Reader { b: bytes, i: 0, text: Some };
    r.byte()?;
    let kind = r.byte()?;
    let n = usize::try_from(r.uleb()?).ok()?;
    Some((kind, r.take(n)?))
}

/// Decodes one record, borrowing its strings (checked as UTF-8).
pub(crate) fn decode(bytes: &[u8]) -> Result<RawEvent<Cow<'_, str>>, String> {
    decode_with(bytes, |b| std::str::from_utf8(b).ok().map(Cow::Borrowed))
}

/// Decodes one record, making each string with `text` (which may decline
/// it, making the record an error).
pub(crate) fn decode_with<'a, S>(
    bytes: &'a [u8],
    text: impl FnMut(&'a [u8]) -> Option<S>,
) -> Result<RawEvent<S>, String> {
    let mut r = Reader { b: bytes, i: 0, text };
    let event = (|| {
        let with_note = match r.byte()? {
            VERSION => false,
            VERSION_WITH_NOTE => true,
            _ => return None,
        };
        let kind = r.byte()?;
        if with_note && kind != 0 {
            return None;
        }
        let id = r.str()?;
        let service = r.str()?;
        let team = r.opt(|r| r.str())?;
        let source = r.opt(|r| r.str())?;
        let body = match kind {
            0 => RawBody::Deployment(RawDeployment {
                environment: r.str()?,
                finished_at: r.time()?,
                started_at: r.opt(|r| r.time())?,
                status: match r.byte()? {
                    0 => DeploymentStatus::Success,
                    1 => DeploymentStatus::Failure,
                    _ => return None,
                },
                commit: r.opt(|r| r.str())?,
                changes: r.list()?,
                deployment_type: match r.byte()? {
                    0 => DeploymentType::Regular,
                    1 => DeploymentType::Rollback,
                    2 => DeploymentType::Hotfix,
                    _ => return None,
                },
                remediates: r.list()?,
                note: if with_note { Some(r.str()?) } else { None },
            }),
            1 => RawBody::Change {
                committed_at: r.time()?,
                authored_at: r.opt(|r| r.time())?,
                pull_request: r.opt(|r| {
                    Some(RawPullRequest {
                        number: r.opt(|r| r.u64())?,
                        opened_at: r.opt(|r| r.time())?,
                        merged_at: r.opt(|r| r.time())?,
                        first_commit_at: r.opt(|r| r.time())?,
                    })
                })?,
            },
            2 => RawBody::Incident {
                opened_at: r.time()?,
                resolved_at: r.opt(|r| r.time())?,
                caused_by: r.opt(|r| r.str())?,
                caused_by_change: r.opt(|r| r.str())?,
                severity: r.opt(|r| r.str())?,
            },
            _ => return None,
        };
        Some(RawEvent { id, service, team, source, body })
    })();
    match event {
        Some(e) if r.i == bytes.len() => Ok(e),
        _ => Err(format!("a stored event is damaged (record of {} bytes cannot be decoded)", bytes.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventSet, raw_to_owned};
    use crate::read::{ReadOptions, read_jsonl_path};

    #[test]
    fn every_demo_event_round_trips_and_damage_is_an_error() {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
        let mut set = EventSet::new();
        read_jsonl_path(&demo, &mut set, &ReadOptions::default()).unwrap();
        let mut buf = Vec::new();
        for event in set.iter() {
            buf.clear();
            encode(&event, &mut buf);
            assert_eq!(raw_to_owned(decode(&buf).unwrap()), event);
            for cut in [0, 1, buf.len() / 2, buf.len() - 1] {
                assert!(decode(&buf[..cut]).is_err());
            }
            let mut longer = buf.clone();
            longer.push(0);
            assert!(decode(&longer).is_err());
        }
    }

    #[test]
    fn a_note_is_kept_and_only_a_deployment_with_one_changes_its_record() {
        let line = r#"{"kind":"deployment","id":"d1","service":"api","environment":"prod","finished_at":"2026-03-02T10:00:00Z","status":"success"}"#;
        let mut set = EventSet::new();
        crate::read::read_jsonl(line.as_bytes(), None, &mut set, &ReadOptions::default()).unwrap();
        let Event::Deployment(mut d) = set.iter().next().unwrap() else { unreachable!() };
        let mut plain = Vec::new();
        encode(&Event::Deployment(d.clone()), &mut plain);
        assert_eq!(plain[0], VERSION);
        d.note = Some("kubectl set image deployment/api api=api:v2".into());
        let mut noted = Vec::new();
        encode(&Event::Deployment(d.clone()), &mut noted);
        assert_eq!(noted[0], VERSION_WITH_NOTE);
        assert_eq!(&noted[1..plain.len()], &plain[1..], "the note only appends");
        assert_eq!(raw_to_owned(decode(&noted).unwrap()), Event::Deployment(d));
        assert!(decode(&noted[..noted.len() - 1]).is_err());
        // Version 2 belongs to deployments only.
        let mut change = Vec::new();
        let c = crate::event::Change {
            id: "c1".into(),
            service: "api".into(),
            team: None,
            source: None,
            committed_at: chrono::Utc::now(),
            authored_at: None,
            pull_request: None,
        };
        encode(&Event::Change(c), &mut change);
        change[0] = VERSION_WITH_NOTE;
        assert!(decode(&change).is_err());
    }
}

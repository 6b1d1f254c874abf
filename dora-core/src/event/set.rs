//! [`EventSet`]: the events of one computation, with the spec's identity and
//! replacement rule applied, stored compactly (interned strings, integer times).

use super::raw::{RawBody, RawDeployment, RawEvent, RawPullRequest};
use crate::event::intern::{Interner, TextArena};
use crate::event::time::{Micros, from_micros, to_micros};
use crate::event::{
    Change, Deployment, DeploymentStatus, DeploymentType, Event, EventKind, Incident, PullRequest,
};

/// A range of a reference list (`start..start + len`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RefRange {
    pub start: u32,
    pub len: u32,
}

impl RefRange {
    pub fn of<'a>(&self, refs: &'a [u32]) -> &'a [u32] {
        &refs[self.start as usize..(self.start + self.len) as usize]
    }
}

/// Where a deployment's commit is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitRef {
    /// The id of the change at this slot (the usual case: the commit is
    /// one of the changes the deployment lists, so it is not stored twice).
    Change(u32),
    /// Into `texts`.
    Text(u32),
}

/// A stored deployment. Strings are indexes into the set's interners.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeploymentRec {
    pub seq: u64,
    pub service: u32,
    pub team: Option<u32>,
    pub source: Option<u32>,
    pub environment: u32,
    pub finished_at: Micros,
    pub started_at: Option<Micros>,
    pub status: DeploymentStatus,
    pub deployment_type: DeploymentType,
    pub commit: Option<CommitRef>,
    /// Into `texts`.
    pub note: Option<u32>,
    /// Into `change_refs`: change slots.
    pub changes: RefRange,
    /// Into `deployment_refs`: deployment slots.
    pub remediates: RefRange,
}

/// Marks an absent time in compact records.
const NO_TIME: Micros = Micros::MIN;
/// Marks an absent pull request number.
const NO_NUMBER: u64 = u64::MAX;

fn pack_time(t: Option<Micros>) -> Micros {
    t.unwrap_or(NO_TIME)
}

fn unpack_time(t: Micros) -> Option<Micros> {
    (t != NO_TIME).then_some(t)
}

/// A stored change. Optional times are packed with a sentinel: there are
/// more changes than anything else, and every byte of them is memory the
/// engine has to touch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChangeRec {
    pub seq: u64,
    pub service: u32,
    pub team: Option<u32>,
    pub source: Option<u32>,
    pub committed_at: Micros,
    authored_at: Micros,
    has_pull_request: bool,
    pr_number: u64,
    pr_opened_at: Micros,
    pr_merged_at: Micros,
    pr_first_commit_at: Micros,
}

impl ChangeRec {
    fn new(
        seq: u64,
        (service, team, source): (u32, Option<u32>, Option<u32>),
        committed_at: Micros,
        authored_at: Option<Micros>,
        pull_request: Option<RawPullRequest>,
    ) -> Self {
        let pr = pull_request.unwrap_or_default();
        Self {
            seq,
            service,
            team,
            source,
            committed_at,
            authored_at: pack_time(authored_at),
            has_pull_request: pull_request.is_some(),
            pr_number: pr.number.unwrap_or(NO_NUMBER),
            pr_opened_at: pack_time(pr.opened_at),
            pr_merged_at: pack_time(pr.merged_at),
            pr_first_commit_at: pack_time(pr.first_commit_at),
        }
    }

    /// Reads every field: a cache hint for a pass that will (the value is
    /// meaningless).
    #[inline]
    pub fn touch(&self) -> i64 {
        self.committed_at ^ self.authored_at ^ self.pr_opened_at ^ self.pr_merged_at ^ self.pr_first_commit_at
    }

    /// When it was authored, if known.
    pub fn authored_at(&self) -> Option<Micros> {
        unpack_time(self.authored_at)
    }

    /// Its pull request, if it has one.
    pub fn pull_request(&self) -> Option<RawPullRequest> {
        self.has_pull_request.then(|| RawPullRequest {
            number: (self.pr_number != NO_NUMBER).then_some(self.pr_number),
            opened_at: unpack_time(self.pr_opened_at),
            merged_at: unpack_time(self.pr_merged_at),
            first_commit_at: unpack_time(self.pr_first_commit_at),
        })
    }
}

/// A stored incident.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IncidentRec {
    pub seq: u64,
    pub service: u32,
    pub team: Option<u32>,
    pub source: Option<u32>,
    pub opened_at: Micros,
    pub resolved_at: Option<Micros>,
    /// A deployment slot.
    pub caused_by: Option<u32>,
    /// A change slot.
    pub caused_by_change: Option<u32>,
    pub severity: Option<u32>,
}

/// The changes of a deployment whose ids [`EventSet::plan_touches`] plans.
const PLANNED_CHANGES: usize = 4;
/// Events whose ids are touched together before they are inserted by
/// [`EventSet::insert_batch`] (16 read 2 % faster than 8; docs/BENCHMARKS.md).
const TOUCH_AHEAD: usize = 16;

/// Which id table a planned touch loads from ([`EventSet::plan_touches`]).
#[derive(Debug, Clone, Copy)]
enum IdTable {
    Deployments,
    Changes,
    Incidents,
}

/// The events of one computation.
///
/// `(kind, id)` identifies an event: inserting an event whose kind and id are
/// already present replaces the earlier one, and the replacement takes the
/// later position in input order (which decides ties between equal times).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use dora_core::{Change, EventSet};
///
/// let mut set = EventSet::new();
/// let t = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
/// let change = Change { id: "abc".into(), service: "api".into(), team: None, source: None,
///                       committed_at: t, authored_at: None, pull_request: None };
/// set.push(change.clone());
/// set.push(change);
/// assert_eq!(set.len(), 1);
/// assert_eq!(set.replaced(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventSet {
    pub(crate) names: Interner,
    pub(crate) deployment_ids: Interner,
    pub(crate) change_ids: Interner,
    pub(crate) incident_ids: Interner,
    /// Deployments' notes, and their commits when not among their changes.
    pub(crate) texts: TextArena,
    /// By deployment slot; `None` for ids only referenced, never defined.
    pub(crate) deployments: Vec<Option<DeploymentRec>>,
    pub(crate) changes: Vec<Option<ChangeRec>>,
    pub(crate) incidents: Vec<Option<IncidentRec>>,
    pub(crate) change_refs: Vec<u32>,
    pub(crate) deployment_refs: Vec<u32>,
    next_seq: u64,
    replaced: u64,
    counts: [usize; 3],
}

fn put<T>(v: &mut Vec<Option<T>>, slot: u32, rec: T) -> bool {
    let i = slot as usize;
    if i >= v.len() {
        v.resize_with(i + 1, || None);
    }
    v[i].replace(rec).is_some()
}

impl EventSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for about `events` more events (a hint: the set grows as needed).
    pub fn reserve(&mut self, events: usize) {
        // Typical shares: two thirds changes, one third deployments.
        let (changes, deployments) = (events * 2 / 3, events / 3);
        self.change_ids.reserve(changes, changes * 40);
        self.deployment_ids.reserve(deployments, deployments * 40);
        self.changes.reserve(changes);
        self.deployments.reserve(deployments);
        self.change_refs.reserve(changes);
    }

    /// The number of distinct events (after replacement).
    pub fn len(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Whether the set holds no event.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of distinct events of one kind.
    pub fn count(&self, kind: EventKind) -> usize {
        self.counts[kind as usize]
    }

    /// How many inserted events replaced an earlier one with the same kind and id.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Adds an event, replacing any earlier event with the same kind and id.
    pub fn push(&mut self, event: impl Into<Event>) {
        let event = event.into();
        let raw = owned_to_raw(&event);
        self.insert_raw(&raw, |s| *s, &[]);
    }

    /// Interns a batch of validated events in order, as [`EventSet::push`]
    /// would one by one; `event` picks each item's event and `resolve` its
    /// strings. The fast way in for readers: the ids of a few events are
    /// hashed and their table slots touched first (the slots miss the cache
    /// independently, so the processor overlaps the misses), then the events
    /// are inserted with the slots in cache and each id hashed once.
    pub(crate) fn insert_batch<'a, T, S: 'a>(
        &mut self,
        items: &'a [T],
        event: impl Fn(&'a T) -> &'a RawEvent<S>,
        resolve: impl Fn(&'a S) -> &'a str + Copy,
    ) {
        let mut plan = Vec::with_capacity(TOUCH_AHEAD * 2);
        for batch in items.chunks(TOUCH_AHEAD) {
            plan.clear();
            for item in batch {
                self.plan_touches(event(item), resolve, &mut plan);
            }
            std::hint::black_box(self.touch(&plan));
            let mut planned = &plan[..];
            for item in batch {
                let ev = event(item);
                let (these, rest) = planned.split_at(Self::planned(ev).min(planned.len()));
                self.insert_raw(ev, resolve, these);
                planned = rest;
            }
        }
    }

    /// Adds the hashes of the ids `ev` defines or lists to `plan` (its
    /// id, then its first changes: [`EventSet::planned`] of them), for
    /// [`EventSet::touch`] (see [`Interner::touch`]) and then
    /// [`EventSet::insert_raw`], so each id is hashed once.
    fn plan_touches<'a, S>(
        &self,
        ev: &'a RawEvent<S>,
        resolve: impl Fn(&'a S) -> &'a str,
        plan: &mut Vec<(IdTable, u64)>,
    ) {
        let id = Interner::hash_of(resolve(&ev.id));
        match &ev.body {
            RawBody::Deployment(d) => {
                plan.push((IdTable::Deployments, id));
                plan.extend(
                    d.changes
                        .iter()
                        .take(PLANNED_CHANGES)
                        .map(|c| (IdTable::Changes, Interner::hash_of(resolve(c)))),
                );
            }
            RawBody::Change { .. } => plan.push((IdTable::Changes, id)),
            RawBody::Incident { .. } => plan.push((IdTable::Incidents, id)),
        }
    }

    /// How many entries [`EventSet::plan_touches`] adds for `ev`.
    fn planned<S>(ev: &RawEvent<S>) -> usize {
        match &ev.body {
            RawBody::Deployment(d) => 1 + d.changes.len().min(PLANNED_CHANGES),
            _ => 1,
        }
    }

    /// Loads the planned table slots (a hint: the value is meaningless).
    fn touch(&self, plan: &[(IdTable, u64)]) -> u64 {
        plan.iter().fold(0, |t, &(table, h)| {
            t ^ match table {
                IdTable::Deployments => self.deployment_ids.touch(h),
                IdTable::Changes => self.change_ids.touch(h),
                IdTable::Incidents => self.incident_ids.touch(h),
            }
        })
    }

    /// Interns one validated event. `planned` holds the hashes that
    /// [`EventSet::plan_touches`] planned for it, or is empty.
    fn insert_raw<'a, S>(
        &mut self,
        ev: &'a RawEvent<S>,
        resolve: impl Fn(&'a S) -> &'a str,
        planned: &[(IdTable, u64)],
    ) {
        // The planned hash of the id at `i` (0: the event's own), else its hash.
        let hash = |i: usize, s: &str| planned.get(i).map_or_else(|| Interner::hash_of(s), |p| p.1);
        let seq = self.next_seq;
        self.next_seq += 1;
        let kind = ev.kind();
        let service = self.names.intern(resolve(&ev.service));
        let team = ev.team.as_ref().map(|t| self.names.intern(resolve(t)));
        let source = ev.source.as_ref().map(|s| self.names.intern(resolve(s)));
        let replaced = match &ev.body {
            RawBody::Deployment(d) => {
                let id = resolve(&ev.id);
                let slot = self.deployment_ids.intern_hashed(id, hash(0, id));
                let changes_range =
                    RefRange { start: self.change_refs.len() as u32, len: d.changes.len() as u32 };
                let commit_text = d.commit.as_ref().map(&resolve);
                let mut commit_ref = None;
                for (i, c) in d.changes.iter().enumerate() {
                    let text = resolve(c);
                    let c = self.change_ids.intern_hashed(text, hash(i + 1, text));
                    self.change_refs.push(c);
                    if commit_text == Some(text) {
                        commit_ref = Some(CommitRef::Change(c));
                    }
                }
                let commit = match (commit_text, commit_ref) {
                    (_, Some(r)) => Some(r),
                    (Some(text), None) => Some(CommitRef::Text(self.texts.push(text))),
                    (None, None) => None,
                };
                let remediates_range =
                    RefRange { start: self.deployment_refs.len() as u32, len: d.remediates.len() as u32 };
                for r in &d.remediates {
                    let r = self.deployment_ids.intern(resolve(r));
                    self.deployment_refs.push(r);
                }
                let rec = DeploymentRec {
                    seq,
                    service,
                    team,
                    source,
                    environment: self.names.intern(resolve(&d.environment)),
                    finished_at: d.finished_at,
                    started_at: d.started_at,
                    status: d.status,
                    deployment_type: d.deployment_type,
                    commit,
                    note: d.note.as_ref().map(|n| self.texts.push(resolve(n))),
                    changes: changes_range,
                    remediates: remediates_range,
                };
                put(&mut self.deployments, slot, rec)
            }
            RawBody::Change { committed_at, authored_at, pull_request } => {
                let id = resolve(&ev.id);
                let slot = self.change_ids.intern_hashed(id, hash(0, id));
                let rec =
                    ChangeRec::new(seq, (service, team, source), *committed_at, *authored_at, *pull_request);
                put(&mut self.changes, slot, rec)
            }
            RawBody::Incident { opened_at, resolved_at, caused_by, caused_by_change, severity } => {
                let id = resolve(&ev.id);
                let slot = self.incident_ids.intern_hashed(id, hash(0, id));
                let rec = IncidentRec {
                    seq,
                    service,
                    team,
                    source,
                    opened_at: *opened_at,
                    resolved_at: *resolved_at,
                    caused_by: caused_by.as_ref().map(|d| self.deployment_ids.intern(resolve(d))),
                    caused_by_change: caused_by_change.as_ref().map(|c| self.change_ids.intern(resolve(c))),
                    severity: severity.as_ref().map(|s| self.names.intern(resolve(s))),
                };
                put(&mut self.incidents, slot, rec)
            }
        };
        if replaced {
            self.replaced += 1;
        } else {
            self.counts[kind as usize] += 1;
        }
    }

    pub(crate) fn name(&self, i: u32) -> &str {
        self.names.resolve(i)
    }

    pub(crate) fn opt_name(&self, i: Option<u32>) -> Option<String> {
        i.map(|i| self.names.resolve(i).to_owned())
    }

    /// The deployment with this id, if present.
    pub fn deployment(&self, id: &str) -> Option<Deployment> {
        let slot = self.deployment_ids.get(id)?;
        self.deployment_at(slot)
    }

    /// The change with this id (commit SHA), if present.
    pub fn change(&self, id: &str) -> Option<Change> {
        let slot = self.change_ids.get(id)?;
        self.change_at(slot)
    }

    /// The incident with this id, if present.
    pub fn incident(&self, id: &str) -> Option<Incident> {
        let slot = self.incident_ids.get(id)?;
        self.incident_at(slot)
    }

    /// The text of a deployment's commit.
    pub(crate) fn commit_text(&self, commit: CommitRef) -> &str {
        match commit {
            CommitRef::Change(slot) => self.change_ids.resolve(slot),
            CommitRef::Text(i) => self.texts.get(i),
        }
    }

    pub(crate) fn deployment_at(&self, slot: u32) -> Option<Deployment> {
        let d = self.deployments.get(slot as usize)?.as_ref()?;
        Some(Deployment {
            id: self.deployment_ids.resolve(slot).to_owned(),
            service: self.name(d.service).to_owned(),
            team: self.opt_name(d.team),
            source: self.opt_name(d.source),
            environment: self.name(d.environment).to_owned(),
            finished_at: from_micros(d.finished_at),
            started_at: d.started_at.map(from_micros),
            status: d.status,
            commit: d.commit.map(|c| self.commit_text(c).to_owned()),
            changes: d
                .changes
                .of(&self.change_refs)
                .iter()
                .map(|&c| self.change_ids.resolve(c).to_owned())
                .collect(),
            deployment_type: d.deployment_type,
            remediates: d
                .remediates
                .of(&self.deployment_refs)
                .iter()
                .map(|&r| self.deployment_ids.resolve(r).to_owned())
                .collect(),
            note: d.note.map(|n| self.texts.get(n).to_owned()),
        })
    }

    pub(crate) fn change_at(&self, slot: u32) -> Option<Change> {
        let c = self.changes.get(slot as usize)?.as_ref()?;
        Some(Change {
            id: self.change_ids.resolve(slot).to_owned(),
            service: self.name(c.service).to_owned(),
            team: self.opt_name(c.team),
            source: self.opt_name(c.source),
            committed_at: from_micros(c.committed_at),
            authored_at: c.authored_at().map(from_micros),
            pull_request: c.pull_request().map(|p| PullRequest {
                number: p.number,
                opened_at: p.opened_at.map(from_micros),
                merged_at: p.merged_at.map(from_micros),
                first_commit_at: p.first_commit_at.map(from_micros),
            }),
        })
    }

    pub(crate) fn incident_at(&self, slot: u32) -> Option<Incident> {
        let i = self.incidents.get(slot as usize)?.as_ref()?;
        Some(Incident {
            id: self.incident_ids.resolve(slot).to_owned(),
            service: self.name(i.service).to_owned(),
            team: self.opt_name(i.team),
            source: self.opt_name(i.source),
            opened_at: from_micros(i.opened_at),
            resolved_at: i.resolved_at.map(from_micros),
            caused_by: i.caused_by.map(|d| self.deployment_ids.resolve(d).to_owned()),
            caused_by_change: i.caused_by_change.map(|c| self.change_ids.resolve(c).to_owned()),
            severity: self.opt_name(i.severity),
        })
    }

    /// Sets the team of every event of a service named in `teams` (service
    /// -> team), overriding the events' own `team`: the `[teams]` table of
    /// `dora.toml`.
    pub fn assign_teams<'a>(&mut self, teams: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let mut by_service: rustc_hash::FxHashMap<u32, u32> = Default::default();
        for (service, team) in teams {
            if let Some(s) = self.names.get(service) {
                let t = self.names.intern(team);
                by_service.insert(s, t);
            }
        }
        if by_service.is_empty() {
            return;
        }
        let team_of = |service: u32, team: &mut Option<u32>| {
            if let Some(&t) = by_service.get(&service) {
                *team = Some(t);
            }
        };
        self.deployments.iter_mut().flatten().for_each(|d| team_of(d.service, &mut d.team));
        self.changes.iter_mut().flatten().for_each(|c| team_of(c.service, &mut c.team));
        self.incidents.iter_mut().flatten().for_each(|i| team_of(i.service, &mut i.team));
    }

    /// The (service, team) of every event that names a team.
    pub(crate) fn service_team_pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let d = self.deployments.iter().flatten().map(|d| (d.service, d.team));
        let c = self.changes.iter().flatten().map(|c| (c.service, c.team));
        let i = self.incidents.iter().flatten().map(|i| (i.service, i.team));
        d.chain(c).chain(i).filter_map(|(s, t)| Some((self.names.resolve(s), self.names.resolve(t?))))
    }

    /// Every event, in input order (a replacing event at the replacing position).
    pub fn events(&self) -> Vec<Event> {
        self.iter().collect()
    }

    /// Every event, in input order (a replacing event at the replacing
    /// position), built one at a time: only a small index of the order is
    /// held, not the events.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        let mut order: Vec<(u64, EventKind, u32)> = Vec::with_capacity(self.len());
        let slots = |kind, seqs: &mut dyn Iterator<Item = Option<u64>>, order: &mut Vec<_>| {
            for (slot, seq) in seqs.enumerate() {
                if let Some(seq) = seq {
                    order.push((seq, kind, slot as u32));
                }
            }
        };
        slots(
            EventKind::Deployment,
            &mut self.deployments.iter().map(|d| d.as_ref().map(|d| d.seq)),
            &mut order,
        );
        slots(EventKind::Change, &mut self.changes.iter().map(|c| c.as_ref().map(|c| c.seq)), &mut order);
        slots(EventKind::Incident, &mut self.incidents.iter().map(|i| i.as_ref().map(|i| i.seq)), &mut order);
        order.sort_unstable_by_key(|&(seq, _, _)| seq);
        order.into_iter().filter_map(move |(_, kind, slot)| match kind {
            EventKind::Deployment => self.deployment_at(slot).map(Event::Deployment),
            EventKind::Change => self.change_at(slot).map(Event::Change),
            EventKind::Incident => self.incident_at(slot).map(Event::Incident),
        })
    }
}

impl<E: Into<Event>> Extend<E> for EventSet {
    fn extend<T: IntoIterator<Item = E>>(&mut self, iter: T) {
        for e in iter {
            self.push(e);
        }
    }
}

impl<E: Into<Event>> FromIterator<E> for EventSet {
    fn from_iter<T: IntoIterator<Item = E>>(iter: T) -> Self {
        let mut set = EventSet::new();
        set.extend(iter);
        set
    }
}

/// Borrows an owned event as a raw one.
fn owned_to_raw(e: &Event) -> RawEvent<&str> {
    let (id, service, team, source) = match e {
        Event::Deployment(d) => (&d.id, &d.service, &d.team, &d.source),
        Event::Change(c) => (&c.id, &c.service, &c.team, &c.source),
        Event::Incident(i) => (&i.id, &i.service, &i.team, &i.source),
    };
    let body = match e {
        Event::Deployment(d) => RawBody::Deployment(RawDeployment {
            environment: d.environment.as_str(),
            finished_at: to_micros(&d.finished_at),
            started_at: d.started_at.as_ref().map(to_micros),
            status: d.status,
            commit: d.commit.as_deref(),
            changes: d.changes.iter().map(String::as_str).collect(),
            deployment_type: d.deployment_type,
            remediates: d.remediates.iter().map(String::as_str).collect(),
            note: d.note.as_deref(),
        }),
        Event::Change(c) => RawBody::Change {
            committed_at: to_micros(&c.committed_at),
            authored_at: c.authored_at.as_ref().map(to_micros),
            pull_request: c.pull_request.as_ref().map(|p| RawPullRequest {
                number: p.number,
                opened_at: p.opened_at.as_ref().map(to_micros),
                merged_at: p.merged_at.as_ref().map(to_micros),
                first_commit_at: p.first_commit_at.as_ref().map(to_micros),
            }),
        },
        Event::Incident(i) => RawBody::Incident {
            opened_at: to_micros(&i.opened_at),
            resolved_at: i.resolved_at.as_ref().map(to_micros),
            caused_by: i.caused_by.as_deref(),
            caused_by_change: i.caused_by_change.as_deref(),
            severity: i.severity.as_deref(),
        },
    };
    RawEvent { id, service, team: team.as_deref(), source: source.as_deref(), body }
}

/// Turns a validated raw event into an owned public event.
pub(crate) fn raw_to_owned(ev: RawEvent<std::borrow::Cow<'_, str>>) -> Event {
    let ev = ev.map_strs(|s| s.into_owned());
    match ev.body {
        RawBody::Deployment(d) => Event::Deployment(Deployment {
            id: ev.id,
            service: ev.service,
            team: ev.team,
            source: ev.source,
            environment: d.environment,
            finished_at: from_micros(d.finished_at),
            started_at: d.started_at.map(from_micros),
            status: d.status,
            commit: d.commit,
            changes: d.changes.into_vec(),
            deployment_type: d.deployment_type,
            remediates: d.remediates,
            note: d.note,
        }),
        RawBody::Change { committed_at, authored_at, pull_request } => Event::Change(Change {
            id: ev.id,
            service: ev.service,
            team: ev.team,
            source: ev.source,
            committed_at: from_micros(committed_at),
            authored_at: authored_at.map(from_micros),
            pull_request: pull_request.map(|p| PullRequest {
                number: p.number,
                opened_at: p.opened_at.map(from_micros),
                merged_at: p.merged_at.map(from_micros),
                first_commit_at: p.first_commit_at.map(from_micros),
            }),
        }),
        RawBody::Incident { opened_at, resolved_at, caused_by, caused_by_change, severity } => {
            Event::Incident(Incident {
                id: ev.id,
                service: ev.service,
                team: ev.team,
                source: ev.source,
                opened_at: from_micros(opened_at),
                resolved_at: resolved_at.map(from_micros),
                caused_by,
                caused_by_change,
                severity,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Change, Incident};

    #[test]
    fn assign_teams_overrides_by_service() {
        let at = "2026-03-02T09:00:00Z".parse().unwrap();
        let change = |id: &str, service: &str, team: Option<&str>| Change {
            id: id.into(),
            service: service.into(),
            team: team.map(Into::into),
            source: None,
            committed_at: at,
            authored_at: None,
            pull_request: None,
        };
        let mut set: EventSet =
            [change("c1", "api", Some("old")), change("c2", "web", None), change("c3", "db", Some("data"))]
                .into_iter()
                .collect();
        set.push(Incident {
            id: "i1".into(),
            service: "web".into(),
            team: None,
            source: None,
            opened_at: at,
            resolved_at: None,
            caused_by: None,
            caused_by_change: None,
            severity: None,
        });
        set.assign_teams([("api", "payments"), ("web", "frontend"), ("unknown", "x")]);
        assert_eq!(set.change("c1").unwrap().team.as_deref(), Some("payments"));
        assert_eq!(set.change("c2").unwrap().team.as_deref(), Some("frontend"));
        assert_eq!(set.change("c3").unwrap().team.as_deref(), Some("data"));
        assert_eq!(set.incident("i1").unwrap().team.as_deref(), Some("frontend"));
    }
}

//! Change sets for sources that know which commit a deployment deployed but
//! not which commits it shipped (Kubernetes rollouts, for one): the commits
//! between the previous successful deployment's commit and this one, read
//! from a repository's history. One piece of code for every such source;
//! the history comes from a [`CommitHistory`]: a local clone
//! (`GitHistory`, with the `git` feature), or a forge's API
//! (`source::github::GithubHistory`, `source::gitlab::GitlabHistory`).

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use dora_core::error::Result;
use dora_core::event::{Change, Deployment, DeploymentStatus, DeploymentType};

/// A commit of a repository's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryCommit {
    /// Its full SHA.
    pub sha: String,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
    /// When it was authored.
    pub authored_at: Option<DateTime<Utc>>,
}

/// What a history knows of a range of commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryRange {
    /// The commits, newest first.
    Commits(Vec<HistoryCommit>),
    /// A revision of the range is not in this history, for good (not
    /// fetched, pushed away, not a commit name): why, for the note.
    Unknown(String),
}

/// What [`CommitHistory::between`] returns: a future, since a history read
/// through an API waits on the network (a local clone's is ready at once).
/// An `Err` is a failure worth trying again later (the network, a server
/// error, a spent request budget).
pub type HistoryFuture<'a> = Pin<Box<dyn Future<Output = Result<HistoryRange>> + Send + 'a>>;

/// Where the commits between two deployed revisions come from.
pub trait CommitHistory: std::fmt::Debug + Send + Sync {
    /// The commits reachable from `to` and not from `from` (all of `to`'s
    /// history when `from` is `None`, newest first, at most `limit`).
    /// `from` and `to` may be abbreviated SHAs or any revision the
    /// repository understands.
    fn between<'a>(&'a self, from: Option<&'a str>, to: &'a str, limit: usize) -> HistoryFuture<'a>;

    /// Requests made to a remote API so far (0 for a local clone).
    fn requests(&self) -> u64 {
        0
    }
}

/// One query of a [`CommitHistory`]: `from`, `to`, `limit`.
type HistoryQuery = (Option<String>, String, usize);

/// The answers of a history read over the network, kept: asking twice
/// costs one request. Failures are not kept (they are worth asking again),
/// and past [`HistoryCache::MAX_KEPT`] answers the oldest are forgotten, so
/// a long-running `dora watch` stays small.
#[derive(Debug, Default)]
pub struct HistoryCache {
    known: std::sync::Mutex<(
        std::collections::BTreeMap<HistoryQuery, HistoryRange>,
        std::collections::VecDeque<HistoryQuery>,
    )>,
}

impl HistoryCache {
    /// How many answers are kept at most.
    pub const MAX_KEPT: usize = 1024;

    /// The kept answer to this query, else `fetch`'s (kept when it succeeds).
    pub async fn get_or_fetch<F>(
        &self,
        from: Option<&str>,
        to: &str,
        limit: usize,
        fetch: impl FnOnce() -> F,
    ) -> Result<HistoryRange>
    where
        F: Future<Output = Result<HistoryRange>>,
    {
        let query = (from.map(str::to_string), to.to_string(), limit);
        if let Some(known) = self.known.lock().ok().and_then(|k| k.0.get(&query).cloned()) {
            return Ok(known);
        }
        let answer = fetch().await?;
        if let Ok(mut known) = self.known.lock() {
            let (answers, order) = &mut *known;
            if answers.insert(query.clone(), answer.clone()).is_none() {
                order.push_back(query);
            }
            while order.len() > Self::MAX_KEPT {
                if let Some(oldest) = order.pop_front() {
                    answers.remove(&oldest);
                }
            }
        }
        Ok(answer)
    }
}

/// Fills the change sets of one service's deployments to one environment,
/// in the order they finished: each successful regular or hotfix
/// deployment with a commit ships the commits since the previous
/// successful deployment's commit (at most `first_limit` of them for the
/// first one seen). A rollback ships nothing. Deployments for which `fill`
/// is false keep their change set (they were recorded before), but still
/// count as the previous deployment. Returns the change events, and a note
/// for each deployment whose range the history does not know (that one
/// keeps its change set).
///
/// An error of the history (worth trying again) is returned as it is, and
/// then no deployment was changed.
pub async fn fill_change_sets(
    deployments: &mut [(&mut Deployment, bool)],
    history: &dyn CommitHistory,
    first_limit: usize,
) -> Result<(Vec<Change>, Vec<String>)> {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    let mut assigned: Vec<(usize, Vec<String>)> = Vec::new();
    let mut previous: Option<String> = None;
    for (i, (d, fill)) in deployments.iter().enumerate() {
        if d.status != DeploymentStatus::Success {
            continue;
        }
        let Some(commit) = d.commit.clone() else { continue };
        if *fill && d.deployment_type == DeploymentType::Rollback {
            assigned.push((i, Vec::new()));
        } else if *fill {
            let limit = if previous.is_some() { usize::MAX } else { first_limit };
            let range = history.between(previous.as_deref(), &commit, limit).await.map_err(|e| {
                dora_core::Error::Source { message: format!("{}: its change set: {e}", d.id) }
            })?;
            match range {
                HistoryRange::Commits(mut commits) => {
                    commits.reverse();
                    assigned.push((i, commits.iter().map(|c| c.sha.clone()).collect()));
                    changes.extend(commits.into_iter().map(|c| Change {
                        id: c.sha,
                        service: d.service.clone(),
                        team: d.team.clone(),
                        source: d.source.clone(),
                        committed_at: c.committed_at,
                        authored_at: c.authored_at,
                        pull_request: None,
                    }));
                }
                HistoryRange::Unknown(why) => notes.push(format!("{}: no change set ({why})", d.id)),
            }
        }
        previous = Some(commit);
    }
    for (i, shipped) in assigned {
        deployments[i].0.changes = shipped;
    }
    Ok((changes, notes))
}

/// The history of a local clone, read with gix. The repository is opened
/// for each query (a few milliseconds), so a fetch between queries is seen
/// and the history can be shared between threads.
#[cfg(feature = "git")]
pub struct GitHistory {
    path: std::path::PathBuf,
}

#[cfg(feature = "git")]
impl std::fmt::Debug for GitHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHistory").field("path", &self.path).finish()
    }
}

#[cfg(feature = "git")]
impl GitHistory {
    /// Opens the clone at `path` (a working tree or a bare repository).
    pub fn open(path: &std::path::Path) -> Result<Self> {
        let history = Self { path: path.to_path_buf() };
        history.repository()?;
        Ok(history)
    }

    fn repository(&self) -> Result<gix::Repository> {
        gix::open(&self.path).map_err(|e| dora_core::Error::Source {
            message: format!("{}: not a git repository ({e})", self.path.display()),
        })
    }
}

#[cfg(feature = "git")]
impl CommitHistory for GitHistory {
    fn between<'a>(&'a self, from: Option<&'a str>, to: &'a str, limit: usize) -> HistoryFuture<'a> {
        Box::pin(std::future::ready(self.walk(from, to, limit)))
    }
}

#[cfg(feature = "git")]
impl GitHistory {
    /// [`CommitHistory::between`], read from the clone at once.
    fn walk(&self, from: Option<&str>, to: &str, limit: usize) -> Result<HistoryRange> {
        let fail = |what: &str, e: &dyn std::fmt::Display| dora_core::Error::Source {
            message: format!("{}: {what}: {e}", self.path.display()),
        };
        let repo = self.repository()?;
        let resolve = |rev: &str| repo.rev_parse_single(rev).map(|id| id.detach()).ok();
        let unknown = |rev: &str| {
            HistoryRange::Unknown(format!("commit {rev} is not in {} (fetch?)", self.path.display()))
        };
        let Some(to_id) = resolve(to) else { return Ok(unknown(to)) };
        let hidden: Vec<gix::ObjectId> = match from {
            None => Vec::new(),
            Some(f) => match resolve(f) {
                Some(id) => vec![id],
                None => return Ok(unknown(f)),
            },
        };
        let to = to_id;
        let time = |t: gix::date::Time| DateTime::from_timestamp(t.seconds, 0);
        let mut out = Vec::new();
        let walk = repo.rev_walk([to]).with_hidden(hidden).all().map_err(|e| fail("history", &e))?;
        for info in walk.take(limit) {
            let info = info.map_err(|e| fail("history", &e))?;
            let commit = info.object().map_err(|e| fail("commit", &e))?;
            let committed = commit.time().ok().and_then(time);
            let authored = commit.author().ok().and_then(|a| a.time().ok()).and_then(time);
            if let Some(committed_at) = committed.or(authored) {
                out.push(HistoryCommit { sha: info.id.to_string(), committed_at, authored_at: authored });
            }
        }
        Ok(HistoryRange::Commits(out))
    }
}

#[cfg(all(test, feature = "git"))]
mod tests {
    use super::fill_tests::deployment;
    use super::*;
    use crate::test_support::git_repository;

    #[tokio::test]
    async fn change_sets_from_a_local_clone() {
        let dir = tempfile::tempdir().unwrap();
        let shas = git_repository(dir.path(), 4);
        let history = GitHistory::open(dir.path()).unwrap();
        // The first deployment ships c1 (at most 1 commit), the second c2..c3
        // (named by an abbreviated SHA), a rollback nothing, the next c4.
        let mut d1 = deployment("r1", &shas[0]);
        let mut d2 = deployment("r2", &shas[2][..8]);
        let mut d3 = deployment("r3", &shas[0]);
        d3.deployment_type = DeploymentType::Rollback;
        let mut d4 = deployment("r4", &shas[3]);
        let mut unknown = deployment("r5", "0123456789abcdef0123456789abcdef01234567");
        let mut list =
            vec![(&mut d1, true), (&mut d2, true), (&mut d3, true), (&mut d4, true), (&mut unknown, true)];
        let (changes, notes) = fill_change_sets(&mut list, &history, 1).await.unwrap();
        assert_eq!(d1.changes, [shas[0].clone()]);
        assert_eq!(d2.changes, [shas[1].clone(), shas[2].clone()], "oldest first, full SHAs");
        assert!(d3.changes.is_empty(), "a rollback ships nothing");
        // Since the rollback's commit c1: c2 and c3 again (d2 shipped them
        // first, and the earliest deployment listing a change ships it), and c4.
        assert_eq!(d4.changes, [shas[1].clone(), shas[2].clone(), shas[3].clone()]);
        assert_eq!(changes.len(), 1 + 2 + 3);
        let c2 = changes.iter().find(|c| c.id == shas[1]).unwrap();
        assert_eq!(c2.committed_at, "2026-11-02T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(c2.authored_at, Some("2026-11-02T09:00:00Z".parse().unwrap()));
        assert_eq!(c2.team.as_deref(), Some("shop"));
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("r5: no change set"), "{notes:?}");
        // Recorded before: kept as it was, still the previous one.
        let mut old = deployment("o1", &shas[1]);
        old.changes = vec!["kept".into()];
        let mut new = deployment("o2", &shas[3]);
        let (changes, _) =
            fill_change_sets(&mut [(&mut old, false), (&mut new, true)], &history, 10).await.unwrap();
        assert_eq!(old.changes, ["kept"]);
        assert_eq!(new.changes, [shas[2].clone(), shas[3].clone()]);
        assert_eq!(changes.len(), 2);
    }
}

#[cfg(test)]
mod fill_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers from a list, one per query: `Ok(commits)`, `Unknown`, or an error.
    #[derive(Debug)]
    struct Scripted {
        answers: Vec<Option<std::result::Result<Vec<&'static str>, ()>>>,
        asked: AtomicUsize,
    }

    impl CommitHistory for Scripted {
        fn between<'a>(&'a self, _: Option<&'a str>, _: &'a str, _: usize) -> HistoryFuture<'a> {
            let i = self.asked.fetch_add(1, Ordering::Relaxed);
            let answer = match &self.answers[i] {
                None => Ok(HistoryRange::Unknown("not fetched".into())),
                Some(Err(())) => Err(dora_core::Error::Source { message: "HTTP 502".into() }),
                Some(Ok(shas)) => Ok(HistoryRange::Commits(
                    shas.iter()
                        .map(|s| HistoryCommit {
                            sha: s.to_string(),
                            committed_at: "2026-11-01T00:00:00Z".parse().unwrap(),
                            authored_at: None,
                        })
                        .collect(),
                )),
            };
            Box::pin(std::future::ready(answer))
        }
    }

    /// A successful production deployment of `web` (team `shop`) of `commit`.
    pub(super) fn deployment(id: &str, commit: &str) -> Deployment {
        crate::test_support::deployment(id, commit, "2026-11-10T00:00:00Z")
    }

    #[tokio::test]
    async fn an_unknown_range_is_a_note_and_a_failure_changes_nothing() {
        let history = Scripted {
            answers: vec![Some(Ok(vec!["a"])), None, Some(Ok(vec!["c", "b"]))],
            asked: AtomicUsize::new(0),
        };
        let (mut d1, mut d2, mut d3) = (deployment("d1", "a"), deployment("d2", "x"), deployment("d3", "c"));
        let (changes, notes) =
            fill_change_sets(&mut [(&mut d1, true), (&mut d2, true), (&mut d3, true)], &history, 1)
                .await
                .unwrap();
        assert_eq!(d1.changes, ["a"]);
        assert_eq!(d2.changes, ["x"], "unknown to the history: keeps its deployed commit");
        assert_eq!(notes, ["d2: no change set (not fetched)"]);
        assert_eq!(d3.changes, ["b", "c"], "oldest first");
        assert_eq!(changes.len(), 3);

        // The second query fails: an error, and no deployment changed.
        let history =
            Scripted { answers: vec![Some(Ok(vec!["a"])), Some(Err(()))], asked: AtomicUsize::new(0) };
        let (mut d1, mut d2) = (deployment("d1", "a"), deployment("d2", "b"));
        d1.changes.clear();
        let err = fill_change_sets(&mut [(&mut d1, true), (&mut d2, true)], &history, 1).await.unwrap_err();
        assert_eq!(err.to_string(), "d2: its change set: HTTP 502");
        assert!(d1.changes.is_empty() && d2.changes == ["b"], "nothing half-filled");
    }

    #[tokio::test]
    async fn the_cache_keeps_answers_not_failures_and_forgets_the_oldest() {
        let cache = HistoryCache::default();
        let asked = AtomicUsize::new(0);
        let fetch = || async {
            asked.fetch_add(1, Ordering::Relaxed);
            Ok(HistoryRange::Unknown("x".into()))
        };
        cache.get_or_fetch(None, "a", 1, fetch).await.unwrap();
        cache.get_or_fetch(None, "a", 1, fetch).await.unwrap();
        assert_eq!(asked.load(Ordering::Relaxed), 1);
        let failing = || async { Err(dora_core::Error::Source { message: "down".into() }) };
        assert!(cache.get_or_fetch(None, "b", 1, failing).await.is_err());
        cache.get_or_fetch(None, "b", 1, fetch).await.unwrap();
        assert_eq!(asked.load(Ordering::Relaxed), 2, "a failure was not kept");
        for i in 0..HistoryCache::MAX_KEPT {
            cache.get_or_fetch(None, &format!("c{i}"), 1, fetch).await.unwrap();
        }
        cache.get_or_fetch(None, "a", 1, fetch).await.unwrap();
        assert_eq!(
            asked.load(Ordering::Relaxed),
            3 + HistoryCache::MAX_KEPT,
            "the oldest answer was forgotten"
        );
    }
}

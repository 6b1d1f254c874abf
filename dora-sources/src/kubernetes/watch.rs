//! `dora watch kubernetes`: kube-runtime watchers on Deployments,
//! ReplicaSets and Argo Rollouts that hand each revision to a sink as soon
//! as it finishes, for as long as the caller's `stop` future is pending.
//!
//! The watchers list, then watch from the list's resourceVersion; a stream
//! that ends is watched again from the last version seen (bookmarks move
//! it on), and a `410 Gone` makes them list again. A (re)list counts once it
//! is complete: what it lists then replaces what the last one said, at
//! once, so no revision is judged on half a list. Revisions are recorded
//! once (the source's sync state lists them), so a relist, a restart, or a
//! `dora collect` of the same cluster never records one twice. A missing
//! permission stops the watch with an error that names it.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use futures::{StreamExt, stream};
use kube::Resource;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, utils::Backoff};
use serde::Serialize;
use serde_json::Value;

use super::client::{KubernetesConfig, State, WorkloadApis, client_for, naming_for};
use super::normalize::{self, WorkloadKind};
use crate::http::source_error as err;
use dora_core::error::Result;
use dora_core::event::EventSet;
use dora_core::source::Progress;
use dora_core::store::SyncState;

/// The waits between a failed list or watch and the next: the policy's
/// backoff (doubling up to 30 s), reset by any success. A watch is never
/// given up: it is tried again for as long as it runs.
#[derive(Debug, Clone)]
struct Retry {
    backoff: crate::http::Backoff,
    retries: u32,
}

impl Retry {
    /// The longest wait between two tries.
    const MAX_WAIT: Duration = Duration::from_secs(30);

    fn new(base: Duration) -> Self {
        Self { backoff: crate::http::Backoff { base, max: Self::MAX_WAIT }, retries: 0 }
    }
}

impl Iterator for Retry {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let wait = self.backoff.delay(self.retries);
        self.retries = self.retries.saturating_add(1);
        Some(wait)
    }
}

impl Backoff for Retry {
    fn reset(&mut self) {
        self.retries = 0;
    }
}

/// What one watcher watches: a kind of workload (`None`: ReplicaSets) in
/// a namespace (`None`: all of them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Scope {
    kind: Option<WorkloadKind>,
    namespace: Option<String>,
}

impl Scope {
    fn covers(&self, namespace: &str) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

/// What the watchers report, one stream for all of them.
enum Update {
    /// A (re)list starts.
    Init(Scope),
    /// An object of the (re)list: kept aside until the list is complete.
    InitApply(Scope, Value),
    /// A (re)list is complete: what it listed replaces what the last one
    /// said of its scope, all at once (a revision is never judged on half
    /// a list: an undo's revisions depend on each other's ReplicaSets).
    InitDone(Scope),
    /// An object as it is now.
    Apply(Scope, Value),
    /// An object is gone.
    Delete(Scope, Value),
    /// A watcher failed; it retries after a backoff, unless the error is
    /// for good (a missing permission).
    Failed(String, Option<String>),
    /// Time to try again the workloads whose change sets failed.
    Retry,
}

fn key(v: &Value) -> (String, String) {
    let m = &v["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

fn updates<K>(
    api: Api<K>,
    config: watcher::Config,
    scope: Scope,
    resource: &'static str,
    backoff: Retry,
) -> impl futures::Stream<Item = Update> + Send
where
    K: Resource + Clone + serde::de::DeserializeOwned + Serialize + std::fmt::Debug + Send + 'static,
{
    let kind = scope.kind;
    let value = |o: &K| serde_json::to_value(o).unwrap_or_default();
    watcher::watcher(api, config).backoff(backoff).map(move |event| match event {
        Ok(Event::Init) => Update::Init(scope.clone()),
        Ok(Event::InitApply(o)) => Update::InitApply(scope.clone(), value(&o)),
        Ok(Event::InitDone) => Update::InitDone(scope.clone()),
        Ok(Event::Apply(o)) => Update::Apply(scope.clone(), value(&o)),
        Ok(Event::Delete(o)) => Update::Delete(scope.clone(), value(&o)),
        Err(e) => {
            let forbidden = match &e {
                watcher::Error::InitialListFailed(kube::Error::Api(s))
                | watcher::Error::WatchStartFailed(kube::Error::Api(s))
                    if s.code == 403 =>
                {
                    Some(format!("missing RBAC permission: list and watch {resource} (grant get, list, watch on it; see deploy/rbac.yaml)"))
                }
                watcher::Error::InitialListFailed(kube::Error::Api(s)) if s.code == 404 && kind == Some(WorkloadKind::Rollout) => {
                    Some(String::new())
                }
                _ => None,
            };
            Update::Failed(format!("{resource}: {e}"), forbidden)
        }
    })
}

/// Watches every cluster of `config` until `stop` completes, giving `sink`
/// each batch of newly finished revisions together with the sync state to
/// store with them (in one transaction). Returns when `stop` completes
/// (the batch being written is finished first) or on an error for good.
pub fn watch<F>(
    config: &KubernetesConfig,
    state: Option<&SyncState>,
    progress: &dyn Progress,
    mut sink: impl FnMut(EventSet, SyncState) -> Result<()>,
    stop: F,
) -> Result<()>
where
    F: Future<Output = ()>,
{
    let mut state: State = state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
    let runtime = crate::http::http_runtime()?;
    runtime.block_on(async {
        let mut streams = Vec::new();
        let mut namings = Vec::new();
        for (index, cluster) in config.clusters.iter().enumerate() {
            let (client, name) = client_for(cluster).await?;
            namings.push(naming_for(config, cluster, &name));
            let mut wc = watcher::Config::default().page_size(config.page_size);
            if let Some(l) = &cluster.label_selector {
                wc = wc.labels(l);
            }
            let backoff = Retry::new(config.retry_base);
            for ns in cluster.namespaces_to_read() {
                let WorkloadApis { deployments: d, replicasets: r, rollouts: ro } =
                    WorkloadApis::new(&client, ns);
                let tag = move |u| (index, u);
                let scope = |kind| Scope { kind, namespace: ns.map(str::to_string) };
                streams.push(
                    updates(
                        d,
                        wc.clone(),
                        scope(Some(WorkloadKind::Deployment)),
                        "deployments.apps",
                        backoff.clone(),
                    )
                    .map(tag)
                    .boxed(),
                );
                streams.push(
                    updates(r, wc.clone(), scope(None), "replicasets.apps", backoff.clone()).map(tag).boxed(),
                );
                if config.argo_rollouts {
                    streams.push(
                        updates(
                            ro,
                            wc.clone(),
                            scope(Some(WorkloadKind::Rollout)),
                            "rollouts.argoproj.io",
                            backoff.clone(),
                        )
                        .map(tag)
                        .boxed(),
                    );
                }
            }
        }
        // Workloads whose revisions wait for their change sets (a history
        // that failed): tried again at each tick, recorded once it answers.
        let retry_every = (config.retry_base * 75).min(std::time::Duration::from_secs(60));
        streams.push(
            stream::unfold((), move |()| async move {
                tokio::time::sleep(retry_every).await;
                Some(((0, Update::Retry), ()))
            })
            .boxed(),
        );
        let mut pending: std::collections::BTreeSet<(usize, WorkloadKind, String, String)> =
            Default::default();
        let mut all = stream::select_all(streams);
        // Per cluster: workloads and ReplicaSets as they are now.
        let mut workloads: Vec<BTreeMap<(WorkloadKind, String, String), Value>> =
            vec![BTreeMap::new(); namings.len()];
        let mut replicasets: Vec<BTreeMap<(String, String), Value>> = vec![BTreeMap::new(); namings.len()];
        // Per cluster and scope: the objects of a (re)list under way.
        let mut listing: BTreeMap<(usize, Scope), BTreeMap<(String, String), Value>> = BTreeMap::new();
        let mut no_rollouts = vec![false; namings.len()];
        let mut histories = super::client::Histories::default();
        let mut stop = std::pin::pin!(stop);
        loop {
            let (cluster, update) = match futures::future::select(&mut stop, all.next()).await {
                futures::future::Either::Left(_) | futures::future::Either::Right((None, _)) => return Ok(()),
                futures::future::Either::Right((Some(next), _)) => next,
            };
            let is_retry = matches!(update, Update::Retry);
            let touched: Vec<(WorkloadKind, String, String)> = match update {
                Update::Retry => Vec::new(),
                Update::Init(scope) => {
                    listing.insert((cluster, scope), BTreeMap::new());
                    Vec::new()
                }
                Update::InitApply(scope, v) => {
                    listing.entry((cluster, scope)).or_default().insert(key(&v), v);
                    Vec::new()
                }
                Update::InitDone(scope) => {
                    let listed = listing.remove(&(cluster, scope.clone())).unwrap_or_default();
                    match scope.kind {
                        Some(kind) => {
                            workloads[cluster].retain(|(k, ns, _), _| *k != kind || !scope.covers(ns));
                            workloads[cluster]
                                .extend(listed.into_iter().map(|((ns, name), v)| ((kind, ns, name), v)));
                        }
                        None => {
                            replicasets[cluster].retain(|(ns, _), _| !scope.covers(ns));
                            replicasets[cluster].extend(listed);
                        }
                    }
                    workloads[cluster].keys().cloned().collect()
                }
                Update::Apply(Scope { kind: Some(kind), .. }, v) => {
                    let (ns, name) = key(&v);
                    workloads[cluster].insert((kind, ns.clone(), name.clone()), v);
                    vec![(kind, ns, name)]
                }
                Update::Delete(Scope { kind: Some(kind), .. }, v) => {
                    let (ns, name) = key(&v);
                    workloads[cluster].remove(&(kind, ns, name));
                    Vec::new()
                }
                Update::Apply(Scope { kind: None, .. }, rs) => {
                    let k = key(&rs);
                    let owners: Vec<_> = workloads[cluster]
                        .iter()
                        .filter(|(_, w)| normalize::owned_by(&rs, w))
                        .map(|(k, _)| k.clone())
                        .collect();
                    replicasets[cluster].insert(k, rs);
                    owners
                }
                Update::Delete(Scope { kind: None, .. }, rs) => {
                    replicasets[cluster].remove(&key(&rs));
                    Vec::new()
                }
                Update::Failed(message, Some(forbidden)) if forbidden.is_empty() => {
                    if !no_rollouts[cluster] {
                        no_rollouts[cluster] = true;
                        progress.message(&format!(
                            "{}: Argo Rollouts is not installed: its watch waits for the CRD",
                            namings[cluster].context
                        ));
                    }
                    let _ = message;
                    Vec::new()
                }
                Update::Failed(_, Some(forbidden)) => {
                    return Err(err(format!("{}: {forbidden}", namings[cluster].context)));
                }
                Update::Failed(message, None) => {
                    progress.message(&format!("{}: {message}; retrying", namings[cluster].context));
                    Vec::new()
                }
            };
            let work: Vec<(usize, WorkloadKind, String, String)> = if is_retry {
                pending.iter().cloned().collect()
            } else {
                touched.into_iter().map(|(kind, ns, name)| (cluster, kind, ns, name)).collect()
            };
            let mut events = EventSet::new();
            let mut recorded = false;
            let mut next = state.clone();
            for (cluster, kind, ns, name) in work {
                let key = (cluster, kind, ns.clone(), name.clone());
                let Some(workload) = workloads[cluster].get(&(kind, ns.clone(), name)) else {
                    pending.remove(&key);
                    continue;
                };
                let owned: Vec<Value> = replicasets[cluster]
                    .range((ns.clone(), String::new())..)
                    .take_while(|((n, _), _)| *n == ns)
                    .map(|(_, v)| v.clone())
                    .collect();
                let mut revisions = normalize::revision_events(&namings[cluster], kind, workload, &owned);
                let mut notes = Vec::new();
                let filled = histories.fill(config, &mut revisions, &next.done, &mut notes).await;
                for note in notes {
                    progress.message(&note);
                }
                let changes = match filled {
                    Ok(changes) => {
                        pending.remove(&key);
                        changes
                    }
                    Err(e) => {
                        // Recorded without its change set it would stay
                        // without one: wait and ask again.
                        progress.message(&format!("{}: {e}; trying again later", namings[cluster].context));
                        pending.insert(key);
                        continue;
                    }
                };
                let mut shipped = false;
                for revision in revisions {
                    if let Some(d) = revision.deployment
                        && !next.done.contains(&d.id)
                    {
                        let id = d.id.clone();
                        if let Some(event) = next.admit(d, config.merge_window) {
                            progress.message(&format!("recorded {id}"));
                            events.push(event);
                            recorded = true;
                            shipped = true;
                        }
                    }
                }
                if shipped {
                    for change in changes {
                        events.push(change);
                    }
                }
            }
            // The new state is kept only once the sink stored it with the events.
            if recorded {
                let synced = serde_json::to_value(&next).map(SyncState).unwrap_or_default();
                sink(events, synced)?;
                state = next;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watch_backoff_doubles_to_30_s_and_a_success_resets_it() {
        let mut retry = Retry::new(Duration::from_millis(800));
        let waits: Vec<u128> = retry.by_ref().take(7).map(|d| d.as_millis()).collect();
        assert_eq!(waits, [800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
        assert_eq!(retry.nth(1000), Some(Duration::from_secs(30)), "never given up");
        retry.reset();
        assert_eq!(retry.next(), Some(Duration::from_millis(800)));
    }
}

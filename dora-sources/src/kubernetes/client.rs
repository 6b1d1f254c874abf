//! The Kubernetes source's I/O: kube's client lists Deployments,
//! ReplicaSets and (when the CRD is installed) Argo Rollouts, page by page
//! (`limit` and `continue`), and turns each workload's revisions into
//! deployment events. A missing permission is an error that names it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use k8s_openapi::api::apps::v1::{Deployment as K8sDeployment, ReplicaSet};
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::normalize::{self, Naming, WorkloadKind};
use crate::changesets::{CommitHistory, GitHistory, fill_change_sets};
use crate::http::{short, source_error as err};
use dora_core::error::{Error, Result};
use dora_core::event::{Change, Deployment, DeploymentStatus, EventSet};
use dora_core::source::secret::redact_url;
use dora_core::source::{Collected, Progress, Source};
use dora_core::store::SyncState;

/// One cluster to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The kubeconfig context [default: the current one; in a pod, the
    /// in-cluster configuration].
    pub context: Option<String>,
    /// The API server's URL instead of a kubeconfig (a local proxy such as
    /// `kubectl proxy`, or a test server); no credentials are sent.
    pub server: Option<String>,
    /// The namespaces read [default: all].
    pub namespaces: Vec<String>,
    /// Only workloads (and ReplicaSets) with these labels (`app=web,tier`).
    pub label_selector: Option<String>,
    /// The environment its workloads deploy to [default: the context's
    /// name, or `production` without one].
    pub environment: Option<String>,
    /// The name of the cluster in ids [default: the context's name, or
    /// `in-cluster`].
    pub name: Option<String>,
    /// Namespaces whose workloads deploy to another environment than the
    /// cluster's (`shop-staging` -> `staging`).
    pub namespace_environments: BTreeMap<String, String>,
}

impl ClusterConfig {
    /// The namespaces to read, `None` standing for all of them.
    pub(crate) fn namespaces_to_read(&self) -> Vec<Option<&str>> {
        if self.namespaces.is_empty() {
            vec![None]
        } else {
            self.namespaces.iter().map(|n| Some(n.as_str())).collect()
        }
    }

    /// The current kubeconfig context (or the in-cluster configuration).
    pub fn current() -> Self {
        Self {
            context: None,
            server: None,
            namespaces: Vec::new(),
            label_selector: None,
            environment: None,
            name: None,
            namespace_environments: BTreeMap::new(),
        }
    }
}

/// The Kubernetes source's settings.
#[derive(Debug, Clone)]
pub struct KubernetesConfig {
    /// The clusters.
    pub clusters: Vec<ClusterConfig>,
    /// The label that names a workload's service [default: `app.kubernetes.io/name`].
    pub service_label: String,
    /// The label that names its team.
    pub team_label: Option<String>,
    /// Annotation or label keys that hold the deployed commit
    /// [default: `app.kubernetes.io/version`].
    pub commit_keys: Vec<String>,
    /// A pattern whose first group takes the commit out of the image.
    pub image_commit: Option<Regex>,
    /// Read Argo Rollouts too (skipped, with a note, where the CRD is
    /// not installed) [default: true].
    pub argo_rollouts: bool,
    /// Objects per list page [default: 500].
    pub page_size: u32,
    /// The first wait before a failed watch is tried again (doubling up to
    /// 30 s; tests make it small) [default: 800 ms].
    pub retry_base: std::time::Duration,
    /// Merge the rollouts of one commit of a service to several clusters
    /// that finish within this window of the first into one logical
    /// deployment [default: off].
    pub merge_window: Option<chrono::Duration>,
    /// Service -> its repository: each rollout's change set becomes the
    /// commits since the previous successful rollout's commit (without
    /// one, the deployed commit alone).
    pub repositories: BTreeMap<String, ServiceRepository>,
}

/// Where a service's commit history is read.
#[derive(Debug, Clone)]
pub enum ServiceRepository {
    /// A local clone (a working tree or a bare repository), read with gix.
    Clone(std::path::PathBuf),
    /// Any other history, e.g. a forge's API
    /// (`source::github::GithubHistory`, `source::gitlab::GitlabHistory`).
    History(std::sync::Arc<dyn CommitHistory>),
}

impl KubernetesConfig {
    /// Settings with the defaults for these clusters.
    pub fn new(clusters: Vec<ClusterConfig>) -> Self {
        Self {
            clusters,
            service_label: "app.kubernetes.io/name".into(),
            team_label: None,
            commit_keys: vec!["app.kubernetes.io/version".into()],
            image_commit: None,
            argo_rollouts: true,
            page_size: 500,
            retry_base: std::time::Duration::from_millis(800),
            merge_window: None,
            repositories: BTreeMap::new(),
        }
    }
}

/// What the source remembers between runs: the revisions already recorded
/// (a revision is recorded once, when it finished; a later run never
/// replaces it with what the shorter history then says).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    #[serde(default)]
    pub(crate) done: BTreeSet<String>,
    /// Multi-cluster merging: the logical deployments by (service,
    /// environment, commit).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    merged: Vec<Merged>,
    /// Multi-cluster merging: a cluster revision's id -> its logical deployment's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    alias: BTreeMap<String, String>,
}

/// One logical deployment of a commit to several clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Merged {
    id: String,
    service: String,
    environment: String,
    commit: String,
    /// When its first cluster finished.
    first: DateTime<Utc>,
    /// When its last cluster so far finished.
    last: DateTime<Utc>,
    /// When the earliest of them started.
    started: Option<DateTime<Utc>>,
    /// What its parts remediate.
    remediates: Vec<String>,
}

impl State {
    /// The event to record for a finished revision, or `None` when it was
    /// recorded already. With a merge window, a successful rollout of a
    /// commit that the same service rolled out to another cluster within
    /// the window (from the first) joins that logical deployment: the event
    /// returned is the logical one, live when the last cluster finished.
    pub(crate) fn admit(
        &mut self,
        mut d: Deployment,
        merge_window: Option<chrono::Duration>,
    ) -> Option<Deployment> {
        if !self.done.insert(d.id.clone()) {
            return None;
        }
        for r in &mut d.remediates {
            if let Some(logical) = self.alias.get(r) {
                r.clone_from(logical);
            }
        }
        let (Some(window), Some(commit)) = (merge_window, d.commit.clone()) else { return Some(d) };
        if d.status != DeploymentStatus::Success {
            return Some(d);
        }
        let joined = self.merged.iter_mut().find(|m| {
            m.service == d.service
                && m.environment == d.environment
                && m.commit == commit
                && d.finished_at >= m.first
                && d.finished_at - m.first <= window
        });
        match joined {
            Some(m) => {
                self.alias.insert(d.id.clone(), m.id.clone());
                m.last = m.last.max(d.finished_at);
                m.started = match (m.started, d.started_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                for r in &d.remediates {
                    if !m.remediates.contains(r) {
                        m.remediates.push(r.clone());
                    }
                }
                Some(Deployment {
                    id: m.id.clone(),
                    finished_at: m.last,
                    started_at: m.started,
                    remediates: m.remediates.clone(),
                    ..d
                })
            }
            None => {
                let id = format!(
                    "k8s:merged/{}/{}:{commit}:{}",
                    d.environment,
                    d.service,
                    d.finished_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                self.alias.insert(d.id.clone(), id.clone());
                let event = Deployment { id: id.clone(), ..d };
                self.merged.push(Merged {
                    id,
                    service: event.service.clone(),
                    environment: event.environment.clone(),
                    commit,
                    first: event.finished_at,
                    last: event.finished_at,
                    started: event.started_at,
                    remediates: event.remediates.clone(),
                });
                Some(event)
            }
        }
    }
}

/// The Kubernetes source.
#[derive(Debug)]
pub struct KubernetesSource {
    name: String,
    config: KubernetesConfig,
}

impl KubernetesSource {
    /// A source named `name`.
    pub fn new(name: impl Into<String>, config: KubernetesConfig) -> Self {
        Self { name: name.into(), config }
    }
}

/// What a list was for, to name a missing permission.
struct Listing<'a> {
    resource: &'a str,
    namespace: Option<&'a str>,
    cluster: &'a str,
}

impl Listing<'_> {
    fn fail(&self, e: kube::Error) -> Error {
        let scope =
            self.namespace.map_or("at the cluster scope".to_string(), |n| format!("in namespace {n}"));
        match &e {
            kube::Error::Api(s) if s.code == 403 => err(format!(
                "{}: missing RBAC permission: list {} {scope} (grant get, list, watch on it; see deploy/rbac.yaml)",
                self.cluster, self.resource
            )),
            kube::Error::Api(s) if s.code == 401 => {
                err(format!("{}: the API server refused the credentials (HTTP 401)", self.cluster))
            }
            other => err(format!("{}: list {} {scope}: {}", self.cluster, self.resource, short(other))),
        }
    }
}

/// Every object of a list, following `continue` tokens (the API's own
/// error, so a caller can tell a missing CRD from a failure).
async fn list_all<K>(api: &Api<K>, params: &ListParams, requests: &mut u64) -> kube::Result<Vec<K>>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    let mut params = params.clone();
    let mut out = Vec::new();
    loop {
        *requests += 1;
        let page = api.list(&params).await?;
        out.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params.continue_token = Some(token),
            None => return Ok(out),
        }
    }
}

fn to_values<K: Serialize>(objects: &[K]) -> Vec<Value> {
    objects.iter().filter_map(|o| serde_json::to_value(o).ok()).collect()
}

pub(crate) async fn client_for(cluster: &ClusterConfig) -> Result<(Client, String)> {
    let (config, name) = if let Some(server) = &cluster.server {
        if dora_core::source::secret::has_credentials(server) {
            return Err(err(format!(
                "server {:?}: credentials in the URL are refused (a server URL such as `kubectl proxy`'s gets none)",
                redact_url(server)
            )));
        }
        let uri: http::Uri =
            server.parse().map_err(|e| err(format!("server {:?}: {e}", redact_url(server))))?;
        let mut config = kube::Config::new(uri);
        config.default_retry = false;
        (config, cluster.name.clone().unwrap_or_else(|| "cluster".into()))
    } else if let Some(context) = &cluster.context {
        let options =
            kube::config::KubeConfigOptions { context: Some(context.clone()), cluster: None, user: None };
        let config = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| err(format!("kubeconfig context {context:?}: {}", short(&e))))?;
        (config, cluster.name.clone().unwrap_or_else(|| context.clone()))
    } else {
        let config = kube::Config::infer()
            .await
            .map_err(|e| err(format!("no kubeconfig and not in a pod: {}", short(&e))))?;
        let name = cluster
            .name
            .clone()
            .or_else(|| kube::config::Kubeconfig::read().ok().and_then(|k| k.current_context));
        (config, name.unwrap_or_else(|| "in-cluster".into()))
    };
    let client = Client::try_from(config)
        .map_err(|e| err(format!("{name}: cannot build the client: {}", short(&e))))?;
    Ok((client, name))
}

/// The services' histories, each opened once.
#[derive(Debug, Default)]
pub(crate) struct Histories {
    open: BTreeMap<String, Option<std::sync::Arc<dyn CommitHistory>>>,
}

impl Histories {
    /// Fills the change sets of a workload's revisions from its service's
    /// history, when one is configured; returns the change events of the
    /// revisions not recorded yet.
    pub(crate) async fn fill(
        &mut self,
        cfg: &KubernetesConfig,
        revisions: &mut [normalize::RevisionEvent],
        done: &BTreeSet<String>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<Change>> {
        let Some(service) = revisions.iter().find_map(|r| r.deployment.as_ref()).map(|d| d.service.clone())
        else {
            return Ok(Vec::new());
        };
        let Some(repository) = cfg.repositories.get(&service) else { return Ok(Vec::new()) };
        let history = self.open.entry(service).or_insert_with(|| match repository {
            ServiceRepository::History(h) => Some(h.clone()),
            ServiceRepository::Clone(path) => match GitHistory::open(path) {
                Ok(h) => Some(std::sync::Arc::new(h)),
                Err(e) => {
                    notes.push(e.to_string());
                    None
                }
            },
        });
        let Some(history) = history.clone() else { return Ok(Vec::new()) };
        let mut list: Vec<(&mut Deployment, bool)> = revisions
            .iter_mut()
            .filter_map(|r| r.deployment.as_mut())
            .map(|d| {
                let fresh = !done.contains(&d.id);
                (d, fresh)
            })
            .collect();
        // The first rollout seen ships its own commit only: what ran before
        // it is unknown.
        let (changes, problems) = fill_change_sets(&mut list, history.as_ref(), 1).await?;
        notes.extend(problems);
        let fresh: BTreeSet<&str> = list
            .iter()
            .filter(|(_, fresh)| *fresh)
            .flat_map(|(d, _)| d.changes.iter().map(String::as_str))
            .collect();
        Ok(changes.into_iter().filter(|c| fresh.contains(c.id.as_str())).collect())
    }
}

/// Requests the configured histories (forge APIs) made so far.
pub(crate) fn history_requests(cfg: &KubernetesConfig) -> u64 {
    cfg.repositories
        .values()
        .map(|r| match r {
            ServiceRepository::History(h) => h.requests(),
            ServiceRepository::Clone(_) => 0,
        })
        .sum()
}

/// How a cluster's workloads are named.
pub(crate) fn naming_for(cfg: &KubernetesConfig, cluster: &ClusterConfig, name: &str) -> Naming {
    let environment = cluster
        .environment
        .clone()
        .or_else(|| cluster.context.clone())
        .unwrap_or_else(|| "production".into());
    Naming {
        context: name.to_string(),
        environment,
        namespace_environments: cluster.namespace_environments.clone(),
        service_label: cfg.service_label.clone(),
        team_label: cfg.team_label.clone(),
        commit_keys: cfg.commit_keys.clone(),
        image_commit: cfg.image_commit.clone(),
    }
}

/// The APIs of one namespace's workloads (`None`: every namespace): apps/v1
/// Deployments and ReplicaSets, and Argo Rollouts read as dynamic objects
/// (so the CRD is optional).
pub(crate) struct WorkloadApis {
    pub deployments: Api<K8sDeployment>,
    pub replicasets: Api<ReplicaSet>,
    pub rollouts: Api<DynamicObject>,
}

impl WorkloadApis {
    pub(crate) fn new(client: &Client, namespace: Option<&str>) -> Self {
        let rollout = ApiResource::from_gvk(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"));
        let client = || client.clone();
        match namespace {
            Some(n) => Self {
                deployments: Api::namespaced(client(), n),
                replicasets: Api::namespaced(client(), n),
                rollouts: Api::namespaced_with(client(), n, &rollout),
            },
            None => Self {
                deployments: Api::all(client()),
                replicasets: Api::all(client()),
                rollouts: Api::all_with(client(), &rollout),
            },
        }
    }
}

/// Reads one cluster into `events`.
async fn collect_cluster(
    cfg: &KubernetesConfig,
    cluster: &ClusterConfig,
    state: &mut State,
    events: &mut EventSet,
    notes: &mut Vec<String>,
    requests: &mut u64,
    progress: &dyn Progress,
) -> Result<()> {
    let (client, name) = client_for(cluster).await?;
    let naming = naming_for(cfg, cluster, &name);
    let mut histories = Histories::default();
    let mut params = ListParams::default().limit(cfg.page_size);
    if let Some(l) = &cluster.label_selector {
        params = params.labels(l);
    }
    let mut rollouts_installed = cfg.argo_rollouts;
    for namespace in cluster.namespaces_to_read() {
        let part = progress.part(&format!("{name}/{}", namespace.unwrap_or("*")));
        let apis = WorkloadApis::new(&client, namespace);
        part.message("deployments");
        let listing = |resource| Listing { resource, namespace, cluster: &name };
        let deployments = list_all(&apis.deployments, &params, requests)
            .await
            .map_err(|e| listing("deployments.apps").fail(e))?;
        part.message("replicasets");
        let replicasets = list_all(&apis.replicasets, &params, requests)
            .await
            .map_err(|e| listing("replicasets.apps").fail(e))?;
        let replicasets = to_values(&replicasets);
        let mut workloads: Vec<(WorkloadKind, Value)> =
            to_values(&deployments).into_iter().map(|d| (WorkloadKind::Deployment, d)).collect();
        if rollouts_installed {
            part.message("rollouts");
            match list_all(&apis.rollouts, &params, requests).await {
                Ok(rollouts) => {
                    workloads.extend(to_values(&rollouts).into_iter().map(|r| (WorkloadKind::Rollout, r)))
                }
                // Not found: the CRD is not installed.
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    rollouts_installed = false;
                    notes.push(format!(
                        "{name}: Argo Rollouts is not installed (no rollouts.argoproj.io): skipped"
                    ));
                }
                Err(e) => return Err(listing("rollouts.argoproj.io").fail(e)),
            }
        }
        for (kind, workload) in &workloads {
            let mut revisions = normalize::revision_events(&naming, *kind, workload, &replicasets);
            // A history that fails (the network, a server error) fails the
            // run: nothing is stored, and the next run asks again.
            for change in histories.fill(cfg, &mut revisions, &state.done, notes).await? {
                events.push(change);
            }
            for revision in revisions {
                let Some(deployment) = revision.deployment else { continue };
                if let Some(event) = state.admit(deployment, cfg.merge_window) {
                    events.push(event);
                }
            }
        }
        part.message("done");
    }
    Ok(())
}

impl Source for KubernetesSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected> {
        let mut state: State =
            state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
        let runtime = crate::http::http_runtime()?;
        let mut events = EventSet::new();
        let mut notes = Vec::new();
        let mut requests = 0;
        let forge_requests_before = history_requests(&self.config);
        progress.set_total(self.config.clusters.len() as u64);
        runtime.block_on(async {
            for cluster in &self.config.clusters {
                collect_cluster(
                    &self.config,
                    cluster,
                    &mut state,
                    &mut events,
                    &mut notes,
                    &mut requests,
                    progress,
                )
                .await?;
                progress.advance(1);
            }
            Ok::<_, Error>(())
        })?;
        let state = serde_json::to_value(&state).map(SyncState).unwrap_or_default();
        // The histories' requests (GitHub, GitLab) count too.
        requests += history_requests(&self.config) - forge_requests_before;
        Ok(Collected { events, state, requests, notes, costs: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dora_core::event::DeploymentType;

    fn rollout(cluster: &str, rev: u32, commit: &str, at: &str) -> Deployment {
        let id = format!("k8s:{cluster}/shop/Deployment/web:rev:{rev}");
        let d = crate::test_support::deployment(&id, commit, at);
        Deployment { started_at: Some(d.finished_at - chrono::Duration::minutes(5)), team: None, ..d }
    }

    #[test]
    fn rollouts_of_one_commit_to_several_clusters_merge_within_the_window() {
        let window = Some(chrono::Duration::minutes(30));
        let mut state = State::default();
        let eu = state.admit(rollout("eu", 1, "abc", "2026-11-24T10:00:00Z"), window).unwrap();
        assert_eq!(eu.id, "k8s:merged/production/web:abc:2026-11-24T10:00:00Z");
        let us = state.admit(rollout("us", 7, "abc", "2026-11-24T10:20:00Z"), window).unwrap();
        assert_eq!(us.id, eu.id, "the same logical deployment, replaced");
        assert_eq!(
            us.finished_at,
            "2026-11-24T10:20:00Z".parse::<DateTime<Utc>>().unwrap(),
            "live everywhere"
        );
        assert_eq!(us.started_at, eu.started_at, "the earliest start");
        assert!(
            state.admit(rollout("us", 7, "abc", "2026-11-24T10:20:00Z"), window).is_none(),
            "recorded once"
        );
        // Outside the window: a deployment of its own.
        let late = state.admit(rollout("ap", 3, "abc", "2026-11-24T11:00:00Z"), window).unwrap();
        assert_ne!(late.id, eu.id);
        // A rollback in one cluster remediates the logical deployment.
        let mut back = rollout("eu", 2, "old", "2026-11-24T12:00:00Z");
        back.deployment_type = DeploymentType::Rollback;
        back.remediates = vec!["k8s:eu/shop/Deployment/web:rev:1".into()];
        let back = state.admit(back, window).unwrap();
        assert_eq!(back.remediates, std::slice::from_ref(&eu.id));
        // A failure is each cluster's own.
        let mut failed = rollout("us", 8, "bad", "2026-11-24T13:00:00Z");
        failed.status = DeploymentStatus::Failure;
        assert_eq!(state.admit(failed, window).unwrap().id, "k8s:us/shop/Deployment/web:rev:8");
        // Off by default: every cluster's rollout is its own.
        let mut off = State::default();
        assert_eq!(
            off.admit(rollout("eu", 1, "abc", "2026-11-24T10:00:00Z"), None).unwrap().id,
            "k8s:eu/shop/Deployment/web:rev:1"
        );
    }
}

//! Monorepos: path prefixes mapped to services, shared by the sources that
//! read repositories (GitHub, GitLab). A deployment of a monorepo becomes one
//! deployment per service its commits touched.

use std::collections::{BTreeMap, BTreeSet};

use dora_core::event::{Change, Deployment};

/// A monorepo's path prefixes and the services they belong to. A file
/// belongs to the service of the longest prefix that contains it (a prefix
/// matches whole path segments: `services/api` contains `services/api/x.rs`,
/// not `services/api-gateway/x.rs`); a file under no prefix belongs to the
/// repository's own service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathServices {
    /// (prefix without slashes at either end, service), longest prefix first.
    prefixes: Vec<(String, String)>,
}

impl PathServices {
    /// The mapping of these `(prefix, service)` pairs. A prefix of `""` or
    /// `"/"` is the whole repository.
    pub fn new<P: Into<String>, S: Into<String>>(pairs: impl IntoIterator<Item = (P, S)>) -> Self {
        let mut prefixes: Vec<(String, String)> =
            pairs.into_iter().map(|(p, s)| (p.into().trim_matches('/').to_string(), s.into())).collect();
        prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        prefixes.dedup_by(|a, b| a.0 == b.0);
        Self { prefixes }
    }

    /// Whether no prefix is mapped (the repository is one service).
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// The service of a path, if a prefix contains it.
    pub fn service_of(&self, path: &str) -> Option<&str> {
        let path = path.trim_start_matches('/');
        self.prefixes
            .iter()
            .find(|(prefix, _)| {
                prefix.is_empty()
                    || path
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, service)| service.as_str())
    }

    /// The services that changed paths belong to; paths under no prefix
    /// give `default`.
    pub fn services_of<'a>(
        &self,
        paths: impl IntoIterator<Item = &'a str>,
        default: &str,
    ) -> BTreeSet<String> {
        paths.into_iter().map(|path| self.service_of(path).unwrap_or(default).to_string()).collect()
    }
}

/// The services the latest success to `environment` deployed (`last`
/// keeps them per environment), else the repository's own `default`: what
/// a rollback or a redeploy of the same commit deploys again.
pub fn latest_services(
    last: &BTreeMap<String, BTreeSet<String>>,
    environment: &str,
    default: &str,
) -> BTreeSet<String> {
    last.get(environment).cloned().unwrap_or_else(|| BTreeSet::from([default.to_string()]))
}

/// The events of a deployment: itself when `services` is empty (not a
/// monorepo), else one part per service, each with the changes that touched
/// it (`change_services` holds each change's services, in the order of
/// `deployment.changes`).
pub fn service_parts(
    deployment: Deployment,
    services: &BTreeSet<String>,
    change_services: &[BTreeSet<String>],
) -> Vec<Deployment> {
    if services.is_empty() {
        return vec![deployment];
    }
    services
        .iter()
        .map(|service| {
            let shipped = deployment
                .changes
                .iter()
                .zip(change_services)
                .filter(|(_, touched)| touched.contains(service))
                .map(|(id, _)| id.clone())
                .collect();
            service_deployment(&deployment, service, shipped)
        })
        .collect()
}

/// What one deployment of a monorepo deployed: the services its changes
/// touched, and each change's services. Both stay empty for a repository
/// that is one service, whose deployment stays one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployedServices {
    /// The services deployed.
    pub services: BTreeSet<String>,
    /// Each change's services, in the order of the deployment's changes.
    pub change_services: Vec<BTreeSet<String>>,
}

impl DeployedServices {
    /// Counts a change whose commit touched `touched` (`None`: not a
    /// monorepo, nothing to count): the change becomes the first touched
    /// service's (else `default`'s), and every service touched ships it.
    pub fn add_change(&mut self, change: &mut Change, touched: Option<&BTreeSet<String>>, default: &str) {
        let Some(touched) = touched else { return };
        change.service = touched.first().cloned().unwrap_or_else(|| default.to_string());
        self.services.extend(touched.iter().cloned());
        self.change_services.push(touched.clone());
    }

    /// A successful deployment to `environment`: when its changes touched
    /// no service (a rollback, a redeploy), it deploys again what the
    /// latest success did ([`latest_services`]); either way `last` keeps
    /// its services as the environment's latest.
    pub fn remember(
        &mut self,
        last: &mut BTreeMap<String, BTreeSet<String>>,
        environment: &str,
        default: &str,
    ) {
        if self.services.is_empty() {
            self.services = latest_services(last, environment, default);
        }
        last.insert(environment.to_string(), self.services.clone());
    }

    /// The events of `deployment`: see [`service_parts`].
    pub fn parts(&self, deployment: Deployment) -> Vec<Deployment> {
        service_parts(deployment, &self.services, &self.change_services)
    }
}

/// Monorepos: the part of `deployment` that deployed one service, with the
/// changes that touched it. Its id is the deployment's with `:<service>`
/// added, and so are the ids it remediates (the parts of the remediated
/// deployment for the same service).
pub fn service_deployment(deployment: &Deployment, service: &str, changes: Vec<String>) -> Deployment {
    Deployment {
        id: format!("{}:{service}", deployment.id),
        service: service.to_string(),
        changes,
        remediates: deployment.remediates.iter().map(|r| format!("{r}:{service}")).collect(),
        ..deployment.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefixes_map_paths_to_services() {
        let map = PathServices::new([
            ("services/api", "api"),
            ("/services/api/admin/", "admin"),
            ("services/web/", "web"),
        ]);
        assert_eq!(map.service_of("services/api/src/main.rs"), Some("api"));
        assert_eq!(map.service_of("services/api/admin/x.rs"), Some("admin"), "the longest prefix wins");
        assert_eq!(map.service_of("services/api"), Some("api"));
        assert_eq!(map.service_of("services/api-gateway/x.rs"), None, "whole segments only");
        assert_eq!(map.service_of("README.md"), None);
        let touched = map.services_of(["services/web/a.ts", "services/api/a.ts", "docs/x.md"], "platform");
        assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["api", "platform", "web"]);
        assert!(map.services_of([], "platform").is_empty());
        let everything = PathServices::new([("/", "all")]);
        assert_eq!(everything.service_of("any/file"), Some("all"));
        assert!(PathServices::default().is_empty());
    }

    #[test]
    fn deployed_services_count_changes_and_remember_the_latest() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
        let mut change = Change {
            id: "c1".into(),
            service: "platform".into(),
            team: None,
            source: None,
            committed_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            authored_at: None,
            pull_request: None,
        };
        let mut deployed = DeployedServices::default();
        deployed.add_change(&mut change, None, "platform");
        assert_eq!((change.service.as_str(), &deployed), ("platform", &DeployedServices::default()));
        deployed.add_change(&mut change, Some(&set(&["web", "api"])), "platform");
        assert_eq!(change.service, "api", "the first service touched");
        assert_eq!(deployed.services, set(&["api", "web"]));
        let mut last = BTreeMap::new();
        deployed.remember(&mut last, "production", "platform");
        assert_eq!(last["production"], set(&["api", "web"]));
        // A rollback touches nothing: it deploys what the latest success did.
        let mut rollback = DeployedServices::default();
        rollback.remember(&mut last, "production", "platform");
        assert_eq!(rollback.services, set(&["api", "web"]));
        let mut first = DeployedServices::default();
        first.remember(&mut last, "staging", "platform");
        assert_eq!(first.services, set(&["platform"]));
    }
}

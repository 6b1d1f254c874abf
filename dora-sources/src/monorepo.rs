//! Monorepos: path prefixes mapped to services, shared by the sources that
//! read repositories (GitHub, GitLab). A deployment of a monorepo becomes one
//! deployment per service its commits touched.

use std::collections::{BTreeMap, BTreeSet};

use dora_core::event::Deployment;

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
}

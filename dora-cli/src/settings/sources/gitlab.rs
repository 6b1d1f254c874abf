//! `kind = "gitlab"`: deployments, merge requests and incidents of GitLab
//! projects (run with the `gitlab` cargo feature).

use anyhow::Result;
use serde::Serialize;

use super::SourceTable;
use super::forge::{ForgeSettings, Scope};

/// A `gitlab` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct GitlabSettings {
    /// The source's name.
    pub name: String,
    /// Projects, as `group/subgroup/project` paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<String>,
    /// A whole group's projects, subgroups included (archived ones left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Environments of GitLab's production tier are production too [default: true].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_tier: Option<bool>,
    /// Issues with one of these labels are incidents too (issues of type
    /// incident always are).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incident_labels: Vec<String>,
    /// Read incident timelines (start and end times) [default: true].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline_events: Option<bool>,
    /// Read merge requests in bulk, their commits by GraphQL, instead of
    /// per deployment [default: true].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_graphql: Option<bool>,
    /// The keys it shares with a github source.
    #[serde(flatten)]
    pub forge: ForgeSettings,
}

impl TryFrom<&mut SourceTable<'_>> for GitlabSettings {
    type Error = anyhow::Error;

    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let projects = table.strings("projects")?.unwrap_or_default();
        let group = table.string("group")?;
        if projects.is_empty() && group.is_none() {
            return Err(table.error("projects", "list at least one group/project path (or set group)"));
        }
        if let Some(p) = projects.iter().find(|p| p.trim_matches('/').is_empty() || p.contains("//")) {
            return Err(table.error("projects", format!("{p:?} is not a project path like group/project")));
        }
        let production_tier = table.flag("production_tier")?;
        let incident_labels = table.strings("incident_labels")?.unwrap_or_default();
        let timeline_events = table.flag("timeline_events")?;
        let use_graphql = table.flag("use_graphql")?;
        let scope =
            Scope { listed: &projects, group: group.as_deref(), group_key: "group", noun: "projects" };
        let forge = ForgeSettings::read(table, &scope)?;
        let name = table.name.clone();
        Ok(GitlabSettings {
            name,
            projects,
            group,
            production_tier,
            incident_labels,
            timeline_events,
            use_graphql,
            forge,
        })
    }
}

#[cfg(feature = "gitlab")]
impl GitlabSettings {
    /// The GitLab source's settings: these over its defaults.
    pub fn config(&self, build: &super::Build<'_>) -> dora_sources::gitlab::GitlabConfig {
        use dora_sources::gitlab::{GitlabConfig, GroupConfig, ProjectConfig};
        let forge = &self.forge;
        let mut config = GitlabConfig::new(forge.each_listed(&self.projects, |p, service, team| {
            ProjectConfig { path: p.trim_matches('/').to_string(), service, team }
        }));
        config.group = self.group.as_ref().map(|group| GroupConfig {
            path: group.trim_matches('/').to_string(),
            include: ForgeSettings::patterns(&forge.include),
            exclude: ForgeSettings::patterns(&forge.exclude),
            services: forge.services.clone(),
            teams: forge.teams.clone(),
        });
        super::forge::set_forge_fields!(config, forge, build);
        if let Some(t) = self.production_tier {
            config.production_tier = t;
        }
        if let Some(t) = self.timeline_events {
            config.timeline_events = t;
        }
        if let Some(g) = self.use_graphql {
            config.use_graphql = g;
        }
        if let Some(n) = forge.concurrency {
            config.concurrency = n;
        }
        config.incident_labels = self.incident_labels.clone();
        config
    }
}

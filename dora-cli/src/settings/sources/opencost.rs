//! `kind = "opencost"`: the daily cost of a cluster's workloads from an
//! OpenCost (or Kubecost) `/allocation` API (run with the `opencost` cargo
//! feature).

use anyhow::Result;
use serde::Serialize;

use super::SourceTable;
use super::forge::check_api;

/// The aggregate properties OpenCost knows besides `label:NAME` and
/// `annotation:NAME`.
const PROPERTIES: &[&str] = &[
    "cluster",
    "node",
    "namespace",
    "controllerKind",
    "controller",
    "service",
    "pod",
    "container",
    "department",
    "environment",
    "owner",
    "product",
    "team",
];

/// An `opencost` source, checked.
#[derive(Debug, Clone, Serialize)]
pub struct OpencostSettings {
    /// The source's name.
    pub name: String,
    /// The API: `http://opencost.opencost:9003` (with `allow_http`) or a
    /// Kubecost's `https://kubecost.example.com/model`.
    pub api_url: String,
    /// The currency of every amount (three capital letters: OpenCost
    /// reports none).
    pub currency: String,
    /// How allocations are grouped, as OpenCost spells the properties
    /// (`label:app`, `namespace`, ...); their values become the rows' tags.
    pub aggregate: Vec<String>,
    /// Allow an `http://` `api_url` (OpenCost in a cluster serves plain HTTP).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_http: bool,
    /// The environment variable holding a bearer token [default: none].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// How far back the first run goes, in days [default: 30].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookback_days: Option<u32>,
    /// The days asked again each run, OpenCost revising them [default: 2].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revise_days: Option<u32>,
    /// The most days a request asks for [default: 7].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_per_request: Option<u32>,
    /// Stop a run past this many requests (1 or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
}

/// Why `property` is not an aggregate property OpenCost knows, if it is not.
fn check_property(property: &str) -> Option<String> {
    let named = property.strip_prefix("label:").or_else(|| property.strip_prefix("annotation:"));
    match named {
        Some(name) if name.is_empty() || name.contains([',', '=', ' ']) => {
            Some(format!("{property:?}: give the name after the colon (label:app)"))
        }
        Some(_) => None,
        None if PROPERTIES.contains(&property) => None,
        None => Some(format!(
            "{property:?} is not label:NAME, annotation:NAME or one of {}",
            PROPERTIES.join(", ")
        )),
    }
}

impl TryFrom<&mut SourceTable<'_>> for OpencostSettings {
    type Error = anyhow::Error;

    fn try_from(table: &mut SourceTable<'_>) -> Result<Self> {
        let allow_http = table.flag("allow_http")?.unwrap_or(false);
        let token_env = table.string("token_env")?;
        let Some(api_url) = table.string("api_url")? else {
            return Err(
                table.error("api_url", "missing: the OpenCost API, such as http://opencost.opencost:9003")
            );
        };
        check_api(table, Some(&api_url), allow_http, token_env.as_deref())?;
        let currency = match table.string("currency")? {
            None => {
                return Err(table
                    .error("currency", "missing: OpenCost reports no currency; give its code, such as USD"));
            }
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
            Some(c) => {
                return Err(table.error(
                    "currency",
                    format!("{c:?} is not a currency code of three capital letters (USD)"),
                ));
            }
        };
        let aggregate = table.strings("aggregate")?.unwrap_or_default();
        if aggregate.is_empty() {
            return Err(table
                .error("aggregate", "list at least one property, such as [\"label:app\", \"namespace\"]"));
        }
        if let Some((i, why)) =
            aggregate.iter().enumerate().find_map(|(i, p)| check_property(p).map(|w| (i, w)))
        {
            return Err(table.error(&format!("aggregate[{i}]"), why));
        }
        Ok(OpencostSettings {
            name: table.name.clone(),
            api_url,
            currency,
            aggregate,
            allow_http,
            token_env,
            lookback_days: table.integer("lookback_days", 1)?,
            revise_days: table.integer("revise_days", 0)?,
            days_per_request: table.integer("days_per_request", 1)?,
            max_requests: table.integer("max_requests", 1)?,
        })
    }
}

#[cfg(feature = "opencost")]
impl OpencostSettings {
    /// The OpenCost source's settings: these over its defaults.
    pub fn config(&self, build: &super::Build<'_>) -> dora_sources::opencost::OpencostConfig {
        let mut config = dora_sources::opencost::OpencostConfig::new(
            self.api_url.clone(),
            self.currency.clone(),
            self.aggregate.clone(),
        );
        config.allow_http = self.allow_http;
        config.token_env = self.token_env.clone();
        if let Some(d) = self.lookback_days {
            config.lookback_days = d;
        }
        if let Some(d) = self.revise_days {
            config.revise_days = d;
        }
        if let Some(d) = self.days_per_request {
            config.days_per_request = d;
        }
        config.max_requests = build.max_requests.or(self.max_requests);
        config
    }
}

#[cfg(test)]
mod tests {
    use super::check_property;

    #[test]
    fn aggregate_properties() {
        assert_eq!(check_property("label:app"), None);
        assert_eq!(check_property("annotation:owner"), None);
        assert_eq!(check_property("namespace"), None);
        assert_eq!(check_property("label:app.kubernetes.io/name"), None);
        assert!(check_property("label:").is_some());
        assert!(check_property("Namespace").unwrap().contains("not label:NAME"));
    }
}

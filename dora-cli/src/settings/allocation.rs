//! `[finance]` of `dora.toml`: team or service -> cost center, and the
//! reserved key `allocation`, the table that allocates cost rows to
//! services and teams (METRICS.md section 7, "Allocation"):
//!
//! ```toml
//! [finance]
//! payments = "CC-1042"              # a cost center
//!
//! [finance.allocation]
//! service_tag = "application"       # a row's service: this tag's value
//! team_tag = "business_unit"        # a row's team when its service has none
//! cost_column = "EffectiveCost"     # or BilledCost, ListCost, ContractedCost
//!
//! [[finance.allocation.rule]]       # then the first rule that matches
//! field = "ServiceName"             # ResourceName, ResourceId, ServiceName, SubAccountName
//! pattern = "Queue"                 # a regular expression, matched anywhere
//! service = "messaging"
//! ```
//!
//! Errors name the file, the line and the key path
//! (`dora.toml:12: finance.allocation.rule[1].pattern: ...`; rules count
//! from 0, like `source[0]`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use dora_core::cost::{Allocation, AllocationRule, CostColumn, CostField};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::line_of;
use crate::settings::usage;

/// The key of `[finance]` that is not a cost center.
pub const ALLOCATION_KEY: &str = "allocation";

/// `[finance.allocation]`, checked: what `dora config check` prints and
/// the cost commands use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AllocationSettings {
    /// The tag whose value names a row's service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tag: Option<String>,
    /// The tag whose value names a row's team when its service gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_tag: Option<String>,
    /// The FOCUS column amounts are read from.
    #[serde(serialize_with = "column_name")]
    pub cost_column: CostColumn,
    /// The rules, in order.
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSettings>,
}

fn column_name<S: serde::Serializer>(c: &CostColumn, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(c.as_str())
}

/// One `[[finance.allocation.rule]]`, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSettings {
    /// The field matched, as FOCUS spells it.
    pub field: String,
    /// The regular expression (it compiles).
    pub pattern: String,
    /// The service a matching row belongs to.
    pub service: String,
}

impl AllocationSettings {
    /// The allocation the engine and `dora costs check` use.
    pub fn allocation(&self) -> Allocation {
        Allocation {
            service_tag: self.service_tag.clone(),
            team_tag: self.team_tag.clone(),
            rules: self
                .rules
                .iter()
                .map(|r| AllocationRule {
                    // Both were checked when the file was read.
                    field: r.field.parse().unwrap_or(CostField::ResourceName),
                    pattern: regex::Regex::new(&r.pattern)
                        .unwrap_or_else(|_| regex::Regex::new("$^").unwrap()),
                    service: r.service.clone(),
                })
                .collect(),
        }
    }
}

/// `[finance.allocation]` as written, with where each value stands.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllocation {
    service_tag: Option<Spanned<String>>,
    team_tag: Option<Spanned<String>>,
    cost_column: Option<Spanned<String>>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    field: Spanned<String>,
    pattern: Spanned<String>,
    service: Spanned<String>,
}

/// Only `[finance.allocation]` of the file (the rest is read elsewhere).
#[derive(Debug, Default, Deserialize)]
struct OnlyFinance {
    #[serde(default)]
    finance: OnlyAllocation,
}

#[derive(Debug, Default, Deserialize)]
struct OnlyAllocation {
    allocation: Option<RawAllocation>,
}

/// The cost centers of `[finance]` (every key but `allocation`, each a
/// non-empty string) and its allocation, checked. `finance` is the table
/// as read; `text` the file's text (for the lines of errors).
pub fn finance(
    finance: &BTreeMap<String, Spanned<toml::Value>>,
    text: &str,
    path: &Path,
) -> Result<(BTreeMap<String, String>, Option<AllocationSettings>)> {
    let at = |span: std::ops::Range<usize>, key: &str, msg: &str| {
        usage(format!("{}:{}: {key}: {msg}", path.display(), line_of(text, span.start)))
    };
    let mut centers = BTreeMap::new();
    for (key, value) in finance {
        if key == ALLOCATION_KEY {
            continue;
        }
        match value.get_ref() {
            toml::Value::String(s) if !s.trim().is_empty() => {
                centers.insert(key.clone(), s.clone());
            }
            toml::Value::String(_) => {
                return Err(usage(format!("{}: finance.{key}: must not be empty", path.display())));
            }
            other => {
                return Err(at(
                    value.span(),
                    &format!("finance.{key}"),
                    &format!(
                        "a cost center must be a string, not {} (`{ALLOCATION_KEY}` is the only table of [finance])",
                        other.type_str()
                    ),
                ));
            }
        }
    }
    if !finance.contains_key(ALLOCATION_KEY) {
        return Ok((centers, None));
    }
    let only: OnlyFinance = toml::from_str(text).map_err(|e| {
        let msg = e.message();
        match e.span() {
            Some(s) => {
                usage(format!("{}:{}: finance.allocation: {msg}", path.display(), line_of(text, s.start)))
            }
            None => usage(format!("{}: finance.allocation: {msg}", path.display())),
        }
    })?;
    let raw = only.finance.allocation.unwrap_or_default();
    let tag = |v: &Option<Spanned<String>>, key: &str| -> Result<Option<String>> {
        match v {
            Some(s) if s.get_ref().is_empty() => Err(at(s.span(), key, "must not be empty")),
            Some(s) => Ok(Some(s.get_ref().clone())),
            None => Ok(None),
        }
    };
    let service_tag = tag(&raw.service_tag, "finance.allocation.service_tag")?;
    let team_tag = tag(&raw.team_tag, "finance.allocation.team_tag")?;
    let cost_column = match &raw.cost_column {
        Some(c) => c.get_ref().parse::<CostColumn>().map_err(|_| {
            at(
                c.span(),
                "finance.allocation.cost_column",
                &format!(
                    "{:?} is not one of EffectiveCost, BilledCost, ListCost, ContractedCost",
                    c.get_ref()
                ),
            )
        })?,
        None => CostColumn::default(),
    };
    let mut rules = Vec::new();
    for (i, rule) in raw.rule.iter().enumerate() {
        let key = |k: &str| format!("finance.allocation.rule[{i}].{k}");
        let field = rule.field.get_ref();
        field.parse::<CostField>().map_err(|_| {
            at(
                rule.field.span(),
                &key("field"),
                &format!("{field:?} is not one of ResourceName, ResourceId, ServiceName, SubAccountName"),
            )
        })?;
        let pattern = rule.pattern.get_ref();
        if let Err(e) = regex::Regex::new(pattern) {
            let first = e.to_string().lines().last().unwrap_or_default().trim().to_string();
            return Err(at(
                rule.pattern.span(),
                &key("pattern"),
                &format!("{pattern:?} is not a regular expression: {first}"),
            ));
        }
        let service = rule.service.get_ref();
        if service.trim().is_empty() {
            return Err(at(rule.service.span(), &key("service"), "must not be empty"));
        }
        rules.push(RuleSettings { field: field.clone(), pattern: pattern.clone(), service: service.clone() });
    }
    Ok((centers, Some(AllocationSettings { service_tag, team_tag, cost_column, rules })))
}

#[cfg(test)]
mod tests {
    use crate::config::parse;
    use std::path::Path;

    fn err(text: &str) -> String {
        parse(text, Path::new("dora.toml")).unwrap_err().to_string()
    }

    #[test]
    fn the_allocation_is_read_beside_the_cost_centers() {
        let c = parse(
            "[finance]\npayments = \"CC-1\"\n\n[finance.allocation]\nservice_tag = \"application\"\nteam_tag = \"business_unit\"\ncost_column = \"BilledCost\"\n\n[[finance.allocation.rule]]\nfield = \"ServiceName\"\npattern = \"Queue\"\nservice = \"messaging\"\n\n[[finance.allocation.rule]]\nfield = \"ResourceName\"\npattern = \"^db-\"\nservice = \"database\"\n",
            Path::new("dora.toml"),
        )
        .unwrap();
        assert_eq!(c.config.finance.len(), 1);
        assert_eq!(c.config.finance["payments"], "CC-1");
        let a = c.allocation.unwrap();
        assert_eq!(a.service_tag.as_deref(), Some("application"));
        assert_eq!(a.team_tag.as_deref(), Some("business_unit"));
        assert_eq!(a.cost_column, dora_core::cost::CostColumn::BilledCost);
        let allocation = a.allocation();
        assert_eq!(allocation.rules.len(), 2);
        assert_eq!(allocation.rules[1].service, "database");
        assert!(allocation.rules[0].pattern.is_match("Amazon Simple Queue Service"));
    }

    #[test]
    fn errors_name_the_line_and_key_path() {
        let rules = "[finance.allocation]\nservice_tag = \"app\"\n\n[[finance.allocation.rule]]\nfield = \"ServiceName\"\npattern = \"Queue\"\nservice = \"q\"\n\n[[finance.allocation.rule]]\nfield = \"ResourceName\"\npattern = \"(unclosed\"\nservice = \"db\"\n";
        let e = err(rules);
        assert!(
            e.starts_with(
                "dora.toml:11: finance.allocation.rule[1].pattern: \"(unclosed\" is not a regular expression"
            ),
            "{e}"
        );
        assert_eq!(
            err(
                "[finance.allocation]\n[[finance.allocation.rule]]\nfield = \"Name\"\npattern = \"x\"\nservice = \"q\"\n"
            ),
            "dora.toml:3: finance.allocation.rule[0].field: \"Name\" is not one of ResourceName, ResourceId, ServiceName, SubAccountName"
        );
        assert_eq!(
            err("[finance.allocation]\ncost_column = \"Cost\"\n"),
            "dora.toml:2: finance.allocation.cost_column: \"Cost\" is not one of EffectiveCost, BilledCost, ListCost, ContractedCost"
        );
        assert_eq!(
            err("[finance.allocation]\nservice_tag = \"\"\n"),
            "dora.toml:2: finance.allocation.service_tag: must not be empty"
        );
        assert_eq!(
            err(
                "[finance.allocation]\n[[finance.allocation.rule]]\nfield = \"ServiceName\"\npattern = \"x\"\nservice = \" \"\n"
            ),
            "dora.toml:5: finance.allocation.rule[0].service: must not be empty"
        );
        let e = err("[finance.allocation]\nservice_tags = \"x\"\n");
        assert!(e.starts_with("dora.toml:2: finance.allocation: unknown field `service_tags`"), "{e}");
        let e = err(
            "[finance.allocation]\n[[finance.allocation.rule]]\nfield = \"ServiceName\"\nservice = \"q\"\n",
        );
        assert!(e.starts_with("dora.toml:2: finance.allocation: missing field `pattern`"), "{e}");
        assert_eq!(
            err("[finance]\npayments = 3\n"),
            "dora.toml:2: finance.payments: a cost center must be a string, not integer (`allocation` is the only table of [finance])"
        );
        assert_eq!(err("[finance]\npayments = \"\"\n"), "dora.toml: finance.payments: must not be empty");
    }
}

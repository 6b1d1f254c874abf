//! Cloud cost beside delivery (METRICS.md section 7): cost rows, the rules
//! that allocate them to services and teams, and the cost of each group and
//! period.
//!
//! A [`CostRow`] is one charge of a billing export (a FOCUS row) or of a
//! cost-allocation API (an OpenCost allocation): an amount over a charge
//! period, in one currency, with the fields allocation looks at. An
//! [`Allocation`] says which service (and team) a row belongs to. Rows are
//! typed input, like events: an embedder can build them in code.
//!
//! - [`allocate`]: the team of a row (its service's, else its team tag).
//! - [`prorate`]: a row's amount spread over periods in proportion to time.
//! - [`totals`]: the [`CostAccumulator`] that sums rows one at a time per
//!   group and period, the [`CostTotals`] it gives, and [`Costs`], the
//!   engine's typed cost input ([`Options::costs`](crate::Options::costs)).

pub mod allocate;
pub mod prorate;
pub mod totals;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub mod focus;

pub use allocate::service_teams;
pub use totals::{CostAccumulator, CostSource, CostTotals, Costs, GroupCost};

/// One charge: `amount` over the charge period `[start, end)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    /// The charge period's start (FOCUS `ChargePeriodStart`).
    pub start: DateTime<Utc>,
    /// The charge period's end, exclusive (FOCUS `ChargePeriodEnd`); equal
    /// to `start` for a charge at one instant.
    pub end: DateTime<Utc>,
    /// The amount (FOCUS: the cost column, `EffectiveCost` by default);
    /// negative for credits.
    pub amount: f64,
    /// The currency (FOCUS `BillingCurrency`), as written (`USD`).
    pub currency: String,
    /// The row's tags (FOCUS `Tags`; OpenCost: the aggregate labels'
    /// values); `None` when the row has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<serde_json::Map<String, serde_json::Value>>,
    /// FOCUS `ResourceId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// FOCUS `ResourceName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// FOCUS `ServiceName` (the provider's service, such as "Amazon
    /// Simple Queue Service"; not a dora service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// FOCUS `SubAccountName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_account_name: Option<String>,
}

impl CostRow {
    /// The value of the field an allocation rule matches, `None` when the
    /// row has none.
    pub fn field(&self, field: CostField) -> Option<&str> {
        match field {
            CostField::ResourceName => self.resource_name.as_deref(),
            CostField::ResourceId => self.resource_id.as_deref(),
            CostField::ServiceName => self.service_name.as_deref(),
            CostField::SubAccountName => self.sub_account_name.as_deref(),
        }
    }

    /// The value of the tag `key` when it is a non-empty string (keys
    /// match exactly: case and spaces count).
    pub fn tag(&self, key: &str) -> Option<&str> {
        match self.tags.as_ref()?.get(key)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// A field of a cost row that an allocation rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CostField {
    /// FOCUS `ResourceName`.
    ResourceName,
    /// FOCUS `ResourceId`.
    ResourceId,
    /// FOCUS `ServiceName`.
    ServiceName,
    /// FOCUS `SubAccountName`.
    SubAccountName,
}

impl CostField {
    /// The FOCUS column name, as `dora.toml` spells the field.
    pub fn as_str(self) -> &'static str {
        match self {
            CostField::ResourceName => "ResourceName",
            CostField::ResourceId => "ResourceId",
            CostField::ServiceName => "ServiceName",
            CostField::SubAccountName => "SubAccountName",
        }
    }
}

impl fmt::Display for CostField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CostField {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ResourceName" => Ok(CostField::ResourceName),
            "ResourceId" => Ok(CostField::ResourceId),
            "ServiceName" => Ok(CostField::ServiceName),
            "SubAccountName" => Ok(CostField::SubAccountName),
            _ => Err(Error::option(
                "field",
                format!("{s:?} is not one of ResourceName, ResourceId, ServiceName, SubAccountName"),
            )),
        }
    }
}

/// The FOCUS column a row's amount is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CostColumn {
    /// `EffectiveCost`: the amortized cost after discounts (the default).
    #[default]
    EffectiveCost,
    /// `BilledCost`: what the invoice charges.
    BilledCost,
    /// `ListCost`: at list prices.
    ListCost,
    /// `ContractedCost`: at the negotiated prices.
    ContractedCost,
}

impl CostColumn {
    /// The FOCUS column name.
    pub fn as_str(self) -> &'static str {
        match self {
            CostColumn::EffectiveCost => "EffectiveCost",
            CostColumn::BilledCost => "BilledCost",
            CostColumn::ListCost => "ListCost",
            CostColumn::ContractedCost => "ContractedCost",
        }
    }
}

impl fmt::Display for CostColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CostColumn {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "EffectiveCost" => Ok(CostColumn::EffectiveCost),
            "BilledCost" => Ok(CostColumn::BilledCost),
            "ListCost" => Ok(CostColumn::ListCost),
            "ContractedCost" => Ok(CostColumn::ContractedCost),
            _ => Err(Error::option(
                "cost_column",
                format!("{s:?} is not one of EffectiveCost, BilledCost, ListCost, ContractedCost"),
            )),
        }
    }
}

/// One ordered allocation rule (`[[finance.allocation.rule]]`): a row
/// whose `field` matches `pattern` (anywhere in the value) belongs to
/// `service`.
#[derive(Debug, Clone)]
pub struct AllocationRule {
    /// The field matched.
    pub field: CostField,
    /// The regular expression, matched anywhere in the field's value.
    pub pattern: regex::Regex,
    /// The service a matching row belongs to.
    pub service: String,
}

/// How cost rows are allocated to services and teams
/// (`[finance.allocation]`; METRICS.md section 7, "Allocation").
#[derive(Debug, Clone, Default)]
pub struct Allocation {
    /// The tag whose value names a row's service.
    pub service_tag: Option<String>,
    /// The tag whose value names a row's team when its service gives none.
    pub team_tag: Option<String>,
    /// The rules, tried in order after the service tag.
    pub rules: Vec<AllocationRule>,
}

/// The service of rows that neither a tag nor a rule allocates.
pub const UNALLOCATED: &str = "unallocated";

impl Allocation {
    /// The service `row` belongs to: its `service_tag` tag's value when
    /// that is a non-empty string; else the `service` of the first rule
    /// whose pattern matches the row's field (a null field matches no
    /// rule); else [`UNALLOCATED`].
    pub fn service_of<'a>(&'a self, row: &'a CostRow) -> &'a str {
        if let Some(service) = self.service_tag.as_deref().and_then(|key| row.tag(key)) {
            return service;
        }
        self.rules
            .iter()
            .find(|rule| row.field(rule.field).is_some_and(|value| rule.pattern.is_match(value)))
            .map_or(UNALLOCATED, |rule| rule.service.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tags: serde_json::Value, resource_name: Option<&str>) -> CostRow {
        CostRow {
            start: "2024-09-01T00:00:00Z".parse().unwrap(),
            end: "2024-09-01T01:00:00Z".parse().unwrap(),
            amount: 1.5,
            currency: "USD".into(),
            tags: tags.as_object().cloned(),
            resource_id: None,
            resource_name: resource_name.map(str::to_string),
            service_name: Some("Amazon Simple Queue Service".into()),
            sub_account_name: None,
        }
    }

    #[test]
    fn a_row_is_allocated_by_its_tag_then_the_first_matching_rule_else_unallocated() {
        let allocation = Allocation {
            service_tag: Some("application".into()),
            team_tag: None,
            rules: vec![
                AllocationRule {
                    field: CostField::ResourceName,
                    pattern: regex::Regex::new("^checkout-").unwrap(),
                    service: "checkout".into(),
                },
                AllocationRule {
                    field: CostField::ServiceName,
                    pattern: regex::Regex::new("Queue").unwrap(),
                    service: "queues".into(),
                },
            ],
        };
        let tagged = row(serde_json::json!({"application": "api"}), Some("checkout-db"));
        assert_eq!(allocation.service_of(&tagged), "api");
        // An empty tag value or a key differing in case does not count.
        let empty_tag = row(serde_json::json!({"application": "", "Application": "x"}), Some("checkout-db"));
        assert_eq!(allocation.service_of(&empty_tag), "checkout");
        // A null field matches no rule; the next rule still can.
        let no_name = row(serde_json::Value::Null, None);
        assert_eq!(allocation.service_of(&no_name), "queues");
        let mut other = row(serde_json::Value::Null, Some("billing-db"));
        other.service_name = None;
        assert_eq!(allocation.service_of(&other), UNALLOCATED);
    }

    #[test]
    fn fields_and_columns_are_spelled_as_focus_spells_them() {
        for field in [
            CostField::ResourceName,
            CostField::ResourceId,
            CostField::ServiceName,
            CostField::SubAccountName,
        ] {
            assert_eq!(field.as_str().parse::<CostField>().unwrap(), field);
        }
        for column in [
            CostColumn::EffectiveCost,
            CostColumn::BilledCost,
            CostColumn::ListCost,
            CostColumn::ContractedCost,
        ] {
            assert_eq!(column.as_str().parse::<CostColumn>().unwrap(), column);
        }
        assert!("resourcename".parse::<CostField>().is_err());
        assert!("Cost".parse::<CostColumn>().is_err());
    }
}

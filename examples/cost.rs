//! Embedding `dora-core` with cloud costs: events and cost rows built in
//! code, allocated to services by a tag and a rule, and the cost of each
//! group and week beside its deployments (METRICS.md section 7).
//!
//!     cargo run -p dora-core --example cost

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use dora_core::cost::{Allocation, AllocationRule, CostField, CostRow, Costs};
use dora_core::finance::FinanceTable;
use dora_core::render::{FinanceCsvOptions, write_finance_csv};
use dora_core::{Deployment, DeploymentStatus, EventSet, GroupKind, Options, Window, compute};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monday = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let mut events = EventSet::new();
    for (i, day) in [0, 1, 3, 8, 9].into_iter().enumerate() {
        events.push(Deployment {
            team: Some("commerce".into()),
            ..Deployment::new(
                format!("d{i}"),
                "checkout",
                "production",
                monday + Duration::days(day) + Duration::hours(14),
                DeploymentStatus::Success,
            )
        });
    }

    // One row a day for the checkout database (allocated by a rule on its
    // resource name) and for a tagged queue; a shared NAT gateway nobody
    // owns; a credit.
    let mut rows = Vec::new();
    for day in 0..14 {
        let start = monday + Duration::days(day);
        let base = CostRow {
            start,
            end: start + Duration::days(1),
            amount: 12.40,
            currency: "USD".into(),
            tags: None,
            resource_id: None,
            resource_name: Some("checkout-db-primary".into()),
            service_name: Some("Amazon Relational Database Service".into()),
            sub_account_name: Some("prod".into()),
        };
        rows.push(base.clone());
        rows.push(CostRow {
            amount: 1.75,
            tags: serde_json::json!({"service": "checkout"}).as_object().cloned(),
            resource_name: Some("orders-queue".into()),
            service_name: Some("Amazon Simple Queue Service".into()),
            ..base.clone()
        });
        rows.push(CostRow {
            amount: 3.10,
            tags: serde_json::json!({"team": "platform"}).as_object().cloned(),
            resource_name: Some("nat-gateway-1".into()),
            service_name: Some("Amazon Virtual Private Cloud".into()),
            ..base
        });
    }
    rows.push(CostRow {
        start: monday + Duration::days(10),
        end: monday + Duration::days(10),
        amount: -20.0,
        currency: "USD".into(),
        tags: serde_json::json!({"service": "checkout"}).as_object().cloned(),
        resource_id: None,
        resource_name: None,
        service_name: None,
        sub_account_name: None,
    });

    let allocation = Allocation {
        service_tag: Some("service".into()),
        team_tag: Some("team".into()),
        rules: vec![AllocationRule {
            field: CostField::ResourceName,
            pattern: regex::Regex::new("^checkout-")?,
            service: "checkout".into(),
        }],
    };
    let mut options = Options::new(Window::new(monday, monday + Duration::days(14))?);
    options.costs = Some(Costs::from_rows(allocation, rows));

    let report = compute(&events, &options)?.report;
    for g in &report.groups {
        let who = match g.group_by {
            GroupKind::All => "all".to_string(),
            kind => format!("{} {}", kind.as_str(), g.name),
        };
        for p in &g.periods {
            let Some(cost) = &p.cost else { continue };
            let per = cost.per_deployment.map_or("-".to_string(), |v| format!("{v:.2}"));
            println!(
                "{who:<22} week of {}: {:>8.2} {} for {} deployments ({per} per deployment)",
                p.start.format("%Y-%m-%d"),
                cost.amount,
                cost.currency,
                p.figures.deployments
            );
        }
    }

    println!();
    let table = FinanceTable::compute(&events, &options, &BTreeMap::new())?;
    write_finance_csv(&table, std::io::stdout().lock(), FinanceCsvOptions::default())?;
    Ok(())
}

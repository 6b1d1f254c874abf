//! Normalization against GitLab's recorded responses in
//! `../shared/fixtures/peer` (read from there, never copied; the tests say
//! so and pass when the folder is absent), and DevLake's expected rows for
//! the same deployments.

use serde::de::DeserializeOwned;

use super::*;
use crate::gitlab::model::GlCommit;
use crate::test_support::{peer_json as fixture, peer_text as peer};

/// The API bodies DevLake recorded (the `data` column of its raw tables).
fn devlake_raw<T: DeserializeOwned>(path: &str) -> Option<Vec<T>> {
    let text = peer(path)?;
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let data = headers.iter().position(|h| h == "data").unwrap();
    Some(
        rows.records()
            .map(|r| serde_json::from_str(&r.unwrap()[data]).unwrap_or_else(|e| panic!("{path}: {e}")))
            .collect(),
    )
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[test]
fn deployments_agree_with_devlakes_expected_rows() {
    let Some(raw) =
        devlake_raw::<GlDeployment>("devlake/adapters/gitlab_deployment/_raw_gitlab_api_deployments.csv")
    else {
        return;
    };
    let expected = peer("devlake/adapters/gitlab_deployment/cicd_deployments.csv").unwrap();
    let mut rows = csv::Reader::from_reader(expected.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (id, result, finished) = (col("id"), col("result"), col("finished_date"));
    let mut checked = 0;
    for row in rows.records() {
        let row = row.unwrap();
        let dep_id: u64 = row[id].rsplit(':').next().unwrap().parse().unwrap();
        let d = raw.iter().find(|d| d.id == dep_id).unwrap();
        let attempt = Attempt::from_deployment(d);
        match &row[result] {
            "SUCCESS" => {
                assert_eq!(attempt.as_ref().map(|a| a.status), Some(DeploymentStatus::Success), "{dep_id}")
            }
            "FAILURE" => {
                assert_eq!(attempt.as_ref().map(|a| a.status), Some(DeploymentStatus::Failure), "{dep_id}")
            }
            _ => assert!(attempt.is_none(), "{dep_id}: {} is not finished", d.status),
        }
        if let Some(a) = &attempt {
            match row[finished].is_empty() {
                // DevLake's finish is the job's; so is dora's.
                false => assert_eq!(a.finished_at, at(&row[finished].replace("+00:00", "Z")), "{dep_id}"),
                // A skipped job has no finish: DevLake leaves the time empty,
                // dora takes the deployment's status transition.
                true => assert_eq!(Some(a.finished_at), d.updated_at, "{dep_id}"),
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 8);
    // The deployment succeeded while its job failed: the deployment decides.
    let d = raw.iter().find(|d| d.id == 13426753).unwrap();
    assert_eq!(d.deployable.as_ref().unwrap().status.as_deref(), Some("failed"));
    assert_eq!(Attempt::from_deployment(d).unwrap().status, DeploymentStatus::Success);
}

#[test]
fn gitlab_docs_deployments_and_environments() {
    let Some(list) = fixture::<Vec<GlDeployment>>("gitlab_docs/deployments_list.json") else { return };
    // Both `created` (their jobs succeeded, the deployments are not finished).
    assert!(list.iter().all(|d| Attempt::from_deployment(d).is_none()));
    let one: GlDeployment = fixture("gitlab_docs/deployment_get.json").unwrap();
    let a = Attempt::from_deployment(&one).unwrap();
    assert_eq!(a.status, DeploymentStatus::Success);
    // The job finished 86 s before the deployment's last update: the job wins.
    assert_eq!(a.finished_at, at("2016-08-11T11:32:35.145Z"));
    assert_eq!(one.updated_at, Some(at("2016-08-11T11:34:01.123Z")));
    let project = ForgeContext::new("gitlab", "acme/platform/api", None, None);
    let event = deployment(&project, &a, vec![], DeploymentType::Regular, vec![]);
    assert_eq!(event.id, "gitlab:acme/platform/api:deployment:42");
    assert_eq!(event.service, "api");
    assert_eq!(event.environment, "production");
    let envs: Vec<crate::gitlab::model::GlEnvironment> =
        fixture("gitlab_docs/environments_list.json").unwrap();
    assert_eq!(envs[0].tier.as_deref(), Some("development"));
}

#[test]
fn merge_request_times_with_offsets_become_utc() {
    let Some(mr) = fixture::<GlMergeRequest>("gitlab_rust_gitlab/merge_request.json") else { return };
    let commit: GlCommit = fixture("gitlab_rust_gitlab/repo_commit_detail.json").unwrap();
    assert_eq!(commit.committed(), Some(at("2016-11-08T14:30:13Z")));
    // A fast-forward merge (no merge or squash commit): its commits decide.
    let own = GlCommit { id: mr.sha.clone().unwrap(), ..commit.clone() };
    let shipped = ShippedMergeRequests::new(vec![(mr.clone(), vec![own.clone()])]);
    let c = change(&ForgeContext::new("gitlab", "utils/rust-gitlab", None, None), &own, shipped.of(&own.id))
        .unwrap();
    let pr = c.pull_request.unwrap();
    assert_eq!(pr.number, Some(35));
    assert_eq!(pr.opened_at, Some(at("2016-10-04T19:56:43.276Z")));
    assert_eq!(pr.merged_at, Some(at("2016-10-04T20:18:57.914Z")));
    assert_eq!(pr.first_commit_at, Some(at("2016-11-08T14:30:13Z")));
    assert!(shipped.of(&commit.id).is_none(), "not one of its commits");
    // A commit without any time is no change.
    let bare: GlCommit = fixture("gitlab_go_gitlab/get_commit.json").unwrap();
    assert!(change(&ForgeContext::new("gitlab", "a/b", None, None), &bare, None).is_none());
}

#[test]
fn squash_and_merge_commits_belong_to_their_merge_request() {
    let mr = |iid: u64, merge: Option<&str>, squash: Option<&str>| GlMergeRequest {
        iid,
        title: "t".into(),
        state: "merged".into(),
        created_at: at("2026-03-01T10:00:00Z"),
        merged_at: Some(at("2026-03-02T10:00:00Z")),
        merge_commit_sha: merge.map(Into::into),
        squash_commit_sha: squash.map(Into::into),
        sha: None,
        source_branch: "hotfix/x".into(),
        labels: vec!["backend".into()],
    };
    let commit = |id: &str, t: &str| GlCommit {
        id: id.into(),
        title: String::new(),
        authored_date: Some(at(t)),
        committed_date: Some(at(t)),
        created_at: None,
    };
    let shipped = ShippedMergeRequests::new(vec![
        (
            mr(1, Some("m1"), Some("s1")),
            vec![commit("a", "2026-02-27T10:00:00Z"), commit("b", "2026-02-26T10:00:00Z")],
        ),
        (mr(2, None, None), vec![commit("c", "2026-02-28T10:00:00Z")]),
    ]);
    for sha in ["m1", "s1", "a", "b"] {
        let (m, first) = shipped.of(sha).unwrap();
        assert_eq!(m.iid, 1);
        assert_eq!(first, Some(at("2026-02-26T10:00:00Z")), "the earliest authored commit");
    }
    assert_eq!(shipped.of("c").unwrap().0.iid, 2);
    let labels = shipped.labels();
    let requests = shipped.shipped(&labels);
    assert!(crate::hotfix::HotfixRule::default().matches("main", None, &requests));
}

/// The batched path: a deployment ships the merge requests that own one of
/// its commits, out of the project's merged ones, with the commits a
/// GraphQL answer lists (numbers as strings, times with offsets).
#[test]
fn merge_requests_owning_a_deployments_commits_from_graphql_commits() {
    let answer = serde_json::json!({"iid": "35", "commits": {
        "pageInfo": {"hasNextPage": false},
        "nodes": [
            {"sha": "ab", "authoredDate": "2026-02-27T06:00:00-04:00", "committedDate": "2026-02-27T07:00:00-04:00"},
            {"sha": "cd", "authoredDate": null, "committedDate": "2026-02-26T10:00:00Z"}]}});
    let (iid, commits, more) = merge_request_commits(&answer).unwrap();
    assert_eq!((iid, more), (35, false));
    assert_eq!(commits[0].authored_date, Some(at("2026-02-27T10:00:00Z")));
    assert_eq!(commits[1].committed(), Some(at("2026-02-26T10:00:00Z")));
    assert!(merge_request_commits(&serde_json::json!({"commits": {}})).is_none(), "no number");
    let more = serde_json::json!({"iid": 36, "commits": {"pageInfo": {"hasNextPage": true}, "nodes": []}});
    assert!(merge_request_commits(&more).unwrap().2);

    let mr = |iid: u64, squash: Option<&str>| GlMergeRequest {
        iid,
        title: "t".into(),
        state: "merged".into(),
        created_at: at("2026-02-20T10:00:00Z"),
        merged_at: Some(at("2026-02-28T10:00:00Z")),
        merge_commit_sha: None,
        squash_commit_sha: squash.map(Into::into),
        sha: None,
        source_branch: "basket".into(),
        labels: vec![],
    };
    let shipped_commit = |id: &str| GlCommit {
        id: id.into(),
        title: String::new(),
        authored_date: None,
        committed_date: Some(at("2026-02-28T10:00:00Z")),
        created_at: None,
    };
    let all = vec![(mr(35, Some("sq")), commits), (mr(40, None), vec![shipped_commit("zz")])];
    let shipped = ShippedMergeRequests::owning(&all, &[shipped_commit("sq"), shipped_commit("c2")]);
    let (m, first) = shipped.of("sq").unwrap();
    assert_eq!(m.iid, 35);
    assert_eq!(first, Some(at("2026-02-26T10:00:00Z")), "the committed time when none was authored");
    assert!(shipped.of("c2").is_none());
    assert_eq!(shipped.labels().len(), 1, "!40 shipped nothing of these");
    assert!(ShippedMergeRequests::owning(&all, &[shipped_commit("c2")]).is_empty());
}

#[test]
fn incidents_from_issues_and_timelines() {
    let Some(mut value) = fixture::<serde_json::Value>("gitlab_rust_gitlab/issue.json") else { return };
    let issue: GlIssue = serde_json::from_value(value.clone()).unwrap();
    let root = Regex::new(ROOT_CAUSE_PATTERN).unwrap();
    let project = ForgeContext::new("gitlab", "utils/rust-gitlab", None, None);
    assert!(incident(&project, &issue, &[], &root, &[]).is_none(), "an ordinary issue");
    // The same issue labelled as an incident by configuration: closed,
    // without `closed_at` (an old server), so resolved at its last update.
    let by_label = incident(&project, &issue, &["AREA:DOC".into()], &root, &[]).unwrap();
    assert_eq!(by_label.opened_at, at("2016-10-30T18:54:28.954Z"));
    assert_eq!(by_label.resolved_at, Some(at("2019-07-17T13:53:48.869Z")));
    // Typed as an incident, with a root cause, a severity and a timeline.
    value["issue_type"] = "incident".into();
    value["severity"] = "HIGH".into();
    value["description"] = "Checkout failed.\n\nRoot cause: 0abc1234def\n".into();
    value["closed_at"] = "2016-10-31T10:00:00Z".into();
    let typed: GlIssue = serde_json::from_value(value).unwrap();
    let timeline = timeline_events(&serde_json::json!([
        {"occurredAt": "2016-10-30T18:40:00Z", "timelineEventTags": {"nodes": [{"name": "Start time"}]}},
        {"occurredAt": "2016-10-30T20:00:00Z", "timelineEventTags": {"nodes": [{"name": "Impact mitigated"}]}},
        {"occurredAt": "2016-10-31T09:00:00Z", "timelineEventTags": {"nodes": [{"name": "End time"}]}},
        {"occurredAt": "not a time"},
    ]));
    assert_eq!(timeline.len(), 3);
    let i = incident(&project, &typed, &[], &root, &timeline).unwrap();
    assert_eq!(i.id, "gitlab:utils/rust-gitlab:issue:6");
    assert_eq!(i.caused_by_change.as_deref(), Some("0abc1234def"));
    assert_eq!(i.severity.as_deref(), Some("high"));
    assert_eq!(i.opened_at, at("2016-10-30T18:40:00Z"), "the timeline's start");
    assert_eq!(i.resolved_at, Some(at("2016-10-31T09:00:00Z")), "the timeline's end");
    let plain = incident(&project, &typed, &[], &root, &[]).unwrap();
    assert_eq!(plain.resolved_at, Some(at("2016-10-31T10:00:00Z")));
    // DevLake's recorded issues are all plain issues.
    if let Some(issues) = devlake_raw::<GlIssue>("devlake/adapters/gitlab_issues/_raw_gitlab_api_issues.csv")
    {
        assert_eq!(issues.len(), 16);
        assert!(issues.iter().all(|i| incident(&project, i, &[], &root, &[]).is_none()));
    }
}

#[test]
fn statuses() {
    for (s, want) in [
        ("success", Some(DeploymentStatus::Success)),
        ("COMPLETED", Some(DeploymentStatus::Success)),
        ("failed", Some(DeploymentStatus::Failure)),
        ("canceled", Some(DeploymentStatus::Failure)),
        ("created", None),
        ("running", None),
        ("blocked", None),
        ("skipped", None),
    ] {
        assert_eq!(outcome(s), want, "{s}");
    }
}

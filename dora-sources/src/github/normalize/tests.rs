//! Normalization against GitHub's recorded responses in
//! `../shared/fixtures/peer` (read from there, never copied; the tests say
//! so and pass when the folder is absent), plus hand-made edge cases.

use super::*;
use crate::github::model::{GhBranch, GhLabel};
use crate::test_support::peer_json as fixture;

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn status(id: u64, state: GhStatusState, t: &str) -> GhDeploymentStatus {
    GhDeploymentStatus { id, state, created_at: at(t) }
}

#[test]
fn the_latest_terminal_status_decides() {
    use GhStatusState::*;
    let s = |v: &[(GhStatusState, &str)]| -> Vec<GhDeploymentStatus> {
        v.iter().enumerate().map(|(i, (st, t))| status(i as u64, *st, t)).collect()
    };
    assert_eq!(
        deployment_outcome(&s(&[
            (Pending, "2026-03-02T10:00:00Z"),
            (Success, "2026-03-02T10:05:00Z"),
            (Inactive, "2026-03-03T09:00:00Z")
        ])),
        Some((DeploymentStatus::Success, at("2026-03-02T10:05:00Z"))),
        "inactive after a success stays a success"
    );
    assert_eq!(
        deployment_outcome(&s(&[(Queued, "2026-03-02T10:00:00Z"), (InProgress, "2026-03-02T10:01:00Z")])),
        None
    );
    assert_eq!(
        deployment_outcome(&s(&[(Error, "2026-03-02T10:04:00Z")])),
        Some((DeploymentStatus::Failure, at("2026-03-02T10:04:00Z"))),
        "error counts as failure"
    );
    assert_eq!(
        deployment_outcome(&s(&[(Success, "2026-03-02T10:05:00Z"), (Failure, "2026-03-02T10:09:00Z")])),
        Some((DeploymentStatus::Failure, at("2026-03-02T10:09:00Z"))),
    );
    // Statuses arrive newest first from the API: order does not matter.
    let mut rev = s(&[(InProgress, "2026-03-02T10:00:00Z"), (Success, "2026-03-02T10:05:00Z")]);
    rev.reverse();
    assert_eq!(deployment_outcome(&rev).map(|o| o.0), Some(DeploymentStatus::Success));
}

#[test]
fn recorded_deployments_and_statuses() {
    let Some(deps): Option<Vec<GhDeployment>> =
        fixture("github_openapi_examples/repos__list-deployments.200.default.json")
    else {
        return;
    };
    let statuses: Vec<GhDeploymentStatus> =
        fixture("github_openapi_examples/repos__list-deployment-statuses.200.default.json").unwrap();
    let repo = ForgeContext::new("github", "octocat/example", None, None);
    let outcome = deployment_outcome(&statuses).expect("a terminal status");
    let d = deployment(
        &repo,
        &Attempt::from_deployment(&deps[0], outcome),
        vec![],
        DeploymentType::Regular,
        vec![],
    );
    assert_eq!(d.id, "github:octocat/example:deployment:1");
    assert_eq!(d.service, "example");
    assert_eq!(d.environment, "production");
    assert_eq!(d.commit.as_deref(), Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d"));
    assert_eq!(d.status, DeploymentStatus::Success);
    // The webhook deliveries carry the same objects.
    let delivery: Option<serde_json::Value> =
        fixture("github_webhooks_octokit/deployment_status__payload.json");
    if let Some(v) = delivery {
        let s: GhDeploymentStatus = serde_json::from_value(v["deployment_status"].clone()).unwrap();
        let d: GhDeployment = serde_json::from_value(v["deployment"].clone()).unwrap();
        assert!(deployment_outcome(&[s]).is_some() || d.id > 0);
    }
}

#[test]
fn recorded_compare_commits_and_pull_requests() {
    let Some(compare): Option<GhCompare> =
        fixture("github_openapi_examples/repos__compare-commits.200.default.json")
    else {
        return;
    };
    assert_eq!(compare.status, "behind");
    assert!(!is_strict_ancestor(&compare), "ahead by 1: diverged history, not an older version");
    let older = GhCompare {
        status: "behind".into(),
        ahead_by: 0,
        behind_by: 3,
        total_commits: 0,
        commits: vec![],
        files: vec![],
    };
    assert!(is_strict_ancestor(&older));
    let pulls: Vec<GhPullRequest> =
        fixture("github_openapi_examples/repos__list-pull-requests-associated-with-commit.200.default.json")
            .unwrap();
    let repo = ForgeContext::new("github", "octocat/Hello-World", None, None);
    let c = change(&repo, &compare.commits[0], pulls.first(), Some(at("2011-01-20T00:00:00Z"))).unwrap();
    assert_eq!(c.id, compare.commits[0].sha);
    assert_eq!(c.committed_at, compare.commits[0].commit.committer.as_ref().unwrap().date.unwrap());
    let pr = c.pull_request.unwrap();
    assert_eq!(pr.number, Some(pulls[0].number));
    assert_eq!(pr.opened_at, Some(pulls[0].created_at));
    assert_eq!(pr.first_commit_at, Some(at("2011-01-20T00:00:00Z")));
    // octocrab's recorded responses parse too.
    if let Some(c) = fixture::<GhCompare>("octocrab/repo_compare_commits.json") {
        assert_eq!(c.commits.len() as u64, c.total_commits.min(c.commits.len() as u64));
    }
    if let Some(commits) = fixture::<Vec<GhCommit>>("octocrab/pull_request_commits.json") {
        assert!(commits.iter().all(|c| change(&repo, c, None, None).is_some()));
    }
    if let Some(commits) = fixture::<Vec<GhCommit>>("octocrab/pull_request_commits_empty_author_object.json")
    {
        assert!(!commits.is_empty());
    }
}

#[test]
fn incidents_from_labelled_issues_with_a_root_cause() {
    let root = Regex::new(ROOT_CAUSE_PATTERN).unwrap();
    let labels = vec!["incident".to_string()];
    let repo = ForgeContext::new("github", "acme/api", None, None);
    let issue = GhIssue {
        number: 7,
        title: "Checkout down".into(),
        body: Some("We rolled back.\n\nRoot cause: 6dcb09b5b57875f334f61aebed695e2e4193db5e\n".into()),
        created_at: at("2026-03-02T13:00:00Z"),
        closed_at: Some(at("2026-03-02T14:30:00Z")),
        updated_at: None,
        labels: vec![GhLabel::Object { name: "Incident".into() }, GhLabel::Name("sev2".into())],
        pull_request: None,
    };
    let i = incident(&repo, &issue, &labels, &root).unwrap();
    assert_eq!(i.id, "github:acme/api:issue:7");
    assert_eq!(i.caused_by_change.as_deref(), Some("6dcb09b5b57875f334f61aebed695e2e4193db5e"));
    assert_eq!(i.severity.as_deref(), Some("sev2"));
    assert_eq!(i.resolved_at, Some(at("2026-03-02T14:30:00Z")));
    let unlabelled = GhIssue { labels: vec![], ..issue.clone() };
    assert!(incident(&repo, &unlabelled, &labels, &root).is_none());
    if let Some(issues) =
        fixture::<Vec<GhIssue>>("github_openapi_examples/issues__list-for-repo.200.default.json")
    {
        // The recorded issue is a pull request: never an incident.
        assert!(issues[0].pull_request.is_some());
        assert!(incident(&repo, &issues[0], &["bug".into()], &root).is_none());
        let as_issue = GhIssue { pull_request: None, ..issues[0].clone() };
        let i = incident(&repo, &as_issue, &["bug".into()], &root).unwrap();
        assert_eq!(i.caused_by_change, None);
    }
}

#[test]
fn workflow_runs_and_releases() {
    let repo = ForgeContext::new("github", "acme/api", None, None);
    if let Some(v) = fixture::<serde_json::Value>(
        "github_openapi_examples/actions__list-workflow-runs-for-repo.200.default.json",
    ) {
        let runs: Vec<GhWorkflowRun> = serde_json::from_value(v["workflow_runs"].clone()).unwrap();
        assert!(!runs.is_empty());
    }
    let run = GhWorkflowRun {
        id: 30433642,
        name: Some("deploy".into()),
        path: Some(".github/workflows/deploy.yml".into()),
        head_sha: "acb5820ced9479c074f688cc328bf03f341a511d".into(),
        head_branch: Some("main".into()),
        status: Some("completed".into()),
        conclusion: Some("failure".into()),
        created_at: at("2026-03-02T10:00:00Z"),
        updated_at: at("2026-03-02T10:09:00Z"),
        run_started_at: Some(at("2026-03-02T10:01:00Z")),
    };
    let a = Attempt::from_workflow_run(&run, "production").unwrap();
    let d = deployment(&repo, &a, vec![], DeploymentType::Regular, vec![]);
    assert_eq!(d.id, "github:acme/api:run:30433642");
    assert_eq!((d.status, d.finished_at), (DeploymentStatus::Failure, at("2026-03-02T10:09:00Z")));
    let cancelled = GhWorkflowRun { conclusion: Some("cancelled".into()), ..run.clone() };
    assert!(Attempt::from_workflow_run(&cancelled, "production").is_none());
    let running = GhWorkflowRun { status: Some("in_progress".into()), conclusion: None, ..run };
    assert!(Attempt::from_workflow_run(&running, "production").is_none());
    if let Some(releases) =
        fixture::<Vec<GhRelease>>("github_openapi_examples/repos__list-releases.200.default.json")
    {
        let a = Attempt::from_release(&releases[0], SHA, "production");
        assert_eq!(a.is_some(), !releases[0].draft && releases[0].published_at.is_some());
        if let Some(a) = a {
            assert_eq!(
                deployment(&repo, &a, vec![], DeploymentType::Regular, vec![]).commit.as_deref(),
                Some(SHA)
            );
        }
    }
}

#[test]
fn hotfixes_by_branch_title_or_label() {
    let rule = HotfixRule::default();
    let pr = |branch: &str, title: &str, labels: &[&str]| GhPullRequest {
        number: 1,
        title: title.into(),
        created_at: at("2026-03-02T10:00:00Z"),
        merged_at: None,
        merge_commit_sha: None,
        head: GhBranch { name: branch.into() },
        labels: labels.iter().map(|l| GhLabel::Name(l.to_string())).collect(),
    };
    assert!(is_hotfix(&rule, "hotfix/login", None, &[]));
    assert!(is_hotfix(&rule, "main", Some("Hotfix for checkout"), &[]));
    assert!(is_hotfix(&rule, "main", None, &[&pr("fix-1", "x", &["HotFix"])]));
    assert!(is_hotfix(&rule, "main", None, &[&pr("hot-fix-2", "x", &[])]));
    assert!(!is_hotfix(&rule, "main", Some("regular deploy"), &[&pr("feature/a", "Add a thing", &["bug"])]));
}

#[test]
fn changed_files_map_to_services_on_both_sides_of_a_rename() {
    use crate::PathServices;
    let map = PathServices::new([("services/api", "api"), ("services/web/", "web")]);
    let file = |name: &str, old: Option<&str>| GhFile {
        filename: name.into(),
        previous_filename: old.map(Into::into),
    };
    let files = [file("services/web/a.ts", Some("services/api/a.ts")), file("docs/x.md", None)];
    let touched = map.services_of(file_paths(&files), "platform");
    assert_eq!(touched.into_iter().collect::<Vec<_>>(), ["api", "platform", "web"]);
    // A recorded commit's files.
    if let Some(commit) = fixture::<GhCommit>("github_openapi_examples/repos__get-commit.200.default.json") {
        let one = PathServices::new([("file1.txt", "one")]).services_of(file_paths(&commit.files), "repo");
        assert_eq!(one.into_iter().collect::<Vec<_>>(), ["one"]);
    }
}

#[test]
fn tags_from_graphql_nodes() {
    use crate::github::model::GhTag;
    let lightweight = serde_json::json!({"name": "v1", "target": {"__typename": "Commit", "oid": "abc",
        "committedDate": "2026-03-02T10:00:00Z"}});
    let tag = GhTag::from_graphql(&lightweight).unwrap();
    let attempt = Attempt::from_tag(&tag, "production").unwrap();
    assert_eq!((attempt.kind, attempt.id.as_str(), attempt.sha.as_str()), ("tag", "v1", "abc"));
    assert_eq!(attempt.finished_at, at("2026-03-02T10:00:00Z"));
    let annotated = serde_json::json!({"name": "v2", "target": {"__typename": "Tag", "oid": "t",
        "tagger": {"date": "2026-03-03T10:00:00+02:00"},
        "target": {"__typename": "Commit", "oid": "def", "committedDate": "2026-03-02T10:00:00Z"}}});
    let attempt = Attempt::from_tag(&GhTag::from_graphql(&annotated).unwrap(), "prod").unwrap();
    assert_eq!(attempt.finished_at, at("2026-03-03T08:00:00Z"));
    assert_eq!(attempt.sha, "def");
    // A tag of a tree, or with no name, is no deployment.
    let tree = serde_json::json!({"name": "t", "target": {"__typename": "Tag", "oid": "t",
        "target": {"__typename": "Tree", "oid": "x"}}});
    assert!(GhTag::from_graphql(&tree).is_none());
    assert!(GhTag::from_graphql(&serde_json::json!({"target": null})).is_none());
}

//! The conversion of `[[source]]` tables: each error names the file, the
//! line, the source and the key, and never shows a secret.

use std::path::Path;

use anyhow::Result;

use super::github::GithubStrategy;
use super::kubernetes::{Forge, ForgeRepository, Repository};
use super::*;
use crate::config::parse;

fn sources(text: &str) -> Result<Vec<SourceSettings>> {
    parse(text, Path::new("dora.toml")).map(|loaded| loaded.sources)
}

fn err(text: &str) -> String {
    sources(text).unwrap_err().to_string()
}

/// A table of `kind` named after it, with `keys` (one a line).
fn table(kind: &str, keys: &str) -> String {
    format!("[[source]]\nkind = \"{kind}\"\nname = \"{kind}\"\n{keys}")
}

fn gh(keys: &str) -> String {
    table("github", &format!("repos = [\"acme/api\"]\n{keys}"))
}

fn gl(keys: &str) -> String {
    table("gitlab", &format!("projects = [\"acme/api\"]\n{keys}"))
}

fn k8s(keys: &str) -> String {
    table("kubernetes", keys)
}

#[test]
fn an_unknown_key_is_an_error_that_names_it_and_the_known_ones() {
    assert_eq!(
        err(&table("file", "paths = [\"x\"]\npathz = 1\n")),
        "dora.toml:5: source[0]: unknown field `pathz`, expected one of `name`, `kind`, `paths`, `skip_bad_lines`"
    );
    for (text, start) in [
        (gh("repo = \"acme/web\"\n"), "dora.toml:5: source[0]: unknown field `repo`"),
        (gl("tier = true\n"), "dora.toml:5: source[0]: unknown field `tier`"),
        (k8s("namespace = \"shop\"\n"), "dora.toml:4: source[0]: unknown field `namespace`"),
    ] {
        let e = err(&text);
        assert!(e.starts_with(&format!("{start}, expected one of `name`, `kind`, ")), "{e}");
    }
    // In a table below a source too.
    assert_eq!(
        err(&k8s("[source.repositories]\nweb = { githb = \"acme/web\" }\n")),
        "dora.toml:4: source[0].repositories.\"web\": unknown field `githb`, expected one of `github`, `gitlab`, `source`"
    );
    // A key that would hold a secret has its own message, without the value.
    let e = err(&table("file", "paths = [\"x\"]\ntoken = \"ghp_123\"\n"));
    assert!(e.starts_with("dora.toml:5: source[0].token: secrets are never read from dora.toml"), "{e}");
    assert!(!e.contains("ghp_123"), "{e}");
}

#[test]
fn an_unknown_value_of_an_enumeration_is_an_error() {
    let two = "[[source]]\nkind = \"file\"\nname = \"a\"\npaths = [\"x\"]\n\n[[source]]\nkind = \"fiel\"\nname = \"b\"\n";
    assert_eq!(
        err(two),
        "dora.toml:7: source[1].kind: \"fiel\" is not one of file, github, gitlab, kubernetes, opencost"
    );
    assert_eq!(
        err("[[source]]\nname = \"a\"\n"),
        "dora.toml:1: source[0].kind: missing: one of file, github, gitlab, kubernetes, opencost"
    );
    assert_eq!(
        err(&gh("strategy = \"canary\"\n")),
        "dora.toml:5: source[0].strategy: \"canary\" is not one of deployments, workflow_runs, releases, tags"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_an_error_that_names_the_key() {
    for (text, message) in [
        (
            gh("lookback_days = \"x\"\n"),
            "dora.toml:5: source[0].lookback_days: expected a whole number, 0 or more, got \"x\"",
        ),
        (
            gh("max_requests = 0\n"),
            "dora.toml:5: source[0].max_requests: expected a whole number, 1 or more, got 0",
        ),
        (gh("lookback_days = 9999999999\n"), "dora.toml:5: source[0].lookback_days: 9999999999 is too large"),
        (
            table("github", "repos = \"acme/api\"\n"),
            "dora.toml:4: source[0].repos: expected a list of strings, got \"acme/api\"",
        ),
        (
            table("github", "repos = [\"acme/api\", 3]\n"),
            "dora.toml:4: source[0].repos[1]: expected a string, got 3",
        ),
        (
            table("file", "paths = [\"x\"]\nskip_bad_lines = \"yes\"\n"),
            "dora.toml:5: source[0].skip_bad_lines: expected true or false, got \"yes\"",
        ),
        (
            gh("[source.teams]\n\"acme/api\" = 3\n"),
            "dora.toml:5: source[0].teams.\"acme/api\": expected a string, got 3",
        ),
        (
            gh("monorepo = \"services\"\n"),
            "dora.toml:5: source[0].monorepo: expected a table of tables, got \"services\"",
        ),
        (
            gl("production_tier = \"yes\"\n"),
            "dora.toml:5: source[0].production_tier: expected true or false, got \"yes\"",
        ),
        (k8s("repositories = 5\n"), "dora.toml:4: source[0].repositories: expected a table, got 5"),
        (
            k8s("[source.repositories]\nweb = { github = 5 }\n"),
            "dora.toml:4: source[0].repositories.\"web\".github: expected a string, got 5",
        ),
        (
            "[[source]]\nkind = \"file\"\nname = 5\n".into(),
            "dora.toml:3: source[0].name: expected a string, got 5",
        ),
    ] {
        assert_eq!(err(&text), message, "{text}");
    }
    let e = err(&k8s("[source.repositories]\nweb = 5\n"));
    assert!(
        e.contains("source[0].repositories.\"web\": expected the path of a local clone, or a table like"),
        "{e}"
    );
    // A value shown in such an error is never a secret.
    let token = "ghp_Zx9fakeFAKEfake0000aaaa";
    let e = err(&gh(&format!("incident_labels = \"{token}\"\n")));
    assert!(e.ends_with("got a string that looks like a token (not shown)"), "{e}");
    let e = err(&gh(
        "environment = [\"x\"]\nstrategy = \"tags\"\nbranch = \"https://bot:hunter2@example.com\"\n",
    ));
    assert!(e.contains("source[0].environment: expected a string, got a list"), "{e}");
    let e = err(&gh("org = { url = \"https://bot:hunter2@example.com\" }\n"));
    assert!(e.contains("source[0].org: expected a string, got a table") && !e.contains("hunter2"), "{e}");
}

#[test]
fn secrets_in_env_names_and_urls_are_refused_and_never_echoed() {
    let token = "glpat-Zx9fakeFAKEfake0000";
    for text in [gh(&format!("token_env = \"{token}\"\n")), gl(&format!("token_env = \"{token}\"\n"))] {
        let e = err(&text);
        assert!(e.contains("dora.toml:5: source[0].token_env: looks like a token itself"), "{e}");
        assert!(!e.contains("Zx9"), "{e}");
    }
    let e = err(&gh("token_env = \"my token\"\n"));
    assert!(e.contains("source[0].token_env: is not an environment variable name"), "{e}");
    assert!(!e.contains("my token"), "{e}");
    for text in [
        gh("api_url = \"https://bot:hunter2@ghe.example.com/api/v3\"\n"),
        gl("api_url = \"https://bot:hunter2@gitlab.example.com\"\n"),
        k8s("server = \"http://u:hunter2@127.0.0.1:8001\"\n"),
    ] {
        let e = err(&text);
        assert!(e.contains("credentials in the URL are refused"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("bot"), "{e}");
    }
    // What `collect` refuses, the check refuses too.
    for text in [gh("api_url = \"http://ghe.local/api/v3\"\n"), gl("api_url = \"http://gitlab.local\"\n")] {
        let e = err(&text);
        assert!(
            e.contains("source[0].api_url: \"http://") && e.contains(": plain http:// is refused"),
            "{e}"
        );
    }
    assert!(sources(&gh("api_url = \"http://127.0.0.1:1/api/v3\"\nallow_http = true\n")).is_ok());
    assert!(sources(&gl("token_env = \"CI_JOB_TOKEN\"\n")).is_ok());
}

#[test]
fn a_key_of_another_strategy_is_an_error() {
    for (keys, message) in [
        (
            "workflows = [\"deploy.yml\"]\n",
            "source[0].workflows: goes with strategy workflow_runs, not deployments",
        ),
        (
            "environment = \"prod\"\n",
            "source[0].environment: goes with strategy workflow_runs or releases or tags, not deployments",
        ),
        (
            "strategy = \"workflow_runs\"\nworkflows = [\"d.yml\"]\ntag_pattern = \"^v\"\n",
            "source[0].tag_pattern: goes with strategy releases or tags, not workflow_runs",
        ),
        (
            "strategy = \"tags\"\nprereleases = true\n",
            "source[0].prereleases: goes with strategy releases, not tags",
        ),
        (
            "strategy = \"workflow_runs\"\n",
            "source[0].workflows: list the workflow files (like \"deploy.yml\") of strategy workflow_runs",
        ),
        ("strategy = \"releases\"\ntag_pattern = \"(\"\n", "source[0].tag_pattern: regex parse error"),
    ] {
        let e = err(&gh(keys));
        assert!(e.contains(message), "{keys}: {e}");
    }
    let [SourceSettings::Github(g)] =
        &sources(&gh("strategy = \"releases\"\ntag_pattern = \"^v\"\n")).unwrap()[..]
    else {
        panic!("one github source")
    };
    assert!(
        matches!(&g.strategy, GithubStrategy::Releases { tag_pattern: Some(p), prereleases: false, environment }
        if p.text == "^v" && environment == "production")
    );
}

#[test]
fn keys_that_name_repositories_must_name_the_sources_own() {
    for (text, message) in [
        (
            gh("include = [\"api*\"]\n"),
            "source[0].include: only with org: it filters the repositories of the org",
        ),
        (
            gl("exclude = [\"*-legacy\"]\n"),
            "source[0].exclude: only with group: it filters the projects of the group",
        ),
        (
            gh("[source.services]\n\"acme/apj\" = \"api\"\n"),
            "source[0].services.\"acme/apj\": not one of this source's repositories",
        ),
        (
            gl("[source.teams]\n\"acme/web\" = \"core\"\n"),
            "source[0].teams.\"acme/web\": not one of this source's projects",
        ),
        (
            gh("[source.monorepo.\"acme/mono\"]\n\"x\" = \"y\"\n"),
            "source[0].monorepo.\"acme/mono\": not one of this source's repositories",
        ),
        (
            gh("[source.monorepo.\"acme/api\"]\n\"x\" = \" \"\n"),
            "source[0].monorepo.\"acme/api\".\"x\": the service must not be empty",
        ),
        (
            table("gitlab", "group = \"acme\"\ninclude = [\"[\"]\n"),
            "source[0].include: \"[\": Pattern syntax error",
        ),
        (
            k8s("namespaces = [\"shop\"]\n[source.namespace_environments]\n\"shop-staging\" = \"staging\"\n"),
            "source[0].namespace_environments.\"shop-staging\": not one of this source's namespaces",
        ),
        (table("file", "paths = [\"a[\"]\n"), "source[0].paths: \"a[\": Pattern syntax error"),
    ] {
        let e = err(&text);
        assert!(e.contains(message), "{text}: {e}");
    }
    // With an organisation (a group), its names are the source's.
    assert!(sources(&table("github", "org = \"acme\"\ninclude = [\"api*\"]\n[source.services]\napi = \"api\"\n\"acme/web\" = \"web\"\n[source.monorepo.\"acme/mono\"]\n\"svc/a\" = \"a\"\n")).is_ok());
    assert!(
        sources(&table("gitlab", "group = \"acme\"\n[source.teams]\n\"shop/cart\" = \"cart\"\n")).is_ok()
    );
    assert!(sources(&k8s("[source.namespace_environments]\n\"shop-staging\" = \"staging\"\n")).is_ok());
}

#[test]
fn names_are_present_and_unique() {
    assert_eq!(
        err("[[source]]\nkind = \"file\"\npaths = [\"x\"]\n"),
        "dora.toml:1: source[0].name: missing: every source has a name of its own"
    );
    assert_eq!(
        err("[[source]]\nkind = \"file\"\nname = \" \"\npaths = [\"x\"]\n"),
        "dora.toml:3: source[0].name: must not be empty"
    );
    let twice = format!("{}{}", table("file", "paths = [\"x\"]\n"), table("file", "paths = [\"y\"]\n"));
    assert_eq!(err(&twice), "dora.toml:7: source[1].name: `file` names two sources; names must be unique");
}

#[test]
fn a_forge_repository_resolves_the_source_it_is_read_through() {
    let repositories = |text: &str| -> Vec<(String, Repository)> {
        let all = sources(text).unwrap();
        let Some(SourceSettings::Kubernetes(k)) = all.iter().find(|s| s.kind() == "kubernetes") else {
            panic!("a kubernetes source")
        };
        k.repositories.clone().into_iter().collect()
    };
    let web = "[source.repositories]\nweb = { github = \"acme/web\" }\nlocal = \"../web\"\n";
    // No github source: the defaults. One: that one.
    let alone = repositories(&k8s(web));
    assert!(
        matches!(&alone[1].1, Repository::Forge(ForgeRepository { forge: Forge::Github, path, source: None }) if path == "acme/web")
    );
    assert!(matches!(&alone[0].1, Repository::Clone(p) if p == Path::new("../web")));
    let with = repositories(&format!("{}{}", k8s(web), gh("")));
    assert!(
        matches!(&with[1].1, Repository::Forge(ForgeRepository { source: Some(s), .. }) if s == "github")
    );
    // Several: name one.
    let two = format!("{}{}{}", k8s(web), gh(""), gh("").replace("name = \"github\"", "name = \"ghe\""));
    assert!(err(&two).contains(
        "source[0].repositories.\"web\".source: several github sources are configured: name the one to use"
    ));
    for (repository, message) in [
        (
            "{ github = \"acme/web\", source = \"kubernetes\" }",
            ".source: `kubernetes` is a kubernetes source, not a github one",
        ),
        ("{ gitlab = \"shop/web\", source = \"gl\" }", ".source: no source is named `gl`"),
        (
            "{ github = \"acme/web\", gitlab = \"acme/web\" }",
            ": give exactly one of github = \"owner/name\", gitlab = \"group/project\"",
        ),
        (
            "{ source = \"github\" }",
            ": give exactly one of github = \"owner/name\", gitlab = \"group/project\"",
        ),
        ("{ github = \"acme/web/x\" }", ".github: \"acme/web/x\" is not owner/name"),
        ("{ gitlab = \"shop//web\" }", ".gitlab: \"shop//web\" is not group/project"),
    ] {
        let e = err(&k8s(&format!("[source.repositories]\nweb = {repository}\n")));
        assert!(e.contains(&format!("source[0].repositories.\"web\"{message}")), "{repository}: {e}");
    }
}

#[test]
fn the_kubernetes_checks_name_their_key() {
    for (keys, message) in [
        ("image_commit_pattern = ':abc'\n", "dora.toml:4: source[0].image_commit_pattern: needs a group"),
        (
            "server = \"localhost:8001\"\n",
            "dora.toml:4: source[0].server: \"localhost:8001\" is not an http(s):// URL",
        ),
        (
            "server = \"http://127.0.0.1:8001\"\ncontexts = [\"a\"]\n",
            "source[0].server: give either server or contexts, not both",
        ),
        ("merge_window = \"soon\"\n", "dora.toml:4: source[0].merge_window: \"soon\" is not a duration"),
        (
            "contexts = [\"a\"]\n[source.environments]\n\"b\" = \"production\"\n",
            "source[0].environments.\"b\": not one of this source's contexts",
        ),
        ("label_selector = \" \"\n", "source[0].label_selector: must not be empty"),
    ] {
        let e = err(&k8s(keys));
        assert!(e.contains(message), "{keys}: {e}");
    }
}

/// What `dora config check` prints of the sources.
fn printed(sources: &[SourceSettings]) -> String {
    #[derive(serde::Serialize)]
    struct File<'a> {
        source: &'a [SourceSettings],
    }
    toml::to_string_pretty(&File { source: sources }).unwrap()
}

#[test]
fn what_config_check_prints_is_a_file_that_checks_to_the_same_settings() {
    let text = format!(
        "{}{}{}{}{}",
        table("file", "paths = [\"in/*.jsonl\"]\n"),
        gh("strategy = \"workflow_runs\"\nworkflows = [\"deploy.yml\"]\nbranch = \"main\"\ntoken_env = \"ACME_TOKEN\"\nlookback_days = 30\n[source.teams]\n\"acme/api\" = \"core\"\n[source.monorepo.\"acme/api\"]\n\"svc/a\" = \"a\"\n"),
        table("gitlab", "group = \"acme\"\ninclude = [\"shop/*\"]\nroot_cause_pattern = 'cause: ([0-9a-f]+)'\nproduction_tier = false\n"),
        k8s("contexts = [\"eu\"]\nimage_commit_pattern = ':([0-9a-f]+)$'\nmerge_window = \"30m\"\n[source.environments]\neu = \"production\"\n[source.repositories]\nweb = { github = \"acme/web\", source = \"github\" }\nlocal = \"../web\"\n")
            .replace("name = \"kubernetes\"", "name = \"k8s\""),
        table("github", "org = \"acme\"\nstrategy = \"releases\"\nprereleases = true\n")
            .replace("name = \"github\"", "name = \"releases\""),
    ) + &table("github", "repos = [\"acme/web\"]\n").replace("name = \"github\"", "name = \"plain\"");
    let once = printed(&sources(&text).unwrap_or_else(|e| panic!("{e}")));
    let twice = printed(&sources(&once).unwrap_or_else(|e| panic!("{e}\n{once}")));
    assert_eq!(once, twice);
    for line in [
        "strategy = \"workflow_runs\"",
        "workflows = [\"deploy.yml\"]",
        "environment = \"production\"",
        "merge_window = \"30m\"",
        "root_cause_pattern = \"cause: ([0-9a-f]+)\"",
        "include = [\"shop/*\"]",
        "strategy = \"deployments\"",
    ] {
        assert!(once.contains(line), "{line}:\n{once}");
    }
}

/// The settings of the only source of `text`, and what building takes.
#[cfg(any(feature = "github", feature = "gitlab", feature = "kubernetes"))]
fn loaded(text: &str) -> crate::config::LoadedConfig {
    parse(text, Path::new("conf/dora.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(feature = "github")]
#[test]
fn github_settings_make_the_github_sources_config() {
    use dora_sources::github::Strategy;
    let loaded = loaded(&format!(
        "[metrics]\nproduction_patterns = ['^live$']\n{}",
        table(
            "github",
            "org = \"acme\"\nrepos = [\"acme/api\"]\ninclude = [\"web*\"]\napi_url = \"https://ghe.example.com/api/v3\"\n\
             token_env = \"ACME_TOKEN\"\nstrategy = \"tags\"\ntag_pattern = '^v'\nenvironment = \"prod\"\nlookback_days = 7\n\
             max_requests = 100\n[source.services]\n\"acme/api\" = \"api-svc\"\nweb = \"web-svc\"\n"
        )
    ));
    let [SourceSettings::Github(g)] = &loaded.sources[..] else { panic!("one github source") };
    let config = g.config(&Build::new(&loaded, None).unwrap());
    assert_eq!(
        (config.api_url.as_str(), config.token_env.as_str()),
        ("https://ghe.example.com/api/v3", "ACME_TOKEN")
    );
    assert_eq!((config.lookback_days, config.max_requests), (7, Some(100)));
    assert_eq!(config.repos[0].service.as_deref(), Some("api-svc"));
    let org = config.org.as_ref().unwrap();
    assert!(org.wants("web1") && !org.wants("api"));
    assert_eq!((org.services["web"].as_str(), org.services["api"].as_str()), ("web-svc", "api-svc"));
    assert!(
        matches!(&config.strategy, Strategy::Tags { tag_pattern: Some(p), environment } if p.as_str() == "^v" && environment == "prod")
    );
    assert!(config.production.is_production("live") && !config.production.is_production("prod"));
    // `--max-requests` over the file's.
    assert_eq!(g.config(&Build::new(&loaded, Some(5)).unwrap()).max_requests, Some(5));
}

#[cfg(feature = "gitlab")]
#[test]
fn gitlab_settings_make_the_gitlab_sources_config() {
    let loaded = loaded(&table(
        "gitlab",
        "projects = [\"acme/api/\"]\ngroup = \"acme/shop\"\nexclude = [\"*-legacy\"]\nproduction_tier = false\n\
         timeline_events = false\nincident_labels = [\"sev1\"]\nroot_cause_pattern = 'cause: (\\w+)'\n\
         [source.teams]\n\"acme/api/\" = \"core\"\n[source.monorepo.\"acme/shop/mono\"]\n\"svc/a\" = \"a\"\n",
    ));
    let [SourceSettings::Gitlab(g)] = &loaded.sources[..] else { panic!("one gitlab source") };
    let config = g.config(&Build::new(&loaded, None).unwrap());
    assert_eq!(
        (config.projects[0].path.as_str(), config.projects[0].team.as_deref()),
        ("acme/api", Some("core"))
    );
    let group = config.group.as_ref().unwrap();
    assert_eq!(group.path, "acme/shop");
    assert_eq!(group.exclude[0].as_str(), "*-legacy");
    assert!(!config.production_tier && !config.timeline_events);
    assert_eq!(config.incident_labels, ["sev1"]);
    assert_eq!(config.root_cause.as_str(), "cause: (\\w+)");
    assert_eq!(config.monorepo["acme/shop/mono"].service_of("svc/a/x.rs"), Some("a"));
    assert_eq!((config.api_url.as_str(), config.token_env.as_str()), ("https://gitlab.com", "GITLAB_TOKEN"));
}

#[cfg(feature = "kubernetes")]
#[test]
fn kubernetes_settings_make_the_kubernetes_sources_config() {
    use dora_sources::kubernetes::ServiceRepository;
    let loaded = loaded(&k8s(
        "contexts = [\"eu\", \"us\"]\nenvironment = \"production\"\nnamespaces = [\"shop\"]\nteam_label = \"team\"\n\
         merge_window = \"30m\"\nargo_rollouts = false\n[source.environments]\nus = \"prod-us\"\n\
         [source.repositories]\nweb = \"../repos/web\"\n",
    ));
    let [SourceSettings::Kubernetes(k)] = &loaded.sources[..] else { panic!("one kubernetes source") };
    let config = k.config(&Build::new(&loaded, None).unwrap()).unwrap();
    let environments: Vec<_> =
        config.clusters.iter().map(|c| (c.context.as_deref(), c.environment.as_deref())).collect();
    assert_eq!(environments, [(Some("eu"), Some("production")), (Some("us"), Some("prod-us"))]);
    assert_eq!(config.merge_window, Some(chrono::Duration::minutes(30)));
    assert!(!config.argo_rollouts && config.team_label.as_deref() == Some("team"));
    // A clone's path is relative to dora.toml.
    assert!(
        matches!(&config.repositories["web"], ServiceRepository::Clone(p) if p == Path::new("conf/../repos/web"))
    );
}

#[cfg(not(feature = "github"))]
#[test]
fn a_kind_built_without_its_feature_is_checked_but_does_not_run() {
    let loaded = parse(&gh(""), Path::new("dora.toml")).unwrap();
    let e = loaded.sources[0].build(&Build::new(&loaded, None).unwrap()).err().unwrap().to_string();
    assert_eq!(
        e,
        "source `github`: kind \"github\" needs dora built with the github feature: cargo build --release -p dora-cli --features github"
    );
}

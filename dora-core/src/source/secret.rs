//! Keeping secrets out of messages: the names of environment variables that
//! hold tokens are checked before they are used or shown, and credentials
//! inside URLs are masked wherever a URL is printed.
//!
//! ```
//! use dora_core::source::secret::{check_env_name, redact_url};
//!
//! assert!(check_env_name("GITLAB_TOKEN").is_ok());
//! // A token pasted where a variable's name belongs is refused, and the
//! // message does not repeat it.
//! let message = check_env_name("glpat-abcdefghijklmnop1234").unwrap_err();
//! assert!(!message.contains("glpat"));
//! assert_eq!(redact_url("https://bot:s3cret@git.example.com/api/v4"), "https://***@git.example.com/api/v4");
//! ```

use std::borrow::Cow;

/// Prefixes of the tokens the forges and common services issue (GitHub,
/// GitLab, Slack, OpenAI-style keys, AWS access keys, JSON web tokens).
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gloas-",
    "gldt-",
    "glrt-",
    "glcbt-",
    "glptt-",
    "glft-",
    "glimt-",
    "glagent-",
    "glsoat-",
    "xoxb-",
    "xoxp-",
    "sk-",
    "AKIA",
    "ASIA",
    "eyJ",
];

/// Whether `value` looks like a token rather than the name of a variable:
/// it starts with a known token prefix, or it is a long run of mixed-case
/// letters and digits (a variable's name is short words and underscores).
pub fn looks_like_token(value: &str) -> bool {
    let v = value.trim();
    if TOKEN_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return true;
    }
    let has_lower = v.bytes().any(|b| b.is_ascii_lowercase());
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    v.len() >= 20 && has_lower && has_digit && !v.contains('_')
}

/// Whether `name` is a portable environment variable name: ASCII letters,
/// digits and `_`, not starting with a digit.
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks the value of a `*_env` setting: it must name an environment
/// variable. The error never contains the value itself (it may be a token
/// pasted there by mistake), so it is safe to print and to log.
pub fn check_env_name(name: &str) -> Result<(), String> {
    if looks_like_token(name) {
        return Err("looks like a token itself, not the name of an environment variable: put the token \
                    in an environment variable and give that variable's name here (the value is not shown)"
            .into());
    }
    if !is_env_name(name) {
        return Err("is not an environment variable name (ASCII letters, digits and `_`, not starting \
                    with a digit; the value is not shown in case it is a secret)"
            .into());
    }
    Ok(())
}

/// Whether `url` carries credentials: a user or password before the host
/// (`https://user:pass@host`).
pub fn has_credentials(url: &str) -> bool {
    userinfo_range(url).is_some()
}

/// The byte range of the user information of `url` (between `://` and the
/// last `@` of the authority), when there is one.
fn userinfo_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some(start..at)
}

/// Query parameters whose values are masked by [`redact_url`].
fn is_secret_param(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["token", "secret", "password", "passwd", "key", "signature", "sig", "auth", "credential"]
        .iter()
        .any(|s| k.contains(s))
}

/// `url` with its credentials masked: the user information becomes `***`,
/// and so do the values of query parameters named like secrets
/// (`private_token`, `access_token`, `api_key`, `sig`, ...). Anything else
/// is returned as it is.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(url);
    if let Some(r) = userinfo_range(url) {
        out = Cow::Owned(format!("{}***{}", &url[..r.start], &url[r.end..]));
    }
    if let Some(q) = out.find('?') {
        let (head, rest) = out.split_at(q + 1);
        let (query, fragment) = match rest.find('#') {
            Some(f) => rest.split_at(f),
            None => (rest, ""),
        };
        let mut changed = false;
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, v)) if is_secret_param(k) && !v.is_empty() => {
                    changed = true;
                    format!("{k}=***")
                }
                _ => p.to_string(),
            })
            .collect();
        if changed {
            out = Cow::Owned(format!("{head}{}{fragment}", params.join("&")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tokens() {
        for ok in ["GITHUB_TOKEN", "gitlab_token", "_X", "A1"] {
            assert!(check_env_name(ok).is_ok(), "{ok}");
        }
        for token in [
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11AAAAAAA0abcdefghij_klmnop",
            "glpat-xxxxxxxxxxxxxxxxxxxx",
            "gldt-abc",
            "eyJhbGciOiJIUzI1NiJ9.e30.x",
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
        ] {
            let e = check_env_name(token).unwrap_err();
            assert!(e.starts_with("looks like a token"), "{token}: {e}");
            assert!(!e.contains(token) && !e.contains(&token[..4]), "{e}");
        }
        for bad in ["", "1ABC", "MY TOKEN", "A-B", "ÄB", "$GITHUB_TOKEN"] {
            let e = check_env_name(bad).unwrap_err();
            assert!(e.starts_with("is not an environment variable name"), "{bad}: {e}");
        }
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("https://u:p@h.example/api"), "https://***@h.example/api");
        assert_eq!(redact_url("https://token@h.example"), "https://***@h.example");
        assert_eq!(redact_url("https://h.example/a@b"), "https://h.example/a@b");
        assert_eq!(redact_url("http://127.0.0.1:8001"), "http://127.0.0.1:8001");
        assert_eq!(
            redact_url("https://h.example/api?private_token=glpat-1&per_page=100#x"),
            "https://h.example/api?private_token=***&per_page=100#x"
        );
        assert_eq!(redact_url("https://a:b@h?access_token=z"), "https://***@h?access_token=***");
        assert!(has_credentials("https://u:p@h"));
        assert!(!has_credentials("https://h/path@x"));
        assert!(!has_credentials("not a url"));
    }
}

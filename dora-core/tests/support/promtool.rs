//! The real `promtool check metrics`, for the tests of an exposition
//! (dora-core's renderer, and `dora serve`'s `/metrics`, which includes
//! this file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `promtool`: `$PROMTOOL`, else `$CARGO_TARGET_DIR/promtool/promtool`
/// (where `.ci/run` keeps it), else the first on the `PATH`.
pub fn promtool() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMTOOL").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "PROMTOOL={} is not a file", path.display());
        return Some(path);
    }
    let cached = std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("promtool/promtool"));
    if let Some(cached) = cached.filter(|p| p.is_file()) {
        return Some(cached);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("promtool")).find(|p| p.is_file())
}

/// Pipes `text` into `promtool check metrics`: it must exit 0 and print nothing.
pub fn promtool_check(promtool: &Path, what: &str, text: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let printed =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && printed.trim().is_empty(),
        "promtool check metrics ({what}): {}\n{printed}\n{text}",
        output.status
    );
    eprintln!("promtool check metrics ({what}): passed, nothing printed");
}

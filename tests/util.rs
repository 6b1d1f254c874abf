//! Shared helpers.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// `../shared` beside the repository, when present (CI always has it).
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("note: {} is absent; tests that read it are skipped", p.display());
        None
    }
}

/// The `dora` binary, run in a fresh temporary directory (so no `dora.toml`
/// or `DORA_*` variable of the developer leaks in).
pub fn dora(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dora").expect("the dora binary is built");
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DORA_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a test file");
    p
}

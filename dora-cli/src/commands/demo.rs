//! `dora demo`: write generated events.

use std::io::Write;

use anyhow::{Context, Result};
use dora_demo::{DemoConfig, DemoStyle, generate};

use crate::args::{DemoArgs, DemoStyleArg, Preset};

/// Runs `dora demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let mut config = match args.preset {
        Preset::Demo => DemoConfig::demo(),
        Preset::Benchmark => DemoConfig::benchmark(),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    config.style = match args.style {
        DemoStyleArg::Dora => DemoStyle::Dora,
        DemoStyleArg::Foreign => DemoStyle::Foreign,
    };
    let stats = match &args.output {
        Some(path) => {
            // Write beside the target, then rename: never a half-written file.
            let dir =
                path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            let mut w = std::io::BufWriter::new(tmp);
            let stats =
                generate(&config, &mut w).with_context(|| format!("{}: cannot write", path.display()))?;
            let tmp = w
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("{}: cannot write", path.display()))?;
            // A temporary file is private (0600); the data set is not.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
                    .with_context(|| format!("{}: cannot write", path.display()))?;
            }
            tmp.persist(path).with_context(|| format!("{}: cannot write", path.display()))?;
            stats
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let stats = generate(&config, &mut out)?;
            out.flush()?;
            stats
        }
    };
    eprintln!(
        "wrote {} lines: {} deployments, {} changes, {} incidents",
        stats.lines, stats.deployments, stats.changes, stats.incidents
    );
    Ok(())
}

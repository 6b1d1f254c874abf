//! The `dora` command. `main` stays thin: parse, run, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 any other failure; 2 bad usage or configuration;
//! 3 invalid input data (an event line, an empty file); 4 a file or the store
//! that cannot be read or written; 5 `dora collect`: some sources failed
//! (the others' events were stored).

mod args;
mod commands;
mod config;
mod settings;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};

/// mimalloc keeps freed memory for reuse: with glibc's allocator the
/// metrics engine (polars) maps about 0.5 GB of fresh pages, each zeroed by
/// the kernel, for a peak far below that (docs/BENCHMARKS.md). The library
/// leaves the allocator to its embedder.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 3;
    pub const IO: u8 = 4;
    pub const SOURCE_FAILED: u8 = 5;
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<settings::UsageError>().is_some() {
        return exit::USAGE;
    }
    if err.downcast_ref::<commands::collect::SourcesFailed>().is_some() {
        return exit::SOURCE_FAILED;
    }
    if let Some(e) = err.downcast_ref::<dora_core::Error>() {
        return match e {
            // A reader that stopped early (`dora export ... | head`) is not a failure.
            dora_core::Error::Io { error, .. } if error.kind() == std::io::ErrorKind::BrokenPipe => 0,
            dora_core::Error::InvalidEvent { .. } | dora_core::Error::EmptyInput { .. } => exit::DATA,
            dora_core::Error::Io { .. } | dora_core::Error::Store { .. } => exit::IO,
            dora_core::Error::InvalidOption { .. } => exit::USAGE,
            _ => exit::FAILURE,
        };
    }
    if let Some(e) = err.downcast_ref::<std::io::Error>() {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return 0;
        }
        return exit::IO;
    }
    exit::FAILURE
}

/// Parses the command line. Help and version go to standard output as clap
/// writes them; a usage error is one line and a hint, exit code 2.
fn parse_args() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    let err = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        err.exit();
    }
    let text = err.render().to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("bad usage");
    let message = first.trim().strip_prefix("error: ").unwrap_or(first.trim());
    // clap's own tip when it has one (how to pass a value that looks like
    // a flag, a similar name), else where the flags are listed.
    let hint =
        text.lines().map(str::trim).find_map(|l| l.strip_prefix("tip: ")).map(str::to_string).unwrap_or_else(
            || {
                let command = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
                match command {
                    Some(c) if Cli::command().get_subcommands().any(|s| s.get_name() == c) => {
                        format!("`dora {c} --help` lists its flags")
                    }
                    _ => "`dora --help` lists the commands".to_string(),
                }
            },
        );
    eprintln!("dora: error: {message}");
    eprintln!("hint: {hint}");
    Err(ExitCode::from(exit::USAGE))
}

fn main() -> ExitCode {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match &cli.command {
        Command::Metrics(a) => commands::metrics::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Explain(a) => commands::explain::run(a),
        Command::Collect(a) => commands::collect::run(a),
        Command::Watch(args::WatchCommand::Kubernetes(a)) => commands::watch::kubernetes(a),
        Command::Import(a) => commands::import::run(a),
        Command::Export(a) => commands::export::run(a),
        Command::Costs(args::CostsCommand::Import(a)) => commands::costs::import(a),
        Command::Costs(args::CostsCommand::Check(a)) => commands::costs::check(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Config(a) => match &a.action {
            args::ConfigAction::Check(s) => commands::config::run(s),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = exit_code(&err);
            if code != 0 {
                // One line: the causes joined, innermost last.
                let msg: Vec<String> = err.chain().map(|c| c.to_string()).collect();
                let line = msg.join(": ").split_whitespace().collect::<Vec<_>>().join(" ");
                eprintln!("dora: error: {line}");
            }
            ExitCode::from(code)
        }
    }
}

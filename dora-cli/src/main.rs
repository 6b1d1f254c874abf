//! The `dora` command. `main` stays thin: parse, run, map errors to exit codes.
//!
//! Exit codes: 0 success; 1 any other failure; 2 bad usage or configuration;
//! 3 invalid input data (an event line, an empty file); 4 a file that cannot
//! be read or written.

mod args;
mod commands;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// Exit codes, documented in the README.
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 3;
    pub const IO: u8 = 4;
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<settings::UsageError>().is_some() {
        return exit::USAGE;
    }
    if let Some(e) = err.downcast_ref::<dora_core::Error>() {
        return match e {
            dora_core::Error::InvalidEvent { .. } | dora_core::Error::EmptyInput { .. } => exit::DATA,
            dora_core::Error::Io { .. } => exit::IO,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Metrics(a) => commands::metrics::run(a),
        Command::Demo(a) => commands::demo::run(a),
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

mod cli;

use clap::Parser;
use platgen::error::{Error, ExitStatus};

fn main() {
    let cli = cli::Cli::parse();
    // YAML carries no styles: `build` skips anstream's scan for escape sequences.
    let mut out: Box<dyn std::io::Write> = match cli.command {
        cli::Command::Build { .. } => Box::new(std::io::stdout().lock()),
        _ => Box::new(anstream::stdout().lock()),
    };
    let request = cli.request();
    let ran = platgen::commands::project_root(cli.root.as_deref(), &request)
        .and_then(|root| platgen::commands::run(&root, &request, &mut out));
    let status = match ran {
        Ok(status) => status,
        Err(err) => {
            anstream::eprintln!("{}", platgen::color::diagnostics(&render(&err)));
            match err {
                Error::Descriptors(_) if matches!(cli.command, cli::Command::Validate { .. }) => {
                    ExitStatus::Failure
                }
                // set-image refused an edit that validation rejects: a check's finding.
                Error::EditRejected { .. } => ExitStatus::Failure,
                _ => ExitStatus::Error,
            }
        }
    };
    std::process::exit(status.code());
}

fn render(err: &Error) -> String {
    match err {
        Error::Descriptors(_) => err.to_string(),
        _ => format!("error: {err}"),
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

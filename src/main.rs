mod cli;

use clap::Parser;
use platgen::error::{Error, ExitStatus};

fn main() {
    let cli = cli::Cli::parse();
    let status =
        match platgen::commands::run(&cli.root, &cli.request(), &mut anstream::stdout().lock()) {
            Ok(status) => status,
            Err(err) => {
                anstream::eprintln!("{}", platgen::color::diagnostics(&render(&err)));
                match err {
                    Error::Descriptors(_)
                        if matches!(cli.command, cli::Command::Validate { .. }) =>
                    {
                        ExitStatus::Failure
                    }
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

mod cli;

use clap::Parser;
use platgen::error::{Error, ExitStatus};

fn main() {
    // Freed memory stays with the allocator until the process ends, a moment later:
    // returning it to the system page by page (`madvise`), then faulting it in again,
    // cost a tenth of a short run.
    // SAFETY: sets one of mimalloc's options; no other thread runs yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    let cli = cli::Cli::parse();
    // YAML carries no styles: `build` skips anstream's scan for escape sequences. Its
    // documents are written one by one: buffered, they leave in 64 KiB writes instead
    // of one system call per line-buffered document (30,000 at 1,000 services).
    let mut out: Box<dyn std::io::Write> = match cli.command {
        cli::Command::Build { .. } => Box::new(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout().lock(),
        )),
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

/// `mi_option_purge_delay` of mimalloc's `mimalloc.h` (the bindings lack it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

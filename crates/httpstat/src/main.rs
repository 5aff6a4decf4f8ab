//! The `httpstat` binary: see the library crate for the output formats.

use std::process::ExitCode;

use clap::Parser;
use httpstat::cli::Args;

fn main() -> ExitCode {
    // Usage errors exit with status 2, --help and --version with 0.
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("httpstat: cannot start the async runtime: {e}");
            return ExitCode::from(httpstat::run::EXIT_FAILED);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    ExitCode::from(runtime.block_on(httpstat::run::run(&args, &mut out, &mut err)))
}

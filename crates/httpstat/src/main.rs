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
    // With an OTLP endpoint configured, the hops are also exported as spans
    // under one `httpstat` span; export never delays or fails the command.
    let otel = httpstat::run::otel_enabled().then(|| {
        httptrace_otel::Setup::from_env()
            .service_name("httpstat")
            .fmt(false)
            .install()
    });
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = runtime.block_on(async {
        use tracing::Instrument;
        let span = tracing::info_span!("httpstat", otel.kind = "internal");
        httpstat::run::run(&args, &mut out, &mut err)
            .instrument(span)
            .await
    });
    drop(otel); // flushes, bounded
    ExitCode::from(code)
}

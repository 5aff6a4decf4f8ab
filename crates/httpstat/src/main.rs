//! The `httpstat` binary: see the library crate for the output formats.

use std::io::Write;
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
    // under one `httpstat` span (metrics only when asked); export never
    // fails the command and delays it by at most the flush bound (1 s).
    let otel = httpstat::run::otel_enabled().then(|| {
        let mut setup = httptrace_otel::Setup::from_env()
            .service_name("httpstat")
            .fmt(false)
            .metrics(httpstat::run::otel_metrics_requested())
            .shutdown_timeout(httpstat::run::otel_flush_bound());
        if httpstat::run::otel_env_export_timeout().is_none() {
            setup = setup.export_timeout(std::time::Duration::from_millis(900));
        }
        setup.install()
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
    // Flushes, bounded; one plain line per signal that did not get through.
    if let Some(otel) = otel {
        for error in otel.finish() {
            let _ = writeln!(err, "httpstat: {error}");
        }
    }
    ExitCode::from(code)
}

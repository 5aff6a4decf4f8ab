//! The `httpstat` binary: see the library crate for the output formats.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use httpstat::cli::Args;

fn main() -> ExitCode {
    // Usage errors exit with status 2 and one line, --help and --version
    // with 0.
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            eprintln!("httpstat: {}", httpstat::cli::one_line_error(&e));
            return ExitCode::from(httpstat::shared::EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("httpstat: cannot start the async runtime: {e}");
            return ExitCode::from(httpstat::shared::EXIT_FAILED);
        }
    };
    // With an OTLP endpoint configured, the hops are also exported as spans
    // under one `httpstat` span (metrics only when asked); export never
    // fails the command and delays it by at most the flush bound (1 s).
    let otel = httpstat::shared::otel_enabled().then(|| {
        let mut setup = httptrace_otel::Setup::from_env()
            .service_name("httpstat")
            .fmt(false)
            .metrics(httpstat::shared::otel_metrics_requested())
            .shutdown_timeout(httpstat::shared::otel_flush_bound());
        if httpstat::shared::otel_env_export_timeout().is_none() {
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

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use herald::{Application, Settings, telemetry};
use tokio_util::sync::CancellationToken;

/// mimalloc instead of the C library's allocator: a request allocates and frees many small
/// buffers on two threads at once, where glibc's allocator spent an eighth of Herald's CPU
/// under load (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Herald: the dealership Communications API, self-hosted.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML configuration file; `HERALD_*` environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the API and the delivery workers.
    Serve,
    /// Run the database migrations and exit.
    Migrate,
    /// Create a demo dealer, department, users, customers and credential, and print them.
    Demo,
    /// Copy the SQLite database into FILE while Herald serves (PostgreSQL: use pg_dump).
    Backup {
        /// The new file; an existing one is never overwritten.
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            // Before the log exists (the settings choose its format). `let _`: a closed
            // stderr loses the line instead of panicking.
            let _ = writeln!(std::io::stderr(), "herald: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Writes the queued log lines when main returns.
    let _log_writer = telemetry::init(settings.log_format);
    log_panics();
    for name in &settings.ignored_environment {
        tracing::warn!(
            variable = %name,
            "ignored: a HERALD_ environment variable that names no setting"
        );
    }
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once, with its causes, in the log's format.
            tracing::error!(error = format!("{e:#}"), "herald stopped on an error");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            let shutdown = CancellationToken::new();
            tokio::spawn(stop_on_signal(shutdown.clone()));
            app.run_until_stopped(shutdown).await
        }
        Command::Migrate => herald::store::migrate_only(&settings.database_url).await,
        Command::Demo => herald::demo::run(&settings).await,
        Command::Backup { file } => {
            let report = herald::store::backup::backup(&settings.database_url, &file).await?;
            tracing::info!(
                file = %report.file.display(),
                bytes = report.bytes,
                messages = report.messages,
                "backup written"
            );
            Ok(())
        }
    }
}

/// Panics are logged like everything else, through the log queue: the default hook writes to
/// stderr directly, and a stderr nobody reads would block the panicking thread for good.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::capture();
        match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => {
                tracing::error!(panic = %info, %backtrace, "panic")
            }
            _ => tracing::error!(panic = %info, "panic"),
        }
    }));
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    shutdown.cancel();
}

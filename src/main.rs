use std::path::PathBuf;

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
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format);
    match cli.command {
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

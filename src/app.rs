//! One Herald process: the store, the HTTP API, the delivery workers and the callback
//! dispatchers, run as sibling tasks that stop together.

use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::callbacks::dispatch::Dispatcher;
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::{self, Deliverer};
use crate::providers::Providers;
use crate::providers::twilio::media::MediaFetcher;
use crate::server;
use crate::store::{self, CachedStore, Store, Wakeups};

pub struct Application {
    listener: TcpListener,
    state: AppState,
    dispatcher: Dispatcher,
    wakeups: Wakeups,
    /// `[http] max_connections`, lowered to fit the open-file limit.
    max_connections: usize,
}

/// The process-wide metrics recorder (one per process, however many apps a test starts).
fn metrics_handle() -> PrometheusHandle {
    crate::observability::recorder()
}

impl Application {
    /// Opens and migrates the store and binds the listener, so the port is known (and
    /// accepting) before this returns: no start-up race for callers or tests.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = store::open(&settings.database_url).await?;
        Self::build_with_store(settings, store).await
    }

    pub async fn build_with_store(
        settings: Settings,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<Self> {
        Self::build_with(settings, store, Clock::system()).await
    }

    /// Builds on an open, migrated store with the given clock (tests move a manual one).
    pub async fn build_with(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let descriptors = server::limits::raise_descriptor_limit();
        let max_connections =
            server::limits::connection_cap(settings.http.max_connections, descriptors);
        let settings = Arc::new(settings);
        // Directory rows are served from memory from here on (src/store/cached).
        let store: Arc<dyn Store> = Arc::new(CachedStore::new(store));
        let providers = Providers::from_settings(&settings, store.clone(), clock.clone())?;
        let wakeups = Wakeups::default();
        let deliverer = Deliverer::new(
            store.clone(),
            providers,
            settings.clone(),
            wakeups.clone(),
            clock.clone(),
        );
        let dispatcher = Dispatcher::new(
            store.clone(),
            settings.callbacks.clone(),
            settings
                .delivery
                .lease()
                .max(std::time::Duration::from_secs(
                    settings.callbacks.timeout_seconds * 2,
                )),
            clock.clone(),
        )?;
        let inbound_media = Arc::new(MediaFetcher::from_settings(&settings)?);
        let state = AppState {
            credentials: api::CredentialCache::new(store.clone(), clock.clone()),
            store,
            settings,
            deliverer,
            delivery_wake: wakeups.jobs.clone(),
            metrics: metrics_handle(),
            dev_callbacks: Arc::default(),
            inbound_media,
            clock,
        };
        Ok(Self {
            listener,
            state,
            dispatcher,
            wakeups,
            max_connections,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Serves and works until `shutdown` is cancelled; then stops accepting, lets in-flight
    /// requests and delivery steps finish, and returns.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = self.state.clone();
        let workers = tokio::spawn(delivery::run_workers(
            state.settings.delivery.workers,
            state.store.clone(),
            state.deliverer.clone(),
            state.delivery_wake.clone(),
            shutdown.clone(),
        ));
        let dispatchers = tokio::spawn(self.dispatcher.run(
            state.settings.callbacks.workers,
            self.wakeups.callbacks.clone(),
            shutdown.clone(),
        ));
        let store = state.store.clone();
        let (wakeups, stop) = (self.wakeups.clone(), shutdown.clone());
        let relay = tokio::spawn(async move { store.relay_wakeups(wakeups, stop).await });
        let router = api::router(state);
        let http = &self.state.settings.http;
        let timeouts = server::Timeouts {
            header_read: std::time::Duration::from_secs(http.header_read_timeout_seconds),
            idle: std::time::Duration::from_secs(http.idle_timeout_seconds),
        };
        crate::startup::announce(
            &self.state.settings,
            self.listener.local_addr()?,
            self.max_connections,
        );
        server::serve(
            self.listener,
            router,
            timeouts,
            self.max_connections,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        let _ = tokio::join!(workers, dispatchers, relay);
        tracing::info!("herald stopped");
        Ok(())
    }
}

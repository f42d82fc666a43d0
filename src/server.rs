//! Starting and stopping a server: open storage, migrate, create the first account when
//! there is none, bind, serve, and keep the storage tidy while serving (`maintain`: the
//! write-ahead log checkpoint once writes pause). Used by `dialbook serve` and by the
//! integration tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::App;
use crate::config::Config;
use crate::storage::StorageError;
use crate::storage::prelude::*;
use crate::storage::sea::{ConnectOptions, SeaStorage};

/// The number the first account gets when none is configured: a UK number reserved for
/// drama (Ofcom's 020 7946 0xxx range), so it can never be someone's real phone.
pub const FIRST_NUMBER: &str = "+442079460000";

/// Opens (creating if needed) the database of `config` and runs the migrations.
pub async fn open_storage(
    config: &Config,
    schema: Option<String>,
) -> anyhow::Result<Arc<SeaStorage>> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("creating data directory {}: {e}", config.data_dir.display())
        })?;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    let opts = ConnectOptions {
        max_connections: (cores * 4).max(8),
        schema,
        keep_versions: config.merge.keep_versions,
    };
    let storage = SeaStorage::connect(&url, opts)
        .await
        .map_err(|e| anyhow::anyhow!("opening database: {e}"))?;
    storage
        .migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migrating database: {e}"))?;
    Ok(Arc::new(storage))
}

/// The first account, created when the database has none.
pub struct FirstAccount {
    pub phone: String,
    pub password: String,
}

/// Creates the first account if no account exists. Returns it (with its generated
/// password) only when it was created now.
pub async fn ensure_first_account(
    storage: &dyn Storage,
    number: &str,
) -> anyhow::Result<Option<FirstAccount>> {
    if !storage.list_accounts().await?.is_empty() {
        return Ok(None);
    }
    let password = crate::http::auth::generate_password();
    let hash = crate::http::auth::hash_password(password.clone()).await?;
    match storage.create_account(number, &hash).await {
        Ok(a) => Ok(Some(FirstAccount {
            phone: a.phone,
            password,
        })),
        // Another instance created it between our check and insert.
        Err(StorageError::AlreadyExists) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub storage: Arc<SeaStorage>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    maintenance: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Signals shutdown and waits for in-flight requests to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.maintenance.abort();
        self.task.await?
    }
}

/// Binds `config.listen` (port 0 picks a free port) and serves in the background.
pub async fn start(config: Config, storage: Arc<SeaStorage>) -> anyhow::Result<Running> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("binding {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    let app = Arc::new(App::new(
        Config {
            listen: addr,
            ..config
        },
        storage.clone(),
    ));
    let (tx, rx) = oneshot::channel::<()>();
    let bounds = crate::http::Bounds {
        max_body: app.config.limits.max_body,
        timeout: Duration::from_secs(app.config.limits.request_timeout_secs.max(1)),
    };
    let task = tokio::spawn(crate::http::serve(app.clone(), bounds, listener, async {
        let _ = rx.await;
    }));
    let maintenance = tokio::spawn(maintain(Arc::downgrade(&storage)));
    Ok(Running {
        addr,
        app,
        storage,
        shutdown: Some(tx),
        task,
        maintenance,
    })
}

/// How long the storage must go without writes before its write-ahead log is folded back
/// into the database.
const CHECKPOINT_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Background upkeep while the server runs: checkpoints SQLite's write-ahead log once
/// writes pause (so the files on disk stay about the size of the data). Ends when the
/// storage is dropped.
async fn maintain(storage: std::sync::Weak<SeaStorage>) {
    let mut tick = tokio::time::interval(CHECKPOINT_AFTER_IDLE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(storage) = storage.upgrade() else {
            return;
        };
        if let Err(e) = storage.checkpoint_if_idle(CHECKPOINT_AFTER_IDLE).await {
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
        }
    }
}

//! What the tests of the real server share: a server on an ephemeral
//! loopback port, the store read back, and `promtool`. Each test binary
//! uses a part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dora_core::store::Store;
use dora_core::{EventSet, ReadOptions};
use dora_serve::{ServeConfig, ServeError, Server, Stats};
use tokio::sync::oneshot;

#[path = "../../../dora-core/tests/support/promtool.rs"]
pub mod promtool;

/// A running server: its address, store and counters, and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    /// `http://host:port`.
    pub base: String,
    pub store: PathBuf,
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    /// Binds `config` and serves it on a task of its own.
    pub async fn start(config: ServeConfig) -> Running {
        let store = config.store.clone();
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr().unwrap();
        let stats = server.stats();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Running { addr, base: format!("http://{addr}"), store, stats, stop: Some(stop), task: Some(task) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server gracefully; it must end without an error.
    pub async fn shutdown(self) {
        self.shutdown_within(Duration::from_secs(30)).await;
    }

    /// Stops the server gracefully, which must take less than `within`
    /// and end without an error.
    pub async fn shutdown_within(mut self, within: Duration) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(within, task).await.expect("the server stops in time").unwrap().unwrap();
    }

    /// What the store holds now (the server answers after the commit, so
    /// a read after an answer sees what it stored).
    pub fn stored(&self) -> EventSet {
        stored(&self.store)
    }
}

/// The events of the store at `path`.
pub fn stored(path: &Path) -> EventSet {
    let store = Store::open_read_only(path).unwrap();
    let mut set = EventSet::new();
    if store.len().unwrap() > 0 {
        store.load(&mut set, &ReadOptions::default()).unwrap();
    }
    set
}

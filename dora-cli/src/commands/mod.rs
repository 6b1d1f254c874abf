//! One module per command.

pub mod collect;
pub mod config;
pub mod costs;
pub mod demo;
pub mod explain;
pub mod export;
pub mod import;
pub mod metrics;
pub mod report;
pub mod serve;
pub mod watch;

/// Completes on SIGINT or SIGTERM: how `dora watch` and `dora serve` stop.
#[cfg(any(feature = "kubernetes", feature = "serve"))]
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

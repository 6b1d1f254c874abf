//! Helpers shared by the adapter tests (each test file is a binary of its
//! own and uses what it needs).
#![allow(dead_code)]

mod fixtures;

// Each test file uses some of them.
#[allow(unused_imports)]
pub use fixtures::{git_repository, peer_json, peer_text};
use wiremock::{Mock, MockServer, Request};

/// A local HTTP server standing in for an API, with the runtime it runs on
/// (the sources under test start their own).
pub struct MockApi {
    pub server: MockServer,
    pub rt: tokio::runtime::Runtime,
}

impl MockApi {
    pub fn new() -> Self {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(MockServer::start());
        Self { server, rt }
    }

    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.server));
    }

    /// The requests received so far.
    pub fn received(&self) -> Vec<Request> {
        self.rt.block_on(self.server.received_requests()).unwrap_or_default()
    }

    /// How many requests were received so far.
    pub fn requests(&self) -> usize {
        self.received().len()
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }
}

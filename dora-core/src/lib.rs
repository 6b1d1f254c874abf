//! placeholder
pub mod error;
pub mod event;
pub mod read;
pub use error::{Error, Location, Result};
pub use event::*;

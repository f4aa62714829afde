//! berth-core: the vocabulary every other berth crate shares.
//!
//! - [`arn`]: Amazon Resource Names, parsed and formatted.
//! - [`ids`]: the identifiers AWS hands out (account ids, access keys, request ids).
//! - [`seal`]: the root key and the AES-256-GCM sealing of data at rest.
//!
//! No I/O lives here: randomness comes from the operating system's generator, nothing else.

pub mod arn;
pub mod ids;
pub mod seal;
pub mod time;

pub use arn::Arn;
pub use seal::{RootKey, SealError};

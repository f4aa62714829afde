//! berth-core: the vocabulary every other berth crate shares.
//!
//! - [`arn`]: Amazon Resource Names, parsed and formatted.
//! - [`ids`]: the identifiers AWS hands out (account ids, access keys, request ids).
//! - [`mac`]: berth's one HMAC-SHA256 primitive ([`mac::hmac_sha256`]), for key derivation,
//!   session tokens and SigV4.
//! - [`seal`]: berth's one AES-256-GCM primitive ([`seal::seal`] / [`seal::open`]) and the root
//!   key that seals data at rest with it.
//! - [`time`]: instants as counts since the epoch, and the date forms AWS writes and reads.
//!
//! No I/O lives here: randomness comes from the operating system's generator, nothing else.

pub mod arn;
pub mod ids;
pub mod mac;
pub mod seal;
pub mod time;

pub use arn::Arn;
pub use seal::{RootKey, SealError};

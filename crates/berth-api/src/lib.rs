//! berth-api: the only crate that knows HTTP and the AWS wire formats.
//!
//! A request goes through [`router`] in this order, and nothing reaches a service handler
//! without passing every step:
//!
//! 1. the body is read up to [`MAX_BODY_BYTES`];
//! 2. [`auth`] parses the SigV4 `Authorization` header, resolves the access key through
//!    `berth-iam`, checks the session token and the clock skew, and verifies the signature with
//!    `berth-sigv4`;
//! 3. the credential scope names the service ([`protocol::Service`]), which fixes the protocol
//!    (JSON 1.1 routed on `X-Amz-Target`, Query routed on the form's `Action`);
//! 4. the service module in [`services`] decodes the operation's input, calls the domain crate,
//!    and encodes the output.
//!
//! [`listen::serve`] serves the router (with the console's) on a TCP listener within
//! [`listen::Limits`]: header and idle timeouts, header size, and a connection cap.
//!
//! Every failure is a [`WireError`]; [`error`] is the one place where domain and
//! authentication errors become AWS error codes, HTTP statuses and messages, and where they are
//! rendered in each protocol's shape.

pub mod auth;
pub mod error;
pub mod listen;
pub mod protocol;
mod server;
pub mod services;
pub mod xml;

pub use error::WireError;
pub use server::{MAX_BODY_BYTES, router};

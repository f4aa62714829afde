//! `berth_secrets` errors on the wire.

//! `berth_kms` errors on the wire.

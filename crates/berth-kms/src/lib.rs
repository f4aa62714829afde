//! berth-kms

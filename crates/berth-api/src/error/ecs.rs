//! `berth_ecs` errors on the wire.

//! berth-ecs

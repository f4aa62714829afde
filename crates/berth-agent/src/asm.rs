//! The agent's own messages for fetching a task's registry credentials from Secrets Manager.
//! The secret's value is parsed by [`berth_ecs::asm::parse_secret`], in the agent's words too.

/// The agent's message when the task came without execution-role credentials.
pub const NO_EXECUTION_CREDENTIALS: &str =
    "asm resource: unable to find execution role credentials";

/// The agent's message for a failed GetSecretValue call.
pub fn service_error(secret_id: &str, sdk_error: &str) -> String {
    format!("asm fetching secret from the service for {secret_id}: {sdk_error}")
}

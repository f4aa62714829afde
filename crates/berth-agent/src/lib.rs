//! berth's container agent: registers a container instance with berth, long-polls for the
//! tasks placed on it, and runs them on a Docker Engine — fetching private registry
//! credentials and the containers' `secrets` (Secrets Manager, SSM Parameter Store) with each
//! task's execution-role credentials, as the ECS agent does.
//!
//! Side effects sit behind two traits: [`ContainerRuntime`] (Docker, in [`docker`]) and
//! [`ControlPlane`] (berth's signed API, in [`control`]).

pub mod agent;
pub mod api;
pub mod asm;
pub mod awslogs;
pub mod caps;
pub mod control;
pub mod depends;
pub mod docker;
pub mod endpoint;
pub mod engine_auth;
pub mod fargate;
pub mod hostnet;
mod http;
pub mod progress;
pub mod run;
pub mod runtime;
pub mod secrets;
pub mod settings;
mod supervise;

pub use agent::{Agent, AgentConfig, AgentError};
pub use api::{ApiClient, ApiError, Credentials};
pub use control::{BerthControlPlane, ControlPlane, TaskControl};
pub use docker::DockerRuntime;
pub use engine_auth::{EngineAuth, EngineAuthSource};
pub use fargate::{FargateAssignment, FargateControl, FargateRunner};
pub use progress::{LogObserver, PullObserver, PullProgress, PullReporter};
pub use run::{
    AgentOptions, credentials_from_environment, instance_attributes_from_environment,
    region_from_environment, run_agent, zone_from_environment,
};
pub use runtime::{ContainerRuntime, ContainerSpec, ContainerState, LogConfig, RuntimeError};

//! What berth does with every member of a task definition, per launch type: the decision list
//! behind `docs/task-definition-fields.md`. A test walks the botocore model (`models/ecs.json`)
//! from `RegisterTaskDefinitionRequest` and `TaskDefinition` and fails on a member this table
//! does not decide; the same test checks that the document is this table
//! (`scripts/gen-field-table` rewrites it).
//!
//! Each decision starts with its verdict: `applied`, `refused` (at registration, AWS's words
//! where known), `emulated`, `recorded` (kept and returned, no effect), `computed`, `validated`,
//! `not placed` (a `requiresAttributes` entry berth's agent does not advertise), `fails the
//! task` (a stopped reason naming the member), `handled elsewhere`, or `see` another row.

/// One member: the model's shape and member names, then what berth does on EC2/EXTERNAL and on
/// Fargate (`same`: as on EC2).
pub struct Field {
    pub shape: &'static str,
    pub member: &'static str,
    pub ec2: &'static str,
    pub fargate: &'static str,
}

const fn f(
    shape: &'static str,
    member: &'static str,
    ec2: &'static str,
    fargate: &'static str,
) -> Field {
    Field {
        shape,
        member,
        ec2,
        fargate,
    }
}

/// The decisions, shape by shape.
pub const FIELDS: &[Field] = &[
    f(
        "RegisterTaskDefinitionRequest",
        "family",
        "applied: names the revision; `Family contains invalid characters.`",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "taskRoleArn",
        "applied: assumed as `ecs-tasks.amazonaws.com`; its credentials served to the task's containers on 169.254.170.2 (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`)",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "executionRoleArn",
        "applied: the agent pulls and reads secrets with its credentials",
        "same; required for awslogs and ECR images in AWS's words",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "networkMode",
        "applied: `bridge` (default bridge), `host`, `none`; `awsvpc` emulated on the default bridge",
        "`awsvpc` only (`Fargate only supports network mode ‘awsvpc’.`); emulated by a per-task Docker network and pause container",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "containerDefinitions",
        "applied (at most 10: `Too many containers.`)",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "volumes",
        "applied (see `Volume`)",
        "applied (see `Volume`)",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "placementConstraints",
        "placement: `memberOf` expressions (the cluster query language) limit the instances the task is placed on, together with RunTask's or the service's constraints (at most 10 in all); `distinctInstance` is refused (`constraint.type 'distinctInstance' is not supported.`); see docs/placement.md",
        "refused: `Tasks using the Fargate launch type do not support placementConstraints.`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "requiresCompatibilities",
        "applied: validated against the definition",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "cpu",
        "applied: reserved on the instance",
        "applied: a Fargate size; `No Fargate configuration exists for given values.`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "memory",
        "applied: reserved on the instance",
        "applied: a Fargate size, and the limit of a container without its own",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "tags",
        "applied (at most 50)",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "pidMode",
        "applied: `host`; `task` shares the first container's PID namespace",
        "`task` only (pause container's namespace); other values refused: `Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "ipcMode",
        "applied: `host`, `none`; `task` shares the first container's IPC namespace",
        "refused: `Tasks using the Fargate launch type do not support ipcMode.`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "proxyConfiguration",
        "not placed (`ATTRIBUTE`: needs `ecs.capability.aws-appmesh`, not advertised)",
        "fails the task: `berth does not provide App Mesh proxies: ...`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "inferenceAccelerators",
        "fails the task: `berth does not provide Elastic Inference accelerators: ...`",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "ephemeralStorage",
        "validated 21-200 GiB; needs `ecs.capability.extensible-ephemeral-storage` (not advertised: not placed)",
        "validated 21-200 GiB; emulated: where Docker's storage driver can limit size (`overlay2` over xfs with `pquota`), each container's writable layer is limited to the size (20 GiB without the member, Fargate's default); elsewhere validated, not enforced: Docker's storage driver here cannot limit size (the server's log says so once); DescribeTasks shows the size as `ephemeralStorage` and `fargateEphemeralStorage`",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "runtimePlatform",
        "placement: `ecs.cpu-architecture` (`arm64`/`x86_64`) and `ecs.os-type` `windows` must match the instance (`ATTRIBUTE`)",
        "fails the task when it is not this host's architecture or not LINUX",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "enableFaultInjection",
        "recorded: kept and returned; berth has no fault-injection endpoints",
        "same",
    ),
    f(
        "RegisterTaskDefinitionRequest",
        "trustedExecutionConfiguration",
        "fails the task: `berth does not provide trusted execution: ...`",
        "same",
    ),
    f("TaskDefinition", "taskDefinitionArn", "computed", "same"),
    f("TaskDefinition", "revision", "computed", "same"),
    f("TaskDefinition", "status", "computed", "same"),
    f(
        "TaskDefinition",
        "requiresAttributes",
        "computed from the members (`taskdef::requires_attributes`, `taskdef::field_attributes`)",
        "same",
    ),
    f(
        "TaskDefinition",
        "compatibilities",
        "computed: `EXTERNAL` not for `awsvpc`; `FARGATE` only when nothing Fargate refuses is present",
        "same",
    ),
    f("TaskDefinition", "registeredAt", "computed", "same"),
    f("TaskDefinition", "deregisteredAt", "computed", "same"),
    f("TaskDefinition", "deleteRequestedAt", "computed", "same"),
    f("TaskDefinition", "registeredBy", "computed", "same"),
    f(
        "ContainerDefinition",
        "name",
        "applied: the container's name and Docker alias",
        "same",
    ),
    f(
        "ContainerDefinition",
        "image",
        "applied: pulled by the agent",
        "same; an ECR image needs an execution role (`Fargate requires task definition to have execution role ARN to support ECR images.`)",
    ),
    f(
        "ContainerDefinition",
        "repositoryCredentials",
        "handled elsewhere: private registry authentication (`docs/ecs-agent.md`)",
        "same",
    ),
    f("ContainerDefinition", "cpu", "applied: CPU shares", "same"),
    f(
        "ContainerDefinition",
        "memory",
        "applied: hard limit",
        "same",
    ),
    f(
        "ContainerDefinition",
        "memoryReservation",
        "applied: soft limit",
        "same",
    ),
    f(
        "ContainerDefinition",
        "links",
        "applied: Docker links (`bridge`); refused under `awsvpc` (`Links are not supported when networkMode=awsvpc.`), `host` and `none` (in the same words)",
        "refused: `Tasks using the Fargate launch type do not support links.`",
    ),
    f(
        "ContainerDefinition",
        "portMappings",
        "applied: published (`bridge`, `host`); under `awsvpc` `hostPort` = `containerPort` (`When networkMode=awsvpc, the host ports and container ports in port mappings must match.`)",
        "applied: reachable at the task's address, not published",
    ),
    f(
        "ContainerDefinition",
        "essential",
        "applied: an essential exit stops the task",
        "same",
    ),
    f(
        "ContainerDefinition",
        "restartPolicy",
        "not placed when enabled (`ecs.capability.container-restart-policy`, not advertised)",
        "fails the task when enabled: `berth does not run container restart policies: ...`",
    ),
    f("ContainerDefinition", "entryPoint", "applied", "same"),
    f("ContainerDefinition", "command", "applied", "same"),
    f("ContainerDefinition", "environment", "applied", "same"),
    f(
        "ContainerDefinition",
        "environmentFiles",
        "not placed (`ecs.capability.env-files.s3`, not advertised)",
        "fails the task: `berth does not run environment files: ...`",
    ),
    f(
        "ContainerDefinition",
        "mountPoints",
        "applied: binds `source:containerPath[:ro]`",
        "same",
    ),
    f(
        "ContainerDefinition",
        "volumesFrom",
        "applied: Docker `VolumesFrom` (`:ro` with `readOnly`)",
        "same",
    ),
    f(
        "ContainerDefinition",
        "linuxParameters",
        "applied (see `LinuxParameters`)",
        "applied within Fargate's limits (see `LinuxParameters`)",
    ),
    f(
        "ContainerDefinition",
        "secrets",
        "applied: environment variables fetched at task start with the execution role (Secrets Manager, Parameter Store; see `secrets-in-tasks.md`)",
        "same; platform version 1.3.0, 1.4.0 for a JSON key or a version selector",
    ),
    f(
        "ContainerDefinition",
        "dependsOn",
        "applied: a container starts once each dependency reached its condition (START, COMPLETE, SUCCESS, HEALTHY); one that never can stops with the ECS agent's words (`CannotStartContainerError: dependency graph: ...`)",
        "same",
    ),
    f(
        "ContainerDefinition",
        "startTimeout",
        "applied: bounds the wait for this container's COMPLETE, SUCCESS or HEALTHY (`... has timed out.`); none when absent, as the ECS agent; needs `ecs.capability.container-ordering` (advertised)",
        "same",
    ),
    f(
        "ContainerDefinition",
        "stopTimeout",
        "applied: the grace between SIGTERM and SIGKILL, also Docker's own stop timeout",
        "applied (2-120 s)",
    ),
    f(
        "ContainerDefinition",
        "versionConsistency",
        "applied: a service deployment resolves each container's tag to the digest its first task pulled, and its later tasks run `repository@digest` (DescribeTasks shows the image as named, and the digest as `imageDigest`); `disabled`: the tag is pulled at each start; a standalone task runs the tag and reports the digest it pulled",
        "same",
    ),
    f(
        "ContainerDefinition",
        "hostname",
        "applied; `hostname is not supported on container when networkMode=awsvpc.`",
        "refused (awsvpc): `hostname is not supported on container when networkMode=awsvpc.`",
    ),
    f("ContainerDefinition", "user", "applied", "same"),
    f("ContainerDefinition", "workingDirectory", "applied", "same"),
    f(
        "ContainerDefinition",
        "disableNetworking",
        "applied: Docker `NetworkDisabled`",
        "refused: `Tasks using the Fargate launch type do not support disableNetworking.`",
    ),
    f(
        "ContainerDefinition",
        "privileged",
        "applied: Docker `Privileged`",
        "refused: `Tasks using the Fargate launch type do not support privileged.`",
    ),
    f(
        "ContainerDefinition",
        "readonlyRootFilesystem",
        "applied: Docker `ReadonlyRootfs`",
        "same",
    ),
    f(
        "ContainerDefinition",
        "dnsServers",
        "applied: Docker `Dns`",
        "refused: `Tasks using the Fargate launch type do not support dnsServers.`",
    ),
    f(
        "ContainerDefinition",
        "dnsSearchDomains",
        "applied: Docker `DnsSearch`",
        "refused: `Tasks using the Fargate launch type do not support dnsSearchDomains.`",
    ),
    f(
        "ContainerDefinition",
        "extraHosts",
        "applied: Docker `ExtraHosts`; refused under `awsvpc`",
        "refused: `Tasks using the Fargate launch type do not support extraHosts.`",
    ),
    f(
        "ContainerDefinition",
        "dockerSecurityOptions",
        "applied: Docker `SecurityOpt`",
        "refused: `Tasks using the Fargate launch type do not support dockerSecurityOptions.`",
    ),
    f(
        "ContainerDefinition",
        "interactive",
        "applied: Docker `OpenStdin`",
        "same",
    ),
    f(
        "ContainerDefinition",
        "pseudoTerminal",
        "applied: Docker `Tty`",
        "same",
    ),
    f(
        "ContainerDefinition",
        "dockerLabels",
        "applied: Docker labels (the agent's `com.amazonaws.ecs.*` labels win)",
        "same",
    ),
    f(
        "ContainerDefinition",
        "ulimits",
        "applied: Docker `Ulimits`; needs Docker Remote API 1.18",
        "same",
    ),
    f(
        "ContainerDefinition",
        "logConfiguration",
        "applied: `awslogs` is shipped by berth to CloudWatch Logs (see docs/logs.md); other drivers go to Docker as they are",
        "same; awslogs needs an execution role (`Fargate requires task definition to have execution role ARN to support log driver awslogs.`) and `awslogs-stream-prefix`",
    ),
    f(
        "ContainerDefinition",
        "healthCheck",
        "applied: Docker's health check; `healthStatus` of the container and the task; a service's task stops UNHEALTHY (`Task failed container health checks`)",
        "same",
    ),
    f(
        "ContainerDefinition",
        "systemControls",
        "applied: Docker `Sysctls`",
        "same",
    ),
    f(
        "ContainerDefinition",
        "resourceRequirements",
        "not placed: `RESOURCE:GPU` for a `GPU` requirement (berth's container instances offer no GPUs); another type fails the task: `berth does not provide <type> resources: ...`",
        "GPU refused: `Tasks using the Fargate launch type do not support GPU resource requirements.`",
    ),
    f(
        "ContainerDefinition",
        "firelensConfiguration",
        "not placed (`ecs.capability.firelens.<type>`, not advertised)",
        "fails the task: `berth does not run FireLens log routing: ...`",
    ),
    f(
        "ContainerDefinition",
        "credentialSpecs",
        "fails the task: `berth does not run credential specs (gMSA): ...`",
        "same",
    ),
    f(
        "RepositoryCredentials",
        "credentialsParameter",
        "handled elsewhere: private registry authentication",
        "same",
    ),
    f(
        "PortMapping",
        "containerPort",
        "applied; a mapping without it: `Invalid 'containerPort' setting for container '<name>'.`; a string is refused the same way",
        "same",
    ),
    f(
        "PortMapping",
        "hostPort",
        "applied; 0 or none: Docker picks (`bridge`); = `containerPort` under `host`/`awsvpc`",
        "filled with `containerPort`",
    ),
    f("PortMapping", "protocol", "applied: `tcp`/`udp`", "same"),
    f("PortMapping", "name", "recorded (Service Connect)", "same"),
    f(
        "PortMapping",
        "appProtocol",
        "recorded (Service Connect)",
        "same",
    ),
    f(
        "PortMapping",
        "containerPortRange",
        "recorded: not published",
        "same",
    ),
    f(
        "ContainerRestartPolicy",
        "enabled",
        "see `restartPolicy`",
        "same",
    ),
    f(
        "ContainerRestartPolicy",
        "ignoredExitCodes",
        "see `restartPolicy`",
        "same",
    ),
    f(
        "ContainerRestartPolicy",
        "restartAttemptPeriod",
        "see `restartPolicy`",
        "same",
    ),
    f("KeyValuePair", "name", "applied (environment)", "same"),
    f("KeyValuePair", "value", "applied (environment)", "same"),
    f("EnvironmentFile", "value", "see `environmentFiles`", "same"),
    f("EnvironmentFile", "type", "see `environmentFiles`", "same"),
    f(
        "MountPoint",
        "sourceVolume",
        "applied: the task volume mounted",
        "same",
    ),
    f("MountPoint", "containerPath", "applied", "same"),
    f("MountPoint", "readOnly", "applied: `:ro`", "same"),
    f(
        "VolumeFrom",
        "sourceContainer",
        "applied: made first, its volumes mounted",
        "same",
    ),
    f("VolumeFrom", "readOnly", "applied: `:ro`", "same"),
    f(
        "LinuxParameters",
        "capabilities",
        "applied: Docker `CapAdd`/`CapDrop`",
        "`drop` applied; `add` only `CAP_SYS_PTRACE`, others refused",
    ),
    f(
        "LinuxParameters",
        "devices",
        "applied: Docker `Devices`",
        "refused: `Tasks using the Fargate launch type do not support linuxParameters.devices.`",
    ),
    f(
        "LinuxParameters",
        "initProcessEnabled",
        "applied: Docker `Init`; needs Docker Remote API 1.25",
        "same",
    ),
    f(
        "LinuxParameters",
        "sharedMemorySize",
        "applied: Docker `ShmSize`",
        "refused: `Tasks using the Fargate launch type do not support linuxParameters.sharedMemorySize.`",
    ),
    f(
        "LinuxParameters",
        "tmpfs",
        "applied: Docker `Tmpfs` (`size=<MiB>m` and mount options)",
        "refused: `Tasks using the Fargate launch type do not support linuxParameters.tmpfs.`",
    ),
    f(
        "LinuxParameters",
        "maxSwap",
        "applied: Docker `MemorySwap` = memory + maxSwap (needs a hard `memory`)",
        "refused: `Tasks using the Fargate launch type do not support linuxParameters.maxSwap.`",
    ),
    f(
        "LinuxParameters",
        "swappiness",
        "applied: Docker `MemorySwappiness` (60 with `maxSwap` alone, as the ECS agent)",
        "refused: `Tasks using the Fargate launch type do not support linuxParameters.swappiness.`",
    ),
    f(
        "KernelCapabilities",
        "add",
        "applied",
        "`CAP_SYS_PTRACE` only",
    ),
    f("KernelCapabilities", "drop", "applied", "same"),
    f("Device", "hostPath", "applied", "refused (devices)"),
    f(
        "Device",
        "containerPath",
        "applied (defaults to hostPath)",
        "refused (devices)",
    ),
    f(
        "Device",
        "permissions",
        "applied: `read`/`write`/`mknod` as `rwm`",
        "refused (devices)",
    ),
    f("Tmpfs", "containerPath", "applied", "refused (tmpfs)"),
    f("Tmpfs", "size", "applied", "refused (tmpfs)"),
    f("Tmpfs", "mountOptions", "applied", "refused (tmpfs)"),
    f("Secret", "name", "see `secrets`", "same"),
    f("Secret", "valueFrom", "see `secrets`", "same"),
    f(
        "ContainerDependency",
        "containerName",
        "see `dependsOn`",
        "same",
    ),
    f(
        "ContainerDependency",
        "condition",
        "see `dependsOn`",
        "same",
    ),
    f(
        "HostEntry",
        "hostname",
        "applied (extraHosts)",
        "refused (extraHosts)",
    ),
    f(
        "HostEntry",
        "ipAddress",
        "applied (extraHosts)",
        "refused (extraHosts)",
    ),
    f("Ulimit", "name", "applied", "same"),
    f("Ulimit", "softLimit", "applied", "same"),
    f("Ulimit", "hardLimit", "applied", "same"),
    f(
        "LogConfiguration",
        "logDriver",
        "applied: `awslogs` runs as Docker's `json-file` and berth ships the output; others go to Docker",
        "same",
    ),
    f(
        "LogConfiguration",
        "options",
        "applied: awslogs' `awslogs-group`, `-region`, `-stream-prefix`, `-create-group`, `-datetime-format`, `-multiline-pattern`, `mode`; Docker's for other drivers",
        "same",
    ),
    f(
        "LogConfiguration",
        "secretOptions",
        "applied: options of the log driver, fetched as `secrets` are (not for `awslogs`, `awsfirelens`)",
        "same",
    ),
    f("HealthCheck", "command", "see `healthCheck`", "same"),
    f(
        "HealthCheck",
        "interval",
        "validated 5-300, default 30; see `healthCheck`",
        "same",
    ),
    f(
        "HealthCheck",
        "timeout",
        "validated 2-60, default 5; see `healthCheck`",
        "same",
    ),
    f(
        "HealthCheck",
        "retries",
        "validated 1-10, default 3; see `healthCheck`",
        "same",
    ),
    f(
        "HealthCheck",
        "startPeriod",
        "validated 0-300, default 0; see `healthCheck`",
        "same",
    ),
    f("SystemControl", "namespace", "applied", "same"),
    f("SystemControl", "value", "applied", "same"),
    f(
        "ResourceRequirement",
        "value",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "ResourceRequirement",
        "type",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "ResourceRequirement",
        "sharingStrategy",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "SharingStrategy",
        "nvidiaMps",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "NvidiaMpsAllocation",
        "memory",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "NvidiaMpsAllocation",
        "maxComputePercent",
        "see `resourceRequirements`",
        "same",
    ),
    f(
        "FirelensConfiguration",
        "type",
        "see `firelensConfiguration`",
        "same",
    ),
    f(
        "FirelensConfiguration",
        "options",
        "see `firelensConfiguration`",
        "same",
    ),
    f("Volume", "name", "applied: what `mountPoints` name", "same"),
    f(
        "Volume",
        "host",
        "applied: with `sourcePath` a bind mount; empty, a Docker volume made for the task and removed with it",
        "empty only (a task volume, Fargate's bind mount); `sourcePath` refused",
    ),
    f(
        "Volume",
        "dockerVolumeConfiguration",
        "applied (see `DockerVolumeConfiguration`)",
        "refused: `Tasks using the Fargate launch type do not support dockerVolumeConfiguration.`",
    ),
    f(
        "Volume",
        "efsVolumeConfiguration",
        "emulated: a bind mount of the directory the agent maps the file system to (`BERTH_EFS_<FILE_SYSTEM_ID>=/path`, `-` as `_`) and its `rootDirectory`; needs `ecs.capability.efs`, advertised only by an agent with such a mapping; unmapped, fails the task: `berth does not provide EFS volumes: ...`; an access point with another root directory is refused (`When using an EFS access point, the root directory must either be set to \"/\" or be omitted.`), and an access point or `iam` `ENABLED` without `transitEncryption` `ENABLED` (berth's words: AWS's are not known); transit encryption and IAM authorization are validated, not performed (a local directory)",
        "emulated as on EC2, mapped in the server's environment; unmapped, fails the task: `berth does not provide EFS volumes: ...`",
    ),
    f(
        "Volume",
        "s3filesVolumeConfiguration",
        "fails the task: `berth does not provide S3 Files volumes: ...`",
        "same",
    ),
    f(
        "Volume",
        "fsxWindowsFileServerVolumeConfiguration",
        "fails the task: `berth does not provide FSx volumes: ...`",
        "same",
    ),
    f(
        "Volume",
        "configuredAtLaunch",
        "fails the task when true: `berth does not provide EBS volumes: ...`",
        "same",
    ),
    f(
        "HostVolumeProperties",
        "sourcePath",
        "applied: bind mount of the host directory",
        "refused: `Tasks using the Fargate launch type do not support host.sourcePath.`",
    ),
    f(
        "DockerVolumeConfiguration",
        "scope",
        "applied: `task` (removed with the task) or `shared` (kept)",
        "refused (dockerVolumeConfiguration)",
    ),
    f(
        "DockerVolumeConfiguration",
        "autoprovision",
        "applied: a missing shared volume is made, else the task fails",
        "refused (dockerVolumeConfiguration)",
    ),
    f(
        "DockerVolumeConfiguration",
        "driver",
        "applied; needs `ecs.capability.docker-plugin.<driver>` (`local` advertised)",
        "refused (dockerVolumeConfiguration)",
    ),
    f(
        "DockerVolumeConfiguration",
        "driverOpts",
        "applied",
        "refused (dockerVolumeConfiguration)",
    ),
    f(
        "DockerVolumeConfiguration",
        "labels",
        "applied",
        "refused (dockerVolumeConfiguration)",
    ),
    f(
        "EFSVolumeConfiguration",
        "fileSystemId",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSVolumeConfiguration",
        "rootDirectory",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSVolumeConfiguration",
        "transitEncryption",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSVolumeConfiguration",
        "transitEncryptionPort",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSVolumeConfiguration",
        "authorizationConfig",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSAuthorizationConfig",
        "accessPointId",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "EFSAuthorizationConfig",
        "iam",
        "see `efsVolumeConfiguration`",
        "same",
    ),
    f(
        "S3FilesVolumeConfiguration",
        "fileSystemArn",
        "see `s3filesVolumeConfiguration`",
        "same",
    ),
    f(
        "S3FilesVolumeConfiguration",
        "rootDirectory",
        "see `s3filesVolumeConfiguration`",
        "same",
    ),
    f(
        "S3FilesVolumeConfiguration",
        "transitEncryptionPort",
        "see `s3filesVolumeConfiguration`",
        "same",
    ),
    f(
        "S3FilesVolumeConfiguration",
        "accessPointArn",
        "see `s3filesVolumeConfiguration`",
        "same",
    ),
    f(
        "FSxWindowsFileServerVolumeConfiguration",
        "fileSystemId",
        "see `fsxWindowsFileServerVolumeConfiguration`",
        "same",
    ),
    f(
        "FSxWindowsFileServerVolumeConfiguration",
        "rootDirectory",
        "see `fsxWindowsFileServerVolumeConfiguration`",
        "same",
    ),
    f(
        "FSxWindowsFileServerVolumeConfiguration",
        "authorizationConfig",
        "see `fsxWindowsFileServerVolumeConfiguration`",
        "same",
    ),
    f(
        "FSxWindowsFileServerAuthorizationConfig",
        "credentialsParameter",
        "see `fsxWindowsFileServerVolumeConfiguration`",
        "same",
    ),
    f(
        "FSxWindowsFileServerAuthorizationConfig",
        "domain",
        "see `fsxWindowsFileServerVolumeConfiguration`",
        "same",
    ),
    f(
        "TaskDefinitionPlacementConstraint",
        "type",
        "placement (see `placementConstraints`)",
        "refused (placementConstraints)",
    ),
    f(
        "TaskDefinitionPlacementConstraint",
        "expression",
        "placement (see `placementConstraints`)",
        "refused (placementConstraints)",
    ),
    f("Tag", "key", "applied", "same"),
    f("Tag", "value", "applied", "same"),
    f(
        "ProxyConfiguration",
        "type",
        "see `proxyConfiguration`",
        "same",
    ),
    f(
        "ProxyConfiguration",
        "containerName",
        "see `proxyConfiguration`",
        "same",
    ),
    f(
        "ProxyConfiguration",
        "properties",
        "see `proxyConfiguration`",
        "same",
    ),
    f(
        "InferenceAccelerator",
        "deviceName",
        "see `inferenceAccelerators`",
        "same",
    ),
    f(
        "InferenceAccelerator",
        "deviceType",
        "see `inferenceAccelerators`",
        "same",
    ),
    f(
        "EphemeralStorage",
        "sizeInGiB",
        "see `ephemeralStorage`",
        "same",
    ),
    f(
        "RuntimePlatform",
        "cpuArchitecture",
        "see `runtimePlatform`",
        "same",
    ),
    f(
        "RuntimePlatform",
        "operatingSystemFamily",
        "see `runtimePlatform`",
        "same",
    ),
    f(
        "TrustedExecutionConfiguration",
        "isolationMode",
        "see `trustedExecutionConfiguration`",
        "same",
    ),
    f(
        "TrustedExecutionConfiguration",
        "attestationPolicy",
        "see `trustedExecutionConfiguration`",
        "same",
    ),
    f("Attribute", "name", "computed (requiresAttributes)", "same"),
    f(
        "Attribute",
        "value",
        "computed (requiresAttributes)",
        "same",
    ),
    f(
        "Attribute",
        "targetType",
        "computed (requiresAttributes)",
        "same",
    ),
    f(
        "Attribute",
        "targetId",
        "computed (requiresAttributes)",
        "same",
    ),
];

/// The decision for `shape.member`, if any.
pub fn decision(shape: &str, member: &str) -> Option<&'static Field> {
    FIELDS
        .iter()
        .find(|f| f.shape == shape && f.member == member)
}

/// `docs/task-definition-fields.md`: the table as Markdown, one section per shape.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Task definition fields\n\n\
         What berth does with every member of a task definition, on EC2/EXTERNAL (berth's agent) and\n\
         on Fargate (berth's Fargate capacity). Generated from `crates/berth-ecs/src/fields.rs` by\n\
         `scripts/gen-field-table`; a test fails when `models/ecs.json` has a member the table does\n\
         not decide.\n\n\
         Verdicts: **applied** (handed to Docker or enforced), **refused** (RegisterTaskDefinition\n\
         answers `ClientException`, in AWS's words where known), **emulated**, **recorded** (kept and\n\
         returned, no effect), **computed**, **validated**, **not placed** (a `requiresAttributes`\n\
         entry berth's agent does not advertise: RunTask answers the `ATTRIBUTE` failure), **fails\n\
         the task** (the task stops before its pull, the stopped reason naming the member), **handled\n\
         elsewhere**. Quoted messages are AWS's where known; where AWS's wording is not known,\n\
         berth's follows AWS's wording for a neighbouring member, and `taskdef.rs` says so.\n",
    );
    let mut shape = "";
    for f in FIELDS {
        if f.shape != shape {
            shape = f.shape;
            out.push_str(&format!(
                "\n## {shape}\n\n| member | EC2 / EXTERNAL | Fargate |\n|---|---|---|\n"
            ));
        }
        let fargate = if f.fargate == "same" {
            "as EC2"
        } else {
            f.fargate
        };
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            f.member,
            f.ec2.replace('|', "\\|"),
            fargate.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every (shape, member) reachable from the request and the answer.
    fn model_members() -> BTreeSet<(String, String)> {
        let text = std::fs::read_to_string(root().join("models/ecs.json")).unwrap();
        let model: Value = serde_json::from_str(&text).unwrap();
        let shapes = &model["shapes"];
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut todo = vec![
            "RegisterTaskDefinitionRequest".to_string(),
            "TaskDefinition".to_string(),
        ];
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let shape = &shapes[&name];
            let Some(members) = shape["members"].as_object() else {
                continue;
            };
            for (member, m) in members {
                out.insert((name.clone(), member.clone()));
                let mut target = m["shape"].as_str().unwrap().to_string();
                loop {
                    let t = &shapes[&target];
                    match t["type"].as_str() {
                        Some("list") => target = t["member"]["shape"].as_str().unwrap().into(),
                        Some("map") => target = t["value"]["shape"].as_str().unwrap().into(),
                        _ => break,
                    }
                }
                if shapes[&target]["type"] == "structure" {
                    todo.push(target);
                }
            }
        }
        // TaskDefinition repeats the request's members.
        out.retain(|(s, m)| {
            s != "TaskDefinition"
                || !members_of(shapes, "RegisterTaskDefinitionRequest").contains(m)
        });
        out
    }

    fn members_of(shapes: &Value, name: &str) -> BTreeSet<String> {
        shapes[name]["members"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn every_model_member_is_decided() {
        let undecided: Vec<String> = model_members()
            .into_iter()
            .filter(|(s, m)| decision(s, m).is_none())
            .map(|(s, m)| format!("{s}.{m}"))
            .collect();
        assert!(undecided.is_empty(), "undecided: {undecided:?}");
        // And nothing is decided that the model does not have.
        let model = model_members();
        for f in FIELDS {
            assert!(
                model.contains(&(f.shape.to_string(), f.member.to_string())),
                "not in the model: {}.{}",
                f.shape,
                f.member
            );
        }
    }

    #[test]
    fn every_decision_has_a_verdict() {
        const VERDICTS: [&str; 12] = [
            "applied",
            "refused",
            "emulated",
            "recorded",
            "computed",
            "validated",
            "not placed",
            "fails the task",
            "handled elsewhere",
            "see ",
            "same",
            "placement",
        ];
        for f in FIELDS {
            for d in [f.ec2, f.fargate] {
                let ok = VERDICTS.iter().any(|v| d.starts_with(v))
                    || d.starts_with('`')
                    || d.starts_with("drop")
                    || d.starts_with("empty")
                    || d.starts_with("GPU")
                    || d.starts_with("filled");
                assert!(ok, "{}.{}: {d}", f.shape, f.member);
            }
        }
    }

    /// `docs/task-definition-fields.md` is the table (`BERTH_WRITE_FIELD_TABLE=1` rewrites it).
    #[test]
    fn the_document_is_the_table() {
        let path = root().join("docs/task-definition-fields.md");
        let want = markdown();
        if std::env::var_os("BERTH_WRITE_FIELD_TABLE").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/task-definition-fields.md is stale: run scripts/gen-field-table"
        );
    }
}

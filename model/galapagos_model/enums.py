"""Enumerations stored in the database (as ``CharEnumField`` columns)."""

from __future__ import annotations

from enum import StrEnum


class ServeType(StrEnum):
    API = "api"
    WORKFLOW = "workflow"


class ProjectRole(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, required: ProjectRole) -> bool:
        return self.rank >= required.rank


_ROLE_RANK = {ProjectRole.VIEWER: 0, ProjectRole.EDITOR: 1, ProjectRole.OWNER: 2}


class EnvironmentBackend(StrEnum):
    RAY = "ray"
    KUBERAY = "kuberay"
    KSERVE = "kserve"


class ServingFramework(StrEnum):
    """Darwin's ``backend_type`` of an API serve."""

    FASTAPI = "fastapi"
    RAY = "ray"


class NodeCapacityType(StrEnum):
    SPOT = "spot"
    ON_DEMAND = "on-demand"


class ConcurrencyPolicy(StrEnum):
    FORBID = "forbid"
    ALLOW = "allow"
    REPLACE = "replace"


class BuilderKind(StrEnum):
    LOCAL = "local"
    EXTERNAL = "external"
    KANIKO = "kaniko"


class SourceKind(StrEnum):
    GIT = "git"  # a repository URL (https, ssh or file://)
    PATH = "path"  # a folder on the control plane's host (when the operator allows it)


class BuildStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESSFUL = "SUCCESSFUL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def is_live(self) -> bool:
        return self in (BuildStatus.PENDING, BuildStatus.RUNNING)


class ArtifactKind(StrEnum):
    IMAGE = "image"
    PACKAGE = "package"
    MODEL = "model"
    # A source reference (git URL, branch, folder) that workflow serves run from directly.
    GIT = "git"


class ModelFormat(StrEnum):
    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    ONNX = "onnx"
    HUGGINGFACE = "huggingface"
    MLFLOW = "mlflow"
    PYTHON = "python"


class DeploymentStatus(StrEnum):
    PENDING = "PENDING"
    DEPLOYING = "DEPLOYING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"
    ENDED = "ENDED"

    @property
    def in_flight(self) -> bool:
        return self in (DeploymentStatus.PENDING, DeploymentStatus.DEPLOYING)


class DeploymentStrategy(StrEnum):
    # The backend starts the new version's replicas and retires the old ones once the new
    # ones are healthy; a version that fails to start leaves the old one serving.
    ROLLING = "rolling"


class WorkloadState(StrEnum):
    PENDING = "PENDING"
    DEPLOYING = "DEPLOYING"
    READY = "READY"
    FAILED = "FAILED"
    UNDEPLOYED = "UNDEPLOYED"


class DesiredState(StrEnum):
    DEPLOYED = "DEPLOYED"
    UNDEPLOYED = "UNDEPLOYED"


class ClusterStatus(StrEnum):
    UNKNOWN = "UNKNOWN"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNREACHABLE = "UNREACHABLE"


class AuditOutcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"


class TrafficStrategy(StrEnum):
    CANARY = "canary"
    AB_TEST = "ab_test"
    SHADOW = "shadow"
    BLUE_GREEN = "blue_green"


class TrafficStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # a progressive rollout that waits for resume


class VariantStatus(StrEnum):
    PENDING = "pending"  # its workload is starting
    ACTIVE = "active"  # taking its share
    PROMOTING = "promoting"  # becoming the stable variant
    DRAINING = "draining"  # out of the routing table, its workload going
    INACTIVE = "inactive"  # failed to start, or removed from the traffic


class WorkloadRole(StrEnum):
    APP = "app"  # the serve's application, on the serve's route
    VARIANT = "variant"  # one version of a serve with traffic variants, behind its router
    ROUTER = "router"  # owns the route of a serve with traffic variants


class VirtualModelStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # kept, but takes no requests


class BackendKind(StrEnum):
    EXTERNAL = "external"  # an OpenAI-compatible endpoint outside the platform
    SERVE = "serve"  # an LLM serve of the project, deployed by the platform
    MODEL = "model"  # a model of the GPU catalog, answered by its ready instances


class ProviderKind(StrEnum):
    # Instance types are node pools of a Kubernetes cluster: pods pinned to one (node selector
    # and tolerations) make its autoscaler bring a node.
    KUBERNETES = "kubernetes"
    # A Ray cluster's GPU nodes, found by the accelerator type Ray reports.
    RAY = "ray"


class CapacityKind(StrEnum):
    SPOT = "spot"
    ON_DEMAND = "on_demand"


class GpuInstanceStatus(StrEnum):
    PROVISIONING = "PROVISIONING"  # asked of the provider (a pod waits for its node)
    BOOTING = "BOOTING"  # the machine is there, the engine loads the model
    READY = "READY"  # answers; listed by discovery
    RECOVERING = "RECOVERING"  # was ready: preempted, or its heartbeats stopped
    DRAINING = "DRAINING"  # out of discovery, finishing what it has in flight
    TERMINATED = "TERMINATED"
    FAILED = "FAILED"

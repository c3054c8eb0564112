"""The platform's CrossGuard policies, as plain validation functions and the policy objects around them.

Importing this module never starts the policy server (that is `policies/__main__.py`),
so tests and the render gate run exactly these policies. `build_policies` takes
how to find a resource's stage requirements: from the stack file named in the
URN under the Pulumi CLI, from the loaded stage under `wfdeploy render`.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator, Mapping

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .requirements import StageRequirements, requirements_of_urn

# after `requirements`, which puts the project on sys.path under the Pulumi CLI; the schema refuses the
# same credentials in stack-file settings, so both read one definition
from components.config.credentials import looks_secret  # noqa: E402

RequirementsOf = Callable[[str], StageRequirements]
MANDATORY = EnforcementLevel.MANDATORY

POD_TEMPLATE_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"})
#: Volume types Pod Security `restricted` admits.
RESTRICTED_VOLUME_TYPES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)


# -- reading resources -----------------------------------------------------------------------------


def kind_of(resource_type: str) -> str:
    """'kubernetes:apps/v1:Deployment' -> 'Deployment'."""
    return resource_type.rsplit(":", 1)[-1] if resource_type.startswith("kubernetes:") else ""


def qualified_name(props: Mapping[str, Any]) -> str:
    metadata = props.get("metadata") or {}
    return f"{metadata.get('namespace') or ''}/{metadata.get('name') or '<unnamed>'}"


def pod_spec(kind: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = props.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    if kind in POD_TEMPLATE_KINDS:
        return (spec.get("template") or {}).get("spec") or {}
    return None


def containers(spec: Mapping[str, Any], *, init: bool = True) -> Iterator[tuple[str, Mapping[str, Any]]]:
    fields = ("initContainers", "containers", "ephemeralContainers") if init else ("containers",)
    for field_name in fields:
        for container in spec.get(field_name) or []:
            yield f"{field_name}[{container.get('name', '?')}]", container


def _is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def from_chart(urn: str) -> bool:
    """A child of a Helm chart release: a third-party workload governed by its pinned chart and values."""
    return "kubernetes:helm.sh/" in urn.split("::")[2] if urn.count("::") >= 3 else False


def pod_templates(args: ResourceValidationArgs) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Pod templates this program declares (chart children are left to their namespace's Pod Security admission)."""
    if from_chart(args.urn):
        return
    kind = kind_of(args.resource_type)
    spec = pod_spec(kind, args.props)
    if spec is not None:
        yield kind, f"{kind} {qualified_name(args.props)}", spec


# -- resource checks: each yields violation messages -----------------------------------------------


def pss_restricted_problems(where: str, spec: Mapping[str, Any]) -> list[str]:
    """Pod Security Standards `restricted`, field by field."""
    problems = []
    pod_context = spec.get("securityContext") or {}
    for field_name in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field_name):
            problems.append(f"{where}: {field_name} must not be true")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"{where}: volume {volume.get('name')!r} uses {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")
    if pod_context.get("runAsUser") == 0:
        problems.append(f"{where}: securityContext.runAsUser must not be 0")
    for name, container in containers(spec):
        context = container.get("securityContext") or {}
        at = f"{where} {name}"
        if not (context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is True):
            problems.append(f"{at}: runAsNonRoot must be true (pod or container securityContext)")
        if context.get("runAsUser") == 0:
            problems.append(f"{at}: runAsUser must not be 0")
        seccomp = (context.get("seccompProfile") or pod_context.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{at}: seccompProfile.type must be RuntimeDefault or Localhost")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{at}: allowPrivilegeEscalation must be false")
        if context.get("privileged"):
            problems.append(f"{at}: privileged must not be true")
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{at}: capabilities.drop must include ALL")
        if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
            problems.append(f"{at}: capabilities.add may only hold NET_BIND_SERVICE")
        if any(port.get("hostPort") for port in container.get("ports") or []):
            problems.append(f"{at}: hostPort is not allowed")
    return problems


def resource_problems(where: str, spec: Mapping[str, Any]) -> list[str]:
    problems = []
    for name, container in containers(spec):
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            missing = [key for key in ("cpu", "memory") if not (resources.get(section) or {}).get(key)]
            if missing:
                problems.append(f"{where} {name}: resources.{section} lacks {', '.join(missing)}")
    return problems


def probe_problems(kind: str, where: str, spec: Mapping[str, Any]) -> list[str]:
    if kind not in LONG_RUNNING_KINDS:
        return []
    long_running = list(containers(spec, init=False))
    long_running += [(name, c) for name, c in containers(spec) if name.startswith("initContainers") and _is_sidecar(c)]
    return [
        f"{where} {name}: a long-running container needs a {probe}"
        for name, container in long_running
        for probe in ("readinessProbe", "livenessProbe")
        if not container.get(probe)
    ]


_IMAGE_RE = re.compile(r"^(?P<name>[^@]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$")


def image_problems(where: str, spec: Mapping[str, Any], require_digest: bool) -> list[str]:
    problems = []
    for name, container in containers(spec):
        image = container.get("image") or ""
        match = _IMAGE_RE.match(image)
        if not match:
            problems.append(f"{where} {name}: image {image!r} is not a valid reference")
            continue
        if not match["digest"] and match["tag"] in (None, "latest"):
            problems.append(f"{where} {name}: image {image!r} has no fixed tag ('latest' or none)")
        if require_digest and not match["digest"]:
            problems.append(f"{where} {name}: image {image!r} must be pinned by digest in this stage")
    return problems


def plaintext_secret_problems(args: ResourceValidationArgs) -> list[str]:
    kind = kind_of(args.resource_type)
    problems = []
    if kind == "ConfigMap":
        for key, value in sorted((args.props.get("data") or {}).items()):
            if looks_secret(key, value):
                problems.append(f"ConfigMap {qualified_name(args.props)} key {key!r} holds a secret value; use a Secret")
    for _, where, spec in pod_templates(args):
        for name, container in containers(spec):
            for variable in container.get("env") or []:
                if "value" in variable and looks_secret(variable.get("name", ""), variable["value"]):
                    problems.append(
                        f"{where} {name}: env {variable.get('name')!r} is a literal secret; use valueFrom.secretKeyRef"
                    )
    return problems


def exposed_service_type(kind: str, props: Mapping[str, Any]) -> str | None:
    """The Service type a Service declares, or an EnvoyProxy asks Envoy Gateway to create for its proxies."""
    spec = props.get("spec") or {}
    if kind == "Service":
        return spec.get("type") or "ClusterIP"
    if kind == "EnvoyProxy":
        envoy_service = (((spec.get("provider") or {}).get("kubernetes") or {}).get("envoyService")) or {}
        return envoy_service.get("type") or "LoadBalancer"  # Envoy Gateway's default
    return None


def service_exposure_problems(args: ResourceValidationArgs, requirements: StageRequirements) -> list[str]:
    kind = kind_of(args.resource_type)
    service_type = exposed_service_type(kind, args.props)
    name = qualified_name(args.props)
    allowed = {"LoadBalancer": requirements.load_balancer_services, "NodePort": requirements.node_port_services}
    if service_type in allowed and name not in allowed[service_type]:
        key = "loadBalancerServices" if service_type == "LoadBalancer" else "nodePortServices"
        return [f"{kind} {name} exposes a {service_type} Service; only network.{key} may ({sorted(allowed[service_type])})"]
    return []


S3_PREFIX = "aws:s3/"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})


def bucket_setting_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Settings that weaken a bucket, on whichever resource carries them."""
    if resource_type == BUCKET and props.get("acl") in PUBLIC_ACLS:
        return [f"bucket acl {props['acl']!r} makes objects public"]
    if resource_type == BUCKET_VERSIONING:
        status = (props.get("versioningConfiguration") or {}).get("status")
        return [] if status == "Enabled" else [f"versioning status is {status!r}, expected 'Enabled'"]
    if resource_type == BUCKET_ENCRYPTION:
        algorithms = [
            ((rule or {}).get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in props.get("rules") or []
        ]
        return [] if any(algorithms) else ["no default server-side encryption algorithm"]
    if resource_type == BUCKET_PUBLIC_ACCESS_BLOCK:
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if props.get(flag) is not True]
        return [f"public access block leaves {', '.join(off)} off"] if off else []
    return []


# -- policies --------------------------------------------------------------------------------------


def _resource_policy(
    name: str, description: str, check: Callable[[ResourceValidationArgs, StageRequirements], list[str]], requirements_of: RequirementsOf
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in check(args, requirements_of(args.urn)):
            report_violation(problem, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate, enforcement_level=MANDATORY)


def _per_template(check: Callable[[str, str, Mapping[str, Any], StageRequirements], list[str]]):
    def run(args: ResourceValidationArgs, requirements: StageRequirements) -> list[str]:
        return [problem for kind, where, spec in pod_templates(args) for problem in check(kind, where, spec, requirements)]

    return run


def _props_by_type(args: StackValidationArgs, resource_type: str):
    return [resource for resource in args.resources if resource.resource_type == resource_type]


def default_deny_problems(args: StackValidationArgs) -> list[tuple[str, str]]:
    """Namespaces of the stack without a policy that selects every pod and allows nothing."""
    denied = set()
    for policy in _props_by_type(args, "kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        spec = policy.props.get("spec") or {}
        selector = spec.get("podSelector") or {}
        selects_all = not selector.get("matchLabels") and not selector.get("matchExpressions")
        denies_all = {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []) and not spec.get("ingress") and not spec.get("egress")
        if selects_all and denies_all:
            denied.add((policy.props.get("metadata") or {}).get("namespace"))
    return [
        (namespace.urn, f"namespace {name!r} has no default-deny NetworkPolicy (podSelector {{}}, Ingress and Egress, no rules)")
        for namespace in _props_by_type(args, "kubernetes:core/v1:Namespace")
        if (name := (namespace.props.get("metadata") or {}).get("name")) not in denied
    ]


def _bucket_identities(bucket) -> set[str]:
    return {str(value) for value in (bucket.props.get("bucket"), bucket.props.get("id"), bucket.urn) if value}


def _refers_to(resource, bucket) -> bool:
    if str(resource.props.get("bucket")) in _bucket_identities(bucket):
        return True
    depends = list(resource.property_dependencies.get("bucket") or []) + list(resource.dependencies or [])
    return any(getattr(dependency, "urn", None) == bucket.urn for dependency in depends)


def bucket_hardening_problems(args: StackValidationArgs) -> list[tuple[str, str]]:
    """Every bucket versioned, encrypted by default and with all public access blocked."""
    problems = []
    companions = {
        BUCKET_VERSIONING: "a BucketVersioning with status Enabled",
        BUCKET_ENCRYPTION: "a BucketServerSideEncryptionConfiguration",
        BUCKET_PUBLIC_ACCESS_BLOCK: "a BucketPublicAccessBlock with all four flags true",
    }
    for bucket in _props_by_type(args, BUCKET):
        for resource_type, wanted in companions.items():
            found = [r for r in _props_by_type(args, resource_type) if _refers_to(r, bucket)]
            if not found or any(bucket_setting_problems(resource_type, r.props) for r in found):
                problems.append((bucket.urn, f"bucket {bucket.name!r} needs {wanted}"))
    return problems


def workflow_availability_problems(args: StackValidationArgs, requirements: StageRequirements) -> list[tuple[str, str]]:
    """In a highly available stage the workflow service has an HPA (min >= 2) and a PDB."""
    if not requirements.require_workflow_availability:
        return []

    def in_workflow_namespace(resource) -> bool:
        return (resource.props.get("metadata") or {}).get("namespace") == requirements.workflow_namespace

    deployments = [
        d for d in _props_by_type(args, "kubernetes:apps/v1:Deployment")
        if in_workflow_namespace(d) and (d.props.get("metadata") or {}).get("name") == requirements.workflow_app
    ]
    if not deployments:
        return [("", f"no Deployment {requirements.workflow_namespace}/{requirements.workflow_app}")]
    deployment = deployments[0]
    pod_labels = ((((deployment.props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")) or {}
    problems = []
    hpas = [
        h for h in _props_by_type(args, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
        if in_workflow_namespace(h)
        and ((h.props.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == requirements.workflow_app
    ]
    if not any(((h.props.get("spec") or {}).get("minReplicas") or 1) >= 2 for h in hpas):
        problems.append((deployment.urn, "the workflow service needs a HorizontalPodAutoscaler with minReplicas >= 2"))
    pdbs = [
        p for p in _props_by_type(args, "kubernetes:policy/v1:PodDisruptionBudget")
        if in_workflow_namespace(p)
        and (match := (((p.props.get("spec") or {}).get("selector") or {}).get("matchLabels")))
        and match.items() <= pod_labels.items()
    ]
    if not pdbs:
        problems.append((deployment.urn, "the workflow service needs a PodDisruptionBudget selecting its pods"))
    return problems


def _stack_policy(name: str, description: str, check, requirements_of: RequirementsOf | None = None) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if requirements_of is None:
            found = check(args)
        else:
            urns = [resource.urn for resource in args.resources]
            if not urns:
                return
            found = check(args, requirements_of(urns[0]))
        for urn, problem in found:
            report_violation(problem, urn or None)

    return StackValidationPolicy(name=name, description=description, validate=validate, enforcement_level=MANDATORY)


def build_policies(requirements_of: RequirementsOf = requirements_of_urn) -> list:
    """Every policy of the pack, mandatory."""
    return [
        _resource_policy(
            "pod-security-restricted",
            "Every pod template meets Pod Security Standards 'restricted'.",
            _per_template(lambda kind, where, spec, req: pss_restricted_problems(where, spec)),
            requirements_of,
        ),
        _resource_policy(
            "container-resources",
            "Every container sets CPU and memory requests and limits.",
            _per_template(lambda kind, where, spec, req: resource_problems(where, spec)),
            requirements_of,
        ),
        _resource_policy(
            "long-running-probes",
            "Every long-running container has readiness and liveness probes.",
            _per_template(lambda kind, where, spec, req: probe_problems(kind, where, spec)),
            requirements_of,
        ),
        _resource_policy(
            "pinned-images",
            "No 'latest' or missing tag; images pinned by digest where the stage requires it.",
            _per_template(lambda kind, where, spec, req: image_problems(where, spec, req.require_digest)),
            requirements_of,
        ),
        _resource_policy(
            "no-exposed-services",
            "No Service of type LoadBalancer or NodePort unless the stage's network config allows it.",
            service_exposure_problems,
            requirements_of,
        ),
        _resource_policy(
            "no-plaintext-secrets",
            "No secret value in a ConfigMap or a literal environment variable.",
            lambda args, req: plaintext_secret_problems(args),
            requirements_of,
        ),
        _resource_policy(
            "s3-bucket-settings",
            "Bucket ACLs, versioning, encryption and public access blocks are never weakened.",
            lambda args, req: bucket_setting_problems(args.resource_type, args.props),
            requirements_of,
        ),
        _stack_policy(
            "s3-bucket-hardened",
            "Every S3 bucket is versioned, encrypted by default and blocks all public access.",
            bucket_hardening_problems,
        ),
        _stack_policy(
            "namespace-default-deny",
            "Every namespace of the stack has a default-deny NetworkPolicy for ingress and egress.",
            default_deny_problems,
        ),
        _stack_policy(
            "workflow-service-availability",
            "In a highly available stage the workflow service has an HPA and a PodDisruptionBudget.",
            workflow_availability_problems,
            requirements_of,
        ),
    ]

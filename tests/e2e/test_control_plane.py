"""`wfdeploy cluster up` gives a working control plane: version, controllers, scheduler, kwok, admission, CRDs."""

from __future__ import annotations

import re
import time

import pytest

from wfdeploy.cluster.api import ApiError

RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
SECURE_CONTAINER = {
    "name": "app",
    "image": "registry.example/app@sha256:" + "0" * 64,
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
}


def eventually(what: str, check, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def gone(api, path: str) -> bool:
    try:
        api.get(path)
    except ApiError as error:
        if error.status == 404:
            return True
        raise
    return False


def namespace(api, name: str, labels: dict[str, str] | None = None) -> None:
    api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": name, "labels": labels or {}}})


def test_api_server_reports_the_stages_kubernetes_minor(cluster):
    assert re.fullmatch(r"v1\.34\.\d+", cluster["api"].get("/version")["gitVersion"])


def test_only_loopback_addresses_are_used(cluster):
    assert cluster["state"].server.startswith("https://127.0.0.1:")


def test_kubeconfig_serves_every_stage_context(cluster):
    import yaml

    kubeconfig = yaml.safe_load(open(cluster["state"].kubeconfig))
    names = {context["name"] for context in kubeconfig["contexts"]}
    assert {"kind-workflow-platform", "workflow-alpha", "workflow-staging", "workflow-production"} <= names


def test_namespace_deletion_completes(cluster):
    api = cluster["api"]
    namespace(api, "e2e-doomed")
    api.post("/api/v1/namespaces/e2e-doomed/configmaps",
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "content"}, "data": {"a": "b"}})
    api.delete("/api/v1/namespaces/e2e-doomed")
    # the namespace controller empties it and removes its finalizer
    eventually("namespace e2e-doomed to be deleted", lambda: gone(api, "/api/v1/namespaces/e2e-doomed"))


def test_deployment_becomes_available_on_a_kwok_node_and_is_garbage_collected(cluster):
    api = cluster["api"]
    namespace(api, "e2e-apps", RESTRICTED)
    labels = {"app": "web"}
    api.post("/apis/apps/v1/namespaces/e2e-apps/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [SECURE_CONTAINER]}}},
    })
    path = "/apis/apps/v1/namespaces/e2e-apps/deployments/web"
    eventually("Deployment web to be Available",
               lambda: (api.get(path).get("status") or {}).get("availableReplicas") == 2)
    pods = api.get("/api/v1/namespaces/e2e-apps/pods?labelSelector=app%3Dweb")["items"]
    assert {pod["spec"]["nodeName"].startswith("kwok-node-") for pod in pods} == {True}
    assert {pod["status"]["phase"] for pod in pods} == {"Running"}
    api.delete(path)
    # the garbage collector removes the ReplicaSet and its pods once their owner is gone
    eventually("the Deployment's pods to be garbage-collected",
               lambda: api.get("/api/v1/namespaces/e2e-apps/pods?labelSelector=app%3Dweb")["items"] == [])


def test_job_pods_complete(cluster):
    api = cluster["api"]
    namespace(api, "e2e-jobs", RESTRICTED)
    api.post("/apis/batch/v1/namespaces/e2e-jobs/jobs", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [SECURE_CONTAINER]}}},
    })
    eventually("Job once to succeed",
               lambda: (api.get("/apis/batch/v1/namespaces/e2e-jobs/jobs/once").get("status") or {}).get("succeeded") == 1)


def test_pod_security_admission_refuses_a_privileged_pod_in_a_restricted_namespace(cluster):
    api = cluster["api"]
    namespace(api, "e2e-restricted", RESTRICTED)
    privileged = {**SECURE_CONTAINER, "securityContext": {"privileged": True}}
    with pytest.raises(ApiError) as refused:
        api.post("/api/v1/namespaces/e2e-restricted/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {"containers": [privileged]}})
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest"' in refused.value.message


def test_every_pinned_crd_is_established(cluster):
    items = cluster["api"].get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]
    established = [i["metadata"]["name"] for i in items
                   if any(c["type"] == "Established" and c["status"] == "True" for c in i["status"]["conditions"])]
    assert len(established) == 55


def test_a_crd_cel_rule_refuses_a_bad_object(cluster):
    api = cluster["api"]
    namespace(api, "e2e-cel")
    both = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db"},
            "spec": {"instances": 1, "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
                     "imageCatalogRef": {"apiGroup": "postgresql.cnpg.io", "kind": "ImageCatalog", "name": "pg", "major": 17},
                     "storage": {"size": "1Gi"}}}
    with pytest.raises(ApiError) as refused:
        api.post("/apis/postgresql.cnpg.io/v1/namespaces/e2e-cel/clusters", both)
    assert refused.value.status == 422
    assert "imageName and imageCatalogRef are mutually exclusive" in refused.value.message
    # the same object without the conflict is accepted: the refusal was the rule, not the schema
    del both["spec"]["imageCatalogRef"]
    assert api.post("/apis/postgresql.cnpg.io/v1/namespaces/e2e-cel/clusters", both)["metadata"]["name"] == "db"


def test_a_claim_without_a_storage_class_is_bound(cluster):
    api = cluster["api"]
    namespace(api, "e2e-volumes")
    api.post("/api/v1/namespaces/e2e-volumes/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    })
    eventually("claim data to be Bound", lambda: (api.get(
        "/api/v1/namespaces/e2e-volumes/persistentvolumeclaims/data").get("status") or {}).get("phase") == "Bound")

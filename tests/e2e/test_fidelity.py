"""The manifest comparison names the field that differs and ignores what only the server added."""

from tests.e2e.fidelity import differences


def test_server_added_fields_and_empty_collections_are_not_differences():
    wanted = {"spec": {"replicas": 2, "tolerations": [], "template": {"metadata": {"labels": {"a": "b"}}}}}
    live = {"spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"metadata": {"labels": {"a": "b"}}}},
            "status": {"readyReplicas": 2}}
    assert differences(wanted, live) == []


def test_a_changed_or_missing_field_is_named_by_its_path():
    wanted = {"spec": {"replicas": 2, "containers": [{"image": "a@sha256:1"}, {"name": "x"}]}}
    live = {"spec": {"replicas": 3, "containers": [{"image": "a:latest"}, {}]}}
    assert differences(wanted, live) == [
        ".spec.replicas: rendered 2, the cluster has 3",
        ".spec.containers[0].image: rendered 'a@sha256:1', the cluster has 'a:latest'",
        ".spec.containers[1].name: missing in the cluster (expected 'x')",
    ]


def test_numbers_compare_by_value_but_not_across_types():
    assert differences({"port": 80.0}, {"port": 80}) == []
    assert differences({"flag": True}, {"flag": "true"}) == [".flag: rendered True, the cluster has 'true'"]
    assert differences({"n": "1"}, {"n": 1}) == [".n: rendered '1', the cluster has 1"]


def test_redacted_secret_values_are_not_compared():
    assert differences({"stringData": {"password": "<redacted>"}}, {"stringData": {"password": "s3cret"}}) == []  # pragma: allowlist secret (a fake value that must not be compared)

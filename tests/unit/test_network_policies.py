"""NetworkPolicies: default deny everywhere, generated from the one flows table, addresses from the stage config."""

import pytest

from components.charts import pinned_charts
from components.config import ConfigError
from components.network.chart_pods import CHART_PODS, chart_pods
from components.network.flows import Addresses, Flow, Workload, intended_flows, platform_namespaces, workload
from components.network.policies import DEFAULT_DENY, network_policies, policy_name
from tests.stagehelpers import STAGES, load_stage_with, section
from wfdeploy.render.synth import synthesize


def policies_of(synthesis) -> dict[tuple[str, str], dict]:
    return {
        (obj["metadata"]["namespace"], obj["metadata"]["name"]): obj
        for obj in synthesis.kubernetes_objects()
        if obj["kind"] == "NetworkPolicy"
    }


def peers_of(rules: list[dict], key: str) -> list[dict]:
    return [peer for rule in rules for peer in rule[key]]


@pytest.mark.parametrize("stage", STAGES)
def test_policies_wait_for_the_namespaces_only_not_for_the_workloads_to_be_ready(stage, synthesized):
    synthesis = synthesized(stage)
    (component,) = synthesis.of_type("wf:network:NetworkPolicies")
    namespaces = {resource.name for resource in synthesis.of_type("kubernetes:core/v1:Namespace")}
    # depending on the components would wait for every rollout and every Service's endpoints first
    assert set(component.depends_on) == namespaces


@pytest.mark.parametrize("stage", STAGES)
def test_every_namespace_the_stage_creates_has_a_default_deny_policy(stage, synthesized):
    synthesis = synthesized(stage)
    policies = policies_of(synthesis)
    created = {obj["metadata"]["name"] for obj in synthesis.kubernetes_objects() if obj["kind"] == "Namespace"}
    assert created <= set(platform_namespaces(load_stage_with(stage).config))
    for namespace in created:
        deny = policies[(namespace, DEFAULT_DENY)]
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_rendered_policies_are_exactly_those_generated_from_the_flows_table(synthesized):
    config = load_stage_with("production").config
    generated = network_policies(intended_flows(config), platform_namespaces(config))
    rendered = policies_of(synthesized("production"))
    assert {(p["metadata"]["namespace"], p["metadata"]["name"]): p["spec"] for p in generated} == {
        key: policy["spec"] for key, policy in rendered.items()
    }


def test_every_pod_may_query_cluster_dns_and_nothing_else_namespace_wide(synthesized):
    policy = policies_of(synthesized("production"))[("workflow", "allow-every-pod")]
    assert policy["spec"]["podSelector"] == {}
    assert "ingress" not in policy["spec"]
    (rule,) = policy["spec"]["egress"]
    assert rule["to"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    ]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_workflow_service_accepts_only_the_edge_and_prometheus_on_its_port(synthesized):
    policy = policies_of(synthesized("production"))[("workflow", "allow-workflow-service")]
    sources = {
        (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], tuple(sorted(peer["podSelector"]["matchLabels"])))
        for peer in peers_of(policy["spec"]["ingress"], "from")
    }
    assert {namespace for namespace, _ in sources} == {"envoy-gateway-system", "monitoring"}
    assert {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]} == {8080}


def test_workflow_service_reaches_only_the_pooler_and_redis(synthesized):
    policy = policies_of(synthesized("production"))[("workflow", "allow-workflow-service")]
    egress = {
        (tuple(sorted(rule["to"][0]["podSelector"]["matchLabels"].items())), tuple(p["port"] for p in rule["ports"]))
        for rule in policy["spec"]["egress"]
    }
    assert egress == {
        ((("cnpg.io/poolerName", "workflow-db-pooler-rw"),), (5432,)),
        ((("app.kubernetes.io/name", "workflow-cache"), ("app.kubernetes.io/part-of", "workflow-platform")), (6379,)),
    }


def test_operator_api_access_uses_the_stage_api_server_cidrs():
    network = section("alpha", "network")
    network["kubernetesApiCidrs"] = ["192.0.2.0/28"]
    network["kubernetesApiPorts"] = [6443]
    synthesis = synthesize(load_stage_with("alpha", {"workflow-platform:network": network}))
    policy = policies_of(synthesis)[("cnpg-system", "allow-cloudnative-pg")]
    api_rules = [rule for rule in policy["spec"]["egress"] if "ipBlock" in rule["to"][0]]
    assert api_rules == [{"to": [{"ipBlock": {"cidr": "192.0.2.0/28"}}], "ports": [{"protocol": "TCP", "port": 6443}]}]


def test_object_store_egress_comes_from_the_stage_config():
    config = load_stage_with("production").config
    to_store = [f for f in intended_flows(config) if isinstance(f.destination, Addresses) and f.destination.name == "object-store"]
    assert to_store
    assert all(f.destination.cidrs == tuple(config.network.object_store_cidrs) for f in to_store)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("kubernetesApiCidrs", ["10.0.0.0/33"], "workflow-platform:network.kubernetesApiCidrs[0]"),
        ("nodeCidrs", ["10.0.0.1/16"], "workflow-platform:network.nodeCidrs[0]"),
        ("objectStoreCidrs", [], "workflow-platform:network.objectStoreCidrs"),  # backups go to S3 here
        ("clientCidrs", ["2001:db8::/32"], "workflow-platform:network.clientCidrs"),
        ("loadBalancerServices", ["no-namespace"], "workflow-platform:network.loadBalancerServices"),
    ],
)
def test_network_section_rejects_bad_addresses_naming_the_key(key, value, expected):
    network = section("production", "network")
    network[key] = value
    with pytest.raises(ConfigError) as error:
        load_stage_with("production", {"workflow-platform:network": network})
    assert expected in str(error.value)


def test_two_workloads_may_not_share_a_name_in_one_namespace():
    dns = workload("dns", "kube-system", {"k8s-app": "kube-dns"})
    flows = [
        Flow(workload("api", "apps", {"app": "one"}), dns, (53,), "dns"),
        Flow(workload("api", "apps", {"app": "two"}), dns, (53,), "dns"),
    ]
    with pytest.raises(ValueError, match="apps/api"):
        network_policies(flows, ["apps"])


def test_flows_leaving_the_owned_namespaces_get_only_an_egress_side():
    outside = Workload("thing", "elsewhere", (("app", "thing"),))
    inside = workload("client", "apps", {"app": "client"})
    (deny, allow) = network_policies([Flow(inside, outside, (80,), "call")], ["apps"])
    assert deny["metadata"]["name"] == DEFAULT_DENY
    assert allow["metadata"] == {**allow["metadata"], "namespace": "apps", "name": "allow-client"}
    assert allow["spec"]["policyTypes"] == ["Egress"]


def egress_of(synthesis, namespace: str, name: str) -> list[dict]:
    return policies_of(synthesis)[(namespace, f"allow-{name}")]["spec"]["egress"]


def test_backup_jobs_reach_the_database_and_s3_in_a_cloud_stage(synthesized):
    for job in ("workflow-db-backup", "workflow-db-restore-drill"):
        egress = egress_of(synthesized("production"), "workflow-data", job)
        targets = [rule["to"] for rule in egress]
        assert [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "workflow-data"}}, "podSelector": {"matchLabels": {"cnpg.io/cluster": "workflow-db", "cnpg.io/podRole": "instance"}}}] in targets
        assert [{"ipBlock": {"cidr": "52.218.0.0/17"}}, {"ipBlock": {"cidr": "3.5.64.0/21"}}] in targets


def test_backup_jobs_reach_the_in_cluster_store_on_a_laptop(synthesized):
    egress = egress_of(synthesized("local"), "workflow-data", "workflow-db-backup")
    assert not any("ipBlock" in peer for rule in egress for peer in rule["to"])
    store = [rule for rule in egress if rule["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/name") == "workflow-backup-store"]
    assert store and store[0]["ports"] == [{"protocol": "TCP", "port": 7070}]


def test_nca_connection_strings_are_read_port_by_port():
    from wfdeploy.render.gates.connectivity import ALL_PORTS, parse_connections

    assert parse_connections("{protocols:TCP, UDP,dst_ports:53}") == [("TCP", 53), ("UDP", 53)]
    assert parse_connections("{protocols:TCP,dst_ports:443,9100-9101}") == [("TCP", 443), ("TCP", 9100), ("TCP", 9101)]
    assert parse_connections("{protocols:TCP,dst_ports:54},{protocols:UDP,dst_ports:53}") == [("TCP", 54), ("UDP", 53)]
    assert parse_connections("{protocols:TCP}") == [("TCP", ALL_PORTS)]
    assert parse_connections("All connections") == [("ALL", ALL_PORTS)]


def test_nca_address_ranges_become_networks():
    from wfdeploy.render.gates.connectivity import parse_connectivity

    text = "\n".join(
        [
            "apps/api[Deployment] => 10.20.0.0-10.20.255.255 : {protocols:TCP,dst_ports:443}",
            "0.0.0.0-255.255.255.255 => apps/api[Deployment] : {protocols:TCP,dst_ports:8080}",
            "kube-system/dns[Pod] => 0.0.0.0-255.255.255.255 : All connections",
        ]
    )
    computed = parse_connectivity(text, owned={"apps"})
    assert {key: [str(n) for n in nets] for key, nets in computed.addresses.items()} == {
        ("egress", "apps/api[Deployment]", "TCP", 443): ["10.20.0.0/16"],
        ("ingress", "apps/api[Deployment]", "TCP", 8080): ["0.0.0.0/0"],
    }
    assert computed.pods == set()


def chart_workloads(config) -> set[Workload]:
    return {
        peer
        for flow in intended_flows(config)
        for peer in (flow.source, flow.destination)
        if isinstance(peer, Workload) and (peer.provided_by or "").startswith("chart:")
    }


@pytest.mark.parametrize("stage", STAGES)
def test_policies_select_chart_pods_by_the_labels_the_pinned_chart_renders(stage, synthesized):
    config = load_stage_with(stage).config
    rendered = policies_of(synthesized(stage))
    table = {entry.labels: entry for entry in CHART_PODS.values()}
    workloads = chart_workloads(config)
    assert workloads
    for chart_workload in workloads:
        entry = table.get(chart_workload.labels)
        assert entry is not None, f"{chart_workload} selects {chart_workload.labels}, which no chart renders (chart_pods.py)"
        assert chart_workload.provided_by == entry.provided_by
        own = rendered[(chart_workload.namespace, policy_name(chart_workload))]
        assert own["spec"]["podSelector"] == {"matchLabels": dict(entry.labels)}


def test_the_eck_operator_is_selected_by_its_helm_labels_not_the_manifest_gen_ones(synthesized):
    # `control-plane: elastic-operator` exists only with global.manifestGen; Helm renders app.kubernetes.io/name
    policy = policies_of(synthesized("production"))[("logging", "allow-elastic-operator")]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "eck-operator"}}
    elasticsearch = policies_of(synthesized("production"))[("logging", "allow-elasticsearch")]
    assert {"app.kubernetes.io/name": "eck-operator"} in [
        peer["podSelector"].get("matchLabels") for peer in peers_of(elasticsearch["spec"]["ingress"], "from")
    ]


def test_every_chart_pods_entry_names_a_pinned_chart_and_cites_a_versioned_template():
    for (release, _), entry in CHART_PODS.items():
        assert entry.release == release and release in pinned_charts()
        assert entry.labels and "@" in entry.template, entry


def test_an_unknown_chart_workload_is_a_clear_error():
    with pytest.raises(KeyError, match="no pod labels for 'exporter' of chart 'eck-operator'"):
        chart_pods("eck-operator", "exporter")


def test_alertmanager_replicas_gossip_over_udp_and_tcp(synthesized):
    policy = policies_of(synthesized("production"))[("monitoring", "allow-alertmanager")]
    mesh = [rule for rule in policy["spec"]["ingress"] if any(port["port"] == 9094 for port in rule["ports"])]
    assert mesh and sorted((p["protocol"], p["port"]) for p in mesh[0]["ports"]) == [("TCP", 9094), ("UDP", 9094)]


def test_grafana_may_reach_alertmanager_for_its_datasource(synthesized):
    policy = policies_of(synthesized("production"))[("monitoring", "allow-grafana")]
    assert any(
        peer["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}} and rule["ports"] == [{"protocol": "TCP", "port": 9093}]
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
    )


def test_prometheus_opens_no_flow_to_operator_metrics_nobody_scrapes(synthesized):
    policy = policies_of(synthesized("production"))[("monitoring", "allow-prometheus")]
    targets = [
        (peer["podSelector"].get("matchLabels"), port["port"])
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        if "podSelector" in peer
        for port in rule["ports"]
    ]
    assert ({"control-plane": "envoy-gateway"}, 19001) not in targets
    assert ({"app.kubernetes.io/name": "cloudnative-pg"}, 8080) not in targets
    assert ({"app.kubernetes.io/name": "kube-state-metrics"}, 8080) in targets  # the check sees egress rules at all

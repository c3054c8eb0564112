"""The edge: Envoy Gateway serving the Gateway API, rate limited, with timeouts, body-size limits and TLS.

Everything public enters here. The Gateway, its routes and policies live in
the edge namespace; the HTTPRoute reaches the workflow Service across
namespaces through a ReferenceGrant owned by the workflow namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.charts import install_chart
from components.config.edge import EdgeConfig
from components.config.substitutions import SubstitutionsConfig
from components.facts import ServiceRef
from components.kube import child, restricted_namespace, standard_labels

from .facts import (
    CERT_MANAGER_RELEASE,
    CONTROLLER_NAME,
    GATEWAY_CLASS,
    GATEWAY_NAME,
    GATEWAY_RELEASE,
    HTTP_LISTENER_PORT,
    HTTPS_LISTENER_PORT,
    INTERNAL_PATHS,
    ISSUER_NAME,
    PROXY_CONFIG,
    ROUTE_NAME,
    TLS_SECRET,
)


@dataclass(frozen=True)
class EdgeArgs:
    namespace: str
    settings: EdgeConfig
    #: the Service the route sends requests to (the workflow service's `backend`)
    backend: ServiceRef
    zones: list[str] = field(default_factory=list)
    allow_load_balancer: bool = False
    substitutions: SubstitutionsConfig = field(default_factory=SubstitutionsConfig)


def _custom(name: str, api_version: str, kind: str, metadata: dict, spec: dict, opts: pulumi.ResourceOptions):
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, metadata=metadata, spec=spec, opts=opts)


class Edge(pulumi.ComponentResource):
    """Gateway, route and traffic policies for the workflow service."""

    hostname: pulumi.Output[str]
    url: pulumi.Output[str]
    #: the Namespaces it creates (the network policies land in them)
    owned_namespaces: list[k8s.core.v1.Namespace]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("wf:edge:Edge", name, None, opts)
        settings = args.settings

        controller_namespace = restricted_namespace(
            f"{name}-controller-namespace", settings.controller_namespace, "edge-controller", child(self)
        )
        gateway_chart = install_chart(
            f"{name}-envoy-gateway", GATEWAY_RELEASE, controller_namespace.metadata["name"], {},
            child(self, depends_on=[controller_namespace]), crds_only=args.substitutions.crds_only,
        )
        namespace = restricted_namespace(f"{name}-namespace", args.namespace, "edge", child(self))
        self.owned_namespaces = [controller_namespace, namespace]
        after_crds = child(self, depends_on=[gateway_chart, namespace])
        in_edge = {"namespace": namespace.metadata["name"], "labels": standard_labels(GATEWAY_NAME, "edge")}

        gateway = self._gateway(name, args, controller_namespace, namespace, gateway_chart, in_edge, after_crds)
        route = self._routes(name, args, gateway, in_edge, after_crds)
        self._traffic_policies(name, args, gateway, route, in_edge, after_crds)

        scheme = "https" if settings.tls.enabled else "http"
        self.hostname = pulumi.Output.from_input(settings.hostname)
        self.url = pulumi.Output.from_input(f"{scheme}://{settings.hostname}/")
        self.register_outputs({"hostname": self.hostname, "url": self.url})

    def _gateway(
        self,
        name: str,
        args: EdgeArgs,
        controller_namespace: k8s.core.v1.Namespace,
        namespace: k8s.core.v1.Namespace,
        gateway_chart: pulumi.Resource,
        in_edge: dict[str, Any],
        after_crds: pulumi.ResourceOptions,
    ) -> pulumi.Resource:
        """The proxy fleet's settings, its GatewayClass and the Gateway with an HTTP (and, with TLS, HTTPS) listener."""
        settings = args.settings
        labels = in_edge["labels"]
        proxy_config = _custom(
            f"{name}-proxy-config", "gateway.envoyproxy.io/v1alpha1", "EnvoyProxy",
            {"name": PROXY_CONFIG, "namespace": controller_namespace.metadata["name"], "labels": labels},
            self._proxy_spec(settings, args),
            after_crds,
        )
        gateway_class = _custom(
            f"{name}-gateway-class", "gateway.networking.k8s.io/v1", "GatewayClass",
            {"name": GATEWAY_CLASS, "labels": labels},
            {
                "controllerName": CONTROLLER_NAME,
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": proxy_config.metadata["name"],
                    "namespace": controller_namespace.metadata["name"],
                },
            },
            after_crds,
        )
        listeners: list[dict[str, Any]] = [
            {"name": "http", "protocol": "HTTP", "port": HTTP_LISTENER_PORT, "hostname": settings.hostname,
             "allowedRoutes": {"namespaces": {"from": "Same"}}},
        ]
        waits_for: list[pulumi.Resource] = [gateway_chart, namespace]
        if settings.tls.enabled:
            waits_for += self._certificate(name, args, namespace, gateway_chart)
            listeners.append(
                {"name": "https", "protocol": "HTTPS", "port": HTTPS_LISTENER_PORT, "hostname": settings.hostname,
                 "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "group": "", "name": TLS_SECRET}]},
                 "allowedRoutes": {"namespaces": {"from": "Same"}}}
            )
        return _custom(
            f"{name}-gateway", "gateway.networking.k8s.io/v1", "Gateway",
            {"name": GATEWAY_NAME, **in_edge},
            {"gatewayClassName": gateway_class.metadata["name"], "listeners": listeners},
            child(self, depends_on=waits_for),
        )

    def _routes(
        self, name: str, args: EdgeArgs, gateway: pulumi.Resource, in_edge: dict[str, Any], after_crds: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        """The route to the backend (internal paths answered 404 at the edge) and, with TLS, the HTTPS redirect."""
        settings = args.settings
        labels = in_edge["labels"]
        serving_listener = "https" if settings.tls.enabled else "http"
        # the backend's namespace lets routes of the edge namespace reach its Service
        k8s.apiextensions.CustomResource(
            f"{name}-reference-grant",
            api_version="gateway.networking.k8s.io/v1beta1",
            kind="ReferenceGrant",
            metadata={"name": "allow-edge-routes", "namespace": args.backend.namespace, "labels": labels},
            spec={
                "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": args.namespace}],
                "to": [{"group": "", "kind": "Service", "name": args.backend.name}],
            },
            opts=after_crds,
        )
        not_found = _custom(
            f"{name}-not-found", "gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter",
            {"name": "not-found", **in_edge},
            {"directResponse": {"statusCode": 404, "contentType": "text/plain",
                                "body": {"type": "Inline", "inline": "not found\n"}}},
            after_crds,
        )
        backend = {"group": "", "kind": "Service", "name": args.backend.name,
                   "namespace": args.backend.namespace, "port": args.backend.port}
        route = _custom(
            f"{name}-route", "gateway.networking.k8s.io/v1", "HTTPRoute",
            {"name": ROUTE_NAME, **in_edge},
            {
                "parentRefs": [{"name": gateway.metadata["name"], "sectionName": serving_listener}],
                "hostnames": [settings.hostname],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": path}} for path in INTERNAL_PATHS],
                        "filters": [{"type": "ExtensionRef", "extensionRef": {
                            "group": "gateway.envoyproxy.io", "kind": "HTTPRouteFilter", "name": not_found.metadata["name"]}}],
                    },
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                        "backendRefs": [backend],
                        "timeouts": {"request": settings.timeouts.request,
                                     "backendRequest": settings.timeouts.backend_request},
                    },
                ],
            },
            after_crds,
        )
        if settings.tls.enabled:
            _custom(
                f"{name}-https-redirect", "gateway.networking.k8s.io/v1", "HTTPRoute",
                {"name": f"{ROUTE_NAME}-https-redirect", **in_edge},
                {
                    "parentRefs": [{"name": gateway.metadata["name"], "sectionName": "http"}],
                    "hostnames": [settings.hostname],
                    "rules": [{"filters": [{"type": "RequestRedirect",
                                            "requestRedirect": {"scheme": "https", "statusCode": 301}}]}],
                },
                after_crds,
            )
        return route

    def _traffic_policies(
        self,
        name: str,
        args: EdgeArgs,
        gateway: pulumi.Resource,
        route: pulumi.Resource,
        in_edge: dict[str, Any],
        after_crds: pulumi.ResourceOptions,
    ) -> None:
        """Rate limit, body size and timeouts on the route; connection limits and header hygiene on the Gateway."""
        settings = args.settings
        _custom(
            f"{name}-backend-policy", "gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy",
            {"name": ROUTE_NAME, **in_edge},
            {
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route.metadata["name"]}],
                "rateLimit": {
                    "type": "Local",
                    "local": {"rules": [{"limit": {"requests": settings.rate_limit.requests,
                                                   "unit": settings.rate_limit.unit}}]},
                },
                # bodies above the limit are refused with 413 before they reach the service
                "requestBuffer": {"limit": settings.max_request_body_size},
                "timeout": {"tcp": {"connectTimeout": "5s"},
                            "http": {"connectionIdleTimeout": settings.timeouts.idle}},
            },
            after_crds,
        )
        _custom(
            f"{name}-client-policy", "gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy",
            {"name": GATEWAY_NAME, **in_edge},
            {
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": gateway.metadata["name"]}],
                "connection": {"connectionLimit": {"value": settings.max_connections},
                               "bufferLimit": settings.max_request_body_size},
                "timeout": {"http": {"requestReceivedTimeout": settings.timeouts.request,
                                     "idleTimeout": settings.timeouts.idle}},
                "headers": {"withUnderscoresAction": "RejectRequest"},
            },
            after_crds,
        )

    @staticmethod
    def _proxy_spec(settings: EdgeConfig, args: EdgeArgs) -> dict[str, Any]:
        """Envoy proxy fleet: replicas per stage, spread, a PDB, exposed as the cluster allows."""
        owner = {"app.kubernetes.io/managed-by": "envoy-gateway", "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME}
        spread = [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": owner}}
            for key in (["topology.kubernetes.io/zone"] if args.zones else []) + ["kubernetes.io/hostname"]
        ]
        return {
            "provider": {
                "type": "Kubernetes",
                "kubernetes": {
                    "envoyDeployment": {"replicas": settings.proxy_replicas, "pod": {"topologySpreadConstraints": spread}},
                    "envoyPDB": {"maxUnavailable": 1},
                    "envoyService": {"type": "LoadBalancer" if args.allow_load_balancer else "NodePort"},
                },
            },
        }

    def _certificate(
        self, name: str, args: EdgeArgs, namespace: k8s.core.v1.Namespace, gateway_chart: pulumi.Resource
    ) -> list[pulumi.Resource]:
        """cert-manager, an ACME ClusterIssuer solving HTTP-01 through the Gateway, and the Certificate."""
        settings = args.settings
        labels = standard_labels(ISSUER_NAME, "edge")
        cm_namespace = restricted_namespace(
            f"{name}-cert-manager-namespace", settings.cert_manager_namespace, "certificates", child(self)
        )
        self.owned_namespaces.append(cm_namespace)
        # config.enableGatewayAPI: the controller watches Gateway API kinds from its start, so their CRDs (shipped
        # by Envoy Gateway) come first; the release (helm.v3.Release, startupapicheck hook) is ready only once the
        # webhook serves with its injected CA, so the issuer and certificate below never race the injection
        chart = install_chart(
            f"{name}-cert-manager", CERT_MANAGER_RELEASE, cm_namespace.metadata["name"], {},
            child(self, depends_on=[cm_namespace, gateway_chart]), crds_only=args.substitutions.crds_only,
        )
        issuer = _custom(
            f"{name}-issuer", "cert-manager.io/v1", "ClusterIssuer",
            {"name": ISSUER_NAME, "labels": labels},
            {
                "acme": {
                    "server": settings.tls.acme_server,
                    "email": settings.tls.email,
                    "privateKeySecretRef": {"name": f"{ISSUER_NAME}-account-key"},
                    "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [
                        {"name": GATEWAY_NAME, "namespace": args.namespace, "kind": "Gateway", "sectionName": "http"}
                    ]}}}],
                }
            },
            child(self, depends_on=[chart]),
        )
        certificate = _custom(
            f"{name}-certificate", "cert-manager.io/v1", "Certificate",
            {"name": TLS_SECRET, "namespace": namespace.metadata["name"], "labels": labels},
            {
                "secretName": TLS_SECRET,
                "dnsNames": [settings.hostname],
                "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer.metadata["name"]},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "renewBefore": "720h",
            },
            child(self, depends_on=[chart]),
        )
        return [chart, certificate]

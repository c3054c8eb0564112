"""Facts of the edge that other concerns read: chart releases, object names, the proxies' pods and ports.

Pure (standard library, `components.facts` and the workflow service's facts):
the flows table opens the proxies' ports and the monitors select them from here.
"""

from __future__ import annotations

from components.facts import Pods, as_labels
from components.workflow import facts as workflow

GATEWAY_RELEASE = "envoy-gateway"
CERT_MANAGER_RELEASE = "cert-manager"
CONTROLLER_NAME = "gateway.envoyproxy.io/gatewayclass-controller"
GATEWAY_CLASS = "workflow-envoy"
GATEWAY_NAME = "workflow-gateway"
#: The route (and its traffic policy) is named after the one backend it serves.
ROUTE_NAME = workflow.APP_NAME
PROXY_CONFIG = "workflow-proxy"
TLS_SECRET = "workflow-edge-tls"
ISSUER_NAME = "workflow-acme"
#: Paths of the service contract that stay inside the cluster.
INTERNAL_PATHS = (workflow.METRICS_PATH,)

#: The Gateway's listener ports; Envoy Gateway shifts listener ports below 1024 up by 10000 in the proxy pods.
HTTP_LISTENER_PORT = 80
HTTPS_LISTENER_PORT = 443
ENVOY_HTTP_PORT = HTTP_LISTENER_PORT + 10000
ENVOY_HTTPS_PORT = HTTPS_LISTENER_PORT + 10000
ENVOY_METRICS_PORT = 19001
#: Envoy Gateway's xDS server, which the proxies fetch their configuration from, and its admission webhook.
ENVOY_GATEWAY_XDS_PORT = 18000
ENVOY_GATEWAY_WEBHOOK_PORT = 9443
#: cert-manager's webhook port and the ACME HTTP-01 solver's.
CERT_MANAGER_WEBHOOK_PORT = 10250
ACME_SOLVER_PORT = 8089


def proxy_pods(edge_namespace: str) -> Pods:
    """The Envoy proxies of the Gateway; Envoy Gateway runs them in its controller's namespace."""
    return Pods(
        "envoy-proxy",
        as_labels(
            {"gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME, "gateway.envoyproxy.io/owning-gateway-namespace": edge_namespace}
        ),
        f"Gateway/{GATEWAY_NAME}",
    )


#: The pods cert-manager starts to answer an ACME HTTP-01 challenge, in the edge namespace.
ACME_SOLVER_PODS = Pods("acme-http-solver", as_labels({"acme.cert-manager.io/http01-solver": "true"}), f"Certificate/{TLS_SECRET}")

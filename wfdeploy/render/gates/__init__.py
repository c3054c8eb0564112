"""Gates: checks that `render` runs on its own output; any failure stops the render.

A gate is a function (RenderContext) -> list of failures; each failure names
the object and the problem. `GATES` lists every gate, in the order they run
and are reported.
"""

from __future__ import annotations

from wfdeploy.render.context import Gate
from wfdeploy.render.gates import chart_values, checkov, connectivity, monitoring, monitors, policy_pack, schemas

#: name -> gate, in the order they run and are reported.
GATES: dict[str, Gate] = {
    "kubernetes-schema": schemas.kubernetes_schema,
    "crd-schema": schemas.crd_schema,
    "chart-values": chart_values.chart_values,
    "monitoring": monitoring.monitoring_gate,
    "monitor-selection": monitors.monitor_selection,
    "policy-pack": policy_pack.policy_pack,
    "checkov": checkov.checkov,
    "connectivity": connectivity.connectivity,
}

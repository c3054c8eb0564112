"""Monitoring (kube-prometheus-stack, monitors, rules, dashboards): the component in `component`, its facts in `facts`.

The rule files, Alertmanager config and dashboards are pure functions of the stage in their own modules.
"""

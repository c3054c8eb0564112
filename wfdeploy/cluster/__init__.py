"""An ephemeral Kubernetes control plane on 127.0.0.1 for real `pulumi up` runs (see docs/real-control-plane.md)."""

from wfdeploy.cluster.control_plane import ClusterError, ClusterSettings, admin_client, cluster_dir, down, running, up

__all__ = ["ClusterError", "ClusterSettings", "admin_client", "cluster_dir", "down", "running", "up"]

"""Post-deploy verification: the host inventory, /proc parsing and the stage-level checks."""

"""The verification wing: `wfdeploy verify` (suite runner, cluster and local-tier inventories, stage checks) and the load test."""

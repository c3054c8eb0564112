"""The promotion wing: promote and roll back releases (`deployer`, `rollback`), their records, preflight, and the one boundary to Pulumi, kubectl and aws (`automation`)."""

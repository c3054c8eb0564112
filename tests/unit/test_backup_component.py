"""Backup resources per stage under the mock engine: bucket, key, role, CronJobs."""

from __future__ import annotations

import json

import pytest

from tests.stagehelpers import PROMOTION_CHAIN, STAGES, find_object, load_stage_with

AWS_STAGES = PROMOTION_CHAIN


def _cloud(synthesis, type_: str) -> list[dict]:
    """The backup bucket's own cloud resources (the logging snapshot bucket shares the model, not the resources)."""
    return [resource.inputs for resource in synthesis.of_type(type_) if resource.parent_type == "wf:backup:BackupBucket"]


def _one(synthesis, type_: str) -> dict:
    found = _cloud(synthesis, type_)
    assert len(found) == 1, f"expected one {type_}, found {len(found)}"
    return found[0]


def _cronjobs(synthesis, stage):
    namespace = load_stage_with(stage).config.namespaces.data
    return (find_object(synthesis, "CronJob", "workflow-db-backup", namespace),
            find_object(synthesis, "CronJob", "workflow-db-restore-drill", namespace))


@pytest.mark.parametrize("stage", STAGES)
def test_cronjobs_follow_the_stack_file_and_never_overlap(synthesized, stage):
    backup_config = load_stage_with(stage).config.backup
    backup, drill = _cronjobs(synthesized(stage), stage)
    assert backup["spec"]["schedule"] == backup_config.schedule
    assert drill["spec"]["schedule"] == backup_config.restore_drill_schedule
    for cronjob in (backup, drill):
        spec = cronjob["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["successfulJobsHistoryLimit"] == backup_config.successful_jobs_history_limit
        assert spec["failedJobsHistoryLimit"] == backup_config.failed_jobs_history_limit
        assert spec["startingDeadlineSeconds"] > 0
        job = spec["jobTemplate"]["spec"]
        assert job["backoffLimit"] == backup_config.backoff_limit
        assert job["activeDeadlineSeconds"] > 0


@pytest.mark.parametrize("stage", STAGES)
def test_job_pods_satisfy_pod_security_restricted(synthesized, stage):
    for cronjob in _cronjobs(synthesized(stage), stage):
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["restartPolicy"] == "Never"
        assert pod["serviceAccountName"] == "workflow-backup"
        (container,) = pod["containers"]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]
        assert context["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("stage", STAGES)
def test_job_runs_the_repository_job_module_with_the_contract_environment(synthesized, stage):
    config = load_stage_with(stage).config
    backup, drill = _cronjobs(synthesized(stage), stage)
    for cronjob, verb in ((backup, "backup"), (drill, "restore-drill")):
        (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == config.images.backup_job
        assert container["command"] == ["python3", "-m", "components.backup.job", verb]
        env = {item["name"]: item for item in container["env"]}
        assert {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "BACKUP_BUCKET", "BACKUP_PREFIX",
                "AWS_REGION"} <= set(env)
        assert env["PGHOST"]["value"] == "workflow-db-rw"
        assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "workflow-db-app", "key": "password"}
        assert env["BACKUP_PREFIX"]["value"] == config.backup.prefix


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_service_account_assumes_the_backup_role_through_irsa(synthesized, stage):
    account = find_object(synthesized(stage), "ServiceAccount", "workflow-backup", "workflow-data")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("<computed:Role/")


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_bucket_is_versioned_encrypted_locked_and_private(synthesized, stage):
    config = load_stage_with(stage).config.backup
    synthesis = synthesized(stage)
    bucket = _one(synthesis, "aws:s3/bucket:Bucket")
    assert bucket["bucket"] == config.bucket.name
    assert bucket["objectLockEnabled"] is True
    assert _one(synthesis, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    (rule,) = _one(synthesis, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == "<computed:Key/backup-bucket-key.arn>"
    lock = _one(synthesis, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock["rule"]["defaultRetention"] == {"mode": config.object_lock_mode, "days": config.object_lock_days}
    block = _one(synthesis, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block[key] for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policy = json.loads(_one(synthesis, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_backup_key_is_dedicated_and_rotates(synthesized, stage):
    key = _one(synthesized(stage), "aws:kms/key:Key")
    assert key["enableKeyRotation"] is True
    assert key["deletionWindowInDays"] >= 7


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_lifecycle_moves_old_backups_and_expires_pruned_versions(synthesized, stage):
    config = load_stage_with(stage).config.backup
    rules = {rule["id"]: rule for rule in _one(synthesized(stage), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]}
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1
    assert rules["expire-pruned-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] == config.bucket.noncurrent_version_expiration_days
    if config.bucket.transition_days:
        (transition,) = rules["older-backups-to-cheaper-storage"]["transitions"]
        assert transition == {"days": config.bucket.transition_days, "storageClass": config.bucket.transition_storage_class}
    # current backups are never expired by the bucket: the job prunes them and keeps the newest
    assert not any("days" in rule.get("expiration", {}) for rule in rules.values())


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_role_may_use_only_the_platform_prefix_and_the_backup_key(synthesized, stage):
    config = load_stage_with(stage).config
    synthesis = synthesized(stage)
    role = [r for r in _cloud(synthesis, "aws:iam/role:Role") if r.get("name", "").endswith("-db-backup")]
    assert len(role) == 1
    trust = json.loads(role[0]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"]["Federated"] == config.aws.eks_oidc_provider_arn
    assert trust["Condition"]["StringEquals"][f"{config.aws.eks_oidc_issuer}:sub"] == (
        "system:serviceaccount:workflow-data:workflow-backup"
    )
    policies = [json.loads(p["policy"]) for p in _cloud(synthesis, "aws:iam/rolePolicy:RolePolicy")
                if p["role"] == "backup-bucket-role-id"]
    assert len(policies) == 1
    statements = {s["Sid"]: s for s in policies[0]["Statement"]}
    prefix = config.backup.prefix
    assert statements["ListPlatformPrefix"]["Condition"]["StringLike"]["s3:prefix"] == [prefix, f"{prefix}*"]
    assert statements["ObjectsUnderPlatformPrefix"]["Resource"].endswith(f"/{prefix}*")
    assert statements["BackupKey"]["Resource"] == "<computed:Key/backup-bucket-key.arn>"
    actions = {a for s in statements.values() for a in s["Action"]}
    assert not any(a.endswith("*") for a in actions)
    assert "s3:PutObjectRetention" not in actions and "s3:BypassGovernanceRetention" not in actions


def test_local_stage_has_no_aws_resources_and_an_in_cluster_store(synthesized):
    synthesis = synthesized("local")
    assert not [r for r in synthesis.resources if r.type.startswith("aws:") and r.name.startswith("backup")]
    store = find_object(synthesis, "Deployment", "workflow-backup-store", "workflow-data")
    assert store["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    find_object(synthesis, "PersistentVolumeClaim", "workflow-backup-store", "workflow-data")
    backup, _ = _cronjobs(synthesis, "local")
    env = {item["name"]: item for item in backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AWS_ENDPOINT_URL_S3"]["value"] == "http://workflow-backup-store.workflow-data.svc:7070"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "workflow-backup-store-credentials"
    account = find_object(synthesis, "ServiceAccount", "workflow-backup", "workflow-data")
    assert "eks.amazonaws.com/role-arn" not in (account["metadata"].get("annotations") or {})


def test_in_cluster_store_credentials_are_generated_and_never_rendered(synthesized):
    secret = find_object(synthesized("local"), "Secret", "workflow-backup-store-credentials", "workflow-data")
    assert set(secret["stringData"].values()) == {"<redacted>"}


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_production_bucket_is_protected_from_deletion(synthesized, stage):
    config = load_stage_with(stage).config.backup
    bucket = _one(synthesized(stage), "aws:s3/bucket:Bucket")
    assert bucket["forceDestroy"] is config.bucket.force_destroy
    if stage == "production":
        assert config.bucket.force_destroy is False and config.object_lock_mode == "COMPLIANCE"


# -- what `pulumi up` waits for before the backups ---------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_backups_wait_for_the_data_namespace_not_for_the_data_tier_to_be_ready(synthesized, stage):
    (backups,) = synthesized(stage).of_type("wf:backup:DatabaseBackups")
    # depending on the whole tier would wait for its Services' endpoints (plus the provider's 10 s settle each)
    assert backups.depends_on == ["data-namespace"]


def test_in_cluster_backup_jobs_wait_for_the_store_credentials_not_for_the_store_to_be_ready(synthesized):
    synthesis = synthesized("local")
    (jobs,) = synthesis.of_type("wf:backup:BackupJobs")
    assert jobs.depends_on == []
    cronjobs = [item for item in synthesis.of_type("kubernetes:batch/v1:CronJob") if item.parent_type == "wf:backup:BackupJobs"]
    assert len(cronjobs) == 2
    for cronjob in cronjobs:
        assert "backup-store-credentials" in cronjob.depends_on, cronjob.name
        assert not {"backup-store-service", "backup-store-deployment"} & set(cronjob.depends_on), cronjob.name


@pytest.mark.parametrize("stage", AWS_STAGES)
def test_cloud_backup_jobs_wait_for_the_bucket_and_its_role(synthesized, stage):
    (jobs,) = synthesized(stage).of_type("wf:backup:BackupJobs")
    assert {"backup-bucket-bucket", "backup-bucket-role", "backup-bucket-role-access"} <= set(jobs.depends_on)

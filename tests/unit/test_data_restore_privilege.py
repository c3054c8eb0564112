"""The restore drill creates a scratch database with the app credentials: the app owner role must have CREATEDB."""

import pytest

from tests.stagehelpers import STAGES, find_object, load_stage_with


@pytest.mark.parametrize("stage", STAGES)
def test_app_owner_is_a_managed_role_with_createdb_and_nothing_more(synthesized, stage):
    config = load_stage_with(stage).config
    cluster = find_object(synthesized(stage), "Cluster", "workflow-db", config.namespaces.data)["spec"]
    owner = cluster["bootstrap"]["initdb"]["owner"]
    (role,) = [r for r in cluster["managed"]["roles"] if r["name"] == owner]
    assert role["ensure"] == "present" and role["login"] is True
    assert role["createdb"] is True
    # least privilege: CREATEDB is the only extra attribute the drill needs
    assert not any(role.get(flag) for flag in ("superuser", "createrole", "replication", "bypassrls"))
    # the password the role keeps is the one the backup jobs read: the same Secret as initdb's
    assert role["passwordSecret"] == cluster["bootstrap"]["initdb"]["secret"]
    assert role["passwordSecret"]["name"] == config.backup.database.credentials_secret

"""`render`: byte-identical output, atomic writes, redaction and gates that name the object."""

import copy
import hashlib
from pathlib import Path

import pytest
import yaml

from components.config import LoadedStage
from tests.stagehelpers import STAGES, load_stage_with
from wfdeploy.render.context import RenderContext, RenderError
from wfdeploy.render.gates.schemas import crd_schema, kubernetes_schema
from wfdeploy.render.synth import DeclaredResource, Synthesis, synthesize
from wfdeploy.render.writer import redact_secret_object, render_stage, write_core_artifacts


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_renders_and_passes_every_gate(stage, tmp_path):
    result = render_stage(load_stage_with(stage), tmp_path)
    failures = {name: [str(f) for f in found] for name, found in result.gate_results.items() if found}
    assert failures == {}
    assert {"kubernetes-schema", "crd-schema"} <= set(result.gate_results)


def test_same_input_renders_byte_identical_output(tmp_path):
    first = render_stage(load_stage_with("production"), tmp_path / "one", run_gates=False)
    second = render_stage(load_stage_with("production"), tmp_path / "two", run_gates=False)
    assert tree_digest(first.output_dir) == tree_digest(second.output_dir)
    assert tree_digest(first.output_dir)  # not vacuously equal


def test_integral_numbers_are_rendered_as_integers(tmp_path):
    result = render_stage(load_stage_with("production"), tmp_path, run_gates=False)
    # the replica count lives on the HPA (the Deployment leaves .spec.replicas to it)
    path = result.output_dir / "manifests/workflow/HorizontalPodAutoscaler.workflow-service.yaml"
    autoscaler = yaml.safe_load(path.read_text())
    assert autoscaler["spec"]["minReplicas"] == 3 and isinstance(autoscaler["spec"]["minReplicas"], int)
    assert "3.0" not in path.read_text()


def test_plan_summary_counts_resources_by_component_and_type(tmp_path):
    result = render_stage(load_stage_with("alpha"), tmp_path, run_gates=False)
    plan = yaml.safe_load((result.output_dir / "plan.json").read_text())
    service = plan["byComponent"]["wf:workflow:WorkflowService"]
    assert service["kubernetes:apps/v1:Deployment"] == 1
    assert plan["resourceCount"] == sum(sum(types.values()) for types in plan["byComponent"].values())


def test_a_failed_render_leaves_the_previous_output_untouched(tmp_path, monkeypatch):
    render_stage(load_stage_with("alpha"), tmp_path, run_gates=False)
    before = tree_digest(tmp_path / "alpha")

    def explode(synthesis, out):
        (out / "partial.yaml").write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setattr("wfdeploy.render.writer.write_core_artifacts", explode)
    with pytest.raises(RuntimeError):
        render_stage(load_stage_with("alpha"), tmp_path, run_gates=False)
    assert tree_digest(tmp_path / "alpha") == before
    assert [p.name for p in tmp_path.iterdir()] == ["alpha"]


def test_secret_objects_are_rendered_with_redacted_values():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    assert redact_secret_object(secret)["stringData"] == {"password": "<redacted>"}
    assert secret["stringData"]["password"] == "hunter2"  # the input is not modified


def _context_with(obj: dict, stage: LoadedStage, tmp_path: Path) -> RenderContext:
    resource = DeclaredResource(
        type=f"kubernetes:{obj['apiVersion']}:{obj['kind']}", name="broken", parent_type="", custom=True,
        remote=False, inputs=obj,
    )
    return RenderContext(stage=stage, synthesis=Synthesis(stage.config.stage, [resource], {}), output_dir=tmp_path)


def test_kubernetes_schema_gate_names_the_object_and_the_field(synthesized, tmp_path):
    deployment = copy.deepcopy(
        next(o for o in synthesized("alpha").kubernetes_objects() if o["kind"] == "Deployment")
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 3
    deployment["spec"]["replicaz"] = 2
    failures = kubernetes_schema(_context_with(deployment, load_stage_with("alpha"), tmp_path))
    assert len(failures) == 1
    assert failures[0].subject == "Deployment workflow/workflow-service"
    assert "invalid for Kubernetes 1.34.0" in failures[0].problem


def test_custom_resource_without_a_schema_is_an_error(tmp_path):
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"}}
    failures = crd_schema(_context_with(unknown, load_stage_with("alpha"), tmp_path))
    assert [f.subject for f in failures] == ["Widget n/w"]
    assert "no pinned CRD serves example.com/v1 Widget" in failures[0].problem and "WFDEPLOY_CRDS" in failures[0].problem


def test_custom_resource_is_checked_against_its_crd_schema(tmp_path):
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "m", "namespace": "n"},
        "spec": {"endpoints": "not-a-list", "selector": {}},
    }
    failures = crd_schema(_context_with(monitor, load_stage_with("alpha"), tmp_path))
    assert len(failures) == 1 and "spec/endpoints" in failures[0].problem


def test_crd_folder_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.setenv("WFDEPLOY_CRDS", str(tmp_path / "empty-catalog"))
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}
    failures = crd_schema(_context_with(monitor, load_stage_with("alpha"), tmp_path))
    assert str(tmp_path / "empty-catalog") in failures[0].problem


def test_two_objects_with_the_same_identity_are_refused(tmp_path, synthesized):
    synthesis = synthesized("alpha")
    deployment = next(r for r in synthesis.resources if r.type == "kubernetes:apps/v1:Deployment")
    duplicate = Synthesis("alpha", synthesis.resources + [deployment], {})
    with pytest.raises(RenderError) as caught:
        write_core_artifacts(duplicate, tmp_path)
    assert "same file" in str(caught.value)


def test_synthesis_marks_cloud_computed_values_as_placeholders():
    from wfdeploy.render.synth import computed_placeholder

    assert computed_placeholder("aws:s3/bucket:Bucket", "backups", "arn") == "<computed:Bucket/backups.arn>"


def test_synthesis_is_isolated_between_stages():
    alpha = synthesize(load_stage_with("alpha"))
    production = synthesize(load_stage_with("production"))
    assert alpha.outputs["stage"] == "alpha" and production.outputs["stage"] == "production"
    assert len([r for r in production.resources if r.type == "pulumi:pulumi:Stack"]) == 1


# -- the build folder swap (issue 18, item 18) and what it never deletes (item 17) -------------------------------

def _render_fast(monkeypatch, synthesized, build_root: Path):
    """render_stage with the session's synthesis of alpha: the swap, not the program, is under test."""
    monkeypatch.setattr("wfdeploy.render.writer.synthesize", lambda stage: synthesized(stage.config.stage))
    return render_stage(load_stage_with("alpha"), build_root, run_gates=False)


def test_the_swap_exchanges_old_and_new_build_in_one_step_without_any_rename(tmp_path, monkeypatch, synthesized):
    _render_fast(monkeypatch, synthesized, tmp_path)
    (tmp_path / "alpha" / "old-marker").write_text("old")

    def no_rename(*_args):
        raise AssertionError("a rename leaves a moment without build/alpha")

    monkeypatch.setattr(Path, "rename", no_rename)
    _render_fast(monkeypatch, synthesized, tmp_path)
    assert not (tmp_path / "alpha" / "old-marker").exists() and (tmp_path / "alpha" / "plan.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["alpha"]


def test_an_interrupt_right_after_the_exchange_leaves_the_new_build_and_no_temporary_folder(tmp_path, monkeypatch, synthesized):
    from wfdeploy.render import writer as render_module
    from wfdeploy.interrupts import Interrupted

    _render_fast(monkeypatch, synthesized, tmp_path)
    (tmp_path / "alpha" / "old-marker").write_text("old")
    real_exchange = render_module._exchange

    def exchange_then_sigterm(first, second):
        assert real_exchange(first, second)
        raise Interrupted(15)

    monkeypatch.setattr(render_module, "_exchange", exchange_then_sigterm)
    with pytest.raises(Interrupted):
        _render_fast(monkeypatch, synthesized, tmp_path)
    assert (tmp_path / "alpha" / "plan.json").is_file() and not (tmp_path / "alpha" / "old-marker").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["alpha"]


def test_without_an_atomic_exchange_an_interrupt_between_the_renames_puts_the_old_build_back(
    tmp_path, monkeypatch, synthesized
):
    from wfdeploy.render import writer as render_module
    from wfdeploy.interrupts import Interrupted

    _render_fast(monkeypatch, synthesized, tmp_path)
    before = tree_digest(tmp_path / "alpha")
    monkeypatch.setattr(render_module, "_exchange", lambda first, second: False)  # a filesystem without renameat2
    real_rename = Path.rename
    renames = []

    def interrupted_second_rename(self, target):
        renames.append((self.name, Path(target).name))
        if len(renames) == 2:  # old aside done, new into place not yet: SIGINT arrives
            raise Interrupted(2)
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted_second_rename)
    with pytest.raises(Interrupted):
        _render_fast(monkeypatch, synthesized, tmp_path)
    assert renames[0][0] == "alpha" and renames[1][1] == "alpha"
    assert tree_digest(tmp_path / "alpha") == before
    assert [p.name for p in tmp_path.iterdir()] == ["alpha"]


def test_without_an_atomic_exchange_the_new_build_replaces_the_old(tmp_path, monkeypatch, synthesized):
    from wfdeploy.render import writer as render_module

    _render_fast(monkeypatch, synthesized, tmp_path)
    (tmp_path / "alpha" / "old-marker").write_text("old")
    monkeypatch.setattr(render_module, "_exchange", lambda first, second: False)
    _render_fast(monkeypatch, synthesized, tmp_path)
    assert (tmp_path / "alpha" / "plan.json").is_file() and not (tmp_path / "alpha" / "old-marker").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["alpha"]


def test_render_keeps_the_verification_record_promotion_reads(tmp_path, monkeypatch, synthesized):
    from wfdeploy.verification.verify import VerifyResult, read_result, result_dir, write_result

    write_result(VerifyResult(stage="alpha", started="2026-01-01T00:00:00+00:00", duration_seconds=1.0), result_dir(tmp_path, "alpha"))
    _render_fast(monkeypatch, synthesized, tmp_path)
    _render_fast(monkeypatch, synthesized, tmp_path)
    assert read_result(tmp_path, "alpha")["stage"] == "alpha"
    assert not result_dir(tmp_path, "alpha").is_relative_to(tmp_path / "alpha")

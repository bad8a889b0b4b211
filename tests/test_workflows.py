"""The GitHub workflows pass actionlint and do what the README promises."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.program import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"


def _workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _steps(job: dict, action: str) -> list[dict]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(action)]


def _actionlint() -> str:
    beside = Path(sys.executable).with_name("actionlint")
    found = str(beside) if beside.exists() else shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed; install the development requirements")
    return found


def test_workflows_pass_actionlint():
    result = subprocess.run(
        [_actionlint(), "-color=false", *sorted(map(str, WORKFLOWS.glob("*.yml")))],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_pull_requests_run_the_tests_then_preview_dev_into_one_updated_comment():
    workflow = _workflow("pull-request.yml")
    test, preview = workflow["jobs"]["test"], workflow["jobs"]["preview"]
    [pulumi] = _steps(preview, "pulumi/actions@")

    assert "pull_request" in workflow[True]
    assert any(step.get("run") == "make test" for step in test["steps"])
    assert preview["needs"] == "test"
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["edit-pr-comment"] is True
    assert pulumi["with"]["policyPacks"] == "policy"
    assert preview["permissions"]["pull-requests"] == "write"


def test_pushes_to_main_deploy_dev_only_after_the_tests_pass():
    workflow = _workflow("deploy-dev.yml")
    up = workflow["jobs"]["up"]
    [pulumi] = _steps(up, "pulumi/actions@")

    assert workflow[True]["push"]["branches"] == ["main"]
    assert up["needs"] == "test"
    assert any(step.get("run") == "make test" for step in workflow["jobs"]["test"]["steps"])
    assert pulumi["with"]["command"] == "up"
    assert pulumi["with"]["policyPacks"] == "policy"


@pytest.mark.parametrize("name", ["pull-request.yml", "deploy-dev.yml"])
def test_aws_access_comes_from_openid_connect_not_stored_keys(name):
    text = (WORKFLOWS / name).read_text()
    workflow = _workflow(name)
    deploying = [job for job in workflow["jobs"].values() if _steps(job, "pulumi/actions@")]

    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for job in deploying:
        [login] = _steps(job, "aws-actions/configure-aws-credentials@")
        assert job["permissions"]["id-token"] == "write"
        assert "role-to-assume" in login["with"]

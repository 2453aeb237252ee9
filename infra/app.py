"""CDK entry point (``cdk.json``): build the Lambda assets, define the stack, check it with cdk-nag."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.build import DependencyLayerError, build_assets
from infra.config import BUILD_DIR, DeployConfig
from infra.console_build import ConsoleBuildError
from infra.stack import NudgeStack

FUNCTIONS = (
    "track",
    "api",
    "evaluate",
    "billing",
    "send",
    "links",
    "feedback",
    "campaigns",
    "exports",
    "reporting",
)


def create_app(
    *,
    build_dir: Path = BUILD_DIR,
    with_dependencies: bool = True,
    context: dict[str, Any] | None = None,
    outdir: str | None = None,
) -> tuple[App, NudgeStack]:
    """The app and its one stack, with AwsSolutions checks registered to run at synth.

    Tests pass ``with_dependencies=False`` (no pip, a placeholder layer) and their own folders.
    """
    app = App(context=context, outdir=outdir)
    config = DeployConfig.from_context(app)
    assets = build_assets(build_dir, functions=FUNCTIONS, with_dependencies=with_dependencies)
    stack = NudgeStack(
        app,
        config.stack_name,
        config=config,
        assets=assets,
        description=f"Nudge customer engagement platform ({config.stage})",
    )
    # Environment-agnostic on purpose: synth needs no credentials, and `cdk deploy` picks the account.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return app, stack


def main() -> None:
    try:
        app, _ = create_app()
    except (DependencyLayerError, ConsoleBuildError) as exc:
        sys.exit(f"nudge infra: {exc}")
    app.synth()


if __name__ == "__main__":
    main()

"""botocore's data files parsed once per process (``nudge_tools.local.botocore_cache``): loaders alike
share what they answered, loaders that differ do not, and the answers are botocore's own."""

from __future__ import annotations

import boto3
from botocore.loaders import Loader, create_loader
from moto.core.loaders import create_loader as create_moto_loader

from nudge_tools.local import botocore_cache


def test_sessions_share_the_files_and_loaders_that_differ_do_not():
    botocore_cache.install()
    try:
        first, second = (boto3.Session()._session.get_component("data_loader") for _ in range(2))
        assert first is not second
        assert first.load_data_with_path("endpoints") is second.load_data_with_path("endpoints")
        model = first.load_service_model("dynamodb", "service-2")
        assert model is second.load_service_model("dynamodb", "service-2")
        # moto's loader merges its own extras into the models: never handed to botocore's loaders
        moto_model = create_moto_loader().load_service_model("dynamodb", "service-2")
        assert moto_model is not model
    finally:
        botocore_cache.uninstall()
    assert Loader.load_data_with_path is botocore_cache._ORIGINALS["load_data_with_path"]
    # The same answers as a loader of botocore's own, parsed afresh.
    assert create_loader().load_service_model("dynamodb", "service-2") == model
    assert create_moto_loader().load_service_model("dynamodb", "service-2") == moto_model

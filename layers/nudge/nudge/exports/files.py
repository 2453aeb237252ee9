"""An export's file in the exports bucket: written as an S3 multipart upload, part by part, and handed out
as a presigned GET.

S3 takes parts of at least 5 MB except the last, so rows are buffered until a part is full. When an
invocation must stop before a part is full, the rows it holds are written to a tail object named by the
export's step (``<key>.tail-<step>``), which the saved progress points to: a step that is retried reads the
same tail again, and a tail written by a step whose save did not happen is never read (the bucket's
lifecycle rule deletes it with the rest of the prefix).

Environment: ``NUDGE_EXPORTS_BUCKET`` (the bucket); ``NUDGE_EXPORTS_PRESIGN_ENDPOINT`` (optional: the S3
endpoint a downloader reaches, where it is not AWS's own: the local runtime's moto server).
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from nudge import aws_clients
from nudge.settings import get_settings

PREFIX = "exports/"
DOWNLOAD_SECONDS = 15 * 60  # Customer.io's download links expire after 15 minutes
PART_MIN_BYTES = 5 * 1024 * 1024  # S3's minimum for every part but the last
CONTENT_TYPE = "text/csv; charset=utf-8"

_clients = threading.local()


def bucket() -> str:
    name = get_settings().exports_bucket
    if not name:
        raise RuntimeError("NUDGE_EXPORTS_BUCKET is not set: the exports bucket is unknown")
    return name


def object_key(workspace_id: str, export_id: int) -> str:
    return f"{PREFIX}{workspace_id}/{export_id}.csv"


def _client() -> Any:
    """One S3 client per thread (botocore clients are thread-safe to use, not to create)."""
    client = getattr(_clients, "client", None)
    if client is None:
        client = _clients.client = aws_clients.client("s3", config=Config(signature_version="s3v4"))
    return client


def start_upload(key: str) -> str:
    answer = _client().create_multipart_upload(
        Bucket=bucket(), Key=key, ContentType=CONTENT_TYPE, ContentDisposition="attachment"
    )
    return str(answer["UploadId"])


def upload_part(key: str, upload_id: str, number: int, data: bytes) -> str:
    """Part ``number`` of the upload; the same number again replaces it (a retried step)."""
    answer = _client().upload_part(Bucket=bucket(), Key=key, UploadId=upload_id, PartNumber=number, Body=data)
    return str(answer["ETag"])


def complete_upload(key: str, upload_id: str, parts: list[dict[str, Any]]) -> None:
    _client().complete_multipart_upload(
        Bucket=bucket(),
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": int(p["n"]), "ETag": str(p["etag"])} for p in parts]},
    )


def abort_upload(key: str, upload_id: str) -> None:
    _client().abort_multipart_upload(Bucket=bucket(), Key=key, UploadId=upload_id)


def tail_key(key: str, step: int) -> str:
    return f"{key}.tail-{step}"


def write_tail(key: str, data: bytes) -> None:
    _client().put_object(Bucket=bucket(), Key=key, Body=data)


def read_tail(key: str) -> bytes:
    return bytes(_client().get_object(Bucket=bucket(), Key=key)["Body"].read())


def delete(key: str) -> None:
    _client().delete_object(Bucket=bucket(), Key=key)


def exists(key: str) -> bool:
    try:
        _client().head_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def download_url(key: str, filename: str) -> str:
    """A GET of the file, signed for ``DOWNLOAD_SECONDS``. Signing is local: no call is made."""
    endpoint = get_settings().exports_presign_endpoint
    client = _client()
    if endpoint:
        client = aws_clients.client(
            "s3",
            endpoint_url=endpoint,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
    return str(
        client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket(),
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=DOWNLOAD_SECONDS,
        )
    )

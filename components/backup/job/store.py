"""The S3-compatible object store: streamed multipart uploads, streamed reads, pruning.

boto3 reads AWS_REGION and AWS_ENDPOINT_URL_S3 itself; credentials come from
IRSA (web identity) in AWS or from the environment for an in-cluster store.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Callable, Iterator

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

#: Part uploads in flight at once: bounds memory to (this + 1) × part size.
MAX_PARTS_IN_FLIGHT = 3


class StoreError(Exception):
    """The object store refused a request or could not be reached."""


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'error')}: {info.get('Message', '')}".strip(": ")
    return str(error)


class ObjectStore:
    def __init__(self, bucket: str, client=None):
        self.bucket = bucket
        self.client = client or boto3.client(
            "s3",
            config=Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _call(self, what: str, function: Callable, **kwargs):
        try:
            return function(Bucket=self.bucket, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"object store: {what} failed: {_describe(error)}") from None

    def check_reachable(self, prefix: str, create: bool = False) -> None:
        """Fail early, before any database work, when the bucket cannot be used.

        Lists under the prefix rather than HeadBucket: the IAM role may list only its own prefix.
        """
        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if create and code in ("404", "NoSuchBucket", "NotFound"):
                self._call(f"creating bucket {self.bucket}", self.client.create_bucket)
                return
            raise StoreError(f"object store: bucket {self.bucket} is not usable: {_describe(error)}") from None
        except BotoCoreError as error:
            raise StoreError(f"object store unreachable (bucket {self.bucket}): {error}") from None

    def upload_stream(
        self, key: str, stream: IO[bytes], part_size: int, before_complete: Callable[[], None] | None = None
    ) -> tuple[int, str]:
        """Multipart-upload everything `stream` yields; return (size, sha256).

        Aborts on any failure, including one raised by `before_complete`, so no object appears at all.
        """
        upload = self._call(f"starting upload of {self.url(key)}", self.client.create_multipart_upload, Key=key)
        upload_id = upload["UploadId"]
        digest, size, parts = hashlib.sha256(), 0, []
        pending: list[tuple[int, Future]] = []
        try:
            with ThreadPoolExecutor(max_workers=MAX_PARTS_IN_FLIGHT) as pool:
                number = 0
                while True:
                    chunk = _read_full(stream, part_size)
                    if not chunk and number > 0:
                        break
                    number += 1
                    digest.update(chunk)
                    size += len(chunk)
                    pending.append((number, pool.submit(self._upload_part, key, upload_id, number, chunk)))
                    while len(pending) >= MAX_PARTS_IN_FLIGHT:
                        done_number, future = pending.pop(0)
                        parts.append({"PartNumber": done_number, "ETag": future.result()})
                    if len(chunk) < part_size:
                        break
                for done_number, future in pending:
                    parts.append({"PartNumber": done_number, "ETag": future.result()})
            if before_complete is not None:
                before_complete()
            self._call(
                f"completing upload of {self.url(key)}",
                self.client.complete_multipart_upload,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except (ClientError, BotoCoreError):
                pass  # the lifecycle rule aborts leftovers after a day
            raise
        return size, digest.hexdigest()

    def _upload_part(self, key: str, upload_id: str, number: int, chunk: bytes) -> str:
        response = self._call(
            f"uploading part {number} of {self.url(key)}",
            self.client.upload_part,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=chunk,
        )
        return response["ETag"]

    def put_json(self, key: str, document: dict | str) -> None:
        body = document if isinstance(document, str) else json.dumps(document, indent=2, sort_keys=True) + "\n"
        self._call(f"writing {self.url(key)}", self.client.put_object, Key=key, Body=body.encode(),
                   ContentType="application/json")

    def get_text(self, key: str, max_bytes: int) -> str:
        """A small document (manifest, pointer) as text; refuses one larger than `max_bytes` or not UTF-8."""
        response = self._call(f"reading {self.url(key)}", self.client.get_object, Key=key)
        size = int(response.get("ContentLength", 0))
        if size > max_bytes:
            response["Body"].close()
            raise StoreError(f"object store: {self.url(key)} has {size} bytes, more than the {max_bytes} "
                             "such a document may have")
        try:
            body = response["Body"].read(max_bytes + 1)
        except BotoCoreError as error:
            raise StoreError(f"object store: reading {self.url(key)} failed: {error}") from None
        if len(body) > max_bytes:
            raise StoreError(f"object store: {self.url(key)} is larger than the {max_bytes} bytes such a document may have")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise StoreError(f"object store: {self.url(key)} is not UTF-8 text: {error}") from None

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StoreError(f"object store: checking {self.url(key)} failed: {_describe(error)}") from None
        except BotoCoreError as error:
            raise StoreError(f"object store: checking {self.url(key)} failed: {error}") from None

    def head(self, key: str) -> dict:
        return self._call(f"inspecting {self.url(key)}", self.client.head_object, Key=key)

    def stream(self, key: str, chunk_size: int = 1024 * 1024, if_match: str | None = None) -> Iterator[bytes]:
        """The object's bytes; with `if_match` (an ETag) only that version, or StoreError if it changed."""
        extra = {"IfMatch": if_match} if if_match else {}
        response = self._call(f"reading {self.url(key)}", self.client.get_object, Key=key, **extra)
        body = response["Body"]
        try:
            while chunk := body.read(chunk_size):
                yield chunk
        except BotoCoreError as error:
            raise StoreError(f"object store: reading {self.url(key)} failed: {error}") from None
        finally:
            body.close()

    def child_prefixes(self, prefix: str) -> list[str]:
        """The 'folders' directly under a prefix (one per backup id)."""
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                found += [entry["Prefix"] for entry in page.get("CommonPrefixes", [])]
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"object store: listing {self.url(prefix)} failed: {_describe(error)}") from None
        return found

    def keys(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            return [obj["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                    for obj in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as error:
            raise StoreError(f"object store: listing {self.url(prefix)} failed: {_describe(error)}") from None

    def locked_until(self, key: str) -> datetime.datetime | None:
        """When the object's Object Lock retention ends (None if it has none)."""
        return self.head(key).get("ObjectLockRetainUntilDate")

    def delete(self, key: str) -> None:
        self._call(f"deleting {self.url(key)}", self.client.delete_object, Key=key)


def _read_full(stream: IO[bytes], size: int) -> bytes:
    """Read exactly `size` bytes unless the stream ends first (pipes return short reads)."""
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)

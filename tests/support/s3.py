"""An S3-compatible server on 127.0.0.1: moto in server mode, in a background thread."""

from __future__ import annotations

import logging

import boto3
from moto.server import ThreadedMotoServer

from tests.support.ports import free_port

REGION = "us-east-1"


class S3Server:
    """Start with `start()`, always `stop()`; `env()` gives the variables a client (the backup job) needs."""

    def __init__(self):
        self.port = free_port()
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request drowns test output
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def env(self) -> dict[str, str]:
        # moto accepts any credentials; these are not secrets
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def create_bucket(self, name: str, *, object_lock: bool = False, object_lock_days: int = 0,
                      mode: str = "GOVERNANCE") -> None:
        """A bucket; with Object Lock (and versioning) when asked, with a default retention when days > 0."""
        client = self.client()
        client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=object_lock or bool(object_lock_days))
        if object_lock_days:
            client.put_object_lock_configuration(
                Bucket=name,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": mode, "Days": object_lock_days}},
                },
            )

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

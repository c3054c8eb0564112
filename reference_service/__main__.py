"""`python -m reference_service --port N --host H`: run the reference workflow service."""

from __future__ import annotations

import argparse
import os
import sys

from reference_service.app import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reference_service", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--service-name", default=os.environ.get("SERVICE_NAME", "workflow-service"),
                        help="value of the `service` label on every metric")
    args = parser.parse_args(argv)
    return serve(args.host, args.port, args.service_name)


if __name__ == "__main__":
    sys.exit(main())

"""A moto server that handles one request at a time.

DynamoDB applies each conditional write and each transaction atomically; moto's own server
runs requests on parallel threads without a lock, so two of them can interleave inside one
check-then-write. Serializing requests gives tests the atomicity DynamoDB promises, while
clients still race between their requests.
"""

import argparse
import threading

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    """Serve moto on the given host and port until terminated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    moto = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def app(environ, start_response):
        with one_at_a_time:
            return list(moto(environ, start_response))

    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

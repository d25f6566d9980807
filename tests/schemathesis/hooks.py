"""Schemathesis hooks for cltd's API: bylaw components travel as `application/wasm`.

Requests with that media type are sent as the raw bytes Schemathesis generates for a
binary string (what the server gets from any client: it then refuses them as no valid
component, or as unsigned); responses of that type (a stored component) are checked
against the schema as a binary string.
"""

import schemathesis
from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

REQUESTS_TRANSPORT.serializer("application/wasm")(binary_serializer)


@schemathesis.deserializer("application/wasm")
def wasm(ctx, response):
    return response.content.decode("latin-1")

"""An httpx transport that connects only where the connector sandbox allows.

Every request, the first and each redirect hop alike (httpx sends each hop through the
transport), has its host resolved and checked by the sandbox, and is then sent to that checked
address with the original ``Host`` header and TLS server name, so DNS cannot switch the address
between the check and the connection.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import httpx

from autonomos.aam.connectors.sandbox import Sandbox

DEFAULT_PORTS = {"http": 80, "https": 443}


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every pinned transport shares (httpx's default: certifi's CAs,
    or ``SSL_CERT_FILE``). Building one loads the CA bundle, ~30 ms of CPU: once per webhook
    delivery that was a worker's largest cost after embedding."""
    return httpx.create_ssl_context()


class PinnedTransport(httpx.BaseTransport):
    def __init__(self, sandbox: Sandbox, inner: httpx.BaseTransport | None = None) -> None:
        self.sandbox = sandbox
        self.inner = inner or httpx.HTTPTransport(verify=shared_ssl_context())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in DEFAULT_PORTS:
            from autonomos.aam.connectors.sandbox import SourceRefused

            raise SourceRefused("only http and https URLs may be fetched", url=str(url.copy_with(query=None)))
        address = self.sandbox.resolve(url.host, url.port or DEFAULT_PORTS[url.scheme])
        pinned = httpx.Request(request.method, url.copy_with(host=address), headers=request.headers,
                               stream=request.stream, extensions={**request.extensions, "sni_hostname": url.host})
        return self.inner.handle_request(pinned)

    def close(self) -> None:
        self.inner.close()

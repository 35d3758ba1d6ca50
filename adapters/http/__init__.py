"""The HTTP/WebSocket driving adapter (Starlette, served by uvicorn).

It reaches the core only through :class:`ports.CallHandler` and never imports ``domain``.
:func:`build_app` assembles the routes; :class:`PrometheusCallMetrics` implements
``ports.CallMetrics``; :class:`BrowserMediaStream` implements the browser protocol
(``docs/browser-protocol.md``); :class:`DrainingServer` serves with a graceful drain.
"""

from adapters.http.app import ACS_PATHS, build_app
from adapters.http.browser import BrowserMediaStream
from adapters.http.limits import BodySizeLimit, CallAdmission, CallRefused, ServerLimits
from adapters.http.metrics import PrometheusCallMetrics
from adapters.http.serve import DrainingServer, serving_config

__all__ = [
    "ACS_PATHS",
    "BodySizeLimit",
    "BrowserMediaStream",
    "CallAdmission",
    "CallRefused",
    "DrainingServer",
    "PrometheusCallMetrics",
    "ServerLimits",
    "build_app",
    "serving_config",
]

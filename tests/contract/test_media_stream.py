"""ports.MediaStream: the kit's suite over every adapter in ``MEDIA_STREAM``."""

from __future__ import annotations

import pytest

from parley.contract import MediaStreamCase, MediaStreamContract
from tests.contract.conftest import MEDIA_STREAM


class TestMediaStream(MediaStreamContract):
    @pytest.fixture(params=MEDIA_STREAM)
    def media_case(self, request: pytest.FixtureRequest) -> MediaStreamCase:
        case: MediaStreamCase = request.getfixturevalue(request.param)
        return case

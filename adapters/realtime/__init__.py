"""Realtime speech-to-speech adapters: Azure Voice Live and OpenAI / Azure OpenAI Realtime.

Both implement :class:`ports.realtime.RealtimeModel` over one shared session
(:mod:`adapters.realtime.session`) and one protocol module (:mod:`adapters.realtime.wire`);
what differs is the SDK that opens the WebSocket (:mod:`adapters.realtime.openai` with the
``openai`` client, :mod:`adapters.realtime.voicelive` with ``azure-ai-voicelive``) and the
protocol's dialect. The SDKs are imported only by those two modules (``pip install
'parley[realtime]'``).
"""

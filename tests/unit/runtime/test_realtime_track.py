"""A response's audio deltas, of any size, become the call's frames in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.runtime.realtime.track import Track
from ports import PCM16_24K

FRAME_BYTES = PCM16_24K.frame_bytes(20)


@given(
    st.lists(st.integers(min_value=0, max_value=3 * FRAME_BYTES // 2), max_size=12),
    st.randoms(use_true_random=False),
)
def test_deltas_of_any_size_are_cut_into_whole_frames_and_the_last_is_padded(sizes, rnd):
    deltas = [rnd.randbytes(n // 2 * 2) for n in sizes]
    track = Track("resp_1")
    for delta in deltas:
        track.add_audio(delta, PCM16_24K, FRAME_BYTES, 20)
    whole = b"".join(deltas)
    full = len(whole) // FRAME_BYTES
    assert [f.data for f in track.frames] == [
        whole[i * FRAME_BYTES : (i + 1) * FRAME_BYTES] for i in range(full)
    ]
    assert track.received_ms == 20 * full
    track.finish(PCM16_24K, FRAME_BYTES, 20, b"\x00")
    data = b"".join(f.data for f in track.frames)
    assert track.done
    assert len(data) % FRAME_BYTES == 0
    assert data[: len(whole)] == whole and set(data[len(whole) :]) <= {0}
    assert track.received_ms == 20 * len(track.frames)
    assert all(f.format == PCM16_24K for f in track.frames)

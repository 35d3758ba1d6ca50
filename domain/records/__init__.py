"""Durable call records: the recorder, recording, post-call summaries, retention (issue 19).

Standard library and ``ports`` only, like the rest of ``domain``:

* :mod:`.recorder` and :mod:`.handler`: each call's record written as it goes, through the
  ``CallHistory`` port, from the driving port, the transcript log and the media stream;
* :mod:`.privacy`: what of caller numbers and words is stored;
* :mod:`.outcome`: resolved, transferred, abandoned or failed;
* :mod:`.summary_jobs` and :mod:`.summarize`: the post-call summary job and the model prompt;
* :mod:`.retention`: deletion by age and by request, and records of lost calls.
"""

from domain.records.config import (
    DEFAULT_DISPOSITIONS,
    RecordingMode,
    RecordingWhen,
    RecordsConfig,
)
from domain.records.handler import RecordedCallHandler, RecordedMediaStream, RecordingTranscriptLog
from domain.records.outcome import classify
from domain.records.privacy import CallerMode, PrivacyPolicy, TranscriptMode, redact_text
from domain.records.recorder import CallRecorder, LiveRecord
from domain.records.retention import RecordsKeeper
from domain.records.summarize import ModelSummarizer, parse_answer, transcript_text
from domain.records.summary_jobs import SummaryJobs, coerce

__all__ = [
    "DEFAULT_DISPOSITIONS",
    "CallRecorder",
    "CallerMode",
    "LiveRecord",
    "ModelSummarizer",
    "PrivacyPolicy",
    "RecordedCallHandler",
    "RecordedMediaStream",
    "RecordingMode",
    "RecordingTranscriptLog",
    "RecordingWhen",
    "RecordsConfig",
    "RecordsKeeper",
    "SummaryJobs",
    "TranscriptMode",
    "classify",
    "coerce",
    "parse_answer",
    "redact_text",
    "transcript_text",
]

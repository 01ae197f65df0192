"""Uploading the project's artifacts; how they travel is `connect.artifact_stream`'s job."""

from __future__ import annotations

from sparkpush.connect.artifact_stream import (
    ProgressCallback,
    UploadedArtifact,
    UploadReport,
    upload_artifacts,
)

__all__ = ["ProgressCallback", "UploadReport", "UploadedArtifact", "upload_artifacts"]

"""The video encoders ``--codec`` names and the containers each goes into: read by the video writer and by the
command line (which imports nothing heavier than this for --help)."""
from __future__ import annotations

from pathlib import Path

# --codec name -> FFmpeg encoder, and the containers each goes into.
CODECS = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "mjpeg": "mjpeg"}
CONTAINERS = {".mp4": ("h264", "hevc", "vp9"), ".m4v": ("h264", "hevc"), ".mov": ("h264", "hevc", "mjpeg"),
              ".mkv": ("h264", "hevc", "vp9", "mjpeg"), ".webm": ("vp9",), ".avi": ("mjpeg", "h264")}


def default_codec(path: Path) -> str:
    """What plays most widely in ``path``'s container: H.264, VP9 in WebM."""
    return CONTAINERS.get(path.suffix.lower(), ("h264",))[0]

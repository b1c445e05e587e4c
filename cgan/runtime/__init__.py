"""Runtime: running exported models."""
import os

# FFmpeg inside OpenCV prints decoder complaints to stderr; the runtime counts and reports damaged frames itself.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

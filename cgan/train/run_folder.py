"""A run folder: claimed by one training at a time (an fcntl lock the kernel drops if the process dies), a new one
made under runs/ with the first free number, and one whose run stopped before its first checkpoint started again."""
from __future__ import annotations

import logging
from pathlib import Path

from ..errors import CganError
from ..fileio import FileLock, numbered_path

log = logging.getLogger(__name__)

# What a run writes before its first checkpoint: a folder holding only these can be started again.
UNSAVED_RUN_ENTRIES = {"config.yaml", "metrics.jsonl", "tb", "samples", "loss_curves.png"}
RUN_LOCK = ".lock"  # held by the process training into the folder (lock_run)


def never_saved(run: Path) -> bool:
    """Whether ``run`` is a run directory that stopped before its first checkpoint (nothing to resume)."""
    names = {p.name for p in run.iterdir()} - {RUN_LOCK}
    return "config.yaml" in names and names <= UNSAVED_RUN_ENTRIES


def clear_run(run: Path) -> None:
    """Remove what a run that never saved wrote (only cgan's own entries: ``never_saved`` checked them)."""
    import shutil

    for name in UNSAVED_RUN_ENTRIES:
        path = run / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def lock_run(run: Path) -> FileLock:
    """Hold ``run`` for this process alone: a second training (or resume) into the same folder is refused instead of
    mixing its files with this one's."""
    return FileLock(run / RUN_LOCK, f"the run folder {run}")


def claim_run_folder(out: str | None, default: Path) -> tuple[Path, FileLock]:
    """The folder of a new run, held: ``out`` (empty, or holding a run that never saved, which is cleared), else the
    first of ``default``, ``default-2``, ... that this process creates itself (two runs started at once get
    different folders). It has its samples/ folder."""
    if out:
        run = Path(out)
        if run.exists() and not run.is_dir():
            raise CganError(f"--out {run} is a file: give a folder for the run")
        run.mkdir(parents=True, exist_ok=True)
        lock = lock_run(run)
        if any(p.name != RUN_LOCK for p in run.iterdir()):
            if not never_saved(run):
                lock.release()
                raise CganError(f"{run} already holds files: continue it with --resume {run}, or pick another --out")
            log.warning(f"note: {run} holds a run that stopped before its first checkpoint: starting it again")
            clear_run(run)
    else:
        while True:
            run = numbered_path(default)
            try:
                run.mkdir(parents=True)
            except FileExistsError:  # another run made it since numbered_path looked
                continue
            lock = lock_run(run)
            break
    (run / "samples").mkdir(parents=True, exist_ok=True)
    return run, lock

"""Train on any two folders of unpaired images from Python, with a callback of your own.

    python examples/train_two_folders.py tom/ jerry/

With no arguments it builds a small photo -> colour-grade data set from sample photos first.
The callback below writes a CSV of the validation metrics and stops training once the
cycle-reconstruction error is low enough: the kind of rule a user plugs in without
touching the trainer.
"""
import csv
import sys
import tempfile
from pathlib import Path

from cgan.train import Callback, TrainConfig, Trainer


class CsvAndTarget(Callback):
    def __init__(self, path: Path, target_cycle_l1: float) -> None:
        self.path, self.target = path, target_cycle_l1

    def on_validation(self, trainer, metrics):
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, ["iteration", *metrics])
            if new:
                writer.writeheader()
            writer.writerow({"iteration": trainer.iteration, **metrics})
        if metrics["cycle_l1"] < self.target:
            trainer.stop_reason = f"cycle L1 {metrics['cycle_l1']:.3f} reached the target {self.target}"


def main() -> None:
    if len(sys.argv) == 3:
        folder_a, folder_b = sys.argv[1:]
    else:
        from cgan.sampledata import build_unpaired_dataset

        data = build_unpaired_dataset(Path(tempfile.mkdtemp()) / "data", n_train=60, n_test=8, size=96)
        folder_a, folder_b = str(data / "trainA"), str(data / "trainB")
    config = TrainConfig(a=folder_a, b=folder_b, preset="resnet6", ngf=32, size=64, max_time="2m", epochs=5,
                         epochs_decay=5)
    trainer = Trainer(config, callbacks=[CsvAndTarget(Path("validation.csv"), target_cycle_l1=0.05)])
    result = trainer.fit()
    print(f"{result.stop_reason}: models in {result.run_dir}, metrics in validation.csv")


if __name__ == "__main__":
    main()

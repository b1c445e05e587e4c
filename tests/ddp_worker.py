"""Run by the multi-process test under torchrun: train a tiny model, then dump this rank's weights."""
import os
import sys

from safetensors.torch import save_file

from cgan.train import TrainConfig, Trainer
from cgan.train.config import read_run_config, resolve_config

data, out, max_iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
run = os.path.join(out, "run")
if len(sys.argv) > 4 and sys.argv[4] == "resume":
    trainer = Trainer(resolve_config({"max_iters": max_iters}, resume_config=read_run_config(run)), resume=run)
else:
    trainer = Trainer(TrainConfig(data=data, out=run, preset="resnet6", ngf=4, ndf=4, size=32, workers=0,
                                  max_iters=max_iters, log_every=1, device="cpu"))
trainer.fit()
weights = {f"G_AtoB.{k}": v for k, v in trainer.g_ab.state_dict().items()}
weights.update({f"D_B.{k}": v for k, v in trainer.d_b.state_dict().items()})
save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(out, f"rank{os.environ['RANK']}.safetensors"))

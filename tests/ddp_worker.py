"""Run by the multi-process test under torchrun: train a tiny model, then dump this rank's weights.

    ddp_worker.py DATA OUT MAX_ITERS OBJECTIVE [resume]"""
import os
import sys

from safetensors.torch import save_file

from cgan.train import trainer_for
from cgan.train.config_files import read_run_config, resolve_config

data, out, max_iters, objective = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
run = os.path.join(out, "run")
if len(sys.argv) > 5 and sys.argv[5] == "resume":
    trainer = trainer_for(resolve_config({"max_iters": max_iters}, resume_config=read_run_config(run)), resume=run)
else:
    network = {"preset": "filter", "ngf": None} if objective == "gan" else {"preset": "resnet6", "ngf": 4}
    trainer = trainer_for(resolve_config({"data": data, "out": run, **network, "ndf": 4, "size": 32, "workers": 0,
                                          "objective": objective, "max_iters": max_iters, "log_every": 1,
                                          "device": "cpu"}))
trainer.fit()
weights = {f"G_AtoB.{k}": v for k, v in trainer.g_ab.state_dict().items()}
weights.update({f"D_B.{k}": v for k, v in trainer.d_b.state_dict().items()})
save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(out, f"rank{os.environ['RANK']}.safetensors"))

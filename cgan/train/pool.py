"""The image history pool: discriminators see a mix of current and earlier fakes (Shrivastava et al.)."""
from __future__ import annotations

import torch


class ImagePool:
    """Up to ``size`` earlier fakes; each new fake is returned as is, or with probability 1/2 swapped
    for a stored one once the pool is full, exactly as in the reference CycleGAN code.

    Randomness comes from the pool's own generator so that its state can be saved and resumed.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator) < 0.5:
                index = int(torch.randint(len(self.images), (), generator=self.generator))
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"images": [im.cpu() for im in self.images], "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.images = [im.to(device) for im in state["images"]]
        self.generator.set_state(state["generator"])

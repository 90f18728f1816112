"""Species of atoms as one-hot vectors over the elements a model knows."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

__all__ = ["SpeciesOneHot"]


class SpeciesOneHot(nn.Module):
    """Atomic numbers (N,) -> one-hot rows (N, S) over ``species`` (S atomic numbers, sorted).

    An atomic number outside 1..118, or one the model was not built for, raises a
    ``ValueError`` that names it and says what to do.
    """

    z_to_index: torch.Tensor  # (119,) row of each atomic number, -1 for unknown ones

    def __init__(self, species: Iterable[int]) -> None:
        super().__init__()
        self.species = sorted({int(z) for z in species})
        if not self.species or min(self.species) < 1 or max(self.species) > 118:
            raise ValueError(f"species must be atomic numbers between 1 and 118, got {self.species}")
        index = torch.full((119,), -1, dtype=torch.long)
        index[torch.tensor(self.species)] = torch.arange(len(self.species))
        self.register_buffer("z_to_index", index, persistent=False)

    def index(self, z: torch.Tensor) -> torch.Tensor:
        """Atomic numbers (N,) -> row of the one-hot (N,)."""
        if z.numel() and (int(z.min()) < 1 or int(z.max()) > 118):
            raise ValueError(f"atomic numbers must be between 1 and 118, got {sorted(set(z.tolist()))}")
        idx = self.z_to_index[z]
        if (idx < 0).any():
            unknown = sorted(set(z[idx < 0].tolist()))
            raise ValueError(f"the model was built for species {self.species} but the structure has "
                             f"{unknown}; build the model with every species of the data set")
        return idx

    def forward(self, z: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """One-hot (N, S) of the atomic numbers ``z`` (N,), in ``dtype`` (default: torch's)."""
        onehot = nn.functional.one_hot(self.index(z), len(self.species))
        return onehot.to(dtype or torch.get_default_dtype())

"""Losses of style transfer, named after their papers: content (feature reconstruction), style
(Gram matrices, Gatys et al. 2016; mean/std statistics, Huang & Belongie 2017) and the total
variation regulariser."""

from neuralstyle.losses.content import FeatureReconstructionLoss, feature_reconstruction_loss
from neuralstyle.losses.regularization import TotalVariationLoss, total_variation_loss
from neuralstyle.losses.style import (
    GramLoss,
    MeanStdLoss,
    gram_loss,
    masked_gram_matrix,
    mean_std_loss,
)

__all__ = [
    "FeatureReconstructionLoss",
    "GramLoss",
    "MeanStdLoss",
    "TotalVariationLoss",
    "feature_reconstruction_loss",
    "gram_loss",
    "masked_gram_matrix",
    "mean_std_loss",
    "total_variation_loss",
]

from .dist_loss import DISTLoss
from .dkd_loss import DKDLoss
from .feature_l2_loss import FeatureL2Loss
from .feature_mse_loss import FeatureMSELoss
from .kd_loss import KDLoss

__all__ = ['DISTLoss', 'DKDLoss', 'FeatureL2Loss', 'FeatureMSELoss', 'KDLoss']

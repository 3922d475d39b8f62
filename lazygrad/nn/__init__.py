"""Neural-network building blocks with torch's API: modules, parameters, functional ops, initializers."""

from __future__ import annotations

from . import functional, init, utils
from .activation import (
    ELU,
    GELU,
    SELU,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .activation_more import (
    CELU,
    GLU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    ReLU6,
    RReLU,
    Softmax2d,
    Softmin,
    Softshrink,
    Softsign,
    Tanhshrink,
    Threshold,
)
from .attention import MultiheadAttention
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import (
    AvgPool2d,
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    LazyConv1d,
    LazyConv2d,
    LazyConv3d,
    LazyConvTranspose1d,
    LazyConvTranspose2d,
    LazyConvTranspose3d,
    MaxPool2d,
)
from .data_parallel import DataParallel
from .distance import CosineSimilarity
from .layers import Dropout, Dropout1d, Dropout2d, Flatten, Identity, LazyLinear, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm
from .normalization_more import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm
from .padding import (
    CircularPad1d,
    CircularPad2d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from .parameter import Buffer, Parameter, UninitializedParameter
from .pooling import AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d, AvgPool1d, MaxPool1d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .shuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle, Unflatten
from .sparse import Embedding
from .transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    "AvgPool2d", "Conv1d", "Conv2d", "Conv3d", "Embedding", "MaxPool2d",
    "GELU", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "CrossEntropyLoss",
    "Dropout", "Flatten", "Identity",
    "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "Module", "ModuleDict",
    "ModuleList", "ParameterDict", "ParameterList",
    "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax", "Tanh", "functional", "init",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AvgPool1d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "CosineSimilarity", "Dropout1d", "Dropout2d", "ELU", "GroupNorm", "Hardtanh", "HuberLoss",
    "KLDivLoss", "MaxPool1d", "Mish", "PReLU", "SELU", "SmoothL1Loss", "Softplus", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d", "utils",
    "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase",
    "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
    "CELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "ReLU6", "Softmax2d", "Softmin", "Softshrink", "Softsign",
    "Tanhshrink", "Threshold", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "CircularPad1d",
    "CircularPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
    "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "PixelShuffle", "PixelUnshuffle",
    "Unflatten",
]

from .adaptive import AdaptiveLogSoftmaxWithLoss
from .bilinear import Bilinear
from .containers import Container
from .distance import PairwiseDistance
from .dropout_extra import AlphaDropout, Dropout3d, FeatureAlphaDropout
from .embedding_bag import EmbeddingBag
from .fold import Fold, Unfold
from .fractional_pooling import FractionalMaxPool2d, FractionalMaxPool3d
from .lazy_norms import (
    LazyBatchNorm1d,
    LazyBatchNorm2d,
    LazyBatchNorm3d,
    LazyInstanceNorm1d,
    LazyInstanceNorm2d,
    LazyInstanceNorm3d,
)
from .losses_more import (
    CosineEmbeddingLoss,
    CTCLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelMarginLoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss2d,
    PoissonNLLLoss,
    SoftMarginLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from .lp_norm import CrossMapLRN2d, LocalResponseNorm, LPPool1d, LPPool2d, LPPool3d
from .padding import CircularPad3d, ReflectionPad3d, ReplicationPad3d
from .parameter import UninitializedBuffer
from .pooling_3d import AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool3d, MaxPool3d
from .sync_batchnorm import SyncBatchNorm
from .unpool import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d

__all__ += [
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AlphaDropout", "AvgPool3d", "Bilinear", "CosineEmbeddingLoss",
    "Dropout3d", "FeatureAlphaDropout", "GaussianNLLLoss", "HingeEmbeddingLoss", "MarginRankingLoss", "MaxPool3d",
    "MultiLabelSoftMarginLoss", "PairwiseDistance", "PoissonNLLLoss", "SoftMarginLoss", "TripletMarginLoss",
    "EmbeddingBag", "MaxUnpool1d", "MaxUnpool2d", "MultiLabelMarginLoss", "MultiMarginLoss",
    "Fold", "LPPool1d", "LPPool2d", "LocalResponseNorm", "Unfold",
    "LazyLinear", "RReLU", "UninitializedParameter", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
    "LazyConvTranspose2d", "LazyConvTranspose3d",
    "Buffer", "ChannelShuffle", "DataParallel",
]

__all__ += [
    "AdaptiveMaxPool3d", "CircularPad3d", "Container", "FractionalMaxPool2d", "FractionalMaxPool3d", "LPPool3d",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d", "MaxUnpool3d", "ReflectionPad3d", "ReplicationPad3d", "SyncBatchNorm", "UninitializedBuffer",
]

__all__ += ["AdaptiveLogSoftmaxWithLoss", "CTCLoss", "CrossMapLRN2d", "NLLLoss2d", "TripletMarginWithDistanceLoss"]

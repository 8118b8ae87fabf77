"""Image sources: named datasets, your own images, the data root, translated and cluttered
canvases."""

from glimpse_env.data.canvas import CanvasParams, CanvasSpec, make_canvases, sample_canvas_params
from glimpse_env.data.catalog import (
    DATASETS,
    SHARED_TEST_SPLIT,
    SHARED_TRAIN_SPLIT,
    ImageDataset,
    load_dataset,
)
from glimpse_env.data.convert import as_image_dataset
from glimpse_env.data.root import ENV_VAR, DatasetNotFoundError, data_root

__all__ = [
    "DATASETS",
    "ENV_VAR",
    "SHARED_TEST_SPLIT",
    "SHARED_TRAIN_SPLIT",
    "CanvasParams",
    "CanvasSpec",
    "DatasetNotFoundError",
    "ImageDataset",
    "as_image_dataset",
    "data_root",
    "load_dataset",
    "make_canvases",
    "sample_canvas_params",
]

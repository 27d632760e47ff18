"""How a finished run's candidates for model.keras score on its validation split.

A run with ``--average-from`` exports the weight average, not the best single epoch; both are
scored here the same way (float32, with and without mirror images) and recorded in run.json, so
whether the average is worth shipping stays a decision made on validation, in the open.
"""

from __future__ import annotations

import numpy as np

from fer_edge.contract import NUM_CLASSES
from fer_edge.evaluate import keras_probs
from fer_edge.train.architectures import Recipe
from fer_edge.train.average import WeightAverage, averaged_model
from fer_edge.train.config import TrainConfig
from fer_edge.train.run_folder import MODEL


def validation_scores(model, recipe: Recipe, validation: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """``val_loss`` and ``val_accuracy`` of a float32 model as training computes them, and the
    accuracy with each face averaged with its mirror image, as the shipped models run."""
    import keras

    images, labels = validation
    probs = keras_probs(model, images, batch_size=512)
    onehot = keras.utils.to_categorical(labels, NUM_CLASSES)
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)(onehot, probs)
    flipped = keras_probs(model, images, test_time_flip=True, batch_size=512)
    return {
        "val_loss": float(keras.ops.convert_to_numpy(loss)),
        "val_accuracy": float((probs.argmax(axis=1) == labels).mean()),
        "val_accuracy_with_flip": float((flipped.argmax(axis=1) == labels).mean()),
    }


def score_average(
    config: TrainConfig, best_model, average: WeightAverage, train_faces: np.ndarray, validation: tuple[np.ndarray, np.ndarray]
) -> tuple[object, dict]:
    """The averaged model, which a run with ``--average-from`` exports, and run.json's record of it.

    As in the method (and PyTorch's ``torch.optim.swa_utils``), the average is the run's result.
    The best single epoch is scored beside it and recorded; its weights stay in the run's
    checkpoints.
    """
    import keras

    model = averaged_model(config.arch, average, train_faces, seed=config.training_seed)
    scores = {"average": validation_scores(model, config.recipe, validation), "best_epoch": validation_scores(best_model, config.recipe, validation)}
    last = average.start_epoch + average.count - 1

    def summary(name: str) -> str:
        return f"validation accuracy {scores[name]['val_accuracy']:.2%}, with flip {scores[name]['val_accuracy_with_flip']:.2%}, loss {scores[name]['val_loss']:.4f}"

    print(f"{MODEL}: the weight average of epochs {average.start_epoch}-{last} ({summary('average')}); best single epoch: {summary('best_epoch')}")
    record = {
        "epochs": [average.start_epoch, last],
        "batch_norm": f"statistics recomputed over the {len(train_faces)} training faces (keras {keras.__version__})",
        "validation": {name: {k: round(v, 4) for k, v in value.items()} for name, value in scores.items()},
    }
    return model, record

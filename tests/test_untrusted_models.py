"""A .keras file that would run code when loaded (a Lambda layer) is refused in one line: fer-edge
loads Keras models with safe_mode."""

from __future__ import annotations

from clitools import QUIET_TF, assert_one_line_error, fer_edge


def test_a_keras_model_with_code_in_it_is_refused(tmp_path, fer2013_dir):
    import keras

    inputs = keras.Input((48, 48, 1))
    hidden = keras.layers.Lambda(lambda x: x * 2.0)(inputs)  # code that safe_mode refuses to load
    outputs = keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(hidden))
    path = tmp_path / "untrusted.keras"
    keras.Model(inputs, outputs).save(path)
    done = fer_edge("eval", path, "--data", fer2013_dir, check=False, env=QUIET_TF)
    assert_one_line_error(done, f"{path}: cannot load Keras model", "arbitrary code execution")

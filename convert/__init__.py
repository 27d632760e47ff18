"""The convert stage: make a TFLite model from a trained ``.keras`` one and prove it.

  quantize.py   calibration sample and TFLiteConverter settings per mode (int8, float16, dynamic)
  tensors.py    what a ``.tflite`` file really holds: input/output tensors, integer-only or not
  check.py      float vs TFLite on the test split: both accuracies and the drop
  converter.py  ``fer-edge convert``: convert, check, refuse or write the model and its sidecar
  ship.py       ``fer-edge ship``: a finished training run's float model into ``models/`` with its sidecar

Nothing here imports TensorFlow at module level.
"""

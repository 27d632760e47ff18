"""The Raspberry Pi stage (``fer-edge run``): frames in, faces and emotions out, no TensorFlow.

One module per part: ``sources`` (camera, picamera2, video, URL, images), ``detector`` (picks one:
``blazeface``'s full-range and short-range CNNs together or alone, or the Haar cascade), ``faces``
(FER2013-style crops), ``classifier`` over ``interpreter`` (the TFLite model), ``smoothing``
(per-face averaging), ``pipeline`` (one frame), ``results`` (what a frame found, as JSON, overlay
and summary, its labels placed by ``labels``), ``outputs`` (JSON lines, video, window) and
``runner`` (the loop). Everything here imports only NumPy, OpenCV and a TFLite interpreter.
"""

"""fer-edge: facial emotion recognition from training to a Raspberry Pi.

This module stays import-light on purpose: the Pi runtime imports ``fer_edge`` and must never
pull in TensorFlow, so nothing heavy is imported here.
"""

__version__ = "0.1.0"

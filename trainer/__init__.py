"""Ganvas's training library: data sets, GAN families, the training loop, metrics.

Every entry point (`python -m trainer`, `python -m export`, the app, the benchmarks, the tests)
imports this package before TensorFlow, so the setting below is in place when TensorFlow reads
it, once, as it starts.
"""

import os

# TensorFlow turns on its oneDNN kernels by itself only on CPUs with AVX-512 VNNI, BF16 or AMX;
# elsewhere (AMD Zen 3, older Intel) it runs Eigen's convolutions, and a cdcgan epoch took 70 s
# instead of 44 s on a 2-core AMD EPYC (Zen 3). TF_ENABLE_ONEDNN_OPTS=0 still keeps Eigen's.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

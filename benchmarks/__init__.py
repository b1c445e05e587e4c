"""cgan's measurements: scripts that measure (``python -m benchmarks.NAME``, each writing a result file under
``results/``), the renderers that turn those files into RESULTS.md (``render_*.py``), and the helpers they share
(``bench_models.py``: the networks every script times). Run from the repository's root."""

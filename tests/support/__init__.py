"""What the tests and the benchmark use and a learner never needs: the hub driver (hub_driver.py),
the hub test's JupyterHub config (jupyterhub_config.py) and the benchmarks (bench.py, ``make bench``)."""

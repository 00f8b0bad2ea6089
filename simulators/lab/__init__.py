"""A lab of hosts on one machine, for tests and benchmarks that need several machines: hosts
from Linux network namespaces joined by a bridge (:mod:`~simulators.lab.network`), and the
services a cluster of the hub runs on (:mod:`~simulators.lab.services`): RabbitMQ nodes in one
cluster, PostgreSQL, HAProxy in front of the API hosts. Needs root.
"""

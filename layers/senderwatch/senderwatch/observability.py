"""Powertools, configured once: service name and metric namespace come from the template's Globals."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
